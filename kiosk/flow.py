"""The check-in flow: a plain-Python state machine, driven by events, testable without Qt.

docs/domain.md §1 and §4: idle → identify (the card's QR scanned, or the card placed and the
last 6 digits of the ID number typed) → reading → identity (shown as soon as it is
verified; the photo follows while BHYT is looked up) → choice (khám BHYT / khám dịch vụ,
priority, department) → confirm → registering → ticket → idle. Every failure ends on a
screen that says what happened in plain words and which counter to go to. Nothing the chip
says is asked again: the age priority classes come from the date of birth.

Without the chip (none, or unreadable) the patient still leaves with a ticket: the QR alone
(the card's front or VNeID), or a number typed: the 12-digit ID number, or the 10-digit BHXH
number (the last 10 characters of the BHYT code), which the HIS must already know. Such an
identity carries its :class:`~hospital_adapter.IdentityTrust` to the screen, the store and
the HIS, and is never shown as verified (docs/domain.md §4.1). A typed number's BHYT is
looked up with what the HIS knows of a returning patient; none of it reaches the screen
(anyone can type anyone's number).

The flow owns no thread. Card, network and printer work goes through a
:class:`~kiosk.runner.Runner`; answers come back as method calls on the owner thread.
Every answer carries the patient session it belongs to, so an answer that arrives after
a timeout or a cancel is dropped. The UI calls :meth:`CheckInFlow.tick` about twice a
second for the idle timeout.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from cardreader import (
    AccessDeniedError,
    CardError,
    CccdQr,
    Credentials,
    NoCardError,
    credentials_from_qr,
    parse_cccd_qr,
)
from hospital_adapter import (
    VIETNAM_TIME,
    BhytQrData,
    CheckInResult,
    Deadline,
    Decision,
    HospitalAdapterError,
    IdentityTrust,
    InsuranceCheck,
    InsuranceStatus,
    InvalidInputError,
    NumberLookup,
    PatientIdentity,
    Priority,
    Sex,
    VisitKind,
    VisitRequest,
    parse_bhyt_qr,
    same_lookup,
)
from kiosk.card import CardInvalidError, CardReaderPort, IdentityRead, Trust, mask_id_number
from kiosk.config import KioskConfig, Policy, Question
from kiosk.policy import (
    ASKED_PRIORITY,
    BHXH_NUMBER_NOTE,
    STAFF_NOTES,
    age_on,
    age_priority,
    insurance_state,
    problem_for_card_error,
    qr_identity,
)
from kiosk.ports import CheckInPort, PrinterPort
from kiosk.runner import Outcome, Runner
from kiosk.ticket import Ticket
from kiosk.view import (
    WAITING_FOR_PATIENT,
    Fallback,
    InsuranceState,
    PatientView,
    PrintState,
    Problem,
    Step,
    TicketView,
    View,
)

_log = logging.getLogger(__name__)

CAN_DIGITS = 6
ID_DIGITS = 12
BHXH_DIGITS = 10
HIS_NOTE = "BHYT looked up with the HIS's record of this number"
"""Staff note when a typed number's BHYT was looked up with the HIS's demographics."""


@dataclass
class _Prefetch:
    """A BHYT lookup started from the QR's identity before the chip is read (issue #16):
    used only once the chip's verified identity asks the gateway the same question."""

    identity: PatientIdentity = field(repr=False)
    outcome: Outcome[InsuranceCheck] | None = field(default=None, repr=False)
    wanted: bool = False
    """The verified identity matched while the lookup was still running: hand it on."""


@dataclass
class _Session:
    """One patient's data. Replaced (and so forgotten) at every reset."""

    token: int
    credentials: Credentials | None = field(default=None, repr=False)
    qr: CccdQr | None = field(default=None, repr=False)
    insurance_qr: BhytQrData | None = field(default=None, repr=False)
    """The BHYT card's QR (VssID): it has no ID number, which the patient then types."""
    attempts: int = 0
    consent: bool = False
    """The patient agreed to the chip being read (asked once per patient)."""
    read: IdentityRead | None = field(default=None, repr=False)
    identity: PatientIdentity | None = field(default=None, repr=False)
    insurance: InsuranceCheck | None = field(default=None, repr=False)
    prefetch: _Prefetch | None = field(default=None, repr=False)
    history: list[tuple[Step, Question | None]] = field(default_factory=list)
    """The decisions made so far, to go back to (the screen and its question)."""


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
        changes = {"countdown": None, "can_go_back": back, "fallback": None, **changes}
        self._show(replace(self._view, step=step, **changes))  # type: ignore[arg-type]

    # -- patient and device events -----------------------------------------------------

    def touch(self) -> None:
        """Any touch on the screen: restarts the idle timeout and hides the countdown."""
        self._last_touch = self._clock()
        if self._view.countdown is not None:
            self._show(replace(self._view, countdown=None))

    def qr_scanned(self, text: str) -> None:
        """The scanner read a code: the CCCD's front QR (docs/domain.md §2), or the BHYT
        card's QR as the VssID app shows it (§3.2)."""
        if self.step not in (Step.IDLE, Step.PLACE_CARD, Step.ENTER_DIGITS, Step.PROBLEM):
            return
        self.touch()
        try:
            qr = parse_cccd_qr(text)
            credentials = credentials_from_qr(qr)
        except CardError:
            self._insurance_qr_scanned(text)
            return
        self._reset_session()
        self._session.credentials = credentials
        self._session.qr = qr
        if not self._config.kiosk.asks_consent:  # where consent is asked, nothing before it
            self._prefetch(qr)
        if self._card_present:
            self._start_read()
        else:
            self._go(Step.PLACE_CARD, fallback=Fallback.QR)

    def _prefetch(self, qr: CccdQr) -> None:
        """Look BHYT up with the QR's identity while the chip is read; the answer is kept
        out of sight until the chip's identity is verified (:meth:`_identified`)."""
        try:
            identity = qr_identity(qr)
        except InvalidInputError:
            return  # the read reports what is wrong with the card
        session = self._session
        prefetch = _Prefetch(identity)
        session.prefetch = prefetch
        deadline, token = Deadline.after(self._config.timeouts.lookup_s), session.token
        self._runner.run(
            lambda: self._hospital.lookup_insurance(identity, deadline),
            lambda outcome: self._prefetched(token, prefetch, outcome),
        )

    def _prefetched(
        self, token: int, prefetch: _Prefetch, outcome: Outcome[InsuranceCheck]
    ) -> None:
        if not self._current(token) or self._session.prefetch is not prefetch:
            return
        prefetch.outcome = outcome
        if prefetch.wanted:
            self._session.prefetch = None
            self._looked_up(token, outcome)

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

    def _insurance_qr_scanned(self, text: str) -> None:
        try:
            insurance_qr = parse_bhyt_qr(text)
        except InvalidInputError:
            self._fail(Problem.QR_UNREADABLE, new_session=True)
            return
        self._reset_session()
        self._session.insurance_qr = insurance_qr
        self._go(Step.ENTER_NUMBER, digits_rejected=False, insurance_qr=True)

    def enter_number(self) -> None:
        """ "Nhập số căn cước": no chip to read, the patient types the ID number."""
        if self.step is Step.IDLE or (
            self.step is Step.PROBLEM and self._view.fallback is Fallback.NUMBER
        ):
            self.touch()
            self._reset_session()
            self._go(Step.ENTER_NUMBER, digits_rejected=False, insurance_qr=False)

    def submit_number(self, digits: str) -> None:
        """The 12-digit ID number, typed: an identity nothing proves (docs/domain.md §4.1);
        or, without a BHYT QR, the 10-digit BHXH number, which the HIS is asked about."""
        if self.step is not Step.ENTER_NUMBER:
            return
        self.touch()
        insurance_qr = self._session.insurance_qr
        if len(digits) == BHXH_DIGITS and digits.isdigit() and insurance_qr is None:
            self._find_by_bhxh_number(digits)
            return
        try:
            if insurance_qr is None:
                identity = PatientIdentity.typed(digits)
            else:  # checked against the QR's birth year and sex (docs/domain.md §2.6)
                identity = PatientIdentity(
                    id_number=digits,
                    full_name=insurance_qr.full_name,
                    date_of_birth=insurance_qr.date_of_birth,
                    sex=insurance_qr.sex,
                    address=insurance_qr.address,
                    bhyt_number=str(insurance_qr.card_number),
                    trust=IdentityTrust.QR,
                )
        except InvalidInputError:
            self._show(replace(self._view, digits_rejected=True))
            return
        self._identified(identity)

    def _find_by_bhxh_number(self, number: str) -> None:
        """Ask the HIS who has the BHXH ``number`` (and BHYT with it), on the busy screen."""
        self._go(Step.INSURANCE, digits_rejected=False)
        deadline, token = Deadline.after(self._config.timeouts.lookup_s), self._session.token
        self._runner.run(
            lambda: self._hospital.lookup_by_bhxh_number(number, deadline),
            lambda outcome: self._found_by_number(token, number, outcome),
        )

    def _found_by_number(
        self, token: int, number: str, outcome: Outcome[NumberLookup | None]
    ) -> None:
        if not self._current(token) or self.step is not Step.INSURANCE:
            return
        if outcome.error is not None:
            _log.error("BHXH number lookup failed unexpectedly", exc_info=outcome.error)
        found = outcome.value
        if found is None:
            _log.info("BHXH number not known to the HIS")
            self._fail(Problem.NUMBER_NOT_FOUND)
            return
        self._identified(found.identity, shown_number=number, insurance=found.insurance)

    def use_qr(self) -> None:
        """ "Dùng mã QR": go on with the scanned QR alone, without the chip."""
        qr = self._session.qr
        if qr is None or self._view.fallback is not Fallback.QR:
            return
        self.touch()
        try:
            identity = qr_identity(qr)
        except InvalidInputError as exc:
            _log.warning("QR identity refused by the adapter: %s", exc.field)
            self._fail(Problem.IDENTITY_INCONSISTENT)
            return
        self._identified(identity)

    def next(self) -> None:
        """ "Tiếp tục" on the identity screen."""
        if self.step is not Step.IDENTITY:
            return
        self.touch()
        self._decided()
        if self._session.insurance is None:
            self._go(Step.INSURANCE)
        else:
            self._go(Step.CHOOSE_KIND)

    def choose_kind(self, kind: VisitKind) -> None:
        if self.step is not Step.CHOOSE_KIND:
            return
        self.touch()
        self._decided()
        self._show(replace(self._view, kind=kind))
        if self._view.auto_priority:
            self._after_priority()
        else:
            self._ask_priority(self._questions())

    def answer_priority(self, yes: bool) -> None:
        """ "Có" / "Không" to the priority question on the screen."""
        question = self._view.question
        if self.step is not Step.CHOOSE_PRIORITY or question is None:
            return
        self.touch()
        self._decided()
        if yes:
            self._show(replace(self._view, priority=ASKED_PRIORITY[question]))
            self._after_priority()
            return
        questions = self._questions()
        self._ask_priority(questions[questions.index(question) + 1 :])

    def _questions(self) -> list[Question]:
        """The configured questions this patient can answer yes to (the sex is known)."""
        identity = self._session.identity
        female = identity is not None and identity.sex is Sex.FEMALE
        return [q for q in self._config.priority.ask if q is not Question.PREGNANT or female]

    def _ask_priority(self, questions: list[Question]) -> None:
        if questions:
            self._go(Step.CHOOSE_PRIORITY, question=questions[0], priority=Priority.NONE)
        else:
            self._show(replace(self._view, priority=Priority.NONE))
            self._after_priority()

    def choose_department(self, code: str) -> None:
        if self.step is not Step.CHOOSE_DEPARTMENT:
            return
        self.touch()
        self._decided()
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

        def stored(result: CheckInResult) -> None:  # on a worker thread: hand it over
            self._runner.post(lambda: self._show_ticket(token, result))

        self._runner.run(
            lambda: self._hospital.check_in(request, deadline, insurance, stored),
            lambda outcome: self._checked_in(token, outcome),
        )

    def back(self) -> None:
        if not self._session.history or self.step not in WAITING_FOR_PATIENT:
            return
        self.touch()
        step, question = self._session.history.pop()
        self._go(step, question=question)

    def _decided(self) -> None:
        """Remember the screen just answered, for :meth:`back`."""
        self._session.history.append((self.step, self._view.question))

    def help(self) -> None:
        """ "Trợ giúp", on every screen: which counter helps, over the current screen. BHYT
        questions go to the insurance counter once the gateway could not confirm a card."""
        self.touch()
        insurance_counter = self._view.insurance in (
            InsuranceState.UNAVAILABLE,
            InsuranceState.NOT_FOUND,
        )
        counters = self._config.counters
        counter = counters.insurance if insurance_counter else counters.help
        self._show(replace(self._view, help_counter=counter))

    def close_help(self) -> None:
        """ "Quay lại" on the help panel: back to where the patient was."""
        self.touch()
        self._show(replace(self._view, help_counter=None))

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
        if step is Step.IDLE and self._view.help_counter is not None:
            if elapsed >= timeouts.idle_s:
                self.close_help()
        elif step in WAITING_FOR_PATIENT:
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
        if new_session:
            self._reset_session()
        qr = self._session.qr if problem.without_chip else None
        fallback = None
        if problem.without_chip:
            fallback = Fallback.NUMBER if qr is None else Fallback.QR
        self._show(
            View(
                Step.PROBLEM,
                problem=problem,
                counter=self._config.counters.help,
                fallback=fallback,
            )
        )
        if not problem.retry_with_card:
            self._reset_session()
            self._session.qr = qr

    def answer_consent(self, given: bool) -> None:
        """ "Đồng ý" / "Không đồng ý" to reading the chip; the answer goes to the audit log."""
        if self.step is not Step.CONSENT:
            return
        self.touch()
        _log.info("consent to read the chip: %s", "given" if given else "declined")
        self._runner.run(lambda: self._hospital.record_consent(given), _log_if_failed)
        if not given:
            self._fail(Problem.CONSENT_DECLINED)
            return
        self._session.consent = True
        if self._card_present:
            self._start_read()
        else:
            self._go(Step.PLACE_CARD, fallback=None if self._session.qr is None else Fallback.QR)

    def _start_read(self) -> None:
        session = self._session
        credentials = session.credentials
        if credentials is None:
            return
        if self._config.kiosk.asks_consent and not session.consent:
            self._go(Step.CONSENT)
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
        if read.trust is Trust.INVALID:
            _log.warning("card refused: verification failed (%s)", read.detail)
            self._fail(Problem.CARD_INVALID)
            return
        if read.trust is Trust.UNTRUSTED and policy.untrusted_card is Policy.COUNTER:
            self._fail(Problem.CARD_UNTRUSTED)
            return
        expired = read.expired_on(today)
        if expired and policy.expired_card is Policy.COUNTER:
            self._fail(Problem.CARD_EXPIRED)
            return
        if session.qr is not None and session.qr.id_number.value != read.identity.id_number:
            self._fail(Problem.QR_MISMATCH)
            return
        session.read = read
        self._identified(read.identity, card_expired_on=read.date_of_expiry if expired else None)

    def _identified(
        self,
        identity: PatientIdentity,
        card_expired_on: date | None = None,
        *,
        shown_number: str | None = None,
        insurance: InsuranceCheck | None = None,
    ) -> None:
        """Show who the patient is, however they came in, and look BHYT up meanwhile.

        ``shown_number`` (a typed BHXH number) is shown masked instead of the identity, which
        came from the HIS: its ID number, birth year and sex stay off the screen. With
        ``insurance`` already known, BHYT is not looked up again."""
        session, policy = self._session, self._config.kiosk
        session.identity = identity
        session.credentials = None
        _log.info("identity from %s", identity.trust.value)
        age = age_on(identity.date_of_birth, self._wall_clock().date())
        priority = age_priority(age, self._config.priority)
        from_his = shown_number is not None
        note = BHXH_NUMBER_NOTE if from_his else STAFF_NOTES.get(identity.trust)
        notes = [note] if note else []
        if card_expired_on is not None:
            notes.append("ID card expired")
        patient = PatientView(
            full_name=identity.full_name,
            masked_id=mask_id_number(shown_number or identity.id_number, policy.masked_digits),
            date_of_birth="" if from_his else identity.date_of_birth.gateway_format(),
            sex="" if from_his else identity.sex.value,
            age=age,
            trust=identity.trust,
            card_expired_on=card_expired_on,
            bhxh_number=from_his,
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
        token, prefetch = session.token, session.prefetch
        session.prefetch = None
        if insurance is not None:
            self._insurance_known(insurance)
            return
        if prefetch is not None and same_lookup(prefetch.identity, identity):
            _log.info("BHYT looked up from the QR before the read: the answer is used")
            if prefetch.outcome is None:
                prefetch.wanted = True
                session.prefetch = prefetch
            else:
                self._looked_up(token, prefetch.outcome)
            return
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
        if isinstance(error, CardInvalidError):
            _log.warning("card refused: verification failed, and its fields contradict")
            self._fail(Problem.CARD_INVALID)
            return
        if isinstance(error, AccessDeniedError):
            if session.qr is not None:
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
        if isinstance(error, InvalidInputError):
            _log.warning("chip identity refused by the adapter: %s", error.field)
            self._fail(Problem.IDENTITY_INCONSISTENT)
            return
        if not isinstance(error, CardError):
            _log.error("card read failed unexpectedly", exc_info=error)
        else:
            _log.info("card read failed: %s", type(error).__name__)
        self._fail(problem_for_card_error(error))

    def _looked_up(self, token: int, outcome: Outcome[InsuranceCheck]) -> None:
        if not self._current(token):
            return
        if outcome.error is not None:  # the service never raises for gateway trouble
            _log.error("BHYT lookup failed unexpectedly", exc_info=outcome.error)
            check = InsuranceCheck(Decision.RETRY, None, degraded=True)
        else:
            check = outcome.unwrap()
        self._insurance_known(check)

    def _insurance_known(self, check: InsuranceCheck) -> None:
        """Show what the BHYT lookup says (never the demographics it was made with)."""
        self._session.insurance = check
        note = self._view.staff_note
        if check.from_his and HIS_NOTE not in note:
            note = "; ".join(filter(None, (note, HIS_NOTE)))
        valid_to = None
        if check.lookup is not None and check.lookup.card is not None:
            valid_to = check.lookup.card.valid_to
        state = insurance_state(check)
        self._show(
            replace(self._view, insurance=state, insurance_valid_to=valid_to, staff_note=note)
        )
        if self.step is Step.INSURANCE:
            self._go(Step.CHOOSE_KIND)

    def _after_priority(self) -> None:
        if self._view.department is not None and len(self._config.departments) == 1:
            self._go(Step.CONFIRM)
        else:
            self._go(Step.CHOOSE_DEPARTMENT)

    def _checked_in(self, token: int, outcome: Outcome[CheckInResult]) -> None:
        """The check-in is done, the HIS asked: the ticket if it is not on screen yet (a
        re-tap's, which is not stored again), or the failure."""
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
        self._show_ticket(token, outcome.unwrap())

    def _show_ticket(self, token: int, result: CheckInResult) -> None:
        """The check-in is stored: show and print its ticket, while the HIS is asked."""
        if not self._current(token) or self.step is not Step.REGISTERING:
            return
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


def _log_if_failed(outcome: Outcome[None]) -> None:
    if outcome.error is not None:
        _log.error("consent not recorded in the audit log: %s", type(outcome.error).__name__)


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
