"""The simulated gateway's insured people: an independent model of BHXH's records.

Built from plain ``(id_number, full_name, date_of_birth, sex)`` persons:
:meth:`Dataset.for_personas` links the card simulator's personas in (each persona gets a
scenario from its seed, see :data:`PERSONA_SCENARIOS`), and :func:`generate_people` makes
stand-alone deterministic ones whose ID numbers follow docs/domain.md §2 (province, century/sex
digit, birth year).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from simulators.persona import Persona, make_persona

_PROVINCES = ("001", "079", "048", "031", "092", "038", "046")
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Đặng", "Bùi")
_MIDDLE = {"Nam": ("Văn", "Hữu", "Đức", "Minh"), "Nữ": ("Thị", "Ngọc", "Thu", "Thanh")}
_GIVEN = {
    "Nam": ("An", "Bình", "Cường", "Dũng", "Hùng", "Khoa", "Long", "Phúc", "Quân", "Tuấn"),
    "Nữ": ("Anh", "Hà", "Hoa", "Hương", "Lan", "Linh", "Mai", "Phương", "Thảo", "Yến"),
}
_STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Điện Biên Phủ")


@dataclass(frozen=True)
class Person:
    """Who the record belongs to: the fields a card persona shares with BHXH."""

    id_number: str
    full_name: str
    date_of_birth: date
    sex: str
    """``Nam`` or ``Nữ``."""
    address: str = ""
    """BHXH's ``diaChi``; a made-up one when empty."""
    seed: int | None = None
    """The card simulator's persona seed, for a person made from a persona."""

    @classmethod
    def of_persona(cls, persona: Persona) -> Person:
        return cls(
            persona.id_number,
            persona.full_name,
            persona.date_of_birth,
            persona.sex.value,
            persona.place_of_residence,
            persona.seed,
        )


@dataclass(frozen=True)
class Scenario:
    """What the gateway answers for a person: ``outcome`` is the ``maKetQua`` of a matching
    query; an unlinked record is found by card or BHXH number but not by ID number."""

    outcome: str
    linked: bool = True
    group: str = "HC"


DEFAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("000"),
    Scenario("000", group="TE"),
    Scenario("001", group="QN"),
    Scenario("002", group="CA"),
    Scenario("003"),
    Scenario("004"),
    Scenario("010", group="DN"),
    Scenario("000", linked=False),
    Scenario("080"),
    Scenario("090"),
    Scenario("110"),
    Scenario("120"),
    Scenario("121"),
    Scenario("122"),
    Scenario("123"),
    Scenario("124"),
    Scenario("130", group="TE"),
)
"""One person per scenario, in this order, repeated: insured, military, police, new card
(old expired / old valid), expired, unlinked, sex and facility problems, revoked, terminated,
child without card."""

INSURED = Scenario("000")
"""A valid card linked to the ID number (decision: insured)."""
UNLINKED = Scenario("000", linked=False)
"""A valid card not linked to the ID number yet: 050 by ID, 000 by card or BHXH number."""
EXPIRED = Scenario("010", group="DN")
"""Card expired, no new one (decision: self-pay): the "uninsured" persona."""
NEW_CARD_OLD_EXPIRED = Scenario("003")
NEW_CARD_OLD_VALID = Scenario("004")
MILITARY = Scenario("001", group="QN")
POLICE = Scenario("002", group="CA")
REVOKED = Scenario("110")
TERMINATED = Scenario("120")
CHILD_WITHOUT_CARD = Scenario("130", group="TE")
"""Given to every persona under 6 years old, whatever its seed."""

PERSONA_SCENARIOS: tuple[Scenario, ...] = (
    INSURED,  # 0
    UNLINKED,  # 1
    INSURED,  # 2
    EXPIRED,  # 3
    INSURED,  # 4
    NEW_CARD_OLD_EXPIRED,  # 5
    INSURED,  # 6
    NEW_CARD_OLD_VALID,  # 7
    INSURED,  # 8
    MILITARY,  # 9
    INSURED,  # 10
    REVOKED,  # 11
    INSURED,  # 12
    POLICE,  # 13
    INSURED,  # 14
    TERMINATED,  # 15
    INSURED,  # 16
    INSURED,  # 17
    INSURED,  # 18
    INSURED,  # 19
)
"""Persona ``seed`` gets ``PERSONA_SCENARIOS[seed % 20]`` (12 in 20 insured), except that a
persona under 6 gets :data:`CHILD_WITHOUT_CARD`. So persona 0 is insured, 1 unlinked,
3 expired (uninsured), 5 and 7 have a new card, 9 is military, 11 revoked, 13 police,
15 terminated; :func:`find_persona_seed` finds others."""


def persona_scenario(
    persona: Persona, scenarios: Sequence[Scenario] = PERSONA_SCENARIOS, today: date | None = None
) -> Scenario:
    """The scenario :meth:`Dataset.for_personas` gives ``persona`` (its seed only decides,
    so a persona has the same scenario in every data set)."""
    if persona.age_on(today or date.today()) < 6:
        return CHILD_WITHOUT_CARD
    return scenarios[persona.seed % len(scenarios)]


def find_persona_seed(
    scenario: Scenario,
    *,
    start: int = 0,
    limit: int = 10_000,
    scenarios: Sequence[Scenario] = PERSONA_SCENARIOS,
    today: date | None = None,
) -> int:
    """The first seed from ``start`` whose persona gets ``scenario``, e.g.
    ``find_persona_seed(EXPIRED)`` for an uninsured persona. :class:`LookupError` if none
    of the next ``limit`` seeds does (no persona is under 6 today, so none gets 130)."""
    for seed in range(start, start + limit):
        if persona_scenario(make_persona(seed), scenarios, today) == scenario:
            return seed
    raise LookupError(f"no persona seed in [{start}, {start + limit}) gets {scenario}")


_DIAGNOSES = ("Viêm họng cấp", "Tăng huyết áp vô căn", "Viêm dạ dày", "Đau lưng")


@dataclass(frozen=True)
class PastVisitRecord:
    """One entry of the person's visit history (``dsLichSuKCB2025``)."""

    record_id: str
    facility: str
    admitted_at: datetime
    discharged_at: datetime
    diagnosis: str


@dataclass(frozen=True)
class InsuranceRecord:
    """One insured person's BHYT record.

    ``code17`` is the record's 17-character ``maThe``: the gateway accepts such codes
    (docs/domain.md §3.1) but their layout is [open], so the simulator makes its own (the
    card number and a two-digit sequence) only to answer lookups by one.
    """

    person: Person
    scenario: Scenario
    card_number: str
    bhxh_number: str
    address: str
    facility: str
    valid_from: date
    valid_to: date
    new_card_number: str = ""
    new_valid_from: date | None = None
    new_valid_to: date | None = None
    history: tuple[PastVisitRecord, ...] = ()

    @property
    def code17(self) -> str:
        return f"{self.card_number}01"


def generate_people(count: int, seed: int = 2024) -> list[Person]:
    """``count`` deterministic persons with structurally valid, unique 12-digit ID numbers."""
    rng = random.Random(seed)
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        sex = rng.choice(("Nam", "Nữ"))
        birth = date(rng.randint(1935, 2022), rng.randint(1, 12), rng.randint(1, 28))
        century_digit = 2 * ((birth.year - 1900) // 100) + (sex == "Nữ")
        province, serial = rng.choice(_PROVINCES), rng.randrange(10**6)
        id_number = f"{province}{century_digit}{birth.year % 100:02d}{serial:06d}"
        if id_number in seen:
            continue
        seen.add(id_number)
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"
        people.append(Person(id_number, name, birth, sex))
    return people


def _record(person: Person, scenario: Scenario, today: date) -> InsuranceRecord:
    rng = random.Random(person.id_number)
    province = person.id_number[1:3]
    bhxh = f"{province}{rng.randrange(10**8):08d}"
    level = 2 if scenario.group in ("QN", "CA") else 4
    expired = scenario.outcome in ("003", "010")
    valid_to = date(today.year - 1, 12, 31) if expired else date(today.year, 12, 31)
    address = (
        person.address
        or f"Số {rng.randint(1, 300)} {rng.choice(_STREETS)}, Phường {rng.randint(1, 20)}"
    )
    facility = f"{province}{rng.randint(1, 99):03d}"
    record = InsuranceRecord(
        person=person,
        scenario=scenario,
        card_number=f"{scenario.group}{level}{province}{bhxh}",
        bhxh_number=bhxh,
        address=address,
        facility=facility,
        valid_from=date(valid_to.year, 1, 1),
        valid_to=valid_to,
        history=_history(rng, facility, today),
    )
    if scenario.outcome in ("003", "004"):
        return replace(
            record,
            new_card_number=f"DN4{province}{bhxh}",
            new_valid_from=date(today.year, 1, 1),
            new_valid_to=date(today.year + 1, 12, 31),
        )
    return record


def _history(rng: random.Random, facility: str, today: date) -> tuple[PastVisitRecord, ...]:
    """0 to 3 outpatient visits in the year before ``today``, oldest first."""
    visits = []
    for number in range(rng.randint(0, 3)):
        day = today - timedelta(days=rng.randint(10, 360))
        admitted = datetime(day.year, day.month, day.day, rng.randint(7, 15), rng.choice((0, 30)))
        visits.append(
            PastVisitRecord(
                record_id=f"{facility}{day:%Y}{number + 1:05d}",
                facility=facility,
                admitted_at=admitted,
                discharged_at=admitted + timedelta(hours=rng.randint(1, 4)),
                diagnosis=rng.choice(_DIAGNOSES),
            )
        )
    return tuple(sorted(visits, key=lambda visit: visit.admitted_at))


class Dataset:
    """The records the simulated gateway knows, indexed by ID, card, BHXH number and
    17-character code."""

    def __init__(self, records: Iterable[InsuranceRecord]) -> None:
        self.records = tuple(records)
        self._by_id = {r.person.id_number: r for r in self.records if r.scenario.linked}
        self._by_card = {r.card_number: r for r in self.records}
        self._by_card.update({r.new_card_number: r for r in self.records if r.new_card_number})
        self._by_bhxh = {r.bhxh_number: r for r in self.records}
        self._by_code17 = {r.code17: r for r in self.records}

    @classmethod
    def from_people(
        cls,
        people: Iterable[Person],
        scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS,
        today: date | None = None,
    ) -> Dataset:
        """Give person *i* scenario ``scenarios[i % len(scenarios)]``."""
        today = today or date.today()
        return cls(
            _record(person, scenarios[i % len(scenarios)], today) for i, person in enumerate(people)
        )

    @classmethod
    def generated(cls, count: int = len(DEFAULT_SCENARIOS), seed: int = 2024) -> Dataset:
        return cls.from_people(generate_people(count, seed))

    @classmethod
    def for_personas(
        cls,
        seeds: Iterable[int],
        scenarios: Sequence[Scenario] = PERSONA_SCENARIOS,
        today: date | None = None,
    ) -> Dataset:
        """The card simulator's personas ``seeds`` (:func:`simulators.persona.make_persona`),
        each with the scenario :func:`persona_scenario` gives it."""
        today = today or date.today()
        personas = [make_persona(seed) for seed in seeds]
        return cls(
            _record(Person.of_persona(p), persona_scenario(p, scenarios, today), today)
            for p in personas
        )

    def by_id(self, id_number: str) -> InsuranceRecord | None:
        """The record linked to a 12-digit ID number (unlinked records are not found)."""
        return self._by_id.get(id_number)

    def by_bhxh(self, bhxh_number: str) -> InsuranceRecord | None:
        return self._by_bhxh.get(bhxh_number)

    def by_card(self, card_number: str) -> InsuranceRecord | None:
        return self._by_card.get(card_number)

    def by_code17(self, code: str) -> InsuranceRecord | None:
        return self._by_code17.get(code)

    def for_seed(self, seed: int) -> InsuranceRecord:
        """The record of persona ``seed`` (a data set made by :meth:`for_personas`)."""
        for record in self.records:
            if record.person.seed == seed:
                return record
        raise LookupError(f"no persona {seed} in the data set")

    def with_outcome(self, outcome: str, *, linked: bool = True) -> InsuranceRecord:
        """The first record whose scenario answers ``outcome`` (for tests and demos)."""
        for record in self.records:
            if record.scenario.outcome == outcome and record.scenario.linked == linked:
                return record
        raise LookupError(f"no record with outcome {outcome} (linked={linked})")
