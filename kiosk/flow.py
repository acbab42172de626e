"""The check-in flow: a plain-Python state machine, driven by events, testable without Qt.

docs/domain.md §1 and §4: idle → identify (the card's QR scanned, or the card placed and the
last 6 digits of the ID number typed) → reading → identity (shown as soon as it is
verified; the photo follows while BHYT is looked up) → choice (khám BHYT / khám dịch vụ,
priority, department) → confirm → registering → ticket → idle. Every failure ends on a
screen that says what happened in plain words and which counter to go to. Nothing the chip
says is asked again: the age priority classes come from the date of birth.

The flow owns no thread. Card, network and printer work goes through a
:class:`~kiosk.runner.Runner`; answers come back as method calls on the owner thread.
Every answer carries the patient session it belongs to, so an answer that arrives after
a timeout or a cancel is dropped. The UI calls :meth:`CheckInFlow.tick` about twice a
second for the idle timeout.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Protocol

from cardreader.access.credentials import Credentials, credentials_from_qr
from cardreader.errors import (
    AccessDeniedError,
    CardError,
    CardRemovedError,
    NoCardError,
    ReaderNotFoundError,
    ServiceUnavailableError,
)
from cardreader.qr import parse_cccd_qr
from hospital_adapter import (
    CheckInResult,
    Deadline,
    InsuranceCheck,
    InsuranceStatus,
    PatientIdentity,
    Priority,
    VisitKind,
    VisitRequest,
)
from hospital_adapter.errors import HospitalAdapterError, InvalidInputError
from hospital_adapter.gateway import Decision
from hospital_adapter.identity import BirthDate
from hospital_adapter.visit import VIETNAM_TIME
from kiosk.card import CardReaderPort, ChipIdentity, IdentityRead, Trust, mask_id_number
from kiosk.config import Department, KioskConfig, Policy
from kiosk.runner import Outcome, Runner
from kiosk.ticket import Ticket

_log = logging.getLogger(__name__)

CAN_DIGITS = 6
CHILD_AGE = 6
ELDERLY_AGE = 80


class Step(enum.Enum):
    """The screens, in order."""

    IDLE = "idle"
    PLACE_CARD = "place_card"
    """The QR was read: waiting for the card on the reader."""
    ENTER_DIGITS = "enter_digits"
    """The card was placed without its QR: the last 6 digits of the ID number."""
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
    HELP = "help"
    """The patient asked for help."""

    @property
    def retry_with_card(self) -> bool:
        """The same card can simply be placed again."""
        return self is Problem.CARD_REMOVED


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
    masked_id: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    sex: str = field(repr=False)
    age: int = field(repr=False)
    trust: Trust
    card_expired_on: date | None = field(default=None, repr=False)
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
    kind: VisitKind | None = None
    priority: Priority = Priority.NONE
    auto_priority: bool = False
    """The priority class came from the chip's date of birth."""
    department: Department | None = None
    ticket: TicketView | None = None
    problem: Problem | None = None
    counter: int | None = None
    countdown: int | None = None
    """Seconds left before the data is wiped, while the countdown shows."""
    staff_note: str = ""
    """For staff, shown small: e.g. an unknown CSCA. Never says "verified"."""
    can_go_back: bool = False


class CheckInPort(Protocol):
    """What the flow needs of :class:`hospital_adapter.CheckInService`."""

    def lookup_insurance(self, identity: PatientIdentity, deadline: Deadline) -> InsuranceCheck: ...

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
    ) -> CheckInResult: ...


class PrinterPort(Protocol):
    def print_ticket(self, ticket: Ticket) -> None:
        """Print ``ticket``; raise :class:`kiosk.devices.errors.DeviceError` on failure."""


@dataclass
class _Session:
    """One patient's data. Replaced (and so forgotten) at every reset."""

    token: int
    credentials: Credentials | None = field(default=None, repr=False)
    qr_id_number: str | None = field(default=None, repr=False)
    attempts: int = 0
    read: IdentityRead | None = field(default=None, repr=False)
    identity: PatientIdentity | None = field(default=None, repr=False)
    insurance: InsuranceCheck | None = field(default=None, repr=False)
    history: list[Step] = field(default_factory=list)


def age_on(birth: BirthDate, day: date) -> int:
    """Age in whole years; with a year-only birth date, the age reached this year."""
    years = day.year - birth.year
    if birth.month is not None and birth.day is not None:
        years -= (day.month, day.day) < (birth.month, birth.day)
    return years


def age_priority(age: int) -> Priority:
    """The priority classes the chip already answers (docs/domain.md §4.3)."""
    if age < CHILD_AGE:
        return Priority.CHILD_UNDER_6
    if age >= ELDERLY_AGE:
        return Priority.AGED_80_PLUS
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


def patient_identity(identity: ChipIdentity) -> PatientIdentity:
    """The adapter's record; raises :class:`InvalidInputError` for inconsistent chip data."""
    return PatientIdentity(
        id_number=identity.id_number,
        full_name=identity.full_name,
        date_of_birth=identity.date_of_birth,
        sex=identity.sex,
        address=identity.address,
    )


def _problem_for_card_error(exc: BaseException) -> Problem:
    if isinstance(exc, CardRemovedError):
        return Problem.CARD_REMOVED
    if isinstance(exc, ReaderNotFoundError | ServiceUnavailableError):
        return Problem.READER_FAULT
    return Problem.CARD_UNREADABLE


class CheckInFlow:
    """The kiosk's state machine. Call every method on the owner thread."""

    def __init__(
        self,
        config: KioskConfig,
        card_reader: CardReaderPort,
        hospital: CheckInPort,
        runner: Runner,
        *,
        printer: PrinterPort | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(VIETNAM_TIME),
    ) -> None:
        self._config = config
        self._card_reader = card_reader
        self._hospital = hospital
        self._runner = runner
        self._printer = printer
        self._clock = clock
        self._wall_clock = wall_clock
        self._listeners: list[Callable[[View], None]] = []
        self._tokens = 0
        self._session = _Session(token=0)
        self._view = View(Step.IDLE)
        self._card_present = False
        self._last_touch = clock()
        self._last_ticket: Ticket | None = None

    # -- observing --------------------------------------------------------------------

    @property
    def view(self) -> View:
        return self._view

    @property
    def step(self) -> Step:
        return self._view.step

    @property
    def card_on_reader(self) -> bool:
        """As last reported by the reader's watcher."""
        return self._card_present

    @property
    def last_ticket(self) -> Ticket | None:
        """The last ticket issued (no personal data), for the admin screen's reprint."""
        return self._last_ticket

    def subscribe(self, listener: Callable[[View], None]) -> None:
        self._listeners.append(listener)

    def _show(self, view: View) -> None:
        if view == self._view:
            return
        if view.step is not self._view.step:
            self._last_touch = self._clock()
            _log.info("step %s -> %s", self._view.step.value, view.step.value)
        self._view = view
        for listener in self._listeners:
            listener(view)

    def _go(self, step: Step, **changes: object) -> None:
        back = bool(self._session.history) and step in WAITING_FOR_PATIENT
        self._show(replace(self._view, step=step, countdown=None, can_go_back=back, **changes))  # type: ignore[arg-type]

    # -- patient and device events -----------------------------------------------------

    def touch(self) -> None:
        """Any touch on the screen: restarts the idle timeout and hides the countdown."""
        self._last_touch = self._clock()
        if self._view.countdown is not None:
            self._show(replace(self._view, countdown=None))

    def qr_scanned(self, text: str) -> None:
        """The scanner read a code (the CCCD's front QR, docs/domain.md §2)."""
        if self.step not in (Step.IDLE, Step.PLACE_CARD, Step.ENTER_DIGITS, Step.PROBLEM):
            return
        self.touch()
        try:
            qr = parse_cccd_qr(text)
            credentials = credentials_from_qr(qr)
        except CardError:
            self._fail(Problem.QR_UNREADABLE, new_session=True)
            return
        self._reset_session()
        self._session.credentials = credentials
        self._session.qr_id_number = qr.id_number.value
        if self._card_present:
            self._start_read()
        else:
            self._go(Step.PLACE_CARD)

    def card_present(self) -> None:
        """The reader reports a card."""
        self._card_present = True
        if self.step is Step.IDLE:
            self._reset_session()
            self._go(Step.ENTER_DIGITS, attempts_left=self._config.kiosk.digit_attempts)
        elif self.step is Step.PLACE_CARD or (
            self.step is Step.PROBLEM
            and self._view.problem is not None
            and self._view.problem.retry_with_card
        ):
            self._start_read()

    def card_absent(self) -> None:
        """The reader is empty (again). A read in progress fails on its own."""
        self._card_present = False
        if self.step is Step.ENTER_DIGITS and self._session.attempts == 0:
            self.reset()

    def submit_digits(self, digits: str) -> None:
        """The last 6 digits of the ID number, typed on the keypad (the CAN)."""
        if self.step is not Step.ENTER_DIGITS:
            return
        self.touch()
        if len(digits) != CAN_DIGITS or not digits.isdigit():
            return
        self._session.credentials = Credentials(can=digits)
        if self._card_present:
            self._start_read()
        else:
            self._go(Step.PLACE_CARD)

    def next(self) -> None:
        """ "Tiếp tục" on the identity screen."""
        if self.step is not Step.IDENTITY:
            return
        self.touch()
        self._session.history.append(Step.IDENTITY)
        if self._session.insurance is None:
            self._go(Step.INSURANCE)
        else:
            self._go(Step.CHOOSE_KIND)

    def choose_kind(self, kind: VisitKind) -> None:
        if self.step is not Step.CHOOSE_KIND:
            return
        self.touch()
        self._session.history.append(Step.CHOOSE_KIND)
        self._show(replace(self._view, kind=kind))
        if self._view.auto_priority or not self._config.kiosk.ask_disability:
            self._after_priority()
        else:
            self._go(Step.CHOOSE_PRIORITY)

    def choose_disability(self, disability: bool) -> None:
        if self.step is not Step.CHOOSE_PRIORITY:
            return
        self.touch()
        self._session.history.append(Step.CHOOSE_PRIORITY)
        priority = Priority.DISABILITY if disability else Priority.NONE
        self._show(replace(self._view, priority=priority))
        self._after_priority()

    def choose_department(self, code: str) -> None:
        if self.step is not Step.CHOOSE_DEPARTMENT:
            return
        self.touch()
        self._session.history.append(Step.CHOOSE_DEPARTMENT)
        self._go(Step.CONFIRM, department=self._config.department(code))

    def confirm(self) -> None:
        """ "Xác nhận": register the visit."""
        if self.step is not Step.CONFIRM:
            return
        view, session = self._view, self._session
        if session.identity is None or view.kind is None or view.department is None:
            return
        self._go(Step.REGISTERING)
        request = VisitRequest(session.identity, view.department.code, view.kind, view.priority)
        insurance = session.insurance if view.kind is VisitKind.INSURED else None
        deadline = Deadline.after(self._config.timeouts.check_in_s)
        token = session.token
        self._runner.run(
            lambda: self._hospital.check_in(request, deadline, insurance),
            lambda outcome: self._checked_in(token, outcome),
        )

    def back(self) -> None:
        if not self._session.history or self.step not in WAITING_FOR_PATIENT:
            return
        self.touch()
        step = self._session.history.pop()
        self._go(step)

    def help(self) -> None:
        """The patient asked for help: the counter."""
        if self.step is not Step.IDLE:
            self._fail(Problem.HELP)

    def cancel(self) -> None:
        """ "Huỷ" / "Về đầu": forget everything and start again."""
        self.reset()

    def dismiss(self) -> None:
        """Leave the ticket or problem screen."""
        if self.step in (Step.TICKET, Step.PROBLEM):
            self.reset()

    def reset(self) -> None:
        """Wipe the patient's data and go back to the start."""
        self._reset_session()
        self._show(View(Step.IDLE))

    def tick(self) -> None:
        """Called periodically: the idle timeout and the auto-dismiss of the last screens."""
        elapsed = self._clock() - self._last_touch
        timeouts = self._config.timeouts
        step = self.step
        if step in WAITING_FOR_PATIENT:
            if elapsed >= timeouts.idle_s:
                _log.info("idle timeout on %s: the patient's data is wiped", step.value)
                self.reset()
            elif elapsed >= timeouts.idle_s - timeouts.countdown_s:
                left = math.ceil(timeouts.idle_s - elapsed)
                self._show(replace(self._view, countdown=left))
        elif (step is Step.TICKET and elapsed >= timeouts.ticket_s) or (
            step is Step.PROBLEM and elapsed >= timeouts.problem_s
        ):
            self.reset()

    # -- internals ------------------------------------------------------------------------

    def _reset_session(self) -> None:
        self._tokens += 1
        self._session = _Session(token=self._tokens)

    def _current(self, token: int) -> bool:
        return token == self._session.token

    def _fail(self, problem: Problem, *, new_session: bool = False) -> None:
        counters = self._config.counters
        if new_session:
            self._reset_session()
        counter = (
            counters.insurance
            if problem is Problem.HELP
            and self._view.insurance
            in (
                InsuranceState.UNAVAILABLE,
                InsuranceState.NOT_FOUND,
            )
            else counters.help
        )
        keep_patient = problem is Problem.HELP
        self._show(
            View(
                Step.PROBLEM,
                problem=problem,
                counter=counter,
                patient=self._view.patient if keep_patient else None,
            )
        )
        if not problem.retry_with_card:
            self._reset_session()

    def _start_read(self) -> None:
        session = self._session
        credentials = session.credentials
        if credentials is None:
            return
        self._go(Step.READING, progress=0.0, problem=None, counter=None, digits_rejected=False)
        token = session.token
        events = _Events(self, token)
        self._runner.run(
            lambda: self._card_reader.read(credentials, events),
            lambda outcome: self._read_done(token, outcome),
        )

    def _progress(self, token: int, done: int, total: int) -> None:
        if self._current(token) and self.step is Step.READING and total > 0:
            self._show(replace(self._view, progress=min(1.0, done / total)))

    def _identity(self, token: int, read: IdentityRead) -> None:
        if not self._current(token) or self.step is not Step.READING:
            return
        session, policy = self._session, self._config.kiosk
        today = self._wall_clock().date()
        chip = read.identity
        if read.trust is Trust.INVALID:
            _log.warning("card refused: verification failed (%s)", read.detail)
            self._fail(Problem.CARD_INVALID)
            return
        if read.trust is Trust.UNTRUSTED and policy.untrusted_card is Policy.COUNTER:
            self._fail(Problem.CARD_UNTRUSTED)
            return
        expired = chip.expired_on(today)
        if expired and policy.expired_card is Policy.COUNTER:
            self._fail(Problem.CARD_EXPIRED)
            return
        if session.qr_id_number is not None and session.qr_id_number != chip.id_number:
            self._fail(Problem.QR_MISMATCH)
            return
        try:
            identity = patient_identity(chip)
        except InvalidInputError as exc:
            _log.warning("chip identity refused by the adapter: %s", exc.field)
            self._fail(Problem.IDENTITY_INCONSISTENT)
            return
        session.read, session.identity = read, identity
        session.credentials = None
        age = age_on(chip.date_of_birth, today)
        priority = age_priority(age)
        notes = []
        if read.trust is Trust.UNTRUSTED:
            notes.append("CSCA unknown: chain not verified")
        if expired:
            notes.append("ID card expired")
        patient = PatientView(
            full_name=chip.full_name,
            masked_id=mask_id_number(chip.id_number, policy.masked_digits),
            date_of_birth=chip.date_of_birth.gateway_format(),
            sex=chip.sex.value,
            age=age,
            trust=read.trust,
            card_expired_on=chip.date_of_expiry if expired else None,
        )
        departments = self._config.departments
        self._go(
            Step.IDENTITY,
            patient=patient,
            progress=1.0,
            insurance=InsuranceState.PENDING,
            priority=priority,
            auto_priority=priority is not Priority.NONE,
            department=departments[0] if len(departments) == 1 else None,
            staff_note="; ".join(notes),
        )
        deadline = Deadline.after(self._config.timeouts.lookup_s)
        self._runner.run(
            lambda: self._hospital.lookup_insurance(identity, deadline),
            lambda outcome: self._looked_up(token, outcome),
        )

    def _photo(self, token: int, png: bytes | None, trust: Trust) -> None:
        if not self._current(token):
            return
        if trust is Trust.INVALID and self.step not in (Step.REGISTERING, Step.TICKET):
            _log.warning("card refused: the photo does not match EF.SOD")
            self._fail(Problem.CARD_INVALID)
            return
        patient = self._view.patient
        if patient is not None and png is not None:
            self._show(replace(self._view, patient=replace(patient, photo=png)))

    def _read_done(self, token: int, outcome: Outcome[None]) -> None:
        if not self._current(token):
            return
        error = outcome.error
        if error is None or self._session.read is not None:
            if error is not None:
                _log.info("reading after the identity failed (%s): no photo", type(error).__name__)
            return
        session = self._session
        if isinstance(error, AccessDeniedError):
            if session.qr_id_number is not None:
                self._fail(Problem.QR_MISMATCH)
                return
            session.attempts += 1
            left = self._config.kiosk.digit_attempts - session.attempts
            if left <= 0:
                self._fail(Problem.TOO_MANY_ATTEMPTS)
            else:
                self._go(Step.ENTER_DIGITS, attempts_left=left, digits_rejected=True)
            return
        if isinstance(error, NoCardError):
            self._go(Step.PLACE_CARD)
            return
        if not isinstance(error, CardError):
            _log.error("card read failed unexpectedly", exc_info=error)
        else:
            _log.info("card read failed: %s", type(error).__name__)
        self._fail(_problem_for_card_error(error))

    def _looked_up(self, token: int, outcome: Outcome[InsuranceCheck]) -> None:
        if not self._current(token):
            return
        if outcome.error is not None:  # the service never raises for gateway trouble
            _log.error("BHYT lookup failed unexpectedly", exc_info=outcome.error)
            check = InsuranceCheck(Decision.RETRY, None, degraded=True)
        else:
            check = outcome.unwrap()
        self._session.insurance = check
        valid_to = None
        if check.lookup is not None and check.lookup.card is not None:
            valid_to = check.lookup.card.valid_to
        self._show(
            replace(self._view, insurance=insurance_state(check), insurance_valid_to=valid_to)
        )
        if self.step is Step.INSURANCE:
            self._go(Step.CHOOSE_KIND)

    def _after_priority(self) -> None:
        if self._view.department is not None and len(self._config.departments) == 1:
            self._go(Step.CONFIRM)
        else:
            self._go(Step.CHOOSE_DEPARTMENT)

    def _checked_in(self, token: int, outcome: Outcome[CheckInResult]) -> None:
        if not self._current(token) or self.step is not Step.REGISTERING:
            return
        if outcome.error is not None:
            error = outcome.error
            if isinstance(error, HospitalAdapterError):
                _log.error("check-in failed: %s", type(error).__name__)
            else:
                _log.error("check-in failed unexpectedly", exc_info=error)
            self._fail(Problem.REGISTRATION_FAILED)
            return
        result = outcome.unwrap()
        department = self._config.department(result.department)
        ticket = Ticket(
            number=result.ticket,
            department_code=department.code,
            department_vi=department.name_vi,
            department_en=department.name_en,
            room=department.room,
            issued_at=self._wall_clock(),
            checkin_id=result.checkin_id,
            insured=result.visit_kind is VisitKind.INSURED,
            verify_insurance_at=(
                self._config.counters.insurance
                if result.insurance is InsuranceStatus.TO_VERIFY_AT_COUNTER
                else None
            ),
            priority=self._view.priority is not Priority.NONE,
        )
        self._last_ticket = ticket
        printing = PrintState.NONE if self._printer is None else PrintState.PRINTING
        # The patient's data leaves the screen with the ticket: keep only what it shows.
        self._session.identity = None
        self._session.read = None
        self._go(Step.TICKET, ticket=TicketView(ticket, printing), patient=None)
        if self._printer is not None:
            self.print_ticket(ticket, token)

    def print_ticket(self, ticket: Ticket, token: int | None = None) -> None:
        """Print ``ticket`` off the owner thread (also the admin screen's reprint)."""
        printer = self._printer
        if printer is None:
            return
        session = self._session.token if token is None else token
        self._runner.run(
            lambda: printer.print_ticket(ticket),
            lambda outcome: self._printed(session, ticket, outcome),
        )

    def _printed(self, token: int, ticket: Ticket, outcome: Outcome[None]) -> None:
        if outcome.error is not None:
            _log.warning("ticket %d not printed: %s", ticket.number, outcome.error)
        shown = self._view.ticket
        if self._current(token) and shown is not None and shown.ticket == ticket:
            state = PrintState.FAILED if outcome.error is not None else PrintState.PRINTED
            self._show(replace(self._view, ticket=TicketView(ticket, state)))


class _Events:
    """Card events from the worker thread, posted to the owner thread with the session."""

    def __init__(self, flow: CheckInFlow, token: int) -> None:
        self._flow = flow
        self._token = token

    def progress(self, done: int, total: int) -> None:
        self._flow._runner.post(lambda: self._flow._progress(self._token, done, total))

    def identity(self, read: IdentityRead) -> None:
        self._flow._runner.post(lambda: self._flow._identity(self._token, read))

    def photo(self, png: bytes | None, trust: Trust) -> None:
        self._flow._runner.post(lambda: self._flow._photo(self._token, png, trust))
