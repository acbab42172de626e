"""The staff screen's PIN gate, and its status and printing against the simulated hospital."""

from __future__ import annotations

from kiosk.qt.app import KioskApp
from simulators.hospital import SimulatedHospital
from simulators.kiosk_config import STAFF_PIN
from tests.kiosk.test_e2e import hospital, kiosk  # noqa: F401 (fixtures)


def test_staff_status_and_test_print(hospital: SimulatedHospital, kiosk: KioskApp) -> None:  # noqa: F811
    scanner = kiosk.services.scanner
    assert scanner is not None and scanner.wait_connected(5.0)
    status = kiosk.services.status()
    assert status.outbox == {"delivered": 0, "pending": 0, "rejected": 0}
    assert status.xml0 == {"delivered": 0, "pending": 0, "rejected": 0}, "[xml0] is on"
    assert status.printer is not None and status.printer.detail == "ready"
    assert hospital.pcscd is not None and hospital.pcscd.reader_names[0] in status.readers
    assert status.scanner == "connected"
    kiosk.services.test_print()
    assert hospital.printer.wait_for_pages(1, 5.0)
    hospital.printer.paper = False
    assert kiosk.services.status().printer.detail == "paper out"  # type: ignore[union-attr]
    dialog = kiosk.open_admin()
    for key in STAFF_PIN:
        dialog._typer(key)()
    dialog._submit()
    assert kiosk.wait_until(lambda: "paper out" in dialog.status.text(), 10)
    dialog.accept()
