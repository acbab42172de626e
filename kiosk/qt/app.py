"""Putting the kiosk together under Qt: services, the flow, the window, the staff screen.

``KioskApp(config)`` builds everything before it returns (tests, the simulators).
:meth:`KioskApp.starting` is the kiosk process's order (``python -m kiosk``): the flow and
the first screen first, importing nothing of the card's verification nor of the HTTP, XML
and database libraries (issue #16 item 7); then, on a thread, the card backend with its
trust anchors, whose watcher and scanner start at once, and what is slow to open (the
store, the gateway client, the HIS registrar, the XML0 key, the printer). Until each is
ready the flow's ports (:mod:`kiosk.late`) make their calls wait on the runner's worker
threads, within each call's deadline, so a card tapped or a QR scanned meanwhile is
handled as soon as they are.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from hospital_adapter import VIETNAM_TIME
from kiosk.admin import PinGate
from kiosk.config import KioskConfig
from kiosk.flow import CheckInFlow
from kiosk.inputs import Watcher, card_backend, card_ports, make_voice, start_inputs
from kiosk.late import LateCardReader, LateCheckIn, LatePrinter
from kiosk.qt import style
from kiosk.qt.runner import QtRunner
from kiosk.qt.signals import exec_until_signal
from kiosk.qt.window import KioskWindow

if TYPE_CHECKING:
    from kiosk.app import Services
    from kiosk.card import CardReaderPort
    from kiosk.devices.scanner import SerialQrScanner
    from kiosk.qt.admin import AdminDialog

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
        deferred: bool = False,
    ) -> None:
        self.app = application()
        self.config = config
        self.font = style.apply(self.app, config.kiosk.font_family)
        self.runner = QtRunner()
        self._services: Services | None = None
        self._gate: PinGate | None = None
        self._build: threading.Thread | None = None
        self._built: Services | BaseException | None = None
        self._watcher: Watcher | None = None
        self._scanner: SerialQrScanner | None = None
        self._closing = False
        self.ready = threading.Event()
        """Set once the services are up (at once unless ``deferred``)."""
        self.listening = threading.Event()
        """Set once the card watcher and the QR scanner listen (at once unless ``deferred``;
        else soon after the first screen, before the services are up)."""
        self.on_ready: Callable[[], None] | None = None
        self.on_failed: Callable[[BaseException], None] | None = None
        if not deferred:
            from kiosk.app import build_services

            self._services = build_services(config, env)
            self.flow = self._services.start(self._flow_factory(wall_clock), self.runner)
            self._gate = PinGate(config.admin, self._services.store)
            self.listening.set()
            self.ready.set()
            voice = self._services.voice
        else:
            self._late_reader = LateCardReader()
            self._late = LateCheckIn()
            self._late_printer = LatePrinter() if config.printer.port else None
            self.flow = CheckInFlow(
                config,
                self._late_reader,
                self._late,
                self.runner,
                printer=self._late_printer,
                wall_clock=wall_clock,
            )
            voice = make_voice(config, env)
            self._voice = voice
            self._build = threading.Thread(
                target=self._build_services, args=(env,), name="kiosk-services", daemon=True
            )
        self.window = KioskWindow(self.flow, config, voice, on_admin=self.open_admin)
        self.app.installEventFilter(self.window)

    @classmethod
    def starting(cls, config: KioskConfig, env: Mapping[str, str] = os.environ) -> KioskApp:
        """The flow and the window now; the card backend and the services from :meth:`show`
        on, on a thread (:func:`kiosk.app.build_services` refuses the default staff PIN
        there, exit 2 as for any problem found behind the first screen)."""
        return cls(config, env, deferred=True)

    def _flow_factory(
        self, wall_clock: Callable[[], datetime]
    ) -> Callable[[Services], CheckInFlow]:
        def make_flow(services: Services) -> CheckInFlow:
            assert services.card_reader is not None
            return CheckInFlow(
                self.config,
                services.card_reader,
                services.hospital,
                self.runner,
                printer=services.printer,
                wall_clock=wall_clock,
            )

        return make_flow

    # -- the deferred start ------------------------------------------------------------

    def _build_services(self, env: Mapping[str, str]) -> None:
        """The build thread: the card backend first (the card watcher and the scanner start
        as soon as it is open: :meth:`_inputs_open`), then the services."""
        try:
            backend = card_backend(self.config.card.backend)
            reader, watcher = card_ports(self.config, backend, self.runner, [self.flow])
            self.runner.post(partial(self._inputs_open, reader, watcher))
            from kiosk.app import build_services  # the HTTP, XML and database libraries

            self._built = build_services(self.config, env, voice=self._voice)
        except BaseException as exc:  # handed to the GUI thread, and to the waiting ports
            self._built = exc
        self.runner.post(self._services_built)

    def _inputs_open(self, reader: CardReaderPort, watcher: Watcher) -> None:
        self._late_reader.set(reader)
        self._watcher = watcher
        if not self._closing:
            self._scanner = start_inputs(self.config, watcher, self.runner, self.flow)
            self.listening.set()

    def _services_built(self) -> None:
        built = self._built
        if isinstance(built, BaseException):
            for late in (self._late_reader, self._late, self._late_printer):
                if late is not None and not late.ready:
                    late.fail(built)
            if self.on_failed is not None:
                self.on_failed(built)
            return
        assert built is not None and self._watcher is not None
        built.card_reader = self._late_reader.get()
        built.adopt_inputs(self._watcher, self._scanner)
        self._watcher = None
        self._services = built
        self._gate = PinGate(self.config.admin, built.store)
        self._late.set(built.hospital)
        if self._late_printer is not None and built.printer is not None:
            self._late_printer.set(built.printer)
        self.ready.set()
        _log.debug("services ready")
        if self.on_ready is not None:
            self.on_ready()

    def _start_deferred(self) -> None:
        """After the first paint: the build thread (the card backend, then the services)."""
        if self._build is not None and self._build.ident is None:
            self._build.start()

    # -- the parts -----------------------------------------------------------------------

    @property
    def services(self) -> Services:
        """The services (the deferred start: once :attr:`ready`)."""
        if self._services is None:
            raise RuntimeError("the kiosk's services are still starting")
        return self._services

    @property
    def gate(self) -> PinGate:
        if self._gate is None:
            raise RuntimeError("the kiosk's services are still starting")
        return self._gate

    def open_admin(self) -> AdminDialog | None:
        """The staff screen; ``None`` (nothing opens) while the services start."""
        if self._services is None or self._gate is None:
            return None
        from kiosk.qt.admin import AdminDialog  # its imports only when staff ask

        dialog = AdminDialog(self.window, self._services, self.flow, self.runner, self._gate)
        dialog.resize(self.window.size() * 0.9)
        dialog.open()
        return dialog

    def show(self, *, fullscreen: bool | None = None) -> None:
        """Show the window and draw the first screen; a deferred start goes on from here."""
        if self.config.kiosk.fullscreen if fullscreen is None else fullscreen:
            self.window.showFullScreen()
        else:
            self.window.resize(1280, 800)
            self.window.show()
        if self._build is not None:
            self.app.processEvents()  # the first screen drawn before anything slow starts
            self._start_deferred()

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
        self._closing = True
        self.on_ready = self.on_failed = None
        self.app.removeEventFilter(self.window)
        self.window.close()
        if self._build is not None and self._build.ident is not None:
            self._build.join()  # bounded by the store's and the gateway client's opening
            self.app.processEvents()  # hands the built services over, to be closed here
            built = self._built
            if self._services is None and not isinstance(built, BaseException | None):
                if self._watcher is not None:
                    built.adopt_inputs(self._watcher, self._scanner)
                    self._watcher = None
                self._services = built
        if self._services is not None:
            self._services.close()
        else:
            if self._watcher is not None:
                self._watcher.stop()
            if self._scanner is not None:
                self._scanner.stop()
            if self._build is not None:
                self._voice.close()
        self.runner.wait(10_000)
