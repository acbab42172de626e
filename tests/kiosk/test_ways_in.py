"""Every way in ends with a ticket (issue #15): the chip, the QR alone, the typed ID number.

The flow with fake ports (as in test_flow.py), then the window with pytest-qt, one test per
way in without the chip (the chip's own way is test_window.py's). The identity's trust
level reaches the screen, the check-in request and the staff note, and only the chip's is
ever shown as verified.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from cardreader.errors import ParseError, ServiceUnavailableError
from hospital_adapter import IdentityTrust, VisitKind
from kiosk.card import Trust
from kiosk.qt.screens import (
    DigitsScreen,
    IdentityScreen,
    IdleScreen,
    PlaceCardScreen,
    ProblemScreen,
)
from kiosk.qt.window import KioskWindow
from kiosk.view import Fallback, Problem, Step
from kiosk.voice import Voice
from tests.kiosk.fakes import HOA, HOA_QR, read_of
from tests.kiosk.test_flow import CONFIG, Rig

HOA_ID = "079185012345"
VSSID_QR = "|".join(
    (
        "HC4797912345678",
        "Nguyễn Thị Hoa".encode().hex(),
        "15/03/1985",
        "2",
        "Số 7 Lê Lợi".encode().hex(),
        "79024",
        "01/01/2026",
        "31/12/2026",
    )
)
"""The BHYT card's QR as the VssID app shows it (docs/domain.md §3.2): no ID number."""


def _to_ticket(rig: Rig) -> None:
    rig.runner.finish()  # the BHYT lookup
    rig.flow.next()
    rig.flow.choose_kind(VisitKind.INSURED)
    rig.no_priority()
    rig.flow.choose_department("K03")
    rig.flow.confirm()
    rig.runner.finish()  # the check-in
    assert rig.view.step is Step.TICKET


def test_qr_alone_when_there_is_no_card_to_place() -> None:
    rig = Rig()
    rig.flow.qr_scanned(HOA_QR)
    assert (rig.view.step, rig.view.fallback) == (Step.PLACE_CARD, Fallback.QR)
    rig.flow.use_qr()
    view = rig.view
    assert view.step is Step.IDENTITY and view.fallback is None
    assert view.patient is not None
    assert (view.patient.full_name, view.patient.date_of_birth, view.patient.sex) == (
        "Nguyễn Thị Hoa",
        "15/03/1985",
        "Nữ",
    )
    assert view.patient.trust is IdentityTrust.QR and view.patient.photo is None
    assert view.staff_note == "identity from the QR only, not verified: check the ID card"
    assert rig.card.calls == [], "the chip is never asked"
    _to_ticket(rig)
    assert rig.hospital.looked_up[0].trust is IdentityTrust.QR
    identity = rig.hospital.requests[0].identity
    assert (identity.id_number, identity.full_name, identity.trust) == (
        HOA_ID,
        "Nguyễn Thị Hoa",
        IdentityTrust.QR,
    )


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (ParseError("garbled DG13"), Problem.CARD_UNREADABLE),
        (ServiceUnavailableError("pcscd gone"), Problem.READER_FAULT),
    ],
)
def test_qr_alone_after_the_chip_failed(error: Exception, problem: Problem) -> None:
    rig = Rig(error=error)
    rig.read_with_qr()
    assert (rig.view.step, rig.view.problem, rig.view.fallback) == (
        Step.PROBLEM,
        problem,
        Fallback.QR,
    )
    rig.flow.use_qr()
    assert rig.view.step is Step.IDENTITY
    assert rig.view.patient is not None and rig.view.patient.trust is IdentityTrust.QR


def test_a_chip_that_failed_its_proofs_offers_no_way_around() -> None:
    rig = Rig(read_result=read_of(HOA, Trust.INVALID, "dg-hash DG13: mismatch"))
    rig.read_with_qr()
    assert (rig.view.problem, rig.view.fallback) == (Problem.CARD_INVALID, None)
    rig.flow.use_qr()
    rig.flow.enter_number()
    assert rig.view.step is Step.PROBLEM and rig.hospital.looked_up == []


def test_typed_id_number_from_the_start_screen() -> None:
    rig = Rig()
    rig.flow.enter_number()
    assert (rig.view.step, rig.view.digits_rejected) == (Step.ENTER_NUMBER, False)
    rig.flow.submit_number("07918501234")  # 11 digits
    assert (rig.view.step, rig.view.digits_rejected) == (Step.ENTER_NUMBER, True)
    rig.flow.submit_number(HOA_ID)
    view = rig.view
    assert view.step is Step.IDENTITY and view.patient is not None
    assert (view.patient.full_name, view.patient.date_of_birth, view.patient.sex) == (
        "",
        "1985",
        "Nữ",
    ), "the birth year and sex the digits encode, no name"
    assert view.patient.masked_id == "••••••••2345"
    assert view.patient.trust is IdentityTrust.TYPED
    assert view.staff_note == "typed ID number, not verified: check the ID card"
    _to_ticket(rig)
    identity = rig.hospital.requests[0].identity
    assert (identity.id_number, identity.trust) == (HOA_ID, IdentityTrust.TYPED)


def test_vssid_qr_then_the_id_number_typed() -> None:
    rig = Rig()
    rig.flow.qr_scanned(VSSID_QR)
    assert (rig.view.step, rig.view.insurance_qr) == (Step.ENTER_NUMBER, True)
    rig.flow.submit_number("079186012345")  # born 1986 by its digits, 1985 by the QR
    assert (rig.view.step, rig.view.digits_rejected) == (Step.ENTER_NUMBER, True)
    rig.flow.submit_number(HOA_ID)
    assert rig.view.patient is not None and rig.view.patient.trust is IdentityTrust.QR
    assert rig.view.patient.full_name == "Nguyễn Thị Hoa"
    _to_ticket(rig)
    identity = rig.hospital.requests[0].identity
    assert (identity.id_number, identity.bhyt_number, identity.trust) == (
        HOA_ID,
        "HC4797912345678",
        IdentityTrust.QR,
    )
    assert rig.card.calls == []


def test_typed_id_number_after_the_reader_failed_without_a_qr() -> None:
    rig = Rig(error=ServiceUnavailableError("pcscd gone"))
    rig.read_with_digits()
    assert (rig.view.problem, rig.view.fallback) == (Problem.READER_FAULT, Fallback.NUMBER)
    rig.flow.use_qr()  # no QR was scanned: nothing happens
    assert rig.view.step is Step.PROBLEM
    rig.flow.enter_number()
    assert rig.flow.step is Step.ENTER_NUMBER


# -- the window ----------------------------------------------------------------------------


def _window(qtbot: QtBot, rig: Rig) -> KioskWindow:
    window = KioskWindow(rig.flow, CONFIG, Voice(enabled=False))
    qtbot.addWidget(window)
    window.setFixedSize(1280, 800)
    window.show()
    return window


def _shown_identity(window: KioskWindow) -> IdentityScreen:
    screen = window.screens[Step.IDENTITY]
    assert isinstance(screen, IdentityScreen)
    assert not screen.title.text().startswith("✓")
    return screen


def test_window_qr_alone(qtbot: QtBot) -> None:
    rig = Rig()
    window = _window(qtbot, rig)
    rig.flow.qr_scanned(HOA_QR)
    place_card = window.screens[Step.PLACE_CARD]
    assert isinstance(place_card, PlaceCardScreen)
    assert place_card.qr_only.isVisible()
    assert place_card.qr_only.text() == "Không đọc được thẻ? Chỉ dùng mã QR"
    place_card.qr_only.click()
    identity = _shown_identity(window)
    assert identity.title.text() == "Thông tin từ mã QR"
    assert identity.subtitle.text() == (
        "Chưa xác thực bằng chip. Nhân viên có thể xin xem thẻ căn cước."
    )
    assert identity.fields["identity.name"][1].text() == "Nguyễn Thị Hoa"
    assert not identity.photo.isVisible()


def test_window_typed_number(qtbot: QtBot) -> None:
    rig = Rig()
    window = _window(qtbot, rig)
    idle = window.screens[Step.IDLE]
    assert isinstance(idle, IdleScreen)
    assert idle.number.text() == "Không có thẻ? Nhập số căn cước"
    idle.number.click()
    keypad = window.screens[Step.ENTER_NUMBER]
    assert isinstance(keypad, DigitsScreen)
    assert keypad.title.text() == "Nhập số căn cước hoặc mã số BHXH"
    for key in HOA_ID[:10]:
        keypad.keys[key].click()
    assert keypad.ok.isEnabled(), "10 digits: a BHXH number"
    keypad.keys[HOA_ID[10]].click()
    assert keypad.display.text() == "079 185 012 34_" and not keypad.ok.isEnabled()
    keypad.keys[HOA_ID[11]].click()
    keypad.keys["9"].click()  # a 13th digit is not taken
    assert keypad.display.text() == "079 185 012 345"
    keypad.ok.click()
    identity = _shown_identity(window)
    assert identity.title.text() == "Số căn cước đã nhập"
    assert not identity.fields["identity.name"][1].isVisible()
    caption, value = identity.fields["identity.birth"]
    assert (caption.text(), value.text()) == ("Năm sinh", "1985")
    assert identity.fields["identity.id"][1].text() == "••••••••2345"


def test_window_problem_screen_offers_the_way_without_the_chip(qtbot: QtBot) -> None:
    rig = Rig(error=ParseError("garbled DG13"))
    window = _window(qtbot, rig)
    rig.read_with_qr()
    problem = window.screens[Step.PROBLEM]
    assert isinstance(problem, ProblemScreen)
    assert problem.fallback.isVisible() and problem.fallback.text() == "Chỉ dùng mã QR"
    problem.fallback.click()
    assert _shown_identity(window).title.text() == "Thông tin từ mã QR"


def test_window_vssid_qr(qtbot: QtBot) -> None:
    rig = Rig()
    window = _window(qtbot, rig)
    rig.flow.qr_scanned(VSSID_QR)
    keypad = window.screens[Step.ENTER_NUMBER]
    assert isinstance(keypad, DigitsScreen)
    assert keypad.subtitle.text() == "Đã đọc mã QR thẻ BHYT. Mời nhập thêm số căn cước."
    assert keypad.title.text() == "Nhập đủ 12 số căn cước"
    for key in HOA_ID[:10]:
        keypad.keys[key].click()
    assert not keypad.ok.isEnabled(), "with the BHYT QR, only the 12-digit ID number"
    for key in HOA_ID[10:]:
        keypad.keys[key].click()
    keypad.ok.click()
    identity = _shown_identity(window)
    assert identity.title.text() == "Thông tin từ mã QR"
    assert identity.fields["identity.birth"][1].text() == "15/03/1985"
