"""Kiosk tests: Qt offscreen; the real PC/SC fixtures come from tests/conftest.py."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class HungSpeechDispatcher:
    """A unix socket that accepts connections and never answers (a hung speechd)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.accepted = threading.Event()
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(str(path))
        self._server.listen(8)
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"unix_socket:{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(connection)
            self.accepted.set()

    def close(self) -> None:
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(5.0)
        for connection in self._connections:
            connection.close()


@pytest.fixture
def hung_speechd(monkeypatch: pytest.MonkeyPatch) -> Iterator[HungSpeechDispatcher]:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"speechd-{os.getpid()}"
    folder.mkdir(exist_ok=True)  # short: AF_UNIX paths are limited to 107 bytes
    server = HungSpeechDispatcher(folder / "speechd.sock")
    monkeypatch.setenv("SPEECHD_ADDRESS", server.address)
    yield server
    server.close()
    (folder / "speechd.sock").unlink()
    folder.rmdir()
