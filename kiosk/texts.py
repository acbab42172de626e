"""Every word the kiosk shows or says, in Vietnamese (default) and English.

The words live in gettext catalogues a translator edits, one per language:
``kiosk/locale/<language>/LC_MESSAGES/kiosk.po``, whose msgids are the keys the code uses
(``idle.title``). They are read with Babel when the kiosk starts, not compiled to ``.mo``:
no build step, so an edited ``.po`` takes effect at the next start and can never disagree
with a stale compiled copy. Short sentences, one instruction each, no jargon: many patients
are elderly (docs/domain.md §1). A key missing in one language or with different
``{placeholders}`` fails the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

from babel.messages.pofile import read_po

from hospital_adapter import Priority
from kiosk.config import Language
from kiosk.view import InsuranceState, Problem, Step, View

DOMAIN = "kiosk"


def read_catalog(language: Language) -> Mapping[str, str]:
    """The ``.po`` catalogue of ``language`` as key → text."""
    po = resources.files("kiosk").joinpath("locale", language.value, "LC_MESSAGES", f"{DOMAIN}.po")
    with po.open("rb") as file:
        catalog = read_po(file, locale=language.value, domain=DOMAIN)
    return MappingProxyType(
        {str(message.id): str(message.string) for message in catalog if message.id}
    )


_VOICE_PREFIX = {
    Step.CHOOSE_KIND: "kind",
    Step.CHOOSE_DEPARTMENT: "department",
}

CATALOGS: Mapping[Language, Mapping[str, str]] = MappingProxyType(
    {language: read_catalog(language) for language in Language}
)


class Texts:
    """Look texts up in the current language; :meth:`toggle` switches VI ↔ EN."""

    def __init__(self, language: Language = Language.VI) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        return CATALOGS[self.language][key].format(**values)

    def toggle(self) -> None:
        self.language = Language.EN if self.language is Language.VI else Language.VI

    def problem(self, problem: Problem) -> tuple[str, str]:
        """Title and body of ``problem``."""
        return self(f"problem.{problem.value}.title"), self(f"problem.{problem.value}.body")

    def priority(self, priority: Priority) -> str:
        return self(f"priority.label.{priority.value}")

    def insurance(self, state: InsuranceState, valid_to: str = "") -> str:
        if state is InsuranceState.INSURED and not valid_to:
            return self("kind.insured_no_date")
        return self(f"kind.{state.value}", date=valid_to)

    def voice(self, view: View) -> str | None:
        """The spoken prompt of ``view``'s screen; ``None`` for the ticket and problem
        screens, whose prompts carry the number or the counter (built by the UI)."""
        step = view.step
        if step in (Step.TICKET, Step.PROBLEM):
            return None
        if step is Step.CHOOSE_PRIORITY:
            return None if view.question is None else self(f"priority.title.{view.question.value}")
        return self(f"{_VOICE_PREFIX.get(step, step.value)}.voice")
