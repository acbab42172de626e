"""The kiosk is heard: every screen's prompt goes from the window through the real speech
process (QtTextToSpeech) to a private speech-dispatcher with Debian's espeak-ng Vietnamese
voice, whose sound is written to a file (:mod:`simulators.speech`) and measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from hospital_adapter import VisitKind
from kiosk.config import Language
from kiosk.qt.window import KioskWindow
from kiosk.voice import Voice
from simulators import speech
from simulators.speech import RecordingSpeechDispatcher, rms
from tests.kiosk.fakes import HOA_QR
from tests.kiosk.test_consent import PRIVATE
from tests.kiosk.test_flow import Rig

pytestmark = pytest.mark.skipif(
    not speech.available(),
    reason="needs speech-dispatcher and speech-dispatcher-espeak-ng (make deps)",
)

SAMPLE_RATE = 22050
"""espeak-ng's output rate."""
MIN_SPEECH_S = 0.5
MIN_RMS = 300.0
"""Silence is 0; espeak-ng's voice at full volume is in the thousands."""


@pytest.fixture
def speechd(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSpeechDispatcher]:
    with RecordingSpeechDispatcher() as server:
        monkeypatch.setenv("SPEECHD_ADDRESS", server.address)
        yield server


def _heard(
    qtbot: QtBot, speechd: RecordingSpeechDispatcher, voice: Voice, action: Callable[[], None]
) -> float:
    """Do ``action``; wait until its prompt is delivered and its sound has stopped growing;
    the RMS of that sound."""
    start, delivered = len(speechd.audio()), voice.delivered
    action()
    qtbot.waitUntil(lambda: voice.delivered > delivered, timeout=10_000)
    qtbot.waitUntil(
        lambda: len(speechd.audio()) - start > MIN_SPEECH_S * SAMPLE_RATE * 2, timeout=10_000
    )
    size = -1
    while size != len(speechd.audio()):  # until the sentence is over
        size = len(speechd.audio())
        time.sleep(0.3)
    return rms(speechd.audio()[start:])


def test_every_screen_prompt_is_heard_in_vietnamese(
    qtbot: QtBot, speechd: RecordingSpeechDispatcher
) -> None:
    voice = Voice()
    rig = Rig(PRIVATE)
    flow, runner = rig.flow, rig.runner
    heard: dict[str, float] = {}

    def hear(name: str, action: Callable[[], None]) -> None:
        heard[name] = _heard(qtbot, speechd, voice, action)

    try:
        hear("idle", lambda: qtbot.addWidget(KioskWindow(flow, PRIVATE, voice)))
        assert voice.available(Language.VI), voice.status
        hear("place_card", lambda: flow.qr_scanned(HOA_QR))
        hear("consent", flow.card_present)
        hear("reading", lambda: flow.answer_consent(True))
        runner.finish()  # the consent, recorded
        hear("identity", runner.finish)  # the chip read
        hear("insurance", flow.next)  # quicker than the gateway
        hear("choose_kind", runner.finish)  # the lookup
        hear("priority: disability", lambda: flow.choose_kind(VisitKind.INSURED))
        hear("priority: pregnant", lambda: flow.answer_priority(False))
        hear("priority: merit", lambda: flow.answer_priority(False))
        hear("choose_department", lambda: flow.answer_priority(False))
        hear("confirm", lambda: flow.choose_department("K01"))
        hear("registering", flow.confirm)
        hear("ticket", runner.finish)
        hear("help", flow.help)
        flow.close_help()
        hear("idle again", flow.dismiss)
        hear("enter_number", flow.enter_number)
        hear("problem", lambda: (flow.cancel(), flow.qr_scanned("not a QR of any card")))
    finally:
        voice.close()
    quiet = {name: level for name, level in heard.items() if level < MIN_RMS}
    assert not quiet, f"prompts without sound: {quiet}"
    assert [text for _, text in voice.spoken][:3] == [
        "Xin mời quét mã QR trên thẻ căn cước, hoặc đặt thẻ lên đầu đọc.",
        "Mời quý khách đặt thẻ căn cước lên đầu đọc.",
        "Quý khách có đồng ý cho máy đọc chip trên thẻ căn cước không?",
    ]
    # One prompt per screen, and two more: closing Help says the ticket screen's prompt again,
    # "Huỷ" the start screen's.
    assert len(voice.spoken) == len(heard) + 2


def test_volume_is_configurable_and_heard(qtbot: QtBot, speechd: RecordingSpeechDispatcher) -> None:
    def level(volume: float) -> float:
        voice = Voice(volume=volume)
        try:
            qtbot.waitUntil(lambda: voice.available(Language.VI), timeout=10_000)
            prompt = "Mời quý khách đặt thẻ căn cước lên đầu đọc."
            return _heard(qtbot, speechd, voice, lambda: voice.say(prompt, Language.VI))
        finally:
            voice.close()

    loud, soft = level(1.0), level(0.3)
    assert MIN_RMS < soft < loud * 0.6, (loud, soft)
