"""The check-in's rules: the identity each way in gives, the priority the birth date
answers (``[priority]``, docs/domain.md §4.3), what the screen says of a BHYT answer, the
problem a card error is, and what staff must know of an unproved identity."""

from __future__ import annotations

from datetime import date

from cardreader import (
    CardRemovedError,
    CccdQr,
    ReaderNotFoundError,
    ServiceUnavailableError,
)
from hospital_adapter import (
    BirthDate,
    Decision,
    IdentityTrust,
    InsuranceCheck,
    InvalidInputError,
    PatientIdentity,
    Priority,
    Sex,
)
from kiosk.config import PrioritySettings, Question
from kiosk.view import InsuranceState, Problem

ASKED_PRIORITY = {
    Question.DISABILITY: Priority.DISABILITY,
    Question.PREGNANT: Priority.PREGNANT,
    Question.MERIT: Priority.MERIT,
}


def age_on(birth: BirthDate, day: date) -> int:
    """Age in whole years; with a year-only birth date, the age reached this year."""
    years = day.year - birth.year
    if birth.month is not None and birth.day is not None:
        years -= (day.month, day.day) < (birth.month, birth.day)
    return years


def age_priority(age: int, rules: PrioritySettings) -> Priority:
    """The priority classes the birth date already answers (docs/domain.md §4.3)."""
    if age < rules.child_under:
        return Priority.CHILD_UNDER_6
    if age >= rules.elderly_from:
        return Priority.ELDERLY
    return Priority.NONE


def insurance_state(check: InsuranceCheck | None) -> InsuranceState:
    if check is None:
        return InsuranceState.PENDING
    if check.degraded:
        return InsuranceState.UNAVAILABLE
    return {
        Decision.INSURED: InsuranceState.INSURED,
        Decision.SELF_PAY: InsuranceState.EXPIRED,
    }.get(check.decision, InsuranceState.NOT_FOUND)


def qr_identity(qr: CccdQr) -> PatientIdentity:
    """The unsigned identity of a front QR (the card's or VNeID's); raises
    :class:`InvalidInputError` when its fields do not make one."""
    try:
        sex = Sex(qr.sex)
    except ValueError:
        raise InvalidInputError("sex", "expected Nam or Nữ") from None
    return PatientIdentity(
        id_number=qr.id_number.value,
        full_name=qr.full_name,
        date_of_birth=BirthDate.of(qr.date_of_birth),
        sex=sex,
        address=qr.address,
        trust=IdentityTrust.QR,
    )


STAFF_NOTES = {
    IdentityTrust.CHIP_UNTRUSTED: "CSCA unknown: chain not verified",
    IdentityTrust.QR: "identity from the QR only, not verified: check the ID card",
    IdentityTrust.TYPED: "typed ID number, not verified: check the ID card",
}
"""What staff must know about an identity the chip did not prove (English, for staff)."""
BHXH_NUMBER_NOTE = "typed BHXH number, not verified: check the ID card"
"""The note instead of :data:`STAFF_NOTES`' for a typed identity found by its BHXH number."""


def problem_for_card_error(exc: BaseException) -> Problem:
    if isinstance(exc, CardRemovedError):
        return Problem.CARD_REMOVED
    if isinstance(exc, ReaderNotFoundError | ServiceUnavailableError):
        return Problem.READER_FAULT
    return Problem.CARD_UNREADABLE
