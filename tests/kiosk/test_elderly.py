"""For an 80-year-old (issue #15, items 4–6): Help on every screen that returns to where the
patient was, and a BHYT button that does not look chosen when the card has expired."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from hospital_adapter import InsuranceCheck
from hospital_adapter.gateway import Decision, ResultCode
from kiosk.qt.screens import IdentityScreen, KindScreen
from kiosk.qt.window import KioskWindow
from kiosk.view import InsuranceState, Step
from kiosk.voice import Voice
from tests.kiosk.fakes import lookup_of
from tests.kiosk.test_flow import CONFIG, Rig


def _window(qtbot: QtBot, rig: Rig) -> KioskWindow:
    window = KioskWindow(rig.flow, CONFIG, Voice(enabled=False))
    qtbot.addWidget(window)
    window.setFixedSize(1280, 800)
    window.show()
    return window


def test_help_is_on_the_first_screen_and_back_returns_to_the_screen(qtbot: QtBot) -> None:
    rig = Rig()
    window = _window(qtbot, rig)
    assert window.help.isVisible() and window.help.text() == "Trợ giúp"
    rig.read_with_qr()
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    window.help.click()
    panel = window.help_panel
    assert panel.isVisible()
    assert (panel.title.text(), panel.counter.text(), panel.back.text()) == (
        "Quý khách cần hỗ trợ?",
        "Vui lòng đến quầy số 1.",
        "Quay lại",
    )
    panel.back.click()
    assert not panel.isVisible()
    assert rig.flow.step is Step.IDENTITY
    assert identity.fields["identity.name"][1].text() == "Nguyễn Thị Hoa"


@pytest.mark.parametrize(
    ("check", "state", "filled"),
    [
        (InsuranceCheck(Decision.INSURED, lookup_of(ResultCode.VALID), False), "insured", True),
        (InsuranceCheck(Decision.RETRY, None, degraded=True), "unavailable", True),
        (
            InsuranceCheck(Decision.SELF_PAY, lookup_of(ResultCode.EXPIRED, None), False),
            "expired",
            False,
        ),
        (
            InsuranceCheck(Decision.GO_TO_COUNTER, lookup_of(ResultCode.NOT_FOUND, None), False),
            "not_found",
            False,
        ),
    ],
)
def test_the_bhyt_button_is_filled_only_when_the_card_may_hold(
    qtbot: QtBot, check: InsuranceCheck, state: str, filled: bool
) -> None:
    rig = Rig()
    rig.hospital.insurance = check
    window = _window(qtbot, rig)
    rig.to_kind()
    rig.flow.next()
    assert rig.view.insurance is InsuranceState(state)
    kind = window.screens[Step.CHOOSE_KIND]
    assert isinstance(kind, KindScreen)
    assert kind.insured.property("primary") == ("true" if filled else "false")
    assert kind.self_pay.property("primary") == "false", "self-pay is never pushed either"
