"""What the kiosk's screen shows: the steps, the problems and the :class:`View` snapshot the
UI renders (docs/kiosk.md). Plain data, no behaviour: :mod:`kiosk.flow` produces them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from hospital_adapter import (
    IdentityTrust,
    Priority,
    VisitKind,
)
from kiosk.config import Department, Question
from kiosk.ticket import Ticket


class Step(enum.Enum):
    """The screens, in order."""

    IDLE = "idle"
    PLACE_CARD = "place_card"
    """The QR was read: waiting for the card on the reader."""
    ENTER_DIGITS = "enter_digits"
    """The card was placed without its QR: the last 6 digits of the ID number."""
    ENTER_NUMBER = "enter_number"
    """No chip: the whole 12-digit ID number, or the 10-digit BHXH number, typed."""
    CONSENT = "consent"
    """May the chip be read? Before the first read, where configured."""
    READING = "reading"
    IDENTITY = "identity"
    """Who the chip says the patient is; the photo follows, BHYT is looked up meanwhile."""
    INSURANCE = "insurance"
    """Waiting for the BHYT lookup (only when the patient is quicker than the gateway)."""
    CHOOSE_KIND = "choose_kind"
    CHOOSE_PRIORITY = "choose_priority"
    CHOOSE_DEPARTMENT = "choose_department"
    CONFIRM = "confirm"
    REGISTERING = "registering"
    TICKET = "ticket"
    PROBLEM = "problem"


WAITING_FOR_PATIENT = frozenset(
    {
        Step.PLACE_CARD,
        Step.ENTER_DIGITS,
        Step.ENTER_NUMBER,
        Step.CONSENT,
        Step.IDENTITY,
        Step.CHOOSE_KIND,
        Step.CHOOSE_PRIORITY,
        Step.CHOOSE_DEPARTMENT,
        Step.CONFIRM,
    }
)
"""Steps where the idle timeout runs (the others wait for the system, which has deadlines)."""


class Problem(enum.Enum):
    """Why the patient cannot go on at the kiosk; each has a patient-facing text."""

    CARD_REMOVED = "card_removed"
    """Pulled out while reading: place it again (or go to the counter)."""
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    QR_UNREADABLE = "qr_unreadable"
    QR_MISMATCH = "qr_mismatch"
    """The QR does not belong to the card on the reader."""
    CARD_UNREADABLE = "card_unreadable"
    CARD_INVALID = "card_invalid"
    """Verification failed (altered or cloned): refused politely."""
    CARD_UNTRUSTED = "card_untrusted"
    CARD_EXPIRED = "card_expired"
    IDENTITY_INCONSISTENT = "identity_inconsistent"
    READER_FAULT = "reader_fault"
    REGISTRATION_FAILED = "registration_failed"
    CONSENT_DECLINED = "consent_declined"
    """The patient does not want the chip read."""
    NUMBER_NOT_FOUND = "number_not_found"
    """The HIS knows no patient with the typed BHXH number (or could not answer)."""

    @property
    def retry_with_card(self) -> bool:
        """The same card can simply be placed again."""
        return self is Problem.CARD_REMOVED

    @property
    def without_chip(self) -> bool:
        """The chip cannot be read, or may not (or a typed BHXH number is not known): the
        patient may go on without it (:class:`Fallback`). A chip that failed its proofs
        proves something against them."""
        return self in (
            Problem.CARD_REMOVED,
            Problem.CARD_UNREADABLE,
            Problem.READER_FAULT,
            Problem.CONSENT_DECLINED,
            Problem.NUMBER_NOT_FOUND,
        )


class Fallback(enum.Enum):
    """The way in without the chip that a screen offers."""

    QR = "qr"
    """Go on with the QR already scanned."""
    NUMBER = "number"
    """Type the 12-digit ID number."""


class InsuranceState(enum.Enum):
    """What the choice screen says about BHYT."""

    PENDING = "pending"
    INSURED = "insured"
    EXPIRED = "expired"
    """The gateway says the card expired (010)."""
    NOT_FOUND = "not_found"
    """Not linked to the ID number, or a case a person must look at."""
    UNAVAILABLE = "unavailable"
    """The gateway could not answer: BHYT is checked at the counter."""


class PrintState(enum.Enum):
    NONE = "none"
    """No printer configured: the number is on screen only."""
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


@dataclass(frozen=True)
class PatientView:
    """What the screen shows of the patient: never the full ID number."""

    full_name: str = field(repr=False)
    """Empty for a typed number (the HIS's name for it is never shown)."""
    masked_id: str = field(repr=False)
    """The ID number masked; for a typed BHXH number, that number masked."""
    date_of_birth: str = field(repr=False)
    """Empty for a typed BHXH number (it would be the HIS's)."""
    sex: str = field(repr=False)
    """Empty for a typed BHXH number."""
    age: int = field(repr=False)
    trust: IdentityTrust
    card_expired_on: date | None = field(default=None, repr=False)
    bhxh_number: bool = False
    """The number shown is the BHXH number the patient typed, not an ID number."""
    photo: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    printing: PrintState


@dataclass(frozen=True)
class View:
    """A snapshot of everything the UI shows; the UI renders it and nothing else."""

    step: Step
    patient: PatientView | None = None
    insurance: InsuranceState | None = None
    insurance_valid_to: date | None = None
    progress: float = 0.0
    attempts_left: int = 0
    digits_rejected: bool = False
    """The digits typed did not open the card, or are not an ID number."""
    fallback: Fallback | None = None
    """The way in without the chip this screen offers, if any."""
    insurance_qr: bool = False
    """A BHYT card's QR (VssID) was read: the keypad asks for the ID number to go with it."""
    kind: VisitKind | None = None
    priority: Priority = Priority.NONE
    auto_priority: bool = False
    """The priority class came from the chip's date of birth."""
    question: Question | None = None
    """The priority question on the screen (``choose_priority``)."""
    department: Department | None = None
    ticket: TicketView | None = None
    problem: Problem | None = None
    counter: int | None = None
    countdown: int | None = None
    """Seconds left before the data is wiped, while the countdown shows."""
    help_counter: int | None = None
    """Help is open over the screen: the counter that helps. Closing it returns the
    patient to where they were; the check-in goes on underneath."""
    staff_note: str = ""
    """For staff, shown small: e.g. an unknown CSCA. Never says "verified"."""
    can_go_back: bool = False
