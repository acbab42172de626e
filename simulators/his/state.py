"""What the simulated HIS has registered, and the faults it is told to serve."""

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


class HisState:
    """Registrations by idempotency key; a repeated key is counted, not registered again."""

    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.duplicates = 0
        self.messages = 0
        self.hang_s = 3.0
        self.down = False
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
