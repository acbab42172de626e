"""The kiosk's composition root: configuration → card backend, hospital service, devices.

Plain Python (no Qt): :func:`build_services` makes every component from the configuration;
:meth:`Services.start` connects the card watcher and the QR scanner to a flow through a
:class:`~kiosk.runner.Runner`, so their events reach the flow on its own thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from cardreader.errors import CardError
from cardreader.transport.pcsc import list_readers
from cardreader.verify.trust import TrustStore
from hospital_adapter import CheckInService
from hospital_adapter.config import GatewayAccount, load_store_key
from hospital_adapter.gateway import GatewayClient
from hospital_adapter.his import FhirRegistrar, HisRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.outbox import OutboxThread, OutboxWorker
from hospital_adapter.store import Store
from hospital_adapter.visit import VIETNAM_TIME
from kiosk.admin import AdminStatus, test_ticket
from kiosk.card import CardReaderPort
from kiosk.card_pcsc import PcscCardReader, PcscCardWatcher
from kiosk.config import KioskConfig
from kiosk.devices.printer import EscPosPrinter
from kiosk.devices.scanner import SerialQrScanner
from kiosk.flow import CheckInFlow
from kiosk.runner import Runner
from kiosk.voice import Voice

_log = logging.getLogger(__name__)

BACKEND_GROUP = "cccd_kiosk.card_backends"


class Watcher(Protocol):
    last_error: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


CardBackend = Callable[
    [KioskConfig, Callable[[], None], Callable[[], None]], tuple[CardReaderPort, Watcher]
]
"""A backend factory: (config, on_present, on_absent) → the reader port and its watcher."""


def pcsc_backend(
    config: KioskConfig, on_present: Callable[[], None], on_absent: Callable[[], None]
) -> tuple[CardReaderPort, Watcher]:
    card = config.card
    trust = TrustStore.load(
        csca=[Path(p) for p in card.csca],
        master_lists=[Path(p) for p in card.master_lists],
        crls=[Path(p) for p in card.crls],
    )
    if not trust.anchors:
        _log.warning("no CSCA configured: every card will be UNTRUSTED")
    reader = PcscCardReader(card.reader, trust, transmit_timeout_s=card.transmit_timeout_s)
    watcher = PcscCardWatcher(reader, on_present, on_absent, poll_s=card.poll_s)
    return reader, watcher


def card_backend(name: str) -> CardBackend:
    """``pcsc``, or a factory registered under entry point group ``cccd_kiosk.card_backends``."""
    if name == "pcsc":
        return pcsc_backend
    for entry in entry_points(group=BACKEND_GROUP):
        if entry.name == name:
            factory: CardBackend = entry.load()
            return factory
    raise ValueError(f"unknown card backend {name!r}")


def registrar(config: KioskConfig) -> HisRegistrar:
    his, facility = config.hospital.his, config.hospital.hospital.facility_code
    if his.kind == "fhir":
        return FhirRegistrar(his.url, timeout_s=his.timeout_s)
    header = MessageHeader(his.sending_facility, facility, his.receiving_application, facility)
    return MllpRegistrar(his.host, his.port, header, timeout_s=his.timeout_s)


@dataclass
class Services:
    """Everything the flow and the staff screen use; :meth:`close` releases it all."""

    config: KioskConfig
    hospital: CheckInService
    store: Store
    outbox: OutboxThread
    gateway: GatewayClient
    printer: EscPosPrinter | None
    backend: CardBackend
    voice: Voice
    card_reader: CardReaderPort | None = None
    watcher: Watcher | None = None
    scanner: SerialQrScanner | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def start(self, flow_factory: Callable[[Services], CheckInFlow], runner: Runner) -> CheckInFlow:
        """Make the flow, then feed it card and scanner events through ``runner``."""
        holder: list[CheckInFlow] = []

        def present() -> None:
            runner.post(holder[0].card_present)

        def absent() -> None:
            runner.post(holder[0].card_absent)

        self.card_reader, self.watcher = self.backend(self.config, present, absent)
        flow = flow_factory(self)
        holder.append(flow)
        self.watcher.start()
        self._closers.append(self.watcher.stop)
        scanner = self.config.scanner
        if scanner.port:
            self.scanner = SerialQrScanner(
                scanner.port,
                lambda text: runner.post(lambda: flow.qr_scanned(text)),
                baudrate=scanner.baudrate,
            )
            self.scanner.start()
            self._closers.append(self.scanner.stop)
        return flow

    def status(self) -> AdminStatus:
        """For the staff screen (blocking: outbox, printer and PC/SC are asked)."""
        readers: tuple[str, ...] = ()
        error = ""
        try:
            readers = tuple(list_readers())
        except CardError as exc:
            error = str(exc)
        scanner = "none"
        if self.scanner is not None:
            scanner = "connected" if self.scanner.connected else self.scanner.last_error
        return AdminStatus(
            outbox=self.store.outbox_counts(),
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


def _stop(outbox: OutboxThread) -> None:
    if not outbox.stop(5.0):
        _log.warning("the outbox worker did not stop in time")


def build_services(config: KioskConfig, env: Mapping[str, str] = os.environ) -> Services:
    """Open the store, the gateway client, the HIS registrar, the printer and the voice."""
    settings = config.hospital
    store = Store(settings.store.path, load_store_key(settings.store, env))
    his = registrar(config)
    gateway = GatewayClient(settings.gateway, GatewayAccount.from_env(env))
    worker = OutboxWorker(store, his)
    outbox = worker.start()
    hospital = CheckInService(gateway, his, store, outbox=worker)
    printer = None
    if config.printer.port:
        printer = EscPosPrinter(
            config.printer.port,
            baudrate=config.printer.baudrate,
            width_dots=config.printer.width_dots,
            timeout_s=config.printer.timeout_s,
            hospital_name=config.kiosk.hospital_name,
        )
    voice = Voice(enabled=config.kiosk.voice)
    services = Services(
        config, hospital, store, outbox, gateway, printer, card_backend(config.card.backend), voice
    )
    services._closers += [store.close, gateway.close, lambda: _stop(outbox), voice.close]
    if printer is not None:
        services._closers.append(printer.close)
    return services
