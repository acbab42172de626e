"""The XML0 check-in record (Ministry of Health Decisions 130/4750/3176, docs/domain.md §3).

Built from a stored :class:`~hospital_adapter.visit.Visit` for HIS that forward it to
BHXH. Dates are ``yyyyMMddHHmm`` (12 digits; an unknown birth day and month are ``0000``),
GIOI_TINH is 1 (male) or 2 (female), MA_LOAI_KCB ``01`` is an outpatient examination.
The root element's name is [open] in our sources, so it is a parameter.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hospital_adapter.visit import VIETNAM_TIME, Visit, VisitKind

ROOT = "CHI_TIEU_TRANG_THAI_KCB"
OUTPATIENT_EXAMINATION = "01"


def build_xml0(
    visit: Visit, facility_code: str, *, patient_code: str = "", root: str = ROOT
) -> bytes:
    """The XML0 record of ``visit`` as UTF-8 bytes with an XML declaration.

    ``patient_code`` (MA_BN) is the HIS's patient number; the ID number is used without one.
    """
    ident = visit.identity
    cov = visit.coverage if visit.visit_kind is VisitKind.INSURED else None

    def day(value: object) -> str:
        return "" if value is None else f"{value:%Y%m%d}"

    fields = {
        "MA_LK": visit.checkin_id,
        "STT": str(visit.ticket),
        "MA_BN": patient_code or ident.id_number,
        "HO_TEN": ident.full_name,
        "SO_CCCD": ident.id_number,
        "NGAY_SINH": ident.date_of_birth.compact() + "0000",
        "GIOI_TINH": str(ident.sex.xml0_code),
        "MA_THE_BHYT": "" if cov is None else cov.card_number,
        "MA_DKBD": "" if cov is None else cov.primary_care_facility,
        "GT_THE_TU": "" if cov is None else day(cov.valid_from),
        "GT_THE_DEN": "" if cov is None else day(cov.valid_to),
        "NGAY_VAO": f"{visit.arrived_at.astimezone(VIETNAM_TIME):%Y%m%d%H%M}",
        "MA_LOAI_KCB": OUTPATIENT_EXAMINATION,
        "MA_CSKCB": facility_code,
        "MA_KHOA": visit.department,
    }
    element = ET.Element(root)
    for name, value in fields.items():
        ET.SubElement(element, name).text = value
    xml: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return xml
