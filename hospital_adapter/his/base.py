"""The HIS port: one interface, HL7 v2.5 MLLP and FHIR R4 implementations (docs/domain.md §4.4).

A registrar must be idempotent on :attr:`Visit.message_id`: the outbox may send the same
visit twice (a lost ACK, a crashed worker), and the HIS must register it once.

A registrar may also find a patient the HIS already knows (:class:`PatientFinder`): IHE PDQ
over MLLP (ITI TF-2 §3.21), a FHIR R4 Patient search (http.html#search).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import InvalidInputError
from hospital_adapter.identity import (
    MAX_NAME_LENGTH,
    BirthDate,
    Sex,
    check_bhxh_number,
    check_id_number,
)
from hospital_adapter.visit import Visit


class HisRegistrar(Protocol):
    """Registers a visit with the hospital information system."""

    def register(self, visit: Visit, deadline: Deadline) -> None:
        """Return once the HIS accepted the visit; raise :class:`HisUnavailableError`,
        :class:`HisRejectedError` or :class:`HisProtocolError` otherwise."""
        ...


class PatientKey(enum.Enum):
    """Which number a patient is asked for by (docs/domain.md §2.6, §3.1)."""

    ID_NUMBER = "id"
    """The 12-digit ID number."""
    BHXH_NUMBER = "bhxh"
    """The 10-digit BHXH number (the last 10 characters of the BHYT card code)."""

    @classmethod
    def of(cls, number: str) -> PatientKey:
        """12 digits: an ID number; 10 digits: a BHXH number; else :class:`InvalidInputError`."""
        if len(number) == 10:
            check_bhxh_number(number)
            return cls.BHXH_NUMBER
        check_id_number(number)
        return cls.ID_NUMBER


@dataclass(frozen=True)
class KnownPatient:
    """A patient the HIS already has: its demographics, as the HIS recorded them. Personal
    fields are left out of ``repr``."""

    id_number: str = field(repr=False)
    full_name: str = field(repr=False)
    date_of_birth: BirthDate = field(repr=False)
    sex: Sex
    bhyt_number: str | None = field(default=None, repr=False)
    """The 15-character BHYT card number, when the HIS has one."""

    def __post_init__(self) -> None:
        check_id_number(self.id_number)
        name = self.full_name
        if not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidInputError("full name", f"must be 1 to {MAX_NAME_LENGTH} characters")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
            raise InvalidInputError("full name", "contains control characters")
        card = self.bhyt_number
        if card is not None and not (len(card) == 15 and card.isascii() and card.isalnum()):
            raise InvalidInputError("BHYT number", "expected 15 letters and digits")

    def has_number(self, number: str) -> bool:
        """Whether ``number`` (an ID or a BHXH number) is this patient's."""
        if PatientKey.of(number) is PatientKey.ID_NUMBER:
            return number == self.id_number
        return self.bhyt_number is not None and self.bhyt_number[-10:] == number


@runtime_checkable
class PatientFinder(Protocol):
    """Finds a patient the HIS already knows, by ID number or BHXH number."""

    def find_patient(self, number: str, deadline: Deadline) -> KnownPatient | None:
        """The patient with the 12-digit ID ``number`` (or the 10-digit BHXH ``number``),
        ``None`` if the HIS has none (or more than one); by ``deadline``. Raises
        :class:`HisUnavailableError`, :class:`HisRejectedError` or :class:`HisProtocolError`."""
        ...


class InMemoryHis:
    """Test double: records visits by message id; set ``fail_with`` to make it fail.
    ``patients`` are the ones :meth:`find_patient` knows; ``finds`` counts its calls."""

    def __init__(self) -> None:
        self.visits: dict[str, Visit] = {}
        self.calls = 0
        self.fail_with: Exception | None = None
        self.patients: list[KnownPatient] = []
        self.finds = 0

    def register(self, visit: Visit, deadline: Deadline) -> None:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.visits.setdefault(visit.message_id, visit)

    def find_patient(self, number: str, deadline: Deadline) -> KnownPatient | None:
        self.finds += 1
        if self.fail_with is not None:
            raise self.fail_with
        found = [p for p in self.patients if p.has_number(number)]
        return found[0] if len(found) == 1 else None
