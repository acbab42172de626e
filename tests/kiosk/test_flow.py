"""The check-in flow as plain Python: every path, with fake ports and a manual runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from cardreader.errors import CardRemovedError, NoCardError, ParseError, ServiceUnavailableError
from hospital_adapter import BirthDate, IdentityTrust, InsuranceCheck, Priority, VisitKind
from hospital_adapter.errors import InvalidInputError, StoreError
from hospital_adapter.gateway import Decision, ResultCode
from kiosk.card import CardInvalidError, Trust, mask_id_number
from kiosk.config import KioskConfig, Policy, PrioritySettings, Question, load_config
from kiosk.flow import CheckInFlow
from kiosk.policy import age_on
from kiosk.view import InsuranceState, PrintState, Problem, Step, View
from tests.kiosk.fakes import (
    HOA,
    HOA_QR,
    NOW,
    FakeCard,
    FakeClock,
    FakeHospital,
    FakePrinter,
    ManualRunner,
    lookup_of,
    read_of,
)

CONFIG = load_config()


class Rig:
    def __init__(
        self,
        config: KioskConfig = CONFIG,
        hospital: Callable[[Rig], FakeHospital] = lambda _: FakeHospital(),
        **card: object,
    ) -> None:
        self.card = FakeCard(**card)  # type: ignore[arg-type]
        self.hospital = hospital(self)
        self.printer = FakePrinter()
        self.runner = ManualRunner()
        self.clock = FakeClock()
        self.flow = CheckInFlow(
            config,
            self.card,
            self.hospital,
            self.runner,
            printer=self.printer,
            clock=self.clock,
            wall_clock=lambda: NOW,
        )
        self.views: list[View] = []
        self.flow.subscribe(self.views.append)

    @property
    def view(self) -> View:
        return self.flow.view

    def no_priority(self) -> None:
        """ "Không" to every priority question."""
        while self.view.step is Step.CHOOSE_PRIORITY:
            self.flow.answer_priority(False)

    def read_with_qr(self) -> None:
        self.flow.qr_scanned(HOA_QR)
        assert self.view.step is Step.PLACE_CARD
        self.flow.card_present()
        assert self.view.step is Step.READING
        assert len(self.runner.jobs) == 2  # the BHYT lookup from the QR, then the card read
        self.runner.finish(1)  # the card read; the lookup goes on

    def read_with_digits(self) -> None:
        self.flow.card_present()
        self.flow.submit_digits(self.card.can)
        self.runner.finish()

    def to_kind(self, *, digits: bool = False) -> None:
        if digits:
            self.read_with_digits()
        else:
            self.read_with_qr()
        self.runner.finish()  # the BHYT lookup
        self.flow.next()
        assert self.view.step is Step.CHOOSE_KIND


def test_insured_patient_from_qr_to_printed_ticket() -> None:
    rig = Rig()
    rig.read_with_qr()
    assert rig.card.calls[0].can == "012345"
    assert rig.card.calls[0].mrz_keys, "the QR's dates give BAC keys too"
    view = rig.view
    assert view.step is Step.IDENTITY
    assert view.patient is not None
    assert view.patient.full_name == "Nguyễn Thị Hoa"
    assert view.patient.masked_id == "••••••••2345"
    assert view.patient.date_of_birth == "15/03/1985"
    assert view.patient.age == 40
    assert view.patient.trust is IdentityTrust.CHIP
    assert view.patient.photo == b"\x89PNG fake"
    assert view.insurance is InsuranceState.PENDING
    assert view.staff_note == ""
    rig.runner.finish()  # lookup, in parallel with the photo
    assert rig.view.insurance is InsuranceState.INSURED
    assert rig.view.insurance_valid_to == date(2026, 12, 31)
    assert rig.hospital.looked_up[0].id_number == "079185012345"
    rig.flow.next()
    rig.flow.choose_kind(VisitKind.INSURED)
    assert rig.view.step is Step.CHOOSE_PRIORITY
    rig.no_priority()
    assert rig.view.step is Step.CHOOSE_DEPARTMENT
    rig.flow.choose_department("K03")
    assert rig.view.step is Step.CONFIRM
    assert rig.view.department is not None and rig.view.department.room == "203"
    rig.flow.confirm()
    assert rig.view.step is Step.REGISTERING
    rig.runner.finish()  # check-in
    request = rig.hospital.requests[0]
    assert (request.department, request.visit_kind, request.priority) == (
        "K03",
        VisitKind.INSURED,
        Priority.NONE,
    )
    assert request.identity.full_name == "Nguyễn Thị Hoa"
    assert request.identity.trust is IdentityTrust.CHIP
    view = rig.view
    assert view.step is Step.TICKET
    assert view.patient is None, "the patient's details leave the screen with the ticket"
    assert view.ticket is not None and view.ticket.printing is PrintState.PRINTING
    ticket = view.ticket.ticket
    assert (ticket.label, ticket.room, ticket.department_vi) == ("001", "203", "Tai Mũi Họng")
    assert ticket.verify_insurance_at is None and ticket.insured
    rig.runner.finish()  # printing
    assert rig.view.ticket is not None and rig.view.ticket.printing is PrintState.PRINTED
    assert rig.printer.printed == [ticket]
    assert rig.flow.last_ticket == ticket


def test_card_first_then_digits_wrong_twice_then_right() -> None:
    rig = Rig()
    rig.flow.card_present()
    assert rig.view.step is Step.ENTER_DIGITS and rig.view.attempts_left == 3
    rig.flow.submit_digits("12345")  # too short: ignored
    assert rig.view.step is Step.ENTER_DIGITS and not rig.runner.jobs
    rig.flow.submit_digits("999999")
    rig.runner.finish()
    assert rig.view.step is Step.ENTER_DIGITS
    assert rig.view.digits_rejected and rig.view.attempts_left == 2
    rig.flow.submit_digits("012345")
    rig.runner.finish()
    assert rig.view.step is Step.IDENTITY
    assert rig.card.calls[-1].mrz_keys == ()


def test_too_many_wrong_digits_goes_to_the_help_counter() -> None:
    rig = Rig()
    rig.flow.card_present()
    for _ in range(3):
        rig.flow.submit_digits("999999")
        rig.runner.finish()
    assert rig.view.step is Step.PROBLEM
    assert rig.view.problem is Problem.TOO_MANY_ATTEMPTS
    assert rig.view.counter == CONFIG.counters.help


def test_qr_of_another_card_and_unreadable_qr() -> None:
    rig = Rig(can="654321")
    rig.read_with_qr()
    assert (rig.view.step, rig.view.problem) == (Step.PROBLEM, Problem.QR_MISMATCH)
    rig.flow.dismiss()
    rig.flow.qr_scanned("https://example.org/not-a-cccd")
    assert rig.view.problem is Problem.QR_UNREADABLE
    assert rig.view.patient is None


def test_forged_card_is_refused_politely_and_the_qr_lookup_is_never_shown() -> None:
    rig = Rig(read_result=read_of(HOA, Trust.INVALID, "dg-hash DG13: mismatch"))
    rig.read_with_qr()
    refused = rig.view
    assert (refused.step, refused.problem) == (Step.PROBLEM, Problem.CARD_INVALID)
    assert refused.counter == CONFIG.counters.help
    assert refused.patient is None
    rig.runner.finish()  # the lookup started from the QR answers: it goes nowhere
    assert rig.view == refused
    assert [identity.trust for identity in rig.hospital.looked_up] == [IdentityTrust.QR]
    assert rig.runner.jobs == []


@pytest.mark.parametrize("policy", [Policy.ALLOW, Policy.COUNTER])
def test_unknown_csca_follows_the_policy_and_is_never_shown_as_verified(policy: Policy) -> None:
    config = replace(CONFIG, kiosk=replace(CONFIG.kiosk, untrusted_card=policy))
    rig = Rig(config, read_result=read_of(HOA, Trust.UNTRUSTED, "chain: unknown CSCA"))
    rig.read_with_qr()
    if policy is Policy.COUNTER:
        assert rig.view.problem is Problem.CARD_UNTRUSTED
        return
    assert rig.view.step is Step.IDENTITY
    assert rig.view.patient is not None and rig.view.patient.trust is IdentityTrust.CHIP_UNTRUSTED
    assert "CSCA unknown" in rig.view.staff_note


@pytest.mark.parametrize("policy", [Policy.ALLOW, Policy.COUNTER])
def test_expired_id_card_follows_the_policy(policy: Policy) -> None:
    config = replace(CONFIG, kiosk=replace(CONFIG.kiosk, expired_card=policy))
    rig = Rig(config, read_result=read_of(HOA, Trust.VERIFIED, expiry=date(2025, 3, 15)))
    rig.read_with_qr()
    if policy is Policy.COUNTER:
        assert rig.view.problem is Problem.CARD_EXPIRED
        return
    assert rig.view.patient is not None
    assert rig.view.patient.card_expired_on == date(2025, 3, 15)
    assert "ID card expired" in rig.view.staff_note


def test_altered_photo_refuses_the_card_even_after_the_identity_was_shown() -> None:
    rig = Rig(photo_trust=Trust.INVALID)
    rig.read_with_qr()
    assert (rig.view.step, rig.view.problem) == (Step.PROBLEM, Problem.CARD_INVALID)
    assert rig.view.patient is None


def test_card_without_expiry_never_expires() -> None:
    rig = Rig(read_result=read_of(HOA, Trust.VERIFIED, expiry=None))
    rig.read_with_qr()
    assert rig.view.patient is not None and rig.view.patient.card_expired_on is None


def test_card_pulled_mid_read_then_placed_again() -> None:
    rig = Rig(error=CardRemovedError("pulled"))
    rig.read_with_qr()
    assert (rig.view.step, rig.view.problem) == (Step.PROBLEM, Problem.CARD_REMOVED)
    assert rig.view.counter == CONFIG.counters.help
    rig.card.error = None
    rig.flow.card_absent()
    rig.flow.card_present()
    assert rig.view.step is Step.READING, "the same credentials are tried again"
    rig.runner.finish(-1)  # the read (the QR's lookup is still running)
    assert rig.view.step is Step.IDENTITY


def test_qr_scanned_just_after_the_last_card_left_waits_for_the_card() -> None:
    """The reader still reported the last patient's card (pcscd polls every 400 ms): the
    read finds no card, and the kiosk asks for the card instead of saying it was pulled."""
    rig = Rig(error=NoCardError("gone before the first answer"))
    rig.flow.card_present()  # stale: the card is already gone
    rig.flow.qr_scanned(HOA_QR)
    assert rig.view.step is Step.READING
    rig.runner.finish(-1)  # the read (the QR's lookup is still running)
    assert (rig.view.step, rig.view.problem) == (Step.PLACE_CARD, None)
    rig.card.error = None
    rig.flow.card_absent()
    assert rig.view.step is Step.PLACE_CARD
    rig.flow.card_present()
    assert rig.view.step is Step.READING, "the QR's credentials wait for the card"
    rig.runner.finish(-1)
    assert rig.view.step is Step.IDENTITY
    assert [call.can for call in rig.card.calls] == ["012345", "012345"]


def test_card_pulled_while_reading_the_photo_keeps_the_identity() -> None:
    rig = Rig(error_after_identity=CardRemovedError("pulled"))
    rig.read_with_qr()
    assert rig.view.step is Step.IDENTITY
    assert rig.view.patient is not None and rig.view.patient.photo is None


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (ServiceUnavailableError("no pcscd"), Problem.READER_FAULT),
        (ParseError("bad DG13"), Problem.CARD_UNREADABLE),
        (RuntimeError("bug"), Problem.CARD_UNREADABLE),
    ],
)
def test_reader_and_card_faults(error: Exception, problem: Problem) -> None:
    rig = Rig(error=error)
    rig.read_with_qr()
    assert (rig.view.step, rig.view.problem) == (Step.PROBLEM, problem)


def test_inconsistent_chip_identity_goes_to_the_counter() -> None:
    wrong_year = InvalidInputError(
        "ID number", "century and year digits do not match the birth year"
    )
    rig = Rig(error=wrong_year)  # raised by kiosk.card_pcsc.identity_read
    rig.read_with_qr()
    assert rig.view.problem is Problem.IDENTITY_INCONSISTENT


def test_a_forged_card_whose_fields_contradict_is_refused_as_forged() -> None:
    rig = Rig(error=CardInvalidError("verification failed and the birth year differs"))
    rig.read_with_qr()
    assert (rig.view.problem, rig.view.counter) == (Problem.CARD_INVALID, CONFIG.counters.help)


def test_patient_quicker_than_the_gateway_waits_on_the_insurance_screen() -> None:
    rig = Rig()
    rig.read_with_qr()
    rig.flow.next()
    assert rig.view.step is Step.INSURANCE
    rig.runner.finish()
    assert rig.view.step is Step.CHOOSE_KIND


@pytest.mark.parametrize(
    ("check", "state"),
    [
        (InsuranceCheck(Decision.RETRY, None, degraded=True), InsuranceState.UNAVAILABLE),
        (
            InsuranceCheck(Decision.SELF_PAY, lookup_of(ResultCode.EXPIRED), degraded=False),
            InsuranceState.EXPIRED,
        ),
        (
            InsuranceCheck(
                Decision.GO_TO_COUNTER, lookup_of(ResultCode.NOT_FOUND, None), degraded=False
            ),
            InsuranceState.NOT_FOUND,
        ),
    ],
)
def test_insured_visit_without_confirmed_cover_is_checked_at_the_counter(
    check: InsuranceCheck, state: InsuranceState
) -> None:
    rig = Rig()
    rig.hospital.insurance = check
    rig.to_kind()
    assert rig.view.insurance is state
    rig.flow.choose_kind(VisitKind.INSURED)
    rig.no_priority()
    rig.flow.choose_department("K01")
    rig.flow.confirm()
    rig.runner.finish()
    assert rig.view.ticket is not None
    assert rig.view.ticket.ticket.verify_insurance_at == CONFIG.counters.insurance


def test_self_pay_visit_sends_no_insurance_check() -> None:
    rig = Rig()
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    rig.flow.answer_priority(True)
    rig.flow.choose_department("K02")
    rig.flow.confirm()
    rig.runner.finish()
    request = rig.hospital.requests[0]
    assert (request.visit_kind, request.priority) == (VisitKind.SELF_PAY, Priority.DISABILITY)
    assert rig.view.ticket is not None and not rig.view.ticket.ticket.insured
    assert rig.view.ticket.ticket.priority


@pytest.mark.parametrize(
    ("born", "priority"),
    [
        (BirthDate(1940, 6, 1), Priority.ELDERLY),
        (BirthDate(2022, 1, 5), Priority.CHILD_UNDER_6),
    ],
)
def test_age_priority_comes_from_the_chip_and_is_not_asked(
    born: BirthDate, priority: Priority
) -> None:
    century = "0" if born.year < 2000 else "2"
    person = replace(
        HOA, id_number=f"079{int(century) + 1}{born.year % 100:02d}012345", date_of_birth=born
    )
    rig = Rig(read_result=read_of(person, Trust.VERIFIED))
    rig.to_kind(digits=True)
    assert rig.view.auto_priority and rig.view.priority is priority
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    assert rig.view.step is Step.CHOOSE_DEPARTMENT


def test_back_goes_one_decision_back() -> None:
    rig = Rig()
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.INSURED)
    rig.no_priority()
    assert rig.view.step is Step.CHOOSE_DEPARTMENT and rig.view.can_go_back
    for question in (Question.MERIT, Question.PREGNANT, Question.DISABILITY):
        rig.flow.back()
        assert (rig.view.step, rig.view.question) == (Step.CHOOSE_PRIORITY, question)
    rig.flow.back()
    assert rig.view.step is Step.CHOOSE_KIND
    rig.flow.back()
    assert rig.view.step is Step.IDENTITY and not rig.view.can_go_back


def test_idle_timeout_shows_a_countdown_then_wipes_everything() -> None:
    rig = Rig()
    rig.read_with_qr()
    timeouts = CONFIG.timeouts
    rig.clock.advance(timeouts.idle_s - timeouts.countdown_s - 1)
    rig.flow.tick()
    assert rig.view.countdown is None
    rig.clock.advance(2)
    rig.flow.tick()
    assert rig.view.countdown == int(timeouts.countdown_s) - 1
    rig.flow.touch()
    assert rig.view.countdown is None and rig.view.step is Step.IDENTITY
    rig.clock.advance(timeouts.idle_s)
    rig.flow.tick()
    assert rig.view == View(Step.IDLE)
    rig.runner.finish()  # the lookup answers after the wipe: dropped
    assert rig.view == View(Step.IDLE)


def test_no_idle_timeout_while_the_system_works_and_ticket_auto_dismiss() -> None:
    rig = Rig()
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    rig.no_priority()
    rig.flow.choose_department("K01")
    rig.flow.confirm()
    rig.clock.advance(CONFIG.timeouts.idle_s * 2)
    rig.flow.tick()
    assert rig.view.step is Step.REGISTERING
    rig.runner.finish_all()
    assert rig.view.step is Step.TICKET
    rig.clock.advance(CONFIG.timeouts.ticket_s)
    rig.flow.tick()
    assert rig.view.step is Step.IDLE


def test_registration_failure_and_printer_failure() -> None:
    rig = Rig()
    rig.hospital.check_in_error = StoreError("disk full")
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    rig.no_priority()
    rig.flow.choose_department("K01")
    rig.flow.confirm()
    rig.runner.finish()
    assert rig.view.problem is Problem.REGISTRATION_FAILED

    rig = Rig()
    rig.printer.error = OSError("paper out")
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    rig.no_priority()
    rig.flow.choose_department("K01")
    rig.flow.confirm()
    rig.runner.finish_all()
    assert rig.view.ticket is not None and rig.view.ticket.printing is PrintState.FAILED


def test_help_opens_over_any_screen_and_returns_to_it() -> None:
    rig = Rig()
    rig.flow.help()  # the start screen too
    assert (rig.view.step, rig.view.help_counter) == (Step.IDLE, CONFIG.counters.help)
    rig.flow.close_help()
    assert rig.view == View(Step.IDLE)
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    rig.flow.help()  # while the card is read: the read goes on underneath
    rig.runner.finish(-1)
    assert (rig.view.step, rig.view.help_counter) == (Step.IDENTITY, CONFIG.counters.help)
    rig.runner.finish()  # the lookup
    rig.flow.close_help()
    assert rig.view.step is Step.IDENTITY and rig.view.patient is not None
    rig.flow.next()
    assert rig.view.step is Step.CHOOSE_KIND, "the check-in goes on where it was"


def test_help_sends_bhyt_questions_to_the_insurance_counter() -> None:
    rig = Rig()
    rig.hospital.insurance = InsuranceCheck(Decision.RETRY, None, degraded=True)
    rig.to_kind()
    rig.flow.help()
    assert rig.view.help_counter == CONFIG.counters.insurance


def test_cancel() -> None:
    rig = Rig()
    rig.flow.card_present()
    rig.flow.qr_scanned(HOA_QR)
    assert rig.view.step is Step.READING, "the card is still on the reader"
    rig.flow.cancel()
    assert rig.view == View(Step.IDLE)


def test_no_priority_questions_and_single_department_skip_those_screens() -> None:
    config = replace(
        CONFIG,
        priority=PrioritySettings(ask=()),
        departments=CONFIG.departments[:1],
    )
    rig = Rig(config)
    rig.to_kind()
    rig.flow.choose_kind(VisitKind.SELF_PAY)
    assert rig.view.step is Step.CONFIRM
    assert rig.view.department == CONFIG.departments[0]


def test_age_and_mask() -> None:
    assert age_on(BirthDate(1946, 3, 3), date(2026, 3, 2)) == 79
    assert age_on(BirthDate(1946, 3, 2), date(2026, 3, 2)) == 80
    assert age_on(BirthDate(1946), date(2026, 1, 1)) == 80
    assert mask_id_number("079185012345") == "••••••••2345"
    assert mask_id_number("079185012345", 0) == "••••••••••••"
