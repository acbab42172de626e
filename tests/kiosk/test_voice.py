"""Speech never blocks the kiosk: the engine runs in a child process with deadlines.

Fake speech processes (small Python programs speaking the line protocol of
:mod:`kiosk.voice`) play each failure; the real one (:mod:`kiosk.qt.speech`, QtTextToSpeech)
meets a speech-dispatcher that accepts its connection and never answers.
"""

from __future__ import annotations

import gc
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.config import Language
from kiosk.voice import Voice, _Child, child_command
from simulators.procfs import children_of
from tests.kiosk.conftest import HungSpeechDispatcher
from tests.kiosk.fakes import FakeClock

WAIT_S = 10.0


def _until(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _speech_children() -> list[int]:
    """PIDs of this process's children running :mod:`kiosk.qt.speech` (from /proc)."""
    found = []
    for child in children_of(os.getpid()):
        try:
            command = Path(f"/proc/{child.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"kiosk.qt.speech" in command:
            found.append(child.pid)
    return found


def _fake_child(folder: Path, body: str) -> list[str]:
    """A speech process: writes its PID to ``pids``, then runs ``body`` (``send(obj)`` and
    ``lines`` are defined)."""
    script = folder / "child.py"
    script.write_text(
        textwrap.dedent(
            """\
            import json, os, sys, time
            with open(sys.argv[1], "a") as pids:
                print(os.getpid(), file=pids)
            def send(message):
                print(json.dumps(message), flush=True)
            lines = sys.stdin
            """
        )
        + textwrap.dedent(body),
        encoding="utf-8",
    )
    return [sys.executable, str(script), str(folder / "pids")]


def _pids(folder: Path) -> list[int]:
    path = folder / "pids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


@pytest.fixture
def voices() -> Iterator[list[Voice]]:
    made: list[Voice] = []
    yield made
    for voice in made:
        voice.close()


def test_prompts_reach_the_speech_process_in_their_language(
    tmp_path: Path, voices: list[Voice]
) -> None:
    heard = tmp_path / "heard"
    command = _fake_child(
        tmp_path,
        f"""\
        send({{"ready": ["vi"]}})
        for line in lines:
            with open({str(heard)!r}, "a", encoding="utf-8") as out:
                out.write(line)
            send({{"ok": True}})
        """,
    )
    voice = Voice(command=command)
    voices.append(voice)
    assert _until(lambda: voice.status == "speaking (vi)"), voice.status
    assert voice.available(Language.VI) and not voice.available(Language.EN)
    voice.say("Please place your card", Language.EN)  # no English voice: not sent
    voice.say("Xin mời đặt thẻ", Language.VI)
    assert _until(lambda: voice.delivered == 1)
    assert heard.read_text(encoding="utf-8") == '{"say": "Xin mời đặt thẻ", "language": "vi"}\n'
    assert voice.spoken == [
        (Language.EN, "Please place your card"),
        (Language.VI, "Xin mời đặt thẻ"),
    ]
    (pid,) = _pids(tmp_path)
    voice.close()
    assert _gone(pid), "closing ends the speech process"


def test_a_speech_process_that_never_gets_ready_is_killed(
    tmp_path: Path, voices: list[Voice]
) -> None:
    command = _fake_child(tmp_path, "time.sleep(3600)\n")
    voice = Voice(command=command, start_timeout_s=0.5)
    voices.append(voice)
    started = time.monotonic()
    voice.say("Xin chào", Language.VI)
    assert time.monotonic() - started < 0.1, "say() never waits for the speech process"
    assert _until(lambda: voice.status.startswith("silent")), voice.status
    assert voice.status == ("silent: no answer from the speech process in 0.5 s; next try in 60 s")
    assert not voice.available(Language.VI)
    (pid,) = _pids(tmp_path)
    assert _until(lambda: _gone(pid)), "the hung speech process is killed"


def test_a_speech_process_that_stops_answering_is_replaced_later(
    tmp_path: Path, voices: list[Voice]
) -> None:
    clock = FakeClock()
    command = _fake_child(
        tmp_path,
        """\
        send({"ready": ["vi"]})
        for line in lines:
            pass  # takes the prompt, never answers
        """,
    )
    voice = Voice(command=command, reply_timeout_s=0.3, retry_s=30.0, clock=clock)
    voices.append(voice)
    assert _until(lambda: voice.status == "speaking (vi)"), voice.status
    voice.say("Xin mời đặt thẻ", Language.VI)
    assert _until(lambda: voice.status.startswith("silent"))
    assert voice.status == "silent: no answer from the speech process in 0.3 s; next try in 30 s"
    first = _pids(tmp_path)[0]
    assert _until(lambda: _gone(first))
    voice.say("Dropped while silent", Language.VI)
    assert voice.wait_idle(WAIT_S)
    assert len(_pids(tmp_path)) == 1, "no new process before the retry time"
    clock.advance(30.0)
    voice.say("Xin mời đặt thẻ", Language.VI)
    assert _until(lambda: len(_pids(tmp_path)) == 2), "the retry starts a new process"


def test_speech_process_refusing_to_start_reports_its_reason(
    tmp_path: Path, voices: list[Voice]
) -> None:
    command = _fake_child(tmp_path, 'send({"error": "no engine here"})\n')
    voice = Voice(command=command)
    voices.append(voice)
    assert _until(lambda: voice.status.startswith("silent")), voice.status
    assert voice.status == "silent: no engine here; next try in 60 s"


def test_disabled_voice_starts_nothing(voices: list[Voice]) -> None:
    voice = Voice(enabled=False, command=["/nonexistent/speech"])
    voices.append(voice)
    voice.say("Xin chào", Language.VI)
    assert voice.status == "off (configured silent)"
    assert voice.spoken == [(Language.VI, "Xin chào")]


def test_real_engine_meeting_a_hung_speech_dispatcher_is_abandoned(
    hung_speechd: HungSpeechDispatcher, voices: list[Voice]
) -> None:
    voice = Voice(command=child_command(""), start_timeout_s=3.0)
    voices.append(voice)
    voice.say("Xin chào", Language.VI)
    assert hung_speechd.accepted.wait(WAIT_S), "QtTextToSpeech never reached speech-dispatcher"
    assert _until(lambda: voice.status.startswith("silent")), voice.status
    assert voice.status == "silent: no answer from the speech process in 3 s; next try in 60 s"
    assert _until(lambda: _speech_children() == []), "the hung speech process is killed"


def test_a_stopped_speech_process_never_closes_a_descriptor_it_gave_up() -> None:
    """Its input was closed by number and again, later, by the file object owning it: by
    then the number could be another connection's (a kiosk's PostgreSQL socket broke)."""
    child = _Child([sys.executable, "-c", "import sys; sys.stdin.read()"], None)
    given_up = child.process.stdin.fileno()  # type: ignore[union-attr]
    child.stop(5.0)
    reader, writer = os.pipe()  # the lowest free numbers: the child's input among them
    try:
        assert given_up in (reader, writer), "the test needs the number to be reused"
        del child
        gc.collect()
        os.write(writer, b"x")  # both ends still open
        assert os.read(reader, 1) == b"x"
    finally:
        os.close(reader)
        os.close(writer)
