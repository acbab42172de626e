"""The speech process: QtTextToSpeech behind the line protocol of :mod:`kiosk.voice`.

``python -m kiosk.qt.speech [ENGINE [VOLUME RATE]]`` opens the engine (Qt's default when
ENGINE is empty) at VOLUME (0 to 1) and RATE (-1 to 1), says which languages it has a voice
for, then speaks each prompt read from stdin and exits when stdin closes. It runs in a
process of its own because opening the engine can block for good (see :mod:`kiosk.voice`);
it dies with the kiosk (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

from PySide6.QtCore import QCoreApplication, QLocale, QSocketNotifier

PR_SET_PDEATHSIG = 1
_LANGUAGES = {"vi": QLocale.Language.Vietnamese, "en": QLocale.Language.English}


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the kiosk goes, even if it is killed itself (Linux ``prctl(2)``)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: stdin's EOF still ends the process
        return
    if os.getppid() != parent:  # the kiosk went before prctl took effect
        os._exit(1)


def _answer(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    _die_with_parent(os.getppid())
    app = QCoreApplication([])
    try:
        from PySide6.QtTextToSpeech import QTextToSpeech
    except ImportError as exc:  # PySide6-Addons or its libraries missing
        _answer({"error": f"no text-to-speech module ({exc})"})
        return 1
    engine = argv[0] if argv else ""
    speech = QTextToSpeech(engine) if engine else QTextToSpeech()
    if speech.state() == QTextToSpeech.State.Error:
        _answer({"error": f"text-to-speech engine error: {speech.errorString()}"})
        return 1
    if len(argv) >= 3:
        speech.setVolume(float(argv[1]))
        speech.setRate(float(argv[2]))
    locales: dict[str, QLocale] = {}
    for code, language in _LANGUAGES.items():
        for locale in speech.availableLocales():
            if locale.language() == language:
                locales[code] = locale
                break
    _answer({"ready": sorted(locales)})

    buffer = bytearray()

    def read() -> None:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            app.quit()
            return
        buffer.extend(chunk)
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            prompt = json.loads(line)
            speech.stop()
            speech.setLocale(locales[prompt["language"]])
            speech.say(prompt["say"])
            _answer({"ok": True})

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(read)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
