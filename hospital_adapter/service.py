"""The facade the kiosk calls: identity + choices → ticket, insurance and registration status.

Every call finishes within the caller's deadline. When the BHXH gateway is down, slow or
unsure, the check-in still completes in degraded mode: the ticket says "BHYT to be verified
at the counter" (docs/domain.md §1: nothing may block or be lost when the network is down). When
the HIS is down, the registration is queued in the outbox and delivered later. A patient
who taps again (the kiosk crashed, or the answer was lost, before the ticket was shown)
gets the check-in already made, not a second ticket and a second HIS visit.

A typed number carries no name, which the gateway needs (docs/domain.md §3.4): a returning
patient's name and date of birth come from the HIS (IHE PDQ ITI-21, or a FHIR R4 Patient
search), used for the lookup only, never shown, and only when the HIS's birth year and sex
agree with what the typed digits encode (§2.6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from hospital_adapter.checkin import (
    COUNTER_NOTE,
    CheckInResult,
    InsuranceCheck,
    InsuranceLookupPort,
    NumberLookup,
    RegistrationStatus,
)
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import GatewayAuthError, GatewayError, HisError, InvalidInputError
from hospital_adapter.gateway.codes import Decision
from hospital_adapter.gateway.wire import LookupQuery
from hospital_adapter.his.base import HisRegistrar, KnownPatient, PatientFinder
from hospital_adapter.identity import PatientIdentity, check_bhxh_number
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.store import CheckInStore, OutboxStatus
from hospital_adapter.visit import InsuranceStatus, Visit, VisitKind, VisitRequest, utc_now

log = logging.getLogger(__name__)

HIS_RESERVE_S = 1.0
"""Time kept back from the gateway lookup for storing and registering the check-in."""
HIS_FIND_SHARE = 0.5
"""Of a typed number's lookup time, the share the HIS may take to find the patient; the
gateway has what is left."""
REPEAT_WINDOW = timedelta(minutes=30)
"""A check-in of the same person in the same department that arrived less than this long
ago, the same service day, is given back instead of a new one (a re-tap)."""


_AT_COUNTER = InsuranceCheck(Decision.GO_TO_COUNTER, None, degraded=True)


def _agrees(known: KnownPatient, identity: PatientIdentity) -> bool:
    """The HIS's patient has the ID number, and the birth year and sex its digits encode
    (docs/domain.md §2.6): a mistyped number that is another person's is not used."""
    return (
        known.id_number == identity.id_number
        and known.date_of_birth.year == identity.date_of_birth.year
        and known.sex is identity.sex
    )


class CheckInService:
    """Check patients in. Thread-safe; the kiosk calls it from a worker thread.

    ``lookup_insurance`` (optional, for the choice screen) then ``check_in``.
    """

    def __init__(
        self,
        gateway: InsuranceLookupPort,
        registrar: HisRegistrar,
        store: CheckInStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        outbox: OutboxWorker | None = None,
        repeat_window: timedelta = REPEAT_WINDOW,
        finder: PatientFinder | None = None,
    ) -> None:
        """``finder`` asks the HIS for returning patients; by default the registrar, when
        it can (:class:`~hospital_adapter.his.base.PatientFinder`)."""
        self._gateway = gateway
        self._registrar = registrar
        if finder is None and isinstance(registrar, PatientFinder):
            finder = registrar
        self._finder = finder
        self._store = store
        self._clock = clock
        self._outbox = outbox or OutboxWorker(store, registrar, clock=clock)
        self._repeat_window = repeat_window

    def lookup_insurance(self, identity: PatientIdentity, deadline: Deadline) -> InsuranceCheck:
        """Ask the gateway about ``identity``'s BHYT card; never raises for gateway or HIS
        trouble.

        The gateway needs the name with the number (docs/domain.md §3.4). A typed number has
        none: the HIS is asked for the patient; a returning one whose birth year and sex
        agree with the digits is looked up with the HIS's name and date of birth (and card
        number), ``from_his``. Otherwise its card is checked at the counter (NĐ 188/2025 Đ38
        k2, §3.6).
        """
        if identity.full_name:
            return self._ask_gateway(LookupQuery.for_identity(identity), deadline)
        known = self._find(identity.id_number, deadline)
        if known is None:
            return _AT_COUNTER
        if not _agrees(known, identity):
            log.warning("the HIS's patient disagrees with the typed digits: BHYT at the counter")
            return _AT_COUNTER
        card = identity.bhyt_number or known.bhyt_number or identity.id_number
        return self._ask_with_his(card, known, deadline)

    def lookup_by_bhxh_number(self, bhxh_number: str, deadline: Deadline) -> NumberLookup | None:
        """A typed 10-digit BHXH number (docs/domain.md §3.1): ``None`` unless the HIS knows
        the patient (consistently: the birth year and sex its ID number encodes); then the
        gateway is asked by that number with the HIS's name and date of birth. Raises
        :class:`InvalidInputError` for a number that is not 10 digits; never for the HIS or
        the gateway."""
        check_bhxh_number(bhxh_number)
        known = self._find(bhxh_number, deadline)
        if known is None:
            return None
        identity = PatientIdentity.typed(known.id_number)
        if not _agrees(known, identity):
            log.warning("the HIS's patient disagrees with its own ID number: not used")
            return None
        return NumberLookup(identity, self._ask_with_his(bhxh_number, known, deadline))

    def _find(self, number: str, deadline: Deadline) -> KnownPatient | None:
        """The HIS's patient with ``number``, within :data:`HIS_FIND_SHARE` of the time left;
        ``None`` when there is no finder, no such patient, or the HIS fails."""
        if self._finder is None:
            log.info("no name to look up with and no HIS to ask: BHYT at the counter")
            return None
        share = Deadline(deadline.clock() + deadline.remaining() * HIS_FIND_SHARE, deadline.clock)
        try:
            known = self._finder.find_patient(number, share)
        except HisError as exc:
            log.warning(
                "HIS demographics query failed (%s): BHYT at the counter", type(exc).__name__
            )
            return None
        if known is None:
            log.info("the HIS does not know the typed number: BHYT at the counter")
        return known

    def _ask_with_his(self, card: str, known: KnownPatient, deadline: Deadline) -> InsuranceCheck:
        try:
            query = LookupQuery(card, known.full_name, known.date_of_birth)
        except InvalidInputError as exc:
            log.warning("the HIS's demographics cannot make a lookup: %s", exc.field)
            return _AT_COUNTER
        log.info("BHYT looked up with the HIS's demographics of a typed number")
        return replace(self._ask_gateway(query, deadline), from_his=True)

    def _ask_gateway(self, query: LookupQuery, deadline: Deadline) -> InsuranceCheck:
        try:
            result = self._gateway.lookup(query, deadline)
        except GatewayAuthError as exc:
            log.error("gateway refused the facility's account: %s", exc)
            return InsuranceCheck(Decision.CONFIGURATION_ERROR, None, degraded=True)
        except GatewayError as exc:
            log.warning("gateway unavailable or garbled, degraded check-in: %s", exc)
            return InsuranceCheck(Decision.RETRY, None, degraded=True)
        if result.decision is Decision.CONFIGURATION_ERROR:
            log.error("gateway answered %s: check the staff identity and account", result.raw_code)
        degraded = result.decision in (Decision.RETRY, Decision.CONFIGURATION_ERROR)
        return InsuranceCheck(result.decision, result, degraded=degraded)

    def record_consent(self, given: bool) -> None:
        """The patient's answer to reading the chip (Luật Căn cước 2023 Đ22 k5), in the
        audit log, without personal data; raises :class:`~hospital_adapter.errors.StoreError`."""
        self._store.record_event("consent", "given" if given else "declined", self._clock())

    def check_in(
        self,
        request: VisitRequest,
        deadline: Deadline,
        insurance: InsuranceCheck | None = None,
        on_stored: Callable[[CheckInResult], None] | None = None,
    ) -> CheckInResult:
        """Check ``request`` in within ``deadline``.

        ``on_stored`` is told the result as soon as the check-in is stored (registration
        ``queued``), before the HIS is asked: the kiosk prints the ticket meanwhile.

        For an insured visit without a prior ``insurance`` check, the gateway is asked
        first with the deadline less :data:`HIS_RESERVE_S`. Only a store failure raises
        (:class:`~hospital_adapter.errors.StoreError`): then nothing was recorded.

        Idempotent for a re-tap: if the same person checked in to the same department the
        same day less than ``repeat_window`` ago, that check-in comes back (``repeated``)
        with its ticket, insurance and current registration status; nothing is stored or
        sent again (the outbox already holds its one message).
        """
        status, code, coverage, from_his = InsuranceStatus.NOT_APPLICABLE, "", None, False
        if request.visit_kind is VisitKind.INSURED:
            if insurance is None:
                lookup_deadline = Deadline(deadline.at - HIS_RESERVE_S, deadline.clock)
                insurance = self.lookup_insurance(request.identity, lookup_deadline)
            looked_up, from_his = insurance.lookup, insurance.from_his
            code = "" if looked_up is None else looked_up.raw_code
            if insurance.decision is Decision.INSURED and looked_up is not None:
                status, coverage = InsuranceStatus.VERIFIED, looked_up.card
            else:
                status = InsuranceStatus.TO_VERIFY_AT_COUNTER
        now = self._clock()
        hold = timedelta(seconds=max(deadline.remaining(), 0.0) + 5)
        stored = self._store.check_in_once(
            request,
            status,
            insurance_code=code,
            coverage=coverage,
            demographics_from_his=from_his,
            now=now,
            hold_for=hold,
            repeat_window=self._repeat_window,
        )
        visit = stored.visit
        to_verify = visit.insurance_status is InsuranceStatus.TO_VERIFY_AT_COUNTER
        result = CheckInResult(
            checkin_id=visit.checkin_id,
            ticket=visit.ticket,
            department=visit.department,
            visit_kind=visit.visit_kind,
            insurance=visit.insurance_status,
            insurance_code=visit.insurance_code,
            registration=_REGISTRATION[stored.registration],
            counter_note=COUNTER_NOTE if to_verify else "",
            repeated=stored.repeated,
        )
        if stored.repeated:
            return result
        if on_stored is not None:
            on_stored(result)
        return replace(result, registration=self._register_now(visit, deadline))

    def _register_now(self, visit: Visit, deadline: Deadline) -> RegistrationStatus:
        if deadline.expired:
            return RegistrationStatus.QUEUED
        outcome = self._outbox.deliver(
            visit.message_id, 0, partial(self._registrar.register, visit, deadline)
        )
        return {
            "delivered": RegistrationStatus.DELIVERED,
            "retrying": RegistrationStatus.QUEUED,
            "rejected": RegistrationStatus.REJECTED,
        }[outcome]


_REGISTRATION = {
    OutboxStatus.PENDING: RegistrationStatus.QUEUED,
    OutboxStatus.DELIVERED: RegistrationStatus.DELIVERED,
    OutboxStatus.REJECTED: RegistrationStatus.REJECTED,
}
"""The registration status of a check-in given back, from its outbox message."""
