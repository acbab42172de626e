"""XML0 in its real envelope with every field, codes by the visit's day (docs/domain.md §3.7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from hospital_adapter.errors import InvalidInputError
from hospital_adapter.xml0 import Field, Xml0Facility, build_xml0, record_fields

from .helpers import sample_visit

FACILITY = Xml0Facility("79024", "02.1896", "Khám Nội")


def test_xml0_exact_bytes() -> None:
    expected = (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        "<CHI_TIEU_TRANG_THAI_KCB><DSACH_TRANG_THAI_KCB><TRANG_THAI_KCB>"
        "<MA_LK>0123456789abcdef0123456789abcdef</MA_LK><STT>1</STT>"
        "<MA_BN>079185001234</MA_BN><HO_TEN>Nguyễn Thị Hoa</HO_TEN>"
        "<SO_CCCD>079185001234</SO_CCCD><NGAY_SINH>198503070000</NGAY_SINH>"
        "<GIOI_TINH>2</GIOI_TINH><MA_THE_BHYT>HC4797912345678</MA_THE_BHYT>"
        "<MA_DKBD>79024</MA_DKBD><GT_THE_TU>20250101</GT_THE_TU>"
        "<GT_THE_DEN>20251231</GT_THE_DEN>"
        "<MA_DOITUONG_KCB>1.1</MA_DOITUONG_KCB><NGAY_VAO>202503100802</NGAY_VAO>"
        "<NGAY_VAO_NOI_TRU /><LY_DO_VNT /><MA_LY_DO_VNT /><MA_LOAI_KCB>01</MA_LOAI_KCB>"
        "<MA_CSKCB>79024</MA_CSKCB><MA_DICH_VU>02.1896</MA_DICH_VU>"
        "<TEN_DICH_VU>Khám Nội</TEN_DICH_VU><MA_THUOC /><TEN_THUOC /><MA_VAT_TU />"
        "<TEN_VAT_TU /><NGAY_YL>202503100802</NGAY_YL><DU_PHONG /></TRANG_THAI_KCB>"
        "</DSACH_TRANG_THAI_KCB><CHUKYDONVI /></CHI_TIEU_TRANG_THAI_KCB>"
    )
    assert build_xml0(sample_visit(), FACILITY) == expected.encode()


def test_every_field_in_the_published_order() -> None:
    assert list(record_fields(sample_visit(), FACILITY)) == [
        "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
        "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "NGAY_VAO_NOI_TRU",
        "LY_DO_VNT", "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU",
        "MA_THUOC", "TEN_THUOC", "MA_VAT_TU", "TEN_VAT_TU", "NGAY_YL", "DU_PHONG",
    ]  # fmt: skip
    assert len(Field) == 26


def test_year_only_birth_date_and_escaping() -> None:
    visit = sample_visit()
    identity = replace(visit.identity, date_of_birth=replace(visit.identity.date_of_birth))
    fields = record_fields(replace(visit, identity=identity), FACILITY, patient_code="BN<1>&")
    assert fields["MA_BN"] == "BN<1>&"
    xml = build_xml0(visit, FACILITY, patient_code="BN<1>&")
    assert b"<MA_BN>BN&lt;1&gt;&amp;</MA_BN>" in xml


def test_a_visit_without_a_confirmed_card_has_no_xml0() -> None:
    with pytest.raises(InvalidInputError) as info:
        build_xml0(sample_visit(coverage=False), FACILITY)
    assert info.value.field == "MA_THE_BHYT"


def test_codes_are_checked_on_the_visits_day() -> None:
    august = datetime(2026, 8, 3, 2, 0, tzinfo=UTC)
    visit = replace(sample_visit(), service_date=date(2026, 8, 3), arrived_at=august)
    assert record_fields(visit, FACILITY)["MA_LOAI_KCB"] == "01"
    assert record_fields(visit, replace(FACILITY, patient_category="1.18"))["MA_DOITUONG_KCB"]
    before = sample_visit()  # 2025-03-10: QĐ 824's categories, no 1.18 yet
    with pytest.raises(InvalidInputError) as info:
        record_fields(before, replace(FACILITY, patient_category="1.18"))
    assert info.value.field == "MA_DOITUONG_KCB"
