"""The kiosk process's start (issue 16 item 7): the first screen is drawn before the slow
services are open, and a patient who scans and taps meanwhile is not lost.

``KioskApp.starting`` (what ``python -m kiosk`` uses) against the simulated hospital, with
``build_services`` held back by a gate: the idle screen is up, the QR is read and the card
is read while the store and the gateway client are not open yet; the BHYT lookup waits for
them and the check-in ends with a ticket once they are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kiosk.app import Services, build_services
from kiosk.config import KioskConfig, load_config
from kiosk.qt.app import KioskApp
from kiosk.view import InsuranceState, Step
from simulators.hospital import SimulatedHospital
from simulators.patients import patient
from simulators.pcscd import PcscDaemon

pytestmark = pytest.mark.pcsc

INSURED = patient("insured").seed


@pytest.fixture
def hospital(pcscd: PcscDaemon, tmp_path: Path) -> Iterator[SimulatedHospital]:
    with SimulatedHospital(tmp_path / "hospital", pcscd=pcscd) as running:
        yield running
        running.remove()


class SlowServices:
    """``build_services`` that waits for :meth:`release` (a slow store, say)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        real = build_services

        def slow(config: KioskConfig, env: Mapping[str, str], **options: Any) -> Services:
            self.entered.set()
            assert self.gate.wait(30.0)
            return real(config, env, **options)

        monkeypatch.setattr("kiosk.app.build_services", slow)

    def release(self) -> None:
        self.gate.set()


def test_first_screen_before_the_services_and_a_tap_meanwhile_is_handled(
    hospital: SimulatedHospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowServices(monkeypatch)
    kiosk = KioskApp.starting(load_config(hospital.config_path), hospital.env)
    try:
        kiosk.show(fullscreen=False)
        assert kiosk.window.isVisible() and kiosk.flow.step is Step.IDLE
        assert slow.entered.wait(10.0) and not kiosk.ready.is_set()
        with pytest.raises(RuntimeError):
            _ = kiosk.services
        assert kiosk.open_admin() is None  # staff wait too

        assert kiosk.wait_until(kiosk.listening.is_set, 10.0), "no card watcher nor scanner"
        hospital.scan(INSURED)  # the scanner and the card watcher listen before the services
        assert kiosk.wait_until(lambda: kiosk.flow.step is Step.PLACE_CARD, 10.0)
        hospital.tap(INSURED)
        assert kiosk.wait_until(lambda: kiosk.flow.step is Step.IDENTITY, 20.0)
        assert not kiosk.ready.is_set(), "the chip was read while the services were opening"
        assert hospital.gateway.simulator.stats.lookups == 0

        slow.release()
        assert kiosk.wait_until(kiosk.ready.is_set, 20.0)
        insured = InsuranceState.INSURED
        assert kiosk.wait_until(lambda: kiosk.flow.view.insurance is insured, 20.0), kiosk.flow.view
        assert hospital.gateway.simulator.stats.lookups == 1, "looked up once, when ready"
        assert kiosk.services.watcher is not None and kiosk.services.scanner is not None
        kiosk.flow.dismiss()
    finally:
        slow.release()
        kiosk.close()


def test_a_store_that_fails_behind_the_first_screen_is_reported(
    hospital: SimulatedHospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hospital_adapter import StoreError

    def broken(config: KioskConfig, env: Mapping[str, str], **options: Any) -> Services:
        raise StoreError("disk full")

    monkeypatch.setattr("kiosk.app.build_services", broken)
    kiosk = KioskApp.starting(load_config(hospital.config_path), hospital.env)
    failures: list[BaseException] = []
    kiosk.on_failed = failures.append
    try:
        kiosk.show(fullscreen=False)
        assert kiosk.wait_until(lambda: bool(failures), 10.0)
        assert isinstance(failures[0], StoreError) and not kiosk.ready.is_set()
    finally:
        kiosk.close()
