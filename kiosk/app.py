"""The kiosk's composition root: configuration → card backend, hospital service, devices.

Plain Python (no Qt): :func:`build_services` makes every component from the configuration;
:meth:`Services.start` connects the card watcher and the QR scanner to a flow through a
:class:`~kiosk.runner.Runner`, so their events reach the flow on its own thread.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cardreader import CardError, list_readers
from hospital_adapter import (
    VIETNAM_TIME,
    CheckInService,
    CheckInStore,
    ConfigurationError,
    FleetSettings,
    FleetStore,
    GatewayAccount,
    GatewayClient,
    OutboxThread,
    OutboxWorker,
    Queue,
    Store,
    StoreError,
    configured_registrar,
    configured_reporter,
    load_store_key,
)
from kiosk.admin import AdminStatus, test_ticket
from kiosk.card import CardReaderPort
from kiosk.config import KioskConfig, default_pin_problem
from kiosk.devices.printer import EscPosPrinter
from kiosk.devices.scanner import SerialQrScanner
from kiosk.devices.ticket_escpos import PrinterProfile
from kiosk.flow import CheckInFlow
from kiosk.inputs import CardBackend, Watcher, card_backend, card_ports, make_voice, start_inputs
from kiosk.runner import Runner
from kiosk.voice import Voice

_log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the flow and the staff screen use; :meth:`close` releases it all."""

    config: KioskConfig
    hospital: CheckInService
    store: CheckInStore
    outbox: OutboxThread
    gateway: GatewayClient
    printer: EscPosPrinter | None
    backend: CardBackend
    voice: Voice
    card_reader: CardReaderPort | None = None
    watcher: Watcher | None = None
    scanner: SerialQrScanner | None = None
    xml0: OutboxThread | None = None
    """The worker of the XML0 queue (``[xml0] enabled``), reporting check-ins to BHXH."""
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def start(self, flow_factory: Callable[[Services], CheckInFlow], runner: Runner) -> CheckInFlow:
        """Make the flow, then feed it card and scanner events through ``runner``."""
        holder: list[CheckInFlow] = []
        self.card_reader, watcher = card_ports(self.config, self.backend, runner, holder)
        flow = flow_factory(self)
        holder.append(flow)
        self.adopt_inputs(watcher, start_inputs(self.config, watcher, runner, flow))
        return flow

    def adopt_inputs(self, watcher: Watcher, scanner: SerialQrScanner | None) -> None:
        """Own the running card watcher and QR scanner (stopped by :meth:`close`)."""
        self.watcher, self.scanner = watcher, scanner
        self._closers.append(watcher.stop)
        if scanner is not None:
            self._closers.append(scanner.stop)

    def status(self) -> AdminStatus:
        """For the staff screen (blocking: outboxes, printer and PC/SC are asked)."""
        readers: tuple[str, ...] = ()
        error = ""
        try:
            readers = tuple(list_readers())
        except CardError as exc:
            error = str(exc)
        scanner = "none"
        if self.scanner is not None:
            scanner = "connected" if self.scanner.connected else self.scanner.last_error
        outbox: Mapping[str, int] = {}
        xml0: Mapping[str, int] | None = None
        store = "this kiosk's file"
        try:
            outbox = self.store.outbox_counts()
            xml0 = None if self.xml0 is None else self.store.outbox_counts(Queue.XML0)
        except StoreError as exc:
            store = str(exc)
        if isinstance(self.store, FleetStore):
            store = self.store.describe()
        return AdminStatus(
            outbox=outbox,
            xml0=xml0,
            store=store,
            printer=self.printer.status() if self.printer is not None else None,
            readers=readers,
            reader_error=error,
            scanner=scanner,
            card_watcher=self.watcher.last_error if self.watcher is not None else "",
            voice=self.voice.status,
        )

    def test_print(self) -> None:
        if self.printer is not None:
            self.printer.print_ticket(test_ticket(datetime.now(VIETNAM_TIME)))

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception as exc:  # closing must go on whatever fails
                _log.warning("closing: %s", exc)
        self._closers.clear()


def _stop(outbox: OutboxThread, timeout_s: float, name: str) -> None:
    if not outbox.stop(timeout_s):
        _log.warning("the %s worker did not stop in time", name)


def open_store(config: KioskConfig, key: bytes) -> CheckInStore:
    """This kiosk's SQLite file alone, or with ``[store] url`` the hospital's PostgreSQL
    store behind the file as this kiosk's journal (hand-on thread started)."""
    settings = config.store
    if not settings.url:
        return Store(settings.path, key)
    fleet = FleetSettings(
        kiosk=settings.kiosk_id or socket.gethostname(),
        departments=tuple(department.code for department in config.departments),
        block=settings.lease_block,
        low_water=max(1, settings.lease_block // 2),
        timeout_s=settings.timeout_s,
    )
    return FleetStore(settings.url, settings.path, key, fleet).start()


def build_services(
    config: KioskConfig,
    env: Mapping[str, str] = os.environ,
    *,
    pin_checked: bool = False,
    voice: Voice | None = None,
) -> Services:
    """Open the store, the gateway client, the HIS registrar, the printer and the voice
    (``voice`` if given); start the outbox worker and, with ``[xml0] enabled``, the XML0
    reporting worker.

    Refuses (:class:`ConfigurationError`) the shipped default staff PIN (unless the caller
    did already: ``pin_checked``, as :func:`kiosk.config.startup_problems` does; the check
    is a 0.1 s scrypt call) and an ``[xml0]`` key that cannot be read.
    """
    pin = None if pin_checked else default_pin_problem(config.admin)
    if pin is not None:
        raise ConfigurationError(pin)
    account, key = GatewayAccount.from_env(env), load_store_key(config.store, env)
    his = configured_registrar(config, env)
    gateway = GatewayClient(config.gateway, account)
    try:
        reporter = configured_reporter(config, gateway, env) if config.xml0.enabled else None
    except ConfigurationError:
        gateway.close()
        raise
    store = open_store(config, key)
    worker = OutboxWorker(store, his)
    outbox = worker.start()
    xml0 = None
    if reporter is not None:
        xml0 = OutboxWorker(
            store, reporter, queue=Queue.XML0, send_timeout_s=config.xml0.timeout_s
        ).start(config.xml0.interval_s)
    hospital = CheckInService(gateway, his, store, outbox=worker)
    printer = None
    if config.printer.port:
        printer = EscPosPrinter(
            config.printer.port,
            baudrate=config.printer.baudrate,
            profile=PrinterProfile(
                width_dots=config.printer.width_dots,
                native_qr=config.printer.native_qr,
                vietnamese_code_table=(
                    None
                    if config.printer.vietnamese_code_table < 0
                    else config.printer.vietnamese_code_table
                ),
            ),
            timeout_s=config.printer.timeout_s,
            hospital_name=config.kiosk.hospital_name,
        )
    voice = voice or make_voice(config, env)
    services = Services(
        config, hospital, store, outbox, gateway, printer, card_backend(config.card.backend), voice
    )
    services.xml0 = xml0
    services._closers += [store.close, gateway.close, lambda: _stop(outbox, 5.0, "outbox")]
    if xml0 is not None:  # stopped before the gateway and the store close
        services._closers.append(lambda: _stop(xml0, config.xml0.timeout_s + 1.0, "XML0"))
    services._closers.append(voice.close)
    if printer is not None:
        services._closers.append(printer.close)
    return services
