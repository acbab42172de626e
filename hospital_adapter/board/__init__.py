"""The queue board: a read-only web page for the big screen of a hospital hall.

``create_board(store.queue, {"K03": "Khám Nội"})`` makes the web app (page, JSON snapshot,
Server-Sent Events); :class:`BoardServer` serves it in a thread, :func:`serve` in the
foreground (``cccd-hospital board``). docs/hospital_adapter.md, "Queue board".
"""

from __future__ import annotations

from hospital_adapter.board.app import (
    Board,
    QueueSource,
    SourceUnavailableError,
    create_board,
    snapshot,
)
from hospital_adapter.board.server import BoardServer, serve

__all__ = [
    "Board",
    "BoardServer",
    "QueueSource",
    "SourceUnavailableError",
    "create_board",
    "serve",
    "snapshot",
]
