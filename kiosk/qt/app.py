"""Putting the kiosk together under Qt: services, the flow, the window, the staff screen."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from PySide6.QtWidgets import QApplication

from hospital_adapter import VIETNAM_TIME
from kiosk.admin import PinGate
from kiosk.app import Services, build_services
from kiosk.config import KioskConfig
from kiosk.flow import CheckInFlow
from kiosk.qt import style
from kiosk.qt.admin import AdminDialog
from kiosk.qt.runner import QtRunner
from kiosk.qt.signals import exec_until_signal
from kiosk.qt.window import KioskWindow

_log = logging.getLogger(__name__)


def application() -> QApplication:
    """The running QApplication, created if needed."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    return QApplication([])


class KioskApp:
    """The whole kiosk in this process. ``close()`` releases devices, store and threads."""

    def __init__(
        self,
        config: KioskConfig,
        env: Mapping[str, str] = os.environ,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(VIETNAM_TIME),
    ) -> None:
        self.app = application()
        self.config = config
        self.font = style.apply(self.app, config.kiosk.font_family)
        self.runner = QtRunner()
        self.services: Services = build_services(config, env)

        def make_flow(services: Services) -> CheckInFlow:
            assert services.card_reader is not None
            return CheckInFlow(
                config,
                services.card_reader,
                services.hospital,
                self.runner,
                printer=services.printer,
                wall_clock=wall_clock,
            )

        self.flow = self.services.start(make_flow, self.runner)
        self.gate = PinGate(config.admin, self.services.store)
        self.window = KioskWindow(self.flow, config, self.services.voice, on_admin=self.open_admin)
        self.app.installEventFilter(self.window)

    def open_admin(self) -> AdminDialog:
        dialog = AdminDialog(self.window, self.services, self.flow, self.runner, self.gate)
        dialog.resize(self.window.size() * 0.9)
        dialog.open()
        return dialog

    def show(self, *, fullscreen: bool | None = None) -> None:
        if self.config.kiosk.fullscreen if fullscreen is None else fullscreen:
            self.window.showFullScreen()
        else:
            self.window.resize(1280, 800)
            self.window.show()

    def exec(self, on_running: Callable[[], None] | None = None) -> int:
        """Run the event loop until quit, SIGINT or SIGTERM (then 128 + the signal);
        ``on_running`` is called once the loop runs and handles those signals."""
        return exec_until_signal(self.app, on_running)

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Process Qt events until ``condition()`` holds; ``False`` after ``timeout`` s."""
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                return False
            self.app.processEvents()
            time.sleep(0.005)
        return True

    def close(self) -> None:
        self.app.removeEventFilter(self.window)
        self.window.close()
        self.services.close()
        self.runner.wait(10_000)
