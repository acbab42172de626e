"""The kiosk's inputs: the card backend and its watcher, the QR scanner, the voice.

Light to import (no HTTP, XML or database library): the kiosk makes these before or just
after its first screen, while :func:`kiosk.app.build_services` opens the rest (issue #16).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from kiosk.card import CardReaderPort
from kiosk.config import BACKEND_GROUP, KioskConfig
from kiosk.devices.scanner import SerialQrScanner
from kiosk.runner import Runner
from kiosk.voice import Voice

if TYPE_CHECKING:
    from kiosk.flow import CheckInFlow


class Watcher(Protocol):
    last_error: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


CardBackend = Callable[
    [KioskConfig, Callable[[], None], Callable[[], None]], tuple[CardReaderPort, Watcher]
]
"""A backend factory: (config, on_present, on_absent) → the reader port and its watcher."""


def card_backend(name: str) -> CardBackend:
    """``pcsc``, or a factory registered under entry point group ``cccd_kiosk.card_backends``."""
    if name == "pcsc":
        from kiosk.card_pcsc import pcsc_backend  # cardreader's verification, when used

        return pcsc_backend
    for entry in entry_points(group=BACKEND_GROUP):
        if entry.name == name:
            factory: CardBackend = entry.load()
            return factory
    raise ValueError(f"unknown card backend {name!r}")


def card_ports(
    config: KioskConfig, backend: CardBackend, runner: Runner, holder: list[CheckInFlow]
) -> tuple[CardReaderPort, Watcher]:
    """The card reader port and its watcher (not started), whose events reach
    ``holder[0]`` (the flow, appended once made) through ``runner``."""

    def present() -> None:
        runner.post(holder[0].card_present)

    def absent() -> None:
        runner.post(holder[0].card_absent)

    return backend(config, present, absent)


def start_inputs(
    config: KioskConfig, watcher: Watcher, runner: Runner, flow: CheckInFlow
) -> SerialQrScanner | None:
    """Start the card watcher and, where configured, the QR scanner feeding ``flow``."""
    watcher.start()
    settings = config.scanner
    if not settings.port:
        return None
    scanner = SerialQrScanner(
        settings.port,
        lambda text: runner.post(lambda: flow.qr_scanned(text)),
        baudrate=settings.baudrate,
    )
    scanner.start()
    return scanner


def make_voice(config: KioskConfig, env: Mapping[str, str] = os.environ) -> Voice:
    return Voice(
        enabled=config.kiosk.voice,
        volume=config.kiosk.voice_volume,
        rate=config.kiosk.voice_rate,
        env=env,  # SPEECHD_ADDRESS among it
    )
