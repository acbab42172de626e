"""The Ministry's code lists as data files with validity dates, chosen by the visit's day
(docs/domain.md §3.8)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import combinations

import pytest

from hospital_adapter.codelists import (
    CodeSystem,
    benefit_level,
    check_code,
    check_department,
    code_list,
    name_of,
)
from hospital_adapter.errors import InvalidInputError

QD_1804 = date(2026, 8, 1)
QD_3276 = date(2025, 7, 1)
DAY = timedelta(days=1)


@pytest.mark.parametrize("system", list(CodeSystem))
def test_every_list_is_well_formed(system: CodeSystem) -> None:
    entries = code_list(system).entries
    assert entries and all(e.source for e in entries)
    for a, b in combinations(entries, 2):
        if a.code == b.code:  # one code, one meaning a day: periods never overlap
            assert (a.valid_to is not None and a.valid_to < b.valid_from) or (
                b.valid_to is not None and b.valid_to < a.valid_from
            ), (a, b)


def test_visit_types_change_with_qd_1804() -> None:
    assert [
        e.code for e in code_list(CodeSystem.VISIT_TYPE).entries if e.valid_from == QD_1804
    ] == [f"{n:02d}" for n in range(1, 17)]
    assert check_code(CodeSystem.VISIT_TYPE, "11", QD_1804) == "11"
    with pytest.raises(InvalidInputError) as info:
        check_code(CodeSystem.VISIT_TYPE, "11", QD_1804 - DAY)
    assert (info.value.field, info.value.reason) == (
        "MA_LOAI_KCB",
        "'11' is not a valid code on 2026-07-31",
    )
    assert name_of(CodeSystem.VISIT_TYPE, "01", QD_1804 - DAY) == "Khám bệnh"
    assert name_of(CodeSystem.VISIT_TYPE, "14", QD_1804) == "Khám bệnh, chữa bệnh từ xa"
    assert name_of(CodeSystem.VISIT_TYPE, "99", date(2020, 1, 1)) == ""  # before any list
    with pytest.raises(InvalidInputError):
        check_code(CodeSystem.VISIT_TYPE, "1", QD_1804)  # a string: the leading zero matters


def test_departments_of_qd_1804_and_their_combinations() -> None:
    listed = [e.code for e in code_list(CodeSystem.DEPARTMENT).entries]
    assert len(listed) == 67 and listed[:2] == ["K01", "K02"] and "K99" in listed
    for code in ("K01", "K60", "K99", "K16.3", "K0809", "K02.D35", "K16.1.D02"):
        assert check_department(code, QD_1804) == code
    for code in ("K61", "K0861", "K02.D61", "K16.4", "X01", ""):
        with pytest.raises(InvalidInputError) as info:
            check_department(code, QD_1804)
        assert info.value.field == "MA_KHOA"
    assert check_department("K61", QD_1804 - DAY) == "K61"  # the list before is not known


def test_patient_categories_change_with_qd_3276() -> None:
    after = [
        e.code for e in code_list(CodeSystem.PATIENT_CATEGORY).entries if e.valid_from == QD_3276
    ]
    assert len(after) == 27 and after[-3:] == ["8", "9", "10"]
    assert check_code(CodeSystem.PATIENT_CATEGORY, "1.8", QD_3276 - DAY) == "1.8"
    with pytest.raises(InvalidInputError):
        check_code(CodeSystem.PATIENT_CATEGORY, "1.8", QD_3276)
    assert check_code(CodeSystem.PATIENT_CATEGORY, "1.18", QD_3276) == "1.18"
    with pytest.raises(InvalidInputError):
        check_code(CodeSystem.PATIENT_CATEGORY, "1.18", QD_3276 - DAY)
    assert name_of(CodeSystem.PATIENT_CATEGORY, "2", QD_3276) == "Cấp cứu"


@pytest.mark.parametrize(
    ("card", "level", "share"),
    [
        ("HC4797912345678", "4", "80%"),
        ("DN3797912345678", "3", "95%"),
        ("CC1797912345678", "1", "100%"),
    ],
)
def test_benefit_level_of_a_card(card: str, level: str, share: str) -> None:
    entry = benefit_level(card, date(2026, 1, 1))
    assert entry is not None and (entry.code, entry.name) == (level, share)


def test_benefit_level_of_other_codes_is_unknown() -> None:
    assert benefit_level("079185001234", date(2026, 1, 1)) is None  # an ID number
    assert benefit_level("HC4797912345678", date(2014, 12, 31)) is None  # before the list
