"""The reading facade: open the chip, read its files, all or nothing (docs/architecture.md §3)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cardreader.access.credentials import Credentials
from cardreader.access.strategy import AccessReport, open_session
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.errors import FileNotFoundOnCardError, SecurityStatusError
from cardreader.files.ids import CCCD_FILES, Ef
from cardreader.log import get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)

FileProgress = Callable[[Ef, int, int], None]
"""Called with the file, bytes read so far and its total size."""


@dataclass(frozen=True, slots=True)
class CardRead:
    """Raw files read from one chip in one session, and how the chip was opened.

    ``absent`` lists files the chip does not have (6A82); ``denied`` those it refused
    (6982, e.g. DG3 without Terminal Authentication).
    """

    files: Mapping[Ef, bytes] = field(repr=False)
    card_access: bytes | None = field(repr=False)
    access: AccessReport
    absent: tuple[Ef, ...]
    denied: tuple[Ef, ...]


def read_card(
    transport: Transport,
    credentials: Credentials,
    files: Iterable[Ef] = CCCD_FILES,
    *,
    allow_bac: bool = True,
    progress: FileProgress | None = None,
    rng: RandomSource = secrets,
) -> CardRead:
    """Open the chip and read ``files`` in order.

    Any transport failure (card pulled away, reader gone) propagates and nothing read in
    this session is returned: a partial identity is never used.
    """
    session = open_session(transport, credentials, allow_bac=allow_bac, rng=rng)
    read: dict[Ef, bytes] = {}
    if session.card_security is not None:
        read[Ef.CARD_SECURITY] = session.card_security
    absent: list[Ef] = []
    denied: list[Ef] = []
    for ef in files:
        callback = (lambda done, total, ef=ef: progress(ef, done, total)) if progress else None
        try:
            read[ef] = session.reader.read(ef, progress=callback)
        except FileNotFoundOnCardError:
            absent.append(ef)
        except SecurityStatusError:
            denied.append(ef)
        _log.debug("%s: %s", ef.file_name, "read" if ef in read else "not read")
    return CardRead(
        files=MappingProxyType(read),
        card_access=session.card_access,
        access=session.access,
        absent=tuple(absent),
        denied=tuple(denied),
    )
