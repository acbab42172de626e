"""Spoken prompts through QtTextToSpeech: a Vietnamese voice where the system has one.

Silent when Qt's text-to-speech module or engine is missing, or when no voice speaks the
current language (a wrong-language voice reading Vietnamese helps nobody).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLocale

from kiosk.config import Language

_log = logging.getLogger(__name__)

_LANGUAGES = {Language.VI: QLocale.Language.Vietnamese, Language.EN: QLocale.Language.English}


class Voice:
    """``say(text, language)``; :attr:`spoken` keeps what was said (for tests)."""

    def __init__(self, engine: str = "", enabled: bool = True) -> None:
        self.spoken: list[tuple[Language, str]] = []
        self._speech = None
        self._locales: dict[Language, QLocale] = {}
        if not enabled:
            return
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech
        except ImportError as exc:  # PySide6-Addons or its libraries missing
            _log.info("no text-to-speech module (%s): prompts are silent", exc)
            return
        try:
            speech = QTextToSpeech(engine) if engine else QTextToSpeech()
        except RuntimeError as exc:
            _log.info("text-to-speech engine unavailable (%s): prompts are silent", exc)
            return
        if speech.state() == QTextToSpeech.State.Error:
            _log.info("text-to-speech engine in error state: prompts are silent")
            return
        for language, qt_language in _LANGUAGES.items():
            for locale in speech.availableLocales():
                if locale.language() == qt_language:
                    self._locales[language] = locale
                    break
        self._speech = speech
        _log.info("voices for %s", ", ".join(lang.value for lang in self._locales) or "nothing")

    def available(self, language: Language) -> bool:
        return self._speech is not None and language in self._locales

    def say(self, text: str, language: Language) -> None:
        self.spoken.append((language, text))
        if self._speech is None or language not in self._locales:
            return
        self._speech.stop()
        self._speech.setLocale(self._locales[language])
        self._speech.say(text)
