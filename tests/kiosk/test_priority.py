"""Priority by the rules in ``[priority]`` (docs/domain.md §4.3): the age classes from the
birth date, never asked; the others asked one per screen, only where the card cannot tell."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hospital_adapter import BirthDate, Priority, Sex, VisitKind
from kiosk.card import Trust
from kiosk.config import PrioritySettings, Question
from kiosk.view import Step
from tests.kiosk.fakes import HOA, read_of
from tests.kiosk.test_flow import CONFIG, Rig

MAN = replace(HOA, id_number="079085012345", full_name="Lê Văn Nam", sex=Sex.MALE)


def _asked(rig: Rig, answers: list[bool]) -> list[Question | None]:
    """Answer the questions in turn; return the questions shown."""
    rig.to_kind(digits=True)
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    shown = []
    for yes in answers:
        assert rig.view.step is Step.CHOOSE_PRIORITY
        shown.append(rig.view.question)
        rig.flow.answer_priority(yes)
    assert rig.view.step is Step.CHOOSE_DEPARTMENT
    return shown


def _requested(rig: Rig) -> Priority:
    rig.flow.choose_department("K01")
    rig.flow.confirm()
    rig.runner.finish()
    return rig.hospital.requests[0].priority


def test_a_woman_is_asked_each_question_until_a_yes() -> None:
    rig = Rig()
    assert _asked(rig, [False, True]) == [Question.DISABILITY, Question.PREGNANT]
    assert _requested(rig) is Priority.PREGNANT


def test_a_man_is_never_asked_about_pregnancy() -> None:
    rig = Rig(read_result=read_of(MAN, Trust.VERIFIED))
    assert _asked(rig, [False, False]) == [Question.DISABILITY, Question.MERIT]
    assert _requested(rig) is Priority.NONE


def test_the_configured_questions_in_their_order() -> None:
    config = replace(CONFIG, priority=PrioritySettings(ask=(Question.MERIT,)))
    rig = Rig(config)
    assert _asked(rig, [True]) == [Question.MERIT]
    assert _requested(rig) is Priority.MERIT


@pytest.mark.parametrize(
    ("born", "priority"),
    [
        (BirthDate(1951, 3, 2), Priority.ELDERLY),  # 75 on 2 March 2026: the 2023 law's age
        (BirthDate(2020, 3, 3), Priority.CHILD_UNDER_6),  # 5
    ],
)
def test_the_age_classes_are_never_asked(born: BirthDate, priority: Priority) -> None:
    id_number = f"079{1 if born.year < 2000 else 3}{born.year % 100:02d}012345"
    person = replace(HOA, id_number=id_number, date_of_birth=born)
    rig = Rig(read_result=read_of(person, Trust.VERIFIED))
    rig.to_kind(digits=True)
    assert (rig.view.priority, rig.view.auto_priority) == (priority, True)
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    assert rig.view.step is Step.CHOOSE_DEPARTMENT
    assert _requested(rig) is priority


def test_74_is_asked_and_the_age_is_configurable() -> None:
    born = BirthDate(1951, 3, 3)  # 74 on 2 March 2026
    person = replace(HOA, date_of_birth=born, id_number="079151012345")
    rig = Rig(read_result=read_of(person, Trust.VERIFIED))
    rig.to_kind(digits=True)
    assert rig.view.priority is Priority.NONE
    config = replace(CONFIG, priority=PrioritySettings(elderly_from=70))
    rig = Rig(config, read_result=read_of(person, Trust.VERIFIED))
    rig.to_kind(digits=True)
    assert rig.view.priority is Priority.ELDERLY


def test_back_returns_to_the_previous_question() -> None:
    rig = Rig()
    rig.to_kind(digits=True)
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    rig.flow.answer_priority(False)
    assert rig.view.question is Question.PREGNANT
    rig.flow.back()
    assert (rig.view.step, rig.view.question) == (Step.CHOOSE_PRIORITY, Question.DISABILITY)
    rig.flow.answer_priority(True)
    assert _requested(rig) is Priority.DISABILITY
