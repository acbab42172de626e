"""The kiosk answering its own questions: ``cccd-kiosk --autopilot``, for soak and crash
tests and demos, never with patients.

Every screen that waits for a choice is answered as soon as it shows, as a patient in a
hurry would: the chip may be read, the identity is accepted, khám BHYT is chosen when the
gateway said insured or could not answer (else khám dịch vụ), no to every priority
question, the given department, confirm; the ticket screen is left once the ticket is
printed (or failed), a problem screen at once.
Cards and QR codes still come from the reader and the scanner, and the keypad is never
typed: a card placed without its QR waits for the idle timeout.
"""

from __future__ import annotations

import logging

from hospital_adapter import VisitKind
from kiosk.flow import CheckInFlow
from kiosk.runner import Runner
from kiosk.view import InsuranceState, PrintState, Step, View

_log = logging.getLogger(__name__)

INSURED_CHOICE = frozenset({InsuranceState.INSURED, InsuranceState.UNAVAILABLE})
"""Insurance states in which the autopilot asks for khám BHYT."""


class Autopilot:
    """Presses for the patient; answers each view once, after the flow has settled."""

    def __init__(self, flow: CheckInFlow, runner: Runner, department: str) -> None:
        self._flow = flow
        self._runner = runner
        self._department = department
        flow.subscribe(self._seen)
        _log.info("autopilot: every screen answers itself (department %s)", department)

    def _seen(self, view: View) -> None:
        # Posted, not called: the flow is still telling its other listeners about ``view``.
        self._runner.post(lambda: self._answer(view))

    def _answer(self, view: View) -> None:
        flow = self._flow
        if flow.view is not view:
            return  # a newer view came meanwhile; it has its own turn
        step = view.step
        if step is Step.CONSENT:
            flow.answer_consent(True)
        elif step is Step.IDENTITY:
            flow.next()
        elif step is Step.CHOOSE_KIND:
            insured = view.insurance in INSURED_CHOICE
            flow.choose_kind(VisitKind.INSURED if insured else VisitKind.SELF_PAY)
        elif step is Step.CHOOSE_PRIORITY:
            flow.answer_priority(False)
        elif step is Step.CHOOSE_DEPARTMENT:
            flow.choose_department(self._department)
        elif step is Step.CONFIRM:
            flow.confirm()
        elif step is Step.TICKET:
            if view.ticket is not None and view.ticket.printing is not PrintState.PRINTING:
                flow.dismiss()
        elif step is Step.PROBLEM:
            flow.dismiss()
