"""The simulated gateway's insured people: an independent model of BHXH's records.

Built from plain ``(id_number, full_name, date_of_birth, sex)`` persons so that the card
simulator's personas can be linked in; :func:`generate_people` makes deterministic ones
whose ID numbers follow DOMAIN.md §2 (province, century/sex digit, birth year).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

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


@dataclass(frozen=True)
class InsuranceRecord:
    """One insured person's BHYT record."""

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
    record = InsuranceRecord(
        person=person,
        scenario=scenario,
        card_number=f"{scenario.group}{level}{province}{bhxh}",
        bhxh_number=bhxh,
        address=f"Số {rng.randint(1, 300)} {rng.choice(_STREETS)}, Phường {rng.randint(1, 20)}",
        facility=f"{province}{rng.randint(1, 99):03d}",
        valid_from=date(valid_to.year, 1, 1),
        valid_to=valid_to,
    )
    if scenario.outcome in ("003", "004"):
        return replace(
            record,
            new_card_number=f"DN4{province}{bhxh}",
            new_valid_from=date(today.year, 1, 1),
            new_valid_to=date(today.year + 1, 12, 31),
        )
    return record


class Dataset:
    """The records the simulated gateway knows, indexed by ID, card and BHXH number."""

    def __init__(self, records: Iterable[InsuranceRecord]) -> None:
        self.records = tuple(records)
        self._by_id = {r.person.id_number: r for r in self.records if r.scenario.linked}
        self._by_card = {r.card_number: r for r in self.records}
        self._by_card.update({r.new_card_number: r for r in self.records if r.new_card_number})
        self._by_bhxh = {r.bhxh_number: r for r in self.records}

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

    def by_id(self, id_number: str) -> InsuranceRecord | None:
        """The record linked to a 12-digit ID number (unlinked records are not found)."""
        return self._by_id.get(id_number)

    def by_bhxh(self, bhxh_number: str) -> InsuranceRecord | None:
        return self._by_bhxh.get(bhxh_number)

    def by_card(self, card_number: str) -> InsuranceRecord | None:
        return self._by_card.get(card_number)

    def with_outcome(self, outcome: str, *, linked: bool = True) -> InsuranceRecord:
        """The first record whose scenario answers ``outcome`` (for tests and demos)."""
        for record in self.records:
            if record.scenario.outcome == outcome and record.scenario.linked == linked:
                return record
        raise LookupError(f"no record with outcome {outcome} (linked={linked})")
