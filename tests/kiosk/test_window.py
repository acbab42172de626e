"""The Qt window over the plain flow (fake ports): every screen renders, texts switch
language, the countdown shows and a touch hides it, idle wipes the screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hospital_adapter import VisitKind
from kiosk.config import Language, load_config
from kiosk.flow import CheckInFlow
from kiosk.qt import style
from kiosk.qt.screens import DigitsScreen, IdentityScreen
from kiosk.qt.window import KioskWindow
from kiosk.view import Step
from kiosk.voice import Voice
from tests.kiosk.fakes import NOW, FakeCard, FakeClock, FakeHospital, FakePrinter, ManualRunner

CONFIG = load_config(env={})


def _window(qtbot: QtBot) -> tuple[KioskWindow, CheckInFlow, ManualRunner, FakeClock]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style.apply(app, CONFIG.kiosk.font_family)
    runner, clock = ManualRunner(), FakeClock()
    flow = CheckInFlow(
        CONFIG,
        FakeCard(),
        FakeHospital(),
        runner,
        printer=FakePrinter(),
        clock=clock,
        wall_clock=lambda: NOW,
    )
    window = KioskWindow(flow, CONFIG, Voice(enabled=False))
    qtbot.addWidget(window)
    window.setFixedSize(1280, 800)
    window.show()
    return window, flow, runner, clock


def test_every_screen_renders_and_patient_data_is_wiped(qtbot: QtBot) -> None:
    window, flow, runner, _clock = _window(qtbot)
    flow.card_present()
    digits = window.screens[Step.ENTER_DIGITS]
    assert isinstance(digits, DigitsScreen)
    for key in "012345":
        digits.keys[key].click()
    assert digits.ok.isEnabled()
    digits.ok.click()
    assert flow.step is Step.READING
    runner.finish()
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    assert identity.fields["identity.name"][1].text() == "Nguyễn Thị Hoa"
    assert identity.fields["identity.id"][1].text() == "••••••••2345"
    identity.next.click()
    runner.finish()
    assert flow.step is Step.CHOOSE_KIND
    flow.choose_kind(VisitKind.INSURED)
    while flow.step is Step.CHOOSE_PRIORITY:
        flow.answer_priority(False)
    flow.choose_department("K01")
    flow.confirm()
    runner.finish_all()
    assert flow.step is Step.TICKET
    assert window.screens[Step.TICKET].number.text() == "001"  # type: ignore[attr-defined]
    flow.dismiss()
    assert identity.fields["identity.name"][1].text() == ""
    assert identity.photo.pixmap().isNull()


def test_language_toggle_and_voice_prompts(qtbot: QtBot) -> None:
    window, flow, _runner, _clock = _window(qtbot)
    assert window.language.text() == "English"
    window.voice.spoken.clear()
    window.language.click()
    assert window.texts.language is Language.EN
    assert window.language.text() == "Tiếng Việt"
    assert window.voice.spoken[-1] == (Language.EN, window.texts("idle.voice"))
    flow.card_present()
    assert window.voice.spoken[-1][1] == window.texts("enter_digits.voice")


def test_next_patient_starts_in_vietnamese(qtbot: QtBot) -> None:
    window, flow, _runner, _clock = _window(qtbot)
    window.language.click()  # chosen on the start screen: kept while it shows
    assert window.texts.language is Language.EN
    flow.card_present()
    assert window.texts.language is Language.EN
    window.voice.spoken.clear()
    flow.cancel()
    assert window.texts.language is Language.VI
    assert window.language.text() == "English"
    assert window.voice.spoken == [(Language.VI, window.texts("idle.voice"))]


def test_countdown_then_wipe(qtbot: QtBot) -> None:
    window, flow, _runner, clock = _window(qtbot)
    flow.card_present()
    clock.advance(CONFIG.timeouts.idle_s - 3)
    flow.tick()
    assert window.countdown.isVisible()
    assert window.countdown.seconds.text() == "3"
    qtbot.mouseClick(window.countdown, Qt.MouseButton.LeftButton)
    assert not window.countdown.isVisible()
    clock.advance(CONFIG.timeouts.idle_s)
    flow.tick()
    assert flow.step is Step.IDLE and window.stack.currentWidget() is window.screens[Step.IDLE]
