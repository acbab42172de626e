"""Qt's event loop that SIGINT and SIGTERM end, so the kiosk shuts down cleanly.

Python runs its signal handlers only between bytecodes of the main thread, and while Qt's
loop waits for events no bytecode runs: a Ctrl-C would wait for the next touch. The C-level
handler writes the signal's number to a socket (``signal.set_wakeup_fd``) that the loop
watches; reading it runs Python again, and the handler quits the loop.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exec_until_signal(app: QCoreApplication, on_running: Callable[[], None] | None = None) -> int:
    """``app.exec()``, ended by ``app.quit()`` or a signal of :data:`SIGNALS`; after a
    signal the result is 128 + its number (the shell's convention). ``on_running`` is
    called from the loop, when those signals are its to handle. Main thread only."""
    received: list[int] = []

    def quit_on(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        app.quit()

    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda: reader.recv(64))  # the handlers run on return
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = {signum: signal.signal(signum, quit_on) for signum in SIGNALS}
    if on_running is not None:
        QTimer.singleShot(0, on_running)
    try:
        code = app.exec()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        for end in (reader, writer):
            with contextlib.suppress(OSError):
                end.close()
    return 128 + received[0] if received else code
