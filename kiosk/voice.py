"""Spoken prompts from a speech process the kiosk can always abandon.

A text-to-speech engine can hang: speech-dispatcher may accept a connection and never
answer, and Qt's client then blocks inside its C library without releasing the GIL, so no
thread of the kiosk's own process would run again. The engine therefore never runs in the
kiosk's process: a child process (:mod:`kiosk.qt.speech`) owns it, and a worker thread here
talks to it over pipes, one JSON object per line, with a deadline on every answer:

- the child's first line is ``{"ready": ["vi", ...]}`` (the languages it has a voice for)
  or ``{"error": "..."}``;
- each prompt ``{"say": TEXT, "language": "vi"}`` is answered with ``{"ok": true}``.

A child that is not ready in ``start_timeout_s``, or leaves a prompt unanswered for
``reply_timeout_s``, is killed: the kiosk goes on silent, :attr:`Voice.status` says why (the
staff screen shows it), and a new child is tried ``retry_s`` later. :meth:`Voice.say` never
waits: only the newest prompt is kept (an old screen's prompt is worth nothing).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from kiosk.config import Language

_log = logging.getLogger(__name__)

START_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 2.0
RETRY_S = 60.0
LINE_MAX = 4096
"""The child's lines are short; a longer one is a broken child."""


class SpeechChildError(Exception):
    """The speech process failed, hung or said something that is not the protocol."""


def child_command(engine: str, volume: float = 1.0, rate: float = 0.0) -> list[str]:
    """The speech process: :mod:`kiosk.qt.speech` with this Python, for ``engine``, at
    ``volume`` (0 to 1) and ``rate`` (-1 to 1, QTextToSpeech's scales)."""
    return [sys.executable, "-m", "kiosk.qt.speech", engine, f"{volume:g}", f"{rate:g}"]


class _Child:
    """One speech process; every read has a deadline."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None) -> None:
        self.process = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin.fileno()
        self._stdout = self.process.stdout.fileno()
        os.set_blocking(self._stdin, False)
        self._buffer = b""

    def send(self, message: dict[str, str]) -> None:
        line = json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"
        try:
            written = os.write(self._stdin, line)
        except (BlockingIOError, BrokenPipeError) as exc:
            raise SpeechChildError(f"the speech process does not read ({exc})") from exc
        if written != len(line):
            raise SpeechChildError("the speech process does not read its input")

    def receive(self, timeout: float) -> dict[str, object]:
        end = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self._stdout], [], [], left)[0]:
                raise SpeechChildError(f"no answer from the speech process in {timeout:g} s")
            chunk = os.read(self._stdout, LINE_MAX)
            if not chunk:
                raise SpeechChildError(f"the speech process exited ({self.process.poll()})")
            self._buffer += chunk
            if len(self._buffer) > LINE_MAX:
                raise SpeechChildError("the speech process sent an overlong line")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError as exc:
            raise SpeechChildError("the speech process sent something that is not JSON") from exc
        if not isinstance(message, dict):
            raise SpeechChildError("the speech process sent something that is not an object")
        return message

    def stop(self, grace_s: float) -> None:
        """Close its input (it exits on EOF); kill it if it has not gone after ``grace_s``.

        Through the file object that owns the descriptor: closing the number underneath
        (``os.close``) left the object to close it again later, when the number could
        already belong to another connection of the process (a PostgreSQL socket).
        """
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


class Voice:
    """``say(text, language)`` without ever blocking; :attr:`spoken` keeps what was asked
    (for tests), :attr:`status` what the speech process is doing (for staff)."""

    def __init__(
        self,
        engine: str = "",
        *,
        enabled: bool = True,
        volume: float = 1.0,
        rate: float = 0.0,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spoken: list[tuple[Language, str]] = []
        self.status = "off (configured silent)" if not enabled else "starting"
        self.delivered = 0
        """Prompts the speech process accepted."""
        self._command = (
            list(command) if command is not None else child_command(engine, volume, rate)
        )
        self._env = env
        self._start_timeout_s = start_timeout_s
        self._reply_timeout_s = reply_timeout_s
        self._retry_s = retry_s
        self._clock = clock
        self._languages: frozenset[str] = frozenset()
        self._pending: tuple[Language, str] | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
            self._thread.start()

    def available(self, language: Language) -> bool:
        return language.value in self._languages

    def say(self, text: str, language: Language) -> None:
        """Speak ``text`` soon, replacing a prompt not yet spoken. Returns at once."""
        self.spoken.append((language, text))
        with self._changed:
            self._pending = (language, text)
            self._changed.notify()

    def wait_idle(self, timeout: float) -> bool:
        """Until no prompt is pending (tests); ``False`` after ``timeout`` s."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending is None, timeout)

    def close(self) -> None:
        """Stop the worker and the speech process (bounded: kills what does not stop)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(self._reply_timeout_s + self._start_timeout_s + 2.0)

    # -- the worker thread -------------------------------------------------------------

    def _next(self, ready: bool, retry_at: float) -> tuple[Language, str] | None:
        """The next prompt to speak; ``None`` once closed. While silent (``ready`` false),
        prompts before ``retry_at`` are dropped."""
        with self._changed:
            while not self._closed:
                if self._pending is not None:
                    prompt, self._pending = self._pending, None
                    self._changed.notify_all()
                    if ready or self._clock() >= retry_at:
                        return prompt
                self._changed.wait()
            return None

    def _start(self) -> _Child:
        child = _Child(self._command, self._env)
        try:
            hello = child.receive(self._start_timeout_s)
            languages = hello.get("ready")
            if not isinstance(languages, list):
                raise SpeechChildError(str(hello.get("error", "no voice")))
        except SpeechChildError:
            child.stop(0.0)
            raise
        self._languages = frozenset(str(language) for language in languages)
        self.status = f"speaking ({', '.join(sorted(self._languages)) or 'no voice'})"
        _log.info("speech ready: voices for %s", ", ".join(sorted(self._languages)) or "nothing")
        return child

    def _speak(self, child: _Child, language: Language, text: str) -> _Child:
        if language.value not in self._languages:
            return child  # a wrong-language voice reading Vietnamese helps nobody
        child.send({"say": text, "language": language.value})
        if child.receive(self._reply_timeout_s).get("ok") is not True:
            raise SpeechChildError("the speech process refused the prompt")
        self.delivered += 1
        return child

    def _run(self) -> None:
        child: _Child | None = None
        retry_at = self._clock()
        try:
            while True:
                if child is None and self._clock() >= retry_at:
                    child, retry_at = self._attempt(self._start, None)
                prompt = self._next(child is not None, retry_at)
                if prompt is None:
                    return
                if child is None:
                    child, retry_at = self._attempt(self._start, None)
                if child is not None:
                    child, retry_at = self._attempt(partial(self._speak, child, *prompt), child)
        finally:
            if child is not None:
                child.stop(1.0)

    def _attempt(
        self, step: Callable[[], _Child], child: _Child | None
    ) -> tuple[_Child | None, float]:
        """Run ``step``; on failure kill ``child``, go silent and say when to try again."""
        try:
            return step(), self._clock()
        except (SpeechChildError, OSError) as exc:
            self._languages = frozenset()
            self.status = f"silent: {exc}; next try in {self._retry_s:g} s"
            _log.warning("speech: %s; prompts are silent", exc)
            if child is not None:
                child.stop(0.0)
            return None, self._clock() + self._retry_s
