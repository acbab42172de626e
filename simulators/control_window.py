"""The simulated hospital's control window for ``make run`` with a display: one row per
patient (scan the QR, tap the card, tap a forged copy), remove the card, gateway down/up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.faults import FaultSpec

if TYPE_CHECKING:
    from simulators.hospital import SimulatedHospital


CONTROL_STYLE = (
    "QWidget { font-size: 13px; background: #f4f4f4; color: #111; }"
    "QPushButton { padding: 4px 10px; min-height: 0; border: 1px solid #0b4f9c;"
    " border-radius: 4px; }"
)


def control_window(hospital: SimulatedHospital) -> object:
    """The simulator control window: tap a persona's card, scan its QR, pull the card."""
    from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

    widget = QWidget()
    widget.setWindowTitle("Simulated hospital · control")
    widget.setStyleSheet(CONTROL_STYLE)  # compact: the kiosk's patient-sized style is not for staff
    grid = QGridLayout(widget)
    for row, person in enumerate(hospital.patients):
        persona = person.persona
        grid.addWidget(QLabel(f"{persona.full_name} — {person.note}"), row, 0)
        scan = QPushButton("Scan QR")
        scan.clicked.connect(lambda _=False, s=person.seed: hospital.scan(s))
        tap = QPushButton("Tap card")
        tap.clicked.connect(lambda _=False, s=person.seed: hospital.tap(s))
        forged = QPushButton("Tap forged card")
        forged.clicked.connect(
            lambda _=False, s=person.seed: hospital.tap(s, (FaultSpec.parse("tampered-dg=13"),))
        )
        grid.addWidget(scan, row, 1)
        grid.addWidget(tap, row, 2)
        grid.addWidget(forged, row, 3)
    pull = QPushButton("Remove card")
    pull.clicked.connect(hospital.remove)
    down = QPushButton("Gateway down / up")
    down.clicked.connect(lambda: hospital.gateway_down(not hospital.gateway.simulator.down))
    grid.addWidget(pull, len(hospital.patients), 1)
    grid.addWidget(down, len(hospital.patients), 2)
    return widget


def place_beside(control: Any, window: Any) -> None:
    """Put the control window right of the kiosk, inside the screen (a bare X server
    places every window at 0,0, over the kiosk)."""
    screen = control.screen().availableGeometry()
    width = control.frameGeometry().width()
    x = min(window.frameGeometry().right() + 16, screen.right() - width)
    control.move(max(screen.left(), x), screen.top())
