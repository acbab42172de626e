"""Work the kiosk overlaps (issue #16, item 4): the BHYT lookup starts from the QR before the
chip is read and is used only when the verified chip asks the same; the ticket prints while
the HIS is asked."""

from __future__ import annotations

from dataclasses import replace

from hospital_adapter import (
    CheckInResult,
    Deadline,
    IdentityTrust,
    InsuranceCheck,
    VisitKind,
    VisitRequest,
)
from kiosk.view import InsuranceState, PrintState, Step
from tests.kiosk.fakes import HOA, HOA_QR, FakeHospital, read_of
from tests.kiosk.test_consent import PRIVATE
from tests.kiosk.test_flow import Rig


def _scan_and_place(rig: Rig) -> None:
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    assert rig.view.step is Step.READING
    assert len(rig.runner.jobs) == 2  # the lookup from the QR, then the read


def test_a_lookup_answered_during_the_read_is_shown_only_after_verification() -> None:
    rig = Rig()
    _scan_and_place(rig)
    rig.runner.finish(0)  # the gateway answers first
    assert rig.view.step is Step.READING
    assert rig.view.insurance is None and rig.view.patient is None, "nothing shown yet"
    rig.runner.finish()  # the chip is read and verified: the kept answer is used at once
    assert rig.view.step is Step.IDENTITY
    assert rig.view.insurance is InsuranceState.INSURED
    assert [i.trust for i in rig.hospital.looked_up] == [IdentityTrust.QR]  # one lookup only
    assert rig.runner.jobs == []


def test_a_lookup_still_running_when_the_chip_is_verified_is_awaited_not_repeated() -> None:
    rig = Rig()
    _scan_and_place(rig)
    rig.runner.finish(1)  # the read first
    assert (rig.view.step, rig.view.insurance) == (Step.IDENTITY, InsuranceState.PENDING)
    assert len(rig.runner.jobs) == 1, "no second lookup"
    rig.runner.finish()
    assert rig.view.insurance is InsuranceState.INSURED
    assert len(rig.hospital.looked_up) == 1


def test_a_chip_that_asks_another_question_discards_the_prefetch() -> None:
    """Same ID number, but the chip spells the name otherwise: the gateway is asked again
    with the chip's identity; the QR's answer, arriving late, is dropped."""
    chip = replace(HOA, full_name="Nguyễn Thị Hòa")
    rig = Rig(read_result=read_of(chip))
    _scan_and_place(rig)
    rig.runner.finish(1)  # the read
    assert rig.view.step is Step.IDENTITY and len(rig.runner.jobs) == 2
    rig.hospital.insurance = InsuranceCheck(rig.hospital.insurance.decision, None, degraded=True)
    rig.runner.finish(0)  # the QR's lookup: dropped
    assert rig.view.insurance is InsuranceState.PENDING
    rig.hospital.insurance = Rig().hospital.insurance
    rig.runner.finish()  # the chip's own lookup
    assert rig.view.insurance is InsuranceState.INSURED
    assert [i.full_name for i in rig.hospital.looked_up] == ["Nguyễn Thị Hoa", "Nguyễn Thị Hòa"]


class _HisWatcher(FakeHospital):
    """Records what the kiosk showed when the check-in was stored and the HIS not yet asked."""

    def __init__(self, rig: Rig) -> None:
        super().__init__()
        self.rig = rig
        self.seen_while_registering: tuple[Step, PrintState | None, int] | None = None

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
        on_stored: object = None,
    ) -> CheckInResult:
        def stored(result: CheckInResult) -> None:
            assert callable(on_stored)
            on_stored(result)
            view = self.rig.view
            printing = None if view.ticket is None else view.ticket.printing
            self.seen_while_registering = (view.step, printing, len(self.rig.runner.jobs))

        return super().check_in(request, deadline, insurance, stored)


def test_the_ticket_prints_while_the_his_is_asked() -> None:
    rig = Rig(hospital=_HisWatcher)
    watcher = rig.hospital
    assert isinstance(watcher, _HisWatcher)
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    rig.runner.finish_all()
    rig.flow.next()
    rig.flow.choose_kind(VisitKind.INSURED)
    rig.no_priority()
    rig.flow.choose_department("K03")
    rig.flow.confirm()
    rig.runner.finish()  # the check-in: stored, then the HIS asked
    assert watcher.seen_while_registering == (Step.TICKET, PrintState.PRINTING, 1)
    assert rig.view.step is Step.TICKET and rig.view.ticket is not None
    assert rig.view.ticket.ticket.number == 1
    rig.runner.finish()  # the printer
    assert rig.view.ticket.printing is PrintState.PRINTED
    assert rig.printer.printed == [rig.view.ticket.ticket]


def test_where_consent_is_asked_nothing_is_looked_up_before_it() -> None:
    rig = Rig(PRIVATE)
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    assert rig.view.step is Step.CONSENT and rig.runner.jobs == []
