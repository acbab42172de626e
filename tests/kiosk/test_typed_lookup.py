"""A typed number ends with a BHYT lookup too (issue #15): the real CheckInService asks the
HIS (an in-memory one that knows returning patients) for the name and date of birth the
gateway needs; the flow and the window never show what the HIS said (anyone can type
anyone's number). The 10-digit BHXH number on the same keypad."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from hospital_adapter import BirthDate, CheckInService, Deadline, IdentityTrust, Sex, Store
from hospital_adapter.gateway import LookupQuery, ResultCode
from hospital_adapter.gateway.wire import InsuranceLookup
from hospital_adapter.his import InMemoryHis, KnownPatient
from hospital_adapter.visit import VisitKind
from kiosk.flow import HIS_NOTE, CheckInFlow
from kiosk.qt.screens import (
    ConfirmScreen,
    DepartmentScreen,
    DigitsScreen,
    IdentityScreen,
    IdleScreen,
    KindScreen,
    PriorityScreen,
)
from kiosk.qt.window import KioskWindow
from kiosk.view import Fallback, InsuranceState, Problem, Step, View
from kiosk.voice import Voice
from tests.kiosk.fakes import NOW, FakeCard, FakeClock, FakePrinter, ManualRunner, lookup_of
from tests.kiosk.test_flow import CONFIG

KEY = bytes(range(32))
HOA_ID = "079185012345"
HOA_BHXH = "7912345678"
HOA = KnownPatient(HOA_ID, "Nguyễn Thị Hoa", BirthDate(1985, 3, 15), Sex.FEMALE, "HC4797912345678")
"""What the HIS knows of Hoa, a returning patient."""


class FakeGateway:
    def __init__(self) -> None:
        self.queries: list[LookupQuery] = []

    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup:
        self.queries.append(query)
        return lookup_of(ResultCode.VALID)


class TypedRig:
    """The flow with the real service, an in-memory HIS, a fake gateway, an SQLite store."""

    def __init__(self, tmp_path: Path, *known: KnownPatient) -> None:
        self.his = InMemoryHis()
        self.his.patients.extend(known)
        self.gateway = FakeGateway()
        self.store = Store(tmp_path / "kiosk.sqlite3", KEY)
        self.service = CheckInService(self.gateway, self.his, self.store)
        self.runner = ManualRunner()
        self.flow = CheckInFlow(
            CONFIG, FakeCard(), self.service, self.runner, printer=FakePrinter(),
            clock=FakeClock(), wall_clock=lambda: NOW,
        )  # fmt: skip
        self.views: list[View] = []
        self.flow.subscribe(self.views.append)

    def type_number(self, number: str) -> None:
        self.flow.enter_number()
        self.flow.submit_number(number)

    def to_ticket(self) -> None:
        flow = self.flow
        flow.next()
        flow.choose_kind(VisitKind.INSURED)
        while flow.step is Step.CHOOSE_PRIORITY:
            flow.answer_priority(False)
        flow.choose_department("K03")
        flow.confirm()
        self.runner.finish_all()
        assert flow.step is Step.TICKET

    def shown_strings(self) -> list[str]:
        """Every string any view held, the patient's fields included."""
        out: list[str] = []
        for view in self.views:
            out.append(view.staff_note)
            if view.patient is not None:
                patient = view.patient
                out += [str(getattr(patient, f.name)) for f in fields(patient)]
        return out


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[TypedRig]:
    made = TypedRig(tmp_path, HOA)
    yield made
    made.store.close()


def _never_shows_the_his_name(rig: TypedRig) -> None:
    shown = rig.shown_strings()
    assert not any("Hoa" in text or "Nguyễn" in text for text in shown), shown


def test_typed_number_of_a_returning_patient_gets_bhyt_verified(rig: TypedRig) -> None:
    rig.type_number(HOA_ID)
    patient = rig.flow.view.patient
    assert patient is not None and rig.flow.step is Step.IDENTITY
    assert (patient.full_name, patient.date_of_birth, patient.sex, patient.masked_id) == (
        "", "1985", "Nữ", "••••••••2345",
    )  # fmt: skip
    rig.runner.finish()  # the lookup: the HIS, then the gateway
    assert rig.his.finds == 1
    [query] = rig.gateway.queries
    assert (query.card_or_id, query.full_name, query.date_of_birth) == (
        "HC4797912345678", "Nguyễn Thị Hoa", BirthDate(1985, 3, 15),
    )  # fmt: skip
    view = rig.flow.view
    assert view.insurance is InsuranceState.INSURED
    assert view.staff_note == f"typed ID number, not verified: check the ID card; {HIS_NOTE}"
    assert view.patient is not None and view.patient.full_name == ""
    rig.to_ticket()
    ticket = rig.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at is None, "BHYT verified"
    [registered] = rig.his.visits.values()
    assert (registered.identity.full_name, registered.identity.trust) == ("", IdentityTrust.TYPED)
    assert registered.coverage is not None
    assert registered.coverage.card_number == "HC4797912345678"
    _never_shows_the_his_name(rig)


def test_a_typed_number_the_his_knows_with_another_birth_year_goes_to_the_counter(
    tmp_path: Path,
) -> None:
    rig = TypedRig(tmp_path, KnownPatient(HOA_ID, "Nguyễn Thị Hoa", BirthDate(1986, 3, 15),
                                          Sex.FEMALE))  # fmt: skip
    rig.type_number(HOA_ID)
    rig.runner.finish()
    assert (rig.his.finds, rig.gateway.queries) == (1, [])
    assert rig.flow.view.insurance is InsuranceState.UNAVAILABLE
    rig.to_ticket()
    ticket = rig.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at == 2
    rig.store.close()


def test_a_new_patient_typed_goes_to_the_counter(tmp_path: Path) -> None:
    rig = TypedRig(tmp_path)
    rig.type_number(HOA_ID)
    rig.runner.finish()
    assert (rig.his.finds, rig.gateway.queries) == (1, [])
    rig.to_ticket()
    ticket = rig.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at == 2
    rig.store.close()


def test_a_bhxh_number_typed_is_found_and_looked_up_by_it(rig: TypedRig) -> None:
    rig.type_number(HOA_BHXH)
    assert rig.flow.step is Step.INSURANCE, "the HIS is asked who has it"
    rig.runner.finish()
    patient = rig.flow.view.patient
    assert patient is not None and rig.flow.step is Step.IDENTITY
    assert (patient.full_name, patient.date_of_birth, patient.sex, patient.masked_id) == (
        "", "", "", "••••••5678",
    ), "the typed number masked; nothing the HIS said"  # fmt: skip
    assert patient.trust is IdentityTrust.TYPED and patient.bhxh_number
    assert rig.flow.view.staff_note.startswith("typed BHXH number, not verified: check the ID card")
    [query] = rig.gateway.queries
    assert (query.card_or_id, query.full_name) == (HOA_BHXH, "Nguyễn Thị Hoa")
    assert rig.flow.view.insurance is InsuranceState.INSURED
    rig.to_ticket()
    ticket = rig.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at is None
    [registered] = rig.his.visits.values()
    assert (registered.identity.id_number, registered.identity.full_name) == (HOA_ID, "")
    _never_shows_the_his_name(rig)


def test_an_unknown_bhxh_number_offers_the_id_number(rig: TypedRig) -> None:
    rig.type_number("0000000001")
    rig.runner.finish()
    view = rig.flow.view
    assert (view.step, view.problem, view.fallback) == (
        Step.PROBLEM, Problem.NUMBER_NOT_FOUND, Fallback.NUMBER,
    )  # fmt: skip
    assert rig.gateway.queries == []
    rig.flow.enter_number()
    assert rig.flow.step is Step.ENTER_NUMBER


def test_window_names_a_typed_bhxh_number_as_such(qtbot: QtBot, rig: TypedRig) -> None:
    """The screen shows the BHXH number the patient typed, titled and labelled as that, not
    as an ID number (the ID number came from the HIS and stays off the screen)."""
    window = KioskWindow(rig.flow, CONFIG, Voice(enabled=False))
    qtbot.addWidget(window)
    window.show()
    rig.type_number(HOA_BHXH)
    rig.runner.finish()
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    caption, value = identity.fields["identity.id"]
    assert (identity.title.text(), caption.text(), value.text()) == (
        "Mã số BHXH đã nhập", "Mã số BHXH", "••••••5678",
    )  # fmt: skip
    rig.flow.cancel()
    rig.type_number(HOA_ID)
    rig.runner.finish()
    assert (identity.title.text(), caption.text()) == ("Số căn cước đã nhập", "Số căn cước")


def test_window_typed_number_of_a_returning_patient(qtbot: QtBot, rig: TypedRig) -> None:
    window = KioskWindow(rig.flow, CONFIG, Voice(enabled=False))
    qtbot.addWidget(window)
    window.setFixedSize(1280, 800)
    window.show()

    def labels() -> list[str]:
        return [w.text() for w in window.findChildren(QLabel) if w.isVisible()]

    idle = window.screens[Step.IDLE]
    assert isinstance(idle, IdleScreen)
    idle.number.click()
    keypad = window.screens[Step.ENTER_NUMBER]
    assert isinstance(keypad, DigitsScreen)
    for key in HOA_ID:
        keypad.keys[key].click()
    keypad.ok.click()
    rig.runner.finish()  # the HIS and the gateway
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    assert identity.title.text() == "Số căn cước đã nhập"
    assert not identity.fields["identity.name"][1].isVisible()
    assert identity.fields["identity.birth"][1].text() == "1985"
    seen = labels()
    identity.next.click()
    kind = window.screens[Step.CHOOSE_KIND]
    assert isinstance(kind, KindScreen)
    seen += labels()
    kind.insured.click()
    priority = window.screens[Step.CHOOSE_PRIORITY]
    assert isinstance(priority, PriorityScreen)
    while rig.flow.step is Step.CHOOSE_PRIORITY:
        seen += labels()
        priority.no.click()
    departments = window.screens[Step.CHOOSE_DEPARTMENT]
    assert isinstance(departments, DepartmentScreen)
    seen += labels()
    dict(departments.buttons)["K03"].click()
    confirm = window.screens[Step.CONFIRM]
    assert isinstance(confirm, ConfirmScreen)
    seen += labels()
    confirm.ok.click()
    rig.runner.finish_all()
    seen += labels()
    ticket = rig.flow.view.ticket
    assert ticket is not None and ticket.ticket.verify_insurance_at is None, "BHYT verified"
    assert rig.flow.step is Step.TICKET
    assert not any("Hoa" in text or "Nguyễn" in text for text in seen), seen
