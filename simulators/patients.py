"""The simulated hospital's patients: which personas come to the kiosk, what the BHXH
gateway answers for each, and the gateway's dataset built from them (docs/kiosk.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from simulators.bhxh_gateway import Dataset, Person, Scenario
from simulators.persona import Persona, Sex, make_persona


@dataclass(frozen=True)
class Patient:
    """A persona and what the gateway answers for them (``None``: no BHYT record);
    ``born`` makes the persona younger than the personas' range (1935–2011)."""

    seed: int
    outcome: str | None
    note: str
    born: date | None = None

    @property
    def persona(self) -> Persona:
        persona = make_persona(self.seed)
        if self.born is None:
            return persona
        century_digit = 2 * ((self.born.year - 1900) // 100) + (0 if persona.sex is Sex.MALE else 1)
        id_number = f"{persona.id_number[:3]}{century_digit}{self.born.year % 100:02d}"
        return replace(
            persona,
            date_of_birth=self.born,
            id_number=id_number + persona.id_number[6:],
            old_id_number=None,
        )


PATIENTS = (
    Patient(3, "000", "insured"),
    Patient(5, None, "no BHYT record"),
    Patient(7, "010", "BHYT expired"),
    Patient(51, "000", "ID card expired"),
    Patient(8, "000", "insured"),
    Patient(23, "000", "aged 75 and over"),
    Patient(12, "000", "QR only"),
    Patient(13, "000", "VssID only"),
    Patient(14, "000", "typed number"),
    Patient(15, "130", "child under 6", born=date(2022, 4, 9)),
)
"""The simulated hospital's patients (seeds of :func:`simulators.persona.make_persona`)."""


def patient(note: str) -> Patient:
    return next(p for p in PATIENTS if p.note == note)


def dataset(patients: tuple[Patient, ...]) -> Dataset:
    """The gateway's records: one per patient with a BHYT record, answering its outcome."""
    insured = [p for p in patients if p.outcome is not None]
    people = [
        Person(
            p.persona.id_number, p.persona.full_name, p.persona.date_of_birth, p.persona.sex.value
        )
        for p in insured
    ]
    return Dataset.from_people(people, [Scenario(p.outcome or "000") for p in insured])
