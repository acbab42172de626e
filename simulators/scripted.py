"""The scripted check-in: drives a kiosk (``kiosk.qt.app.KioskApp``) of a
:class:`simulators.hospital.SimulatedHospital` through one check-in by pressing its
buttons, as a person would, by any way in, saving a screenshot of every screen
(:func:`scripted_check_in`); then waits for the gateway's receipt of the check-in's XML0
report (:func:`xml0_receipt`)."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hospital_adapter.gateway.submission import Xml0Receipt
from simulators.faults import FaultSpec
from simulators.hospital import SimulatedHospital

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp


class WayIn(enum.Enum):
    """How a scripted patient identifies at the kiosk (docs/kiosk.md, "Ways in")."""

    CHIP = "chip"
    """The card on the reader, opened with its QR or the 6 digits typed (``use_qr``)."""
    QR_ONLY = "qr_only"
    """The front QR, then "use the QR only": the chip is never read."""
    VSSID = "vssid"
    """The BHYT card's QR from VssID, then the ID number typed."""
    TYPED = "typed"
    """The 12-digit ID number typed on the start screen's keypad."""


@dataclass
class ScriptResult:
    """What one scripted check-in produced."""

    steps: list[str] = field(default_factory=list)
    ticket_label: str = ""
    checkin_id: str = ""
    """The store's id of the check-in (the XML0 record's ``MA_LK``)."""
    ticket_png: Path | None = None
    screenshots: list[Path] = field(default_factory=list)
    tap_to_ticket_s: float = 0.0
    """From the kiosk seeing the card (or the QR-only choice) to the printer cutting the
    ticket, the serial line's speed included."""
    problem: str = ""


class ScriptError(RuntimeError):
    """The kiosk did not reach the screen the script waited for in time."""


def _wait(kiosk: KioskApp, what: str, condition: object, timeout: float = 15.0) -> None:
    if not kiosk.wait_until(condition, timeout):  # type: ignore[arg-type]
        raise ScriptError(f"timed out waiting for {what} (on {kiosk.flow.step.value})")


def scripted_check_in(
    kiosk: KioskApp,
    hospital: SimulatedHospital,
    seed: int,
    *,
    department: str = "K03",
    insured: bool = True,
    use_qr: bool = True,
    shots: Path | None = None,
    faults: tuple[FaultSpec, ...] = (),
    way: WayIn = WayIn.CHIP,
    wait_for_photo: bool = True,
) -> ScriptResult:
    """Scan the QR (or type the digits), tap the card, press the buttons to a ticket; or
    come in another ``way`` without the chip. ``wait_for_photo=False``: the identity is
    confirmed as soon as it shows, while the photo is still being read (as a patient does,
    reading the name first; the ticket does not wait for the photo)."""
    from kiosk.qt.screens import (
        ConfirmScreen,
        ConsentScreen,
        DepartmentScreen,
        DigitsScreen,
        IdentityScreen,
        IdleScreen,
        KindScreen,
        PlaceCardScreen,
        PriorityScreen,
    )
    from kiosk.view import PrintState, Step

    result = ScriptResult()
    flow, window = kiosk.flow, kiosk.window

    def at(*steps: Step) -> bool:
        return flow.step in steps

    pages_before = len(hospital.printer.pages)

    def shot(name: str) -> None:
        result.steps.append(flow.step.value)
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            path = shots / f"{len(result.screenshots) + 1:02d}-{name}.png"
            kiosk.app.processEvents()
            window.grab().save(str(path))
            result.screenshots.append(path)

    _wait(kiosk, "the start screen", lambda: flow.step is Step.IDLE)
    shot("idle")
    persona = hospital.persona(seed)
    if way in (WayIn.TYPED, WayIn.VSSID):
        started = time.perf_counter()
        if way is WayIn.TYPED:
            idle = window.screens[Step.IDLE]
            assert isinstance(idle, IdleScreen)
            idle.number.click()
        else:
            hospital.scan_insurance_card(seed)
            _wait(kiosk, "the BHYT QR to be read", lambda: flow.step is Step.ENTER_NUMBER)
        keypad = window.screens[Step.ENTER_NUMBER]
        assert isinstance(keypad, DigitsScreen)
        for key in persona.id_number:
            keypad.keys[key].click()
        shot("enter-number")
        keypad.ok.click()
    elif use_qr:
        hospital.scan(seed)
        _wait(kiosk, "the QR to be read", lambda: flow.step is Step.PLACE_CARD)
        shot("place-card")
        started = time.perf_counter()
        if way is WayIn.QR_ONLY:
            place_card = window.screens[Step.PLACE_CARD]
            assert isinstance(place_card, PlaceCardScreen)
            place_card.qr_only.click()
        else:
            hospital.tap(seed, faults)
            _wait(kiosk, "the card to be seen", lambda: flow.step is not Step.PLACE_CARD)
            started = time.perf_counter()  # from the kiosk seeing the card, as a real one would
    else:
        hospital.tap(seed, faults)
        _wait(kiosk, "the keypad", lambda: flow.step is Step.ENTER_DIGITS)
        started = time.perf_counter()  # the kiosk has seen the card
        digits = window.screens[Step.ENTER_DIGITS]
        assert isinstance(digits, DigitsScreen)
        for key in persona.can:
            digits.keys[key].click()
        shot("enter-digits")
        digits.ok.click()
    if shots is not None and kiosk.wait_until(
        lambda: at(Step.READING) and flow.view.progress > 0.2, 5.0
    ):
        shot("reading")

    def card_read() -> None:
        _wait(
            kiosk,
            "the card to be read",
            lambda: not at(Step.READING, Step.PLACE_CARD, Step.ENTER_DIGITS),
        )

    card_read()
    if at(Step.CONSENT):
        shot("consent")
        consent = window.screens[Step.CONSENT]
        assert isinstance(consent, ConsentScreen)
        consent.yes.click()
        card_read()
    if at(Step.PROBLEM):
        shot("problem")
        result.problem = flow.view.problem.value if flow.view.problem else ""
        return result
    if wait_for_photo:
        _wait(
            kiosk,
            "the photo",
            lambda: (
                flow.view.patient is None
                or flow.view.patient.photo is not None
                or not flow.view.patient.trust.from_chip
            ),
            10.0,
        )
    if at(Step.PROBLEM):
        shot("problem")
        result.problem = flow.view.problem.value if flow.view.problem else ""
        return result
    shot("identity")
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    identity.next.click()
    if at(Step.INSURANCE):
        shot("insurance")
    _wait(kiosk, "the BHYT answer", lambda: flow.step is Step.CHOOSE_KIND, 30.0)
    shot("choose-kind")
    kind = window.screens[Step.CHOOSE_KIND]
    assert isinstance(kind, KindScreen)
    (kind.insured if insured else kind.self_pay).click()
    priority = window.screens[Step.CHOOSE_PRIORITY]
    assert isinstance(priority, PriorityScreen)
    while at(Step.CHOOSE_PRIORITY):
        question = flow.view.question
        shot(f"choose-priority-{question.value}" if question else "choose-priority")
        priority.no.click()
    shot("choose-department")
    departments = window.screens[Step.CHOOSE_DEPARTMENT]
    assert isinstance(departments, DepartmentScreen)
    dict(departments.buttons)[department].click()
    shot("confirm")
    confirm = window.screens[Step.CONFIRM]
    assert isinstance(confirm, ConfirmScreen)
    confirm.ok.click()
    if at(Step.REGISTERING):
        shot("registering")
    _wait(kiosk, "the ticket", lambda: flow.step is Step.TICKET)
    _wait(
        kiosk,
        "the printer",
        lambda: (
            flow.view.ticket is not None and flow.view.ticket.printing is not PrintState.PRINTING
        ),
    )
    ticket = flow.view.ticket
    assert ticket is not None
    if ticket.printing is PrintState.PRINTED:  # until the printer has cut the page
        hospital.printer.wait_for_pages(pages_before + 1, 10.0)
    result.tap_to_ticket_s = time.perf_counter() - started
    shot("ticket")
    result.ticket_label = ticket.ticket.label
    result.checkin_id = ticket.ticket.checkin_id
    if ticket.printing is PrintState.PRINTED and hospital.printer.saved:
        result.ticket_png = hospital.printer.saved[-1]
    return result


def xml0_receipt(kiosk: KioskApp, checkin_id: str, timeout: float = 15.0) -> Xml0Receipt:
    """The gateway's receipt for the check-in's XML0 report, once the kiosk's XML0 worker
    has it in its store."""
    store = kiosk.services.store

    def report_received() -> bool:
        report = store.xml0_report(checkin_id)
        return report is not None and report.receipt is not None

    _wait(kiosk, "the XML0 receipt", report_received, timeout)
    report = store.xml0_report(checkin_id)
    assert report is not None and report.receipt is not None
    return report.receipt
