"""XML0 check-in record (docs/domain.md §3)."""

from __future__ import annotations

from hospital_adapter.xml0 import build_xml0

from .helpers import sample_visit


def test_xml0_exact_bytes() -> None:
    assert (
        build_xml0(sample_visit(), "79024")
        == (
            "<?xml version='1.0' encoding='utf-8'?>\n"
            "<CHI_TIEU_TRANG_THAI_KCB><MA_LK>0123456789abcdef0123456789abcdef</MA_LK><STT>7</STT>"
            "<MA_BN>079185001234</MA_BN><HO_TEN>Nguyễn Thị Hoa</HO_TEN>"
            "<SO_CCCD>079185001234</SO_CCCD><NGAY_SINH>198503070000</NGAY_SINH>"
            "<GIOI_TINH>2</GIOI_TINH><MA_THE_BHYT>HC4797912345678</MA_THE_BHYT>"
            "<MA_DKBD>79024</MA_DKBD><GT_THE_TU>20250101</GT_THE_TU><GT_THE_DEN>20251231</GT_THE_DEN>"
            "<NGAY_VAO>202503100802</NGAY_VAO><MA_LOAI_KCB>01</MA_LOAI_KCB>"
            "<MA_CSKCB>79024</MA_CSKCB><MA_KHOA>K01</MA_KHOA></CHI_TIEU_TRANG_THAI_KCB>"
        ).encode()
    )


def test_xml0_self_pay_has_no_card_and_escapes_text() -> None:
    xml = build_xml0(sample_visit(insured=False), "79024", patient_code="BN<1>&")
    assert b"<MA_THE_BHYT />" in xml and b"<GT_THE_TU />" in xml
    assert b"<MA_BN>BN&lt;1&gt;&amp;</MA_BN>" in xml
