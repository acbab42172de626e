"""The Ministry of Health's shared code lists, with validity dates (docs/domain.md §3.8).

Each list is a CSV file in ``hospital_adapter/data`` (``code,name,valid_from,valid_to,
source``; dates inclusive, an empty ``valid_to`` open-ended), read once. A code is looked
up on the visit's date: the row in force that day answers. A list speaks only for the
dates its rows cover: before its first row the list in force then is not in the
repository, so nothing is checked (``None``), while inside its span an unknown code is an
:class:`InvalidInputError`.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources

from hospital_adapter.bhyt import BhytNumber
from hospital_adapter.errors import InvalidInputError

MAX_LIST_BYTES = 256 * 1024
EXAMINATION = "01"
"""``MA_LOAI_KCB`` of an outpatient examination (QĐ 824 PL1, QĐ 1804 PL01)."""
_DEPARTMENT_PARTS = re.compile(r"K(\d{2})((?:\d{2})*)")
_UNIT = re.compile(r"(K\d{2}(?:\.\d)?)\.D(\d{2})")


class CodeSystem(enum.StrEnum):
    """The lists and their XML field names."""

    VISIT_TYPE = "ma_loai_kcb"
    """``MA_LOAI_KCB``: type of care (QĐ 824 PL1, then QĐ 1804 PL01 from 01/08/2026)."""
    DEPARTMENT = "ma_khoa"
    """``MA_KHOA``: department (QĐ 1804 PL02 from 01/08/2026)."""
    PATIENT_CATEGORY = "ma_doituong_kcb"
    """``MA_DOITUONG_KCB``: beneficiary category (QĐ 824 PL2, then QĐ 3276 PL1)."""
    BENEFIT_LEVEL = "muc_huong"
    """The BHYT card's benefit level, its third character (Luật BHYT Đ22)."""

    @property
    def field(self) -> str:
        """The name of the field the code goes in (``MA_LOAI_KCB``...)."""
        return self.value.upper()


@dataclass(frozen=True)
class CodeEntry:
    """One row: ``code`` means ``name`` from ``valid_from`` to ``valid_to`` (inclusive)."""

    code: str
    name: str
    valid_from: date
    valid_to: date | None
    source: str

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class CodeList:
    """The rows of one :class:`CodeSystem`."""

    system: CodeSystem
    entries: tuple[CodeEntry, ...]

    def covers(self, day: date) -> bool:
        """Whether the repository holds the list in force on ``day``."""
        return any(entry.valid_from <= day for entry in self.entries)

    def entry(self, code: str, day: date) -> CodeEntry | None:
        """The row for ``code`` in force on ``day``; ``None`` when the list does not cover
        ``day``. Raises :class:`InvalidInputError` for a code not valid on a covered day."""
        if not self.covers(day):
            return None
        for entry in self.entries:
            if entry.code == code and entry.in_force(day):
                return entry
        raise InvalidInputError(self.system.field, f"{code!r} is not a valid code on {day}")


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@functools.cache
def code_list(system: CodeSystem) -> CodeList:
    """The list of ``system``, parsed from its packaged CSV file (read once)."""
    raw = resources.files("hospital_adapter.data").joinpath(f"{system.value}.csv").read_bytes()
    if len(raw) > MAX_LIST_BYTES:
        raise ValueError(f"code list {system.value} is larger than {MAX_LIST_BYTES} bytes")
    entries = []
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        start = _day(row["valid_from"])
        if start is None:
            raise ValueError(f"code list {system.value}: {row['code']} has no valid_from")
        entries.append(
            CodeEntry(row["code"], row["name"], start, _day(row["valid_to"]), row["source"])
        )
    return CodeList(system, tuple(entries))


def check_code(system: CodeSystem, code: str, day: date) -> str:
    """``code`` if valid on ``day`` (or the list does not cover ``day``), else
    :class:`InvalidInputError`."""
    code_list(system).entry(code, day)
    return code


def check_department(code: str, day: date) -> str:
    """A ``MA_KHOA`` as QĐ 1804 PL02's notes allow it: a listed code (``K16.1``), several
    joined (``K0809``: departments 08 and 09), or a unit of one (``K02.D35``). Raises
    :class:`InvalidInputError` when a part is not valid on ``day``."""
    departments = code_list(CodeSystem.DEPARTMENT)
    unit = _UNIT.fullmatch(code)
    if unit is not None:
        departments.entry(unit[1], day)
        departments.entry(f"K{unit[2]}", day)
        return code
    joined = _DEPARTMENT_PARTS.fullmatch(code)
    if joined is None or not joined[2]:
        departments.entry(code, day)
        return code
    for part in re.findall(r"\d{2}", code[1:]):
        departments.entry(f"K{part}", day)
    return code


def name_of(system: CodeSystem, code: str, day: date) -> str:
    """The name of ``code`` on ``day``, empty when the list gives none or does not cover
    ``day``; :class:`InvalidInputError` as :func:`check_code`."""
    entry = code_list(system).entry(code, day)
    return "" if entry is None else entry.name


def benefit_level(card_number: str, day: date) -> CodeEntry | None:
    """The benefit level a 15-character BHYT card carries (its third character) as in
    force on ``day``; ``None`` when the code is not such a card or the list does not cover
    ``day``. :class:`InvalidInputError` for a level not valid on a covered day."""
    try:
        level = BhytNumber.parse(card_number).benefit_level
    except InvalidInputError:
        return None
    return code_list(CodeSystem.BENEFIT_LEVEL).entry(str(level), day)
