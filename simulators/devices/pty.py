"""A pseudo-terminal pair in raw mode: the device keeps the master, the kiosk opens the slave."""

from __future__ import annotations

import contextlib
import os
import tty


class PtyPair:
    """``port`` is the path the kiosk opens; ``master`` is the device's end."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no CR/LF translation, no echo
        self.port = os.ttyname(self._slave)

    def close(self) -> None:
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
