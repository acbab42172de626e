"""What the simulated HIS has registered, the patients it knows (registered with a name, or
preloaded), and the faults it is told to serve."""

from __future__ import annotations

import collections
import enum
import threading
from dataclasses import dataclass


class HisFault(enum.Enum):
    """What to do to the next message(s) instead of accepting them."""

    ERROR = "AE"
    """HL7 ACK AE / FHIR 422: the message is refused as wrong."""
    REJECT = "AR"
    """HL7 ACK AR / FHIR 503: the receiver cannot take it now."""
    HANG = "hang"
    """Process the message, then wait ``hang_s`` before answering (a lost ACK)."""
    CLOSE = "close"
    """Close the connection without answering and without registering."""
    GARBAGE = "garbage"
    """Answer bytes that are not a valid acknowledgement."""


@dataclass(frozen=True)
class Registration:
    """One registered visit as the HIS understood it."""

    key: str
    """MSH-10 (HL7) or the Encounter identifier (FHIR)."""
    id_number: str
    family_name: str
    given_name: str
    birth_date: str
    sex: str
    department: str
    insured: bool
    card_number: str
    priority: str = ""
    """The priority class as the HIS read it: PV2-25 (HL7), or the class coding of
    ``Encounter.priority`` (FHIR); empty for a routine visit."""
    identity: str = ""
    """How the kiosk learned the identity, as the HIS read it: PID-32 (HL7), or the
    ``Patient.meta.tag`` of the identity-trust system (FHIR)."""

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def birth_digits(self) -> str:
        """``yyyyMMdd`` or ``yyyy``, however the channel wrote it."""
        return self.birth_date.replace("-", "")[:8]

    def has_number(self, number: str) -> bool:
        """Its 12-digit ID number, or the 10-digit BHXH number ending its BHYT card."""
        if len(number) == 10:
            return len(self.card_number) == 15 and self.card_number[-10:] == number
        return number == self.id_number


def known_patient(
    id_number: str, full_name: str, birth_date: str, sex: str, card_number: str = ""
) -> Registration:
    """A patient the HIS knows from before (``birth_date`` ``yyyyMMdd`` or ``yyyy``, ``sex``
    ``M``/``F``): for :meth:`HisState.preload`."""
    family, _, given = full_name.partition(" ")
    return Registration(
        key=f"preloaded-{id_number}",
        id_number=id_number,
        family_name=family,
        given_name=given,
        birth_date=birth_date,
        sex=sex,
        department="",
        insured=bool(card_number),
        card_number=card_number,
    )


class HisState:
    """Registrations by idempotency key; a repeated key is counted, not registered again."""

    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.duplicates = 0
        self.messages = 0
        self.hang_s = 3.0
        self.down = False
        self.preloaded: list[Registration] = []
        self.queries = 0
        """Demographics queries answered (PDQ or FHIR Patient search)."""
        self._faults: collections.deque[HisFault] = collections.deque()
        self._lock = threading.Lock()

    def inject(self, fault: HisFault, count: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def next_fault(self) -> HisFault | None:
        with self._lock:
            self.messages += 1
            if self.down:
                return HisFault.CLOSE
            return self._faults.popleft() if self._faults else None

    def register(self, registration: Registration) -> bool:
        """Store ``registration``; False if its key was already registered."""
        with self._lock:
            if registration.key in self.registrations:
                self.duplicates += 1
                return False
            self.registrations[registration.key] = registration
            return True

    def preload(self, *patients: Registration) -> None:
        """Patients the HIS knew before the simulation (:func:`known_patient`)."""
        with self._lock:
            self.preloaded.extend(patients)

    def find(self, number: str) -> list[Registration]:
        """The distinct patients (by ID number) with the ID or BHXH ``number`` among those
        registered with a name and those preloaded; the latest record of each."""
        with self._lock:
            self.queries += 1
            records = [*self.preloaded, *self.registrations.values()]
        latest = {r.id_number: r for r in records if r.family_name and r.has_number(number)}
        return list(latest.values())
