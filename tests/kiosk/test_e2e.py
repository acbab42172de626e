"""The kiosk end to end, offscreen: a virtual card behind the session's real pcscd, the
simulated gateway and HIS on real sockets, scanner and printer on ptys. No mocks.

Each test drives the real window by pressing its buttons (``scripted_check_in``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from kiosk.qt.app import KioskApp
from kiosk.qt.screens import IdentityScreen
from kiosk.view import InsuranceState, PrintState, Problem, Step
from simulators.faults import FaultSpec
from simulators.hospital import SimulatedHospital, running_kiosk
from simulators.patients import patient
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona
from simulators.scripted import WayIn, scripted_check_in
from tests.kiosk.conftest import HungSpeechDispatcher

pytestmark = pytest.mark.pcsc

INSURED = patient("insured").seed


@pytest.fixture
def hospital(
    pcscd: PcscDaemon, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[SimulatedHospital]:
    options = getattr(request, "param", {})
    with SimulatedHospital(tmp_path / "hospital", pcscd=pcscd, **options) as running:
        yield running


@pytest.fixture
def kiosk(hospital: SimulatedHospital) -> Iterator[KioskApp]:
    with running_kiosk(hospital) as app:
        app.window.setFixedSize(1280, 800)
        app.window.show()
        yield app
    hospital.remove()


def _registrations(hospital: SimulatedHospital) -> list[tuple[str, bool, str]]:
    return [
        (r.department, r.insured, r.card_number) for r in hospital.his.state.registrations.values()
    ]


def test_insured_patient_gets_a_printed_ticket(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03")
    assert result.problem == ""
    transient = {"reading", "insurance", "registering"}  # shown or not, by timing
    assert [step for step in result.steps if step not in transient] == [
        "idle",
        "place_card",
        "identity",
        "choose_kind",
        "choose_priority",  # a severe disability?
        "choose_priority",  # meritorious service? (a man: never asked about pregnancy)
        "choose_department",
        "confirm",
        "ticket",
    ]
    assert result.ticket_label == "001"
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.printing is PrintState.PRINTED
    assert ticket.ticket.insured and ticket.ticket.verify_insurance_at is None
    assert result.ticket_png is not None
    with Image.open(result.ticket_png) as png:
        assert png.width == 576 and png.height > 700
    ((department, insured, card_number),) = _registrations(hospital)
    assert (department, insured) == ("K03", True) and len(card_number) == 15
    assert hospital.gateway.simulator.stats.lookups == 1


def _audited_identities(kiosk: KioskApp) -> list[str]:
    return [
        part.removeprefix("identity=")
        for entry in kiosk.services.store.audit_entries()
        if entry.action == "checkin"
        for part in entry.detail.split()
        if part.startswith("identity=")
    ]


def test_qr_alone_without_the_chip_gets_an_insured_ticket(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03", way=WayIn.QR_ONLY)
    assert result.problem == "" and result.ticket_label == "001"
    transient = {"insurance", "registering"}
    assert [step for step in result.steps if step not in transient] == [
        "idle",
        "place_card",
        "identity",
        "choose_kind",
        "choose_priority",  # a severe disability?
        "choose_priority",  # meritorious service? (a man: never asked about pregnancy)
        "choose_department",
        "confirm",
        "ticket",
    ]
    assert hospital.slot.inserted is False, "no card was ever placed"
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.insured
    assert ticket.ticket.verify_insurance_at is None, "the QR's name and birth date looked up"
    [registration] = hospital.his.state.registrations.values()
    assert (registration.department, registration.insured, registration.identity) == (
        "K03",
        True,
        "QR",
    )
    assert _audited_identities(kiosk) == ["qr"]


def test_typed_number_gets_a_ticket_with_bhyt_checked_at_the_counter(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K01", way=WayIn.TYPED)
    assert result.problem == "" and result.ticket_label == "001"
    assert [step for step in result.steps if step not in {"insurance", "registering"}] == [
        "idle",
        "enter_number",
        "identity",
        "choose_kind",
        "choose_priority",  # a severe disability?
        "choose_priority",  # meritorious service? (a man: never asked about pregnancy)
        "choose_department",
        "confirm",
        "ticket",
    ]
    assert hospital.gateway.simulator.stats.lookups == 0, "no name to ask the gateway with"
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at == 2
    [registration] = hospital.his.state.registrations.values()
    assert registration.id_number == make_persona(INSURED).id_number
    assert (registration.family_name, registration.insured, registration.identity) == (
        "",
        False,
        "NHAP",
    )
    assert _audited_identities(kiosk) == ["typed"]


def test_vssid_qr_and_the_typed_id_number_get_an_insured_ticket(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03", way=WayIn.VSSID)
    assert result.problem == "" and result.ticket_label == "001"
    assert result.steps[:3] == ["idle", "enter_number", "identity"]
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.insured
    assert ticket.ticket.verify_insurance_at is None, "looked up by the BHYT card number"
    [registration] = hospital.his.state.registrations.values()
    assert (registration.insured, registration.identity) == (True, "QR")
    assert (
        registration.card_number
        == hospital.gateway.simulator.dataset.by_id(make_persona(INSURED).id_number).card_number
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("note", "state"),
    [("no BHYT record", InsuranceState.NOT_FOUND), ("BHYT expired", InsuranceState.EXPIRED)],
)
def test_uninsured_patient_checks_in_self_pay(
    hospital: SimulatedHospital, kiosk: KioskApp, note: str, state: InsuranceState
) -> None:
    states: list[InsuranceState | None] = []
    kiosk.flow.subscribe(lambda view: states.append(view.insurance))
    result = scripted_check_in(kiosk, hospital, patient(note).seed, insured=False, department="K01")
    assert result.problem == "" and result.ticket_label == "001"
    assert state in states
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and not ticket.ticket.insured
    assert _registrations(hospital) == [("K01", False, "")]


def test_expired_id_card_is_accepted_with_a_note(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    notes: list[str] = []
    kiosk.flow.subscribe(lambda view: notes.append(view.staff_note))
    result = scripted_check_in(kiosk, hospital, patient("ID card expired").seed, use_qr=False)
    assert result.problem == "" and result.ticket_label == "001"
    assert result.steps[:2] == ["idle", "enter_digits"]
    assert "ID card expired" in notes
    notice = kiosk.window.screens[Step.IDENTITY].expired.text()  # type: ignore[attr-defined]
    assert notice.startswith("Thẻ căn cước đã hết hạn ngày ")


def test_forged_card_is_refused_politely(hospital: SimulatedHospital, kiosk: KioskApp) -> None:
    result = scripted_check_in(
        kiosk, hospital, INSURED, faults=(FaultSpec.parse("tampered-dg=13"),)
    )
    assert result.problem == Problem.CARD_INVALID.value
    view = kiosk.flow.view
    assert (view.step, view.counter, view.patient) == (Step.PROBLEM, 1, None)
    title = kiosk.window.screens[Step.PROBLEM].title.text()
    assert title == "Rất tiếc, máy chưa xác thực được thẻ này"
    # The lookup started from the card's QR during the read answers; it is never shown.
    assert kiosk.wait_until(lambda: hospital.gateway.simulator.stats.lookups == 1, 10)
    assert (kiosk.flow.view.step, kiosk.flow.view.insurance) == (Step.PROBLEM, None)
    assert _registrations(hospital) == []


def test_gateway_down_gives_a_degraded_ticket(hospital: SimulatedHospital, kiosk: KioskApp) -> None:
    hospital.gateway_down()
    result = scripted_check_in(kiosk, hospital, INSURED)
    assert result.problem == ""
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at == 2
    assert kiosk.window.screens[Step.TICKET].verify.isVisible()  # type: ignore[attr-defined]
    assert _registrations(hospital) == [("K03", False, "")], "no coverage card: checked later"


def test_card_pulled_mid_read_then_placed_again(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    flow = kiosk.flow
    hospital.scan(INSURED)
    assert kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
    hospital.tap(INSURED, remove_at=12)
    assert kiosk.wait_until(lambda: flow.step is Step.PROBLEM, 10)
    assert flow.view.problem is Problem.CARD_REMOVED and flow.view.counter == 1
    assert kiosk.window.screens[Step.PROBLEM].retry.isVisible()  # type: ignore[attr-defined]
    hospital.tap(INSURED)
    assert kiosk.wait_until(lambda: flow.step is Step.IDENTITY, 10)
    assert flow.view.patient is not None


def test_hung_speech_dispatcher_never_blocks_the_kiosk(
    hung_speechd: HungSpeechDispatcher, hospital: SimulatedHospital
) -> None:
    """speech-dispatcher accepts the connection and never answers: the kiosk comes up,
    checks the patient in, and tells staff it is silent."""
    with running_kiosk(hospital) as kiosk:
        kiosk.window.setFixedSize(1280, 800)
        kiosk.window.show()
        assert kiosk.flow.step is Step.IDLE and kiosk.window.isVisible()
        result = scripted_check_in(kiosk, hospital, INSURED, department="K03")
        assert (result.problem, result.ticket_label) == ("", "001")
        assert hung_speechd.accepted.wait(10), "the speech engine never reached speechd"
        voice = kiosk.services.voice
        assert kiosk.wait_until(lambda: voice.status.startswith("silent"), 10), voice.status
        assert kiosk.services.status().voice == (
            "silent: no answer from the speech process in 5 s; next try in 60 s"
        )


def test_qr_scanned_right_after_a_card_left_asks_for_the_card(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    """pcscd notices a removal only at its next poll (0.4 s): a QR scanned before that
    must not start a read that ends in "card removed"."""
    flow = kiosk.flow
    problems: list[Problem] = []
    flow.subscribe(lambda view: problems.extend([view.problem] if view.problem else []))
    hospital.tap(INSURED)
    assert kiosk.wait_until(lambda: flow.step is Step.ENTER_DIGITS, 5)
    hospital.remove()
    hospital.scan(INSURED)
    assert kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD and not flow.card_on_reader, 5)
    hospital.tap(INSURED)
    assert kiosk.wait_until(lambda: flow.step is Step.IDENTITY, 10)
    assert problems == []


@pytest.mark.parametrize("hospital", [{"idle_s": 1.5, "countdown_s": 1.0}], indirect=True)
def test_idle_timeout_wipes_the_patient(hospital: SimulatedHospital, kiosk: KioskApp) -> None:
    flow = kiosk.flow
    hospital.scan(INSURED)
    hospital.tap(INSURED)
    assert kiosk.wait_until(
        lambda: flow.view.patient is not None and flow.view.patient.photo is not None, 10
    )
    identity = kiosk.window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    assert identity.fields["identity.name"][1].text() != ""
    assert kiosk.wait_until(kiosk.window.countdown.isVisible, 5)
    assert kiosk.wait_until(lambda: flow.step is Step.IDLE, 5)
    assert flow.view.patient is None
    assert identity.fields["identity.name"][1].text() == ""
    assert identity.photo.pixmap().isNull()
    assert not kiosk.window.countdown.isVisible()
    assert _registrations(hospital) == []


@pytest.mark.parametrize("hospital", [{"facility_type": "non_state"}], indirect=True)
def test_a_private_hospital_asks_consent_before_reading_the_chip(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03")
    assert result.problem == "" and result.ticket_label == "001"
    assert result.steps[:3] == ["idle", "place_card", "consent"]
    consents = [
        (entry.subject, entry.detail)
        for entry in kiosk.services.store.audit_entries()
        if entry.action == "consent"
    ]
    assert consents == [("", "given")], "the answer, and no one's identity"


def test_a_child_under_6_with_the_qr_alone_is_seen_first(
    hospital: SimulatedHospital, kiosk: KioskApp
) -> None:
    """The card of a child under 6 has no photo; the gateway answers 130 (no BHYT card yet)."""
    child = patient("child under 6").seed
    result = scripted_check_in(kiosk, hospital, child, department="K05", way=WayIn.QR_ONLY)
    assert result.problem == "" and result.ticket_label == "001"
    assert [step for step in result.steps if step not in {"insurance", "registering"}] == [
        "idle",
        "place_card",
        "identity",
        "choose_kind",
        "choose_department",
        "confirm",
        "ticket",
    ], "under 6 from the birth date: no priority question"
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.priority
    assert ticket.ticket.verify_insurance_at == 2, "130: the counter looks at the child's BHYT"
    [registration] = hospital.his.state.registrations.values()
    assert (registration.priority, registration.identity) == ("TE", "QR")
    assert hospital.gateway.simulator.stats.lookups == 1
