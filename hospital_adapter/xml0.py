"""XML0, the check-in record (QĐ 130/4750/3176/QĐ-BYT, docs/domain.md §3.7).

One record in the envelope public HIS and BHXH's template use::

    CHI_TIEU_TRANG_THAI_KCB
    ├── DSACH_TRANG_THAI_KCB
    │   └── TRANG_THAI_KCB      (the 26 fields of :class:`Field`, in this order)
    └── CHUKYDONVI              (empty here; the facility's signature, hospital_adapter.xmldsig)

Times are ``yyyyMMddHHmm`` in hospital time, dates ``yyyyMMdd``; codes are strings taken
from the code lists in force on the visit's day (:mod:`hospital_adapter.codelists`).
XML0 reports a BHYT visit, so the visit needs the card the gateway confirmed. XML0 has no
field for the kiosk's priority class; none is invented.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from hospital_adapter.codelists import EXAMINATION, CodeSystem, check_code
from hospital_adapter.errors import InvalidInputError
from hospital_adapter.visit import VIETNAM_TIME, Visit

ROOT = "CHI_TIEU_TRANG_THAI_KCB"
RECORDS = "DSACH_TRANG_THAI_KCB"
RECORD = "TRANG_THAI_KCB"
SIGNATURE = "CHUKYDONVI"
TIME_FORMAT = "%Y%m%d%H%M"
DATE_FORMAT = "%Y%m%d"


class Field(enum.StrEnum):
    """The fields of ``TRANG_THAI_KCB``, in the order of the published template."""

    MA_LK = "MA_LK"
    STT = "STT"
    MA_BN = "MA_BN"
    HO_TEN = "HO_TEN"
    SO_CCCD = "SO_CCCD"
    NGAY_SINH = "NGAY_SINH"
    GIOI_TINH = "GIOI_TINH"
    MA_THE_BHYT = "MA_THE_BHYT"
    MA_DKBD = "MA_DKBD"
    GT_THE_TU = "GT_THE_TU"
    GT_THE_DEN = "GT_THE_DEN"
    MA_DOITUONG_KCB = "MA_DOITUONG_KCB"
    NGAY_VAO = "NGAY_VAO"
    NGAY_VAO_NOI_TRU = "NGAY_VAO_NOI_TRU"
    LY_DO_VNT = "LY_DO_VNT"
    MA_LY_DO_VNT = "MA_LY_DO_VNT"
    MA_LOAI_KCB = "MA_LOAI_KCB"
    MA_CSKCB = "MA_CSKCB"
    MA_DICH_VU = "MA_DICH_VU"
    TEN_DICH_VU = "TEN_DICH_VU"
    MA_THUOC = "MA_THUOC"
    TEN_THUOC = "TEN_THUOC"
    MA_VAT_TU = "MA_VAT_TU"
    TEN_VAT_TU = "TEN_VAT_TU"
    NGAY_YL = "NGAY_YL"
    DU_PHONG = "DU_PHONG"


@dataclass(frozen=True)
class Xml0Facility:
    """What XML0 needs from the facility: its code (``MA_CSKCB``), the examination service
    billed at check-in (``MA_DICH_VU``/``TEN_DICH_VU``, the first chargeable item) and the
    provisional beneficiary category (``MA_DOITUONG_KCB``: fixed only when the visit
    closes; which code a kiosk check-in should carry is [open], docs/domain.md §3.7)."""

    facility_code: str
    exam_service_code: str
    exam_service_name: str
    patient_category: str = "1.1"


def record_fields(visit: Visit, facility: Xml0Facility, patient_code: str = "") -> dict[str, str]:
    """The values of ``TRANG_THAI_KCB`` for ``visit``; ``patient_code`` (``MA_BN``) is the
    HIS's patient number, the ID number without one. :class:`InvalidInputError` for a visit
    without a confirmed card or a code not valid on the visit's day."""
    card = visit.coverage
    if card is None:
        raise InvalidInputError("MA_THE_BHYT", "XML0 reports a visit with a confirmed BHYT card")
    ident = visit.identity
    day = visit.service_date
    arrived = f"{visit.arrived_at.astimezone(VIETNAM_TIME):{TIME_FORMAT}}"

    def on(value: object) -> str:
        return "" if value is None else f"{value:{DATE_FORMAT}}"

    values = {
        Field.MA_LK: visit.checkin_id,
        Field.STT: "1",
        Field.MA_BN: patient_code or ident.id_number,
        Field.HO_TEN: ident.full_name,
        Field.SO_CCCD: ident.id_number,
        Field.NGAY_SINH: ident.date_of_birth.compact() + "0000",
        Field.GIOI_TINH: str(ident.sex.xml0_code),
        Field.MA_THE_BHYT: card.card_number,
        Field.MA_DKBD: card.primary_care_facility,
        Field.GT_THE_TU: on(card.valid_from),
        Field.GT_THE_DEN: on(card.valid_to),
        Field.MA_DOITUONG_KCB: check_code(
            CodeSystem.PATIENT_CATEGORY, facility.patient_category, day
        ),
        Field.NGAY_VAO: arrived,
        Field.MA_LOAI_KCB: check_code(CodeSystem.VISIT_TYPE, EXAMINATION, day),
        Field.MA_CSKCB: facility.facility_code,
        Field.MA_DICH_VU: facility.exam_service_code,
        Field.TEN_DICH_VU: facility.exam_service_name,
        Field.NGAY_YL: arrived,
    }
    return {name.value: values.get(name, "") for name in Field}


def build_xml0(visit: Visit, facility: Xml0Facility, *, patient_code: str = "") -> bytes:
    """The unsigned XML0 of ``visit`` as UTF-8 bytes with an XML declaration."""
    root = ET.Element(ROOT)
    record = ET.SubElement(ET.SubElement(root, RECORDS), RECORD)
    for name, value in record_fields(visit, facility, patient_code).items():
        ET.SubElement(record, name).text = value
    ET.SubElement(root, SIGNATURE)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml
