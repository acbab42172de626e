"""The merged citizen identity: sources per field and cross-check findings (docs/domain.md §2).

The MRZ is the CCCD TD1 layout as the card simulator lays it out (SampleCard: ID
079185012345, born 15/03/1985, female, NGUYEN THI HOA); DG13 and the QR code are built
here to agree with it, then changed one fact at a time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.idnumber import Sex
from cardreader.lds.dg13 import CardDate, Dg13, parse_card_date
from cardreader.lds.identity import Source, Sourced, ascii_name, merge_identity
from cardreader.mrz import Mrz, parse_mrz
from cardreader.qr import CccdQr, parse_cccd_qr
from simulators.chip.sample import SampleCard

ID = "079185012345"


def mrz(**changes: str) -> Mrz:
    return parse_mrz(SampleCard(**changes).td1())


DG13 = Dg13(
    version=1,
    oid="1.2.3",
    field_numbers=tuple(range(1, 16)),
    id_number=ID,
    full_name="Nguyễn Thị Hoà",
    date_of_birth=CardDate("15/03/1985", date(1985, 3, 15)),
    sex="Nữ",
    nationality="Việt Nam",
    ethnicity="Kinh",
    religion="Không",
    place_of_origin="Bình Dương",
    place_of_residence="12 Lê Lợi, Hồ Chí Minh",
    identifying_marks="Nốt ruồi",
    date_of_issue=CardDate("10/07/2021", date(2021, 7, 10)),
    date_of_expiry=CardDate("15/03/2045", date(2045, 3, 15)),
    father_name="Nguyễn Văn Bình",
    mother_name="Trần Thị Mai",
    spouse_name="Lê Văn Tám",
    old_id_number="025123456",
)


def qr(id_number: str = ID, birth: str = "15031985") -> CccdQr:
    return parse_cccd_qr(
        f"{id_number}|025999999|Nguyễn Thị Hoà|{birth}|Nữ|99 Trần Hưng Đạo, Hà Nội|01022022"
    )


def test_chip_fields_come_from_dg13_and_agree() -> None:
    identity = merge_identity(dg1=mrz(), dg13=DG13, expected_id_number=ID, qr=qr())
    assert identity.findings == ()
    assert identity.consistent
    assert identity.id_number == Sourced(ID, Source.DG13)
    assert identity.full_name == Sourced("Nguyễn Thị Hoà", Source.DG13)
    assert identity.date_of_birth == Sourced(DG13.date_of_birth, Source.DG13)
    assert identity.birth_year == Sourced(1985, Source.DG13)
    assert identity.sex == Sourced(Sex.FEMALE, Source.DG13)
    assert identity.nationality == Sourced("Việt Nam", Source.DG13)
    assert identity.place_of_residence == Sourced("12 Lê Lợi, Hồ Chí Minh", Source.DG13)
    assert identity.date_of_issue == Sourced(DG13.date_of_issue, Source.DG13)
    assert identity.date_of_expiry == Sourced(DG13.date_of_expiry, Source.DG13)
    assert identity.old_id_number == Sourced("025123456", Source.DG13)
    assert (identity.father_name, identity.mother_name, identity.spouse_name) == (
        Sourced("Nguyễn Văn Bình", Source.DG13),
        Sourced("Trần Thị Mai", Source.DG13),
        Sourced("Lê Văn Tám", Source.DG13),
    )
    assert (identity.ethnicity, identity.religion) == (
        Sourced("Kinh", Source.DG13),
        Sourced("Không", Source.DG13),
    )
    assert identity.place_of_origin == Sourced("Bình Dương", Source.DG13)
    assert identity.identifying_marks == Sourced("Nốt ruồi", Source.DG13)
    assert identity.document_number == Sourced("185012345", Source.DG1)


def test_mrz_only() -> None:
    identity = merge_identity(dg1=mrz())
    assert identity.findings == ()
    assert identity.id_number == Sourced(ID, Source.DG1)
    assert identity.full_name == Sourced("NGUYEN THI HOA", Source.DG1)
    assert identity.date_of_birth == Sourced(CardDate("850315", date(1985, 3, 15)), Source.DG1)
    assert identity.birth_year == Sourced(1985, Source.DG1)
    assert identity.sex == Sourced(Sex.FEMALE, Source.DG1)
    assert identity.nationality == Sourced("VNM", Source.DG1)
    assert identity.date_of_expiry == Sourced(CardDate("250315", date(2025, 3, 15)), Source.DG1)
    assert identity.place_of_residence is None
    assert identity.ethnicity is None


def test_mrz_birth_century_comes_from_the_id_number() -> None:
    born_2003 = mrz(id_number="001203000123", date_of_birth="030101", sex="M")
    identity = merge_identity(dg1=born_2003)
    assert identity.findings == ()
    assert identity.date_of_birth == Sourced(CardDate("030101", date(2003, 1, 1)), Source.DG1)
    assert identity.sex == Sourced(Sex.MALE, Source.DG1)


def test_qr_fills_only_what_the_chip_leaves_out() -> None:
    identity = merge_identity(dg1=mrz(), qr=qr())
    assert identity.findings == ()
    assert identity.full_name == Sourced("NGUYEN THI HOA", Source.DG1)
    assert identity.place_of_residence == Sourced("99 Trần Hưng Đạo, Hà Nội", Source.QR)
    assert identity.date_of_issue == Sourced(CardDate("01/02/2022", date(2022, 2, 1)), Source.QR)
    assert identity.old_id_number == Sourced("025999999", Source.QR)


def test_qr_alone() -> None:
    identity = merge_identity(qr=qr())
    assert identity.findings == ()
    assert identity.id_number == Sourced(ID, Source.QR)
    assert identity.full_name == Sourced("Nguyễn Thị Hoà", Source.QR)
    assert identity.date_of_birth == Sourced(CardDate("15/03/1985", date(1985, 3, 15)), Source.QR)
    assert identity.birth_year == Sourced(1985, Source.QR)
    assert identity.sex == Sourced(Sex.FEMALE, Source.ID_NUMBER)
    assert identity.document_number is None


def test_sex_and_birth_year_from_the_id_number_when_the_chip_has_none() -> None:
    identity = merge_identity(dg13=Dg13(id_number=ID, full_name="Nguyễn Thị Hoà"))
    assert identity.sex == Sourced(Sex.FEMALE, Source.ID_NUMBER)
    assert identity.birth_year == Sourced(1985, Source.ID_NUMBER)
    assert identity.date_of_birth is None
    assert identity.findings == ()


def test_year_only_birth_date() -> None:
    dg13 = replace(DG13, date_of_birth=CardDate("1985", None))
    identity = merge_identity(dg1=mrz(), dg13=dg13)
    assert identity.findings == ()
    assert identity.date_of_birth == Sourced(CardDate("1985", None), Source.DG13)
    assert identity.birth_year == Sourced(1985, Source.DG13)


def test_nothing_known() -> None:
    identity = merge_identity()
    assert identity.findings == ()
    assert (identity.id_number, identity.full_name, identity.sex) == (None, None, None)
    assert identity.birth_year is None


@pytest.mark.parametrize(
    ("kwargs", "findings"),
    [
        (
            {"dg13": replace(DG13, id_number="079185012346")},
            (
                "the ID number in DG13 differs from the one in the MRZ (DG1)",
                "the card's ID number differs from the expected ID number",
                "the QR code's ID number differs from the chip's",
                "the MRZ document number is not the last 9 digits of the ID number",
            ),
        ),
        (
            {"expected_id_number": "079185099999"},
            ("the card's ID number differs from the expected ID number",),
        ),
        (
            {"qr": qr(id_number="079185099999")},
            ("the QR code's ID number differs from the chip's",),
        ),
        (
            {"dg13": replace(DG13, sex="Nam")},
            (
                "the sex in DG13 differs from the MRZ",
                "the sex in DG13 differs from what the ID number encodes",
            ),
        ),
        (
            {"dg13": replace(DG13, sex="nữ giới")},
            ("the sex in DG13 is neither Nam nor Nữ",),
        ),
        (
            {"dg1": mrz(sex="M")},
            (
                "the sex in DG13 differs from the MRZ",
                "the sex in DG1 differs from what the ID number encodes",
            ),
        ),
        (
            {"dg13": replace(DG13, date_of_birth=CardDate("15/03/1986", date(1986, 3, 15)))},
            (
                "the birth year in DG13 differs from what the ID number encodes",
                "the date of birth in DG13 differs from the MRZ",
                "the QR code's date of birth differs from the chip's",
            ),
        ),
        (
            {"dg13": replace(DG13, date_of_birth=CardDate("1986", None))},
            (
                "the birth year in DG13 differs from what the ID number encodes",
                "the date of birth in DG13 differs from the MRZ",
            ),
        ),
        (
            {"dg1": mrz(date_of_birth="860315")},
            (
                "the birth year in the MRZ differs from what the ID number encodes",
                "the date of birth in DG13 differs from the MRZ",
            ),
        ),
        (
            {"qr": qr(birth="16031985")},
            ("the QR code's date of birth differs from the chip's",),
        ),
        (
            {"dg13": replace(DG13, full_name="Nguyễn Thị Hoàng")},
            ("the name in DG13 does not match the MRZ name",),
        ),
    ],
)
def test_mismatches_are_reported_not_raised(
    kwargs: dict[str, object], findings: tuple[str, ...]
) -> None:
    arguments: dict[str, object] = {
        "dg1": mrz(),
        "dg13": DG13,
        "expected_id_number": ID,
        "qr": qr(),
        **kwargs,
    }
    identity = merge_identity(**arguments)  # type: ignore[arg-type]
    assert identity.findings == findings
    assert not identity.consistent


def test_invalid_id_number_in_dg13() -> None:
    identity = merge_identity(dg13=Dg13(id_number="12345", sex="Nam"))
    assert identity.findings == (
        "the ID number from DG13 is not valid: an ID number has exactly 12 digits",
    )
    assert identity.id_number == Sourced("12345", Source.DG13)
    assert identity.sex == Sourced(Sex.MALE, Source.DG13)
    assert identity.birth_year is None


def test_mrz_check_digit_failures() -> None:
    lines = SampleCard().td1().split("\n")
    lines[0] = lines[0][:29] + "0"  # the check digit over the 12-digit ID, 9 → 0
    identity = merge_identity(dg1=parse_mrz("\n".join(lines)))
    assert identity.findings == (
        "MRZ check digit of the composite does not match",
        "MRZ check digit of the ID number in optional data does not match",
    )


def test_expected_id_without_a_chip_id() -> None:
    identity = merge_identity(dg13=Dg13(full_name="A"), expected_id_number=ID)
    assert identity.findings == ("the chip shows no ID number to compare with the expected one",)


def test_truncated_mrz_name_matches_a_longer_dg13_name() -> None:
    lines = SampleCard().td1().split("\n")
    lines[2] = "TRAN<<HOANG<THI<MINH<NGUYET<TH"  # 30 characters, no filler: truncated
    dg13 = replace(DG13, full_name="Trần Hoàng Thị Minh Nguyệt Thương")
    identity = merge_identity(dg1=parse_mrz("\n".join(lines)), dg13=dg13)
    assert identity.findings == ()
    assert identity.full_name == Sourced("Trần Hoàng Thị Minh Nguyệt Thương", Source.DG13)
    lines[2] = "TRAN<<HOANG<THI<MINH<NGUYET<<<"  # not truncated: the whole name must match
    identity = merge_identity(dg1=parse_mrz("\n".join(lines)), dg13=dg13)
    assert identity.findings == ("the name in DG13 does not match the MRZ name",)


@pytest.mark.parametrize(
    ("name", "ascii"),
    [
        ("Nguyễn Thị Hoà", "NGUYEN THI HOA"),
        ("Đặng  Thị Huệ", "DANG THI HUE"),
        ("Trương Ưng Ơn", "TRUONG UNG ON"),
        ("Hồ Chí Minh", "HO CHI MINH"),
    ],
)
def test_ascii_name(name: str, ascii: str) -> None:
    assert ascii_name(name) == ascii


def test_repr_hides_personal_values() -> None:
    identity = merge_identity(dg1=mrz(), dg13=DG13, qr=qr())
    text = repr(identity)
    for secret in (ID, "Hoà", "HOA", "1985", "Lê Lợi", "Mai", "025123456", "185012345"):
        assert secret not in text
    assert "source=<Source.DG13: 'DG13'>" in text
    assert "findings=()" in text


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=14), st.from_regex(r"\d{12}", fullmatch=True)),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.none(), st.text(max_size=12).map(parse_card_date)),
    st.one_of(st.none(), st.sampled_from(["Nam", "Nữ", "", "X"])),
    st.one_of(st.none(), st.from_regex(r"\d{12}", fullmatch=True)),
    st.booleans(),
)
def test_merging_never_raises(
    id_number: str | None,
    name: str | None,
    birth: CardDate | None,
    sex: str | None,
    expected: str | None,
    with_mrz: bool,
) -> None:
    dg13 = Dg13(id_number=id_number, full_name=name, date_of_birth=birth, sex=sex)
    identity = merge_identity(
        dg1=mrz() if with_mrz else None, dg13=dg13, expected_id_number=expected
    )
    assert all(isinstance(finding, str) for finding in identity.findings)
    assert identity.consistent == (identity.findings == ())
