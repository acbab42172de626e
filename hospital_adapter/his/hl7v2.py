"""HL7 v2.5 ADT^A04 (register a patient, chapter 3.3.4) and its acknowledgement (chapter 2).

Message: MSH, EVN, PID, PV1, PV2 for a priority patient and IN1 in the insurance group
(ADT_A01 structure, chapter 3.3.1), UTF-8 with MSH-18 ``UNICODE UTF-8`` (docs/domain.md
§4.4). MSH-10 is the visit's idempotency key. The codes come from the Ministry's lists in
force on the visit's day (:mod:`hospital_adapter.codelists`): PV1-3.1 ``MA_KHOA``, PV1-10
(hospital service, user table 0069) ``MA_LOAI_KCB``, IN1-15 (plan type, user table 0086)
the card's benefit level. The kiosk's priority class goes in PV2-25 (visit priority code,
IS of 2 characters, user table 0217) as :class:`VisitPriority`, how the identity was
learned in PID-32 (identity reliability code, user table 0445). Text is escaped per chapter
2.7.4; the ACK is parsed with python-hl7, bounded, and mapped to :class:`AckCode`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

import hl7

from hospital_adapter.codelists import (
    EXAMINATION,
    CodeSystem,
    benefit_level,
    check_code,
    check_department,
)
from hospital_adapter.errors import HisProtocolError
from hospital_adapter.identity import IdentityTrust
from hospital_adapter.visit import VIETNAM_TIME, Priority, Visit, VisitKind

SEGMENT_SEPARATOR = "\r"
ENCODING_CHARACTERS = "^~\\&"
VERSION = "2.5"
CHARSET = "UNICODE UTF-8"
MAX_ACK_CHARS = 64 * 1024
ID_AUTHORITY = "BCA"
"""Assigning authority of the 12-digit ID number (Ministry of Public Security)."""
ID_TYPE = "NNVNM"
"""HL7 table 0203 ``NNxxx``: national person identifier of country VNM."""
BHYT_AUTHORITY = "BHXH"
BHYT_TYPE = "HC"
"""HL7 table 0203 ``HC``: health card number."""


class AckCode(enum.Enum):
    """MSA-1 acknowledgement codes (HL7 v2.5 table 0008, original mode)."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


@dataclass(frozen=True)
class Ack:
    code: AckCode
    control_id: str
    text: str


@dataclass(frozen=True)
class MessageHeader:
    """MSH-3 to MSH-6."""

    sending_application: str = "KIOSK"
    sending_facility: str = ""
    receiving_application: str = "HIS"
    receiving_facility: str = ""


def escape(text: str) -> str:
    """Escape the delimiters in ``text`` (HL7 v2.5 §2.7.4)."""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, code)
    return out


def _dtm(moment: datetime) -> str:
    return moment.astimezone(VIETNAM_TIME).strftime("%Y%m%d%H%M%S%z")


def _dt(day: date | None) -> str:
    return "" if day is None else day.strftime("%Y%m%d")


def _segment(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _xpn(full_name: str) -> str:
    """Vietnamese order is family, middle, given: XPN.1 family, XPN.2 given, XPN.3 middle."""
    words = full_name.split()
    if len(words) <= 1:
        return escape(full_name.strip())
    return "^".join(escape(part) for part in (words[0], words[-1], " ".join(words[1:-1])))


class FinancialClass(enum.StrEnum):
    """PV1-20 values (user-defined HL7 table 0064)."""

    INSURED = "BHYT"
    """Insured visit with a BHYT card (IN1 follows)."""
    TO_VERIFY = "CHOXN"
    """Insured visit whose card is "chờ xác minh": to be verified at the counter."""
    SELF_PAY = "DV"
    """Self-pay visit ("khám dịch vụ")."""


class VisitPriority(enum.StrEnum):
    """PV2-25 values for the priority classes of docs/domain.md §4.3: local entries of
    user-defined table 0217 (whose suggested 1/2/3 are emergency/urgent/elective)."""

    CHILD_UNDER_6 = "TE"
    """Trẻ em: a child under six."""
    ELDERLY = "CT"
    """Cao tuổi: an elderly patient."""
    DISABILITY = "KT"
    """Khuyết tật: a person with a severe disability."""
    PREGNANT = "MT"
    """Mang thai: a pregnant woman."""
    MERIT = "CC"
    """Có công: a person with meritorious service to the revolution."""


_VISIT_PRIORITY = {
    Priority.CHILD_UNDER_6: VisitPriority.CHILD_UNDER_6,
    Priority.ELDERLY: VisitPriority.ELDERLY,
    Priority.DISABILITY: VisitPriority.DISABILITY,
    Priority.PREGNANT: VisitPriority.PREGNANT,
    Priority.MERIT: VisitPriority.MERIT,
}


IDENTITY_RELIABILITY = {
    IdentityTrust.CHIP: "CHIP",
    IdentityTrust.CHIP_UNTRUSTED: "CHIPCSCA",
    IdentityTrust.QR: "QR",
    IdentityTrust.TYPED: "NHAP",
}
"""PID-32 identity reliability code (user-defined HL7 table 0445, local values): how the
kiosk learned the identity, so that the HIS knows which ones staff must re-check."""


def _financial_class(kind: VisitKind, card: str | None) -> FinancialClass:
    if kind is VisitKind.SELF_PAY:
        return FinancialClass.SELF_PAY
    return FinancialClass.INSURED if card else FinancialClass.TO_VERIFY


def build_adt_a04(visit: Visit, header: MessageHeader, sent_at: datetime) -> str:
    """The ADT^A04 message for ``visit``, segments joined by ``\\r``."""
    ident = visit.identity
    birth = ident.date_of_birth
    identifiers = [f"{ident.id_number}^^^{ID_AUTHORITY}^{ID_TYPE}"]
    card = visit.coverage.card_number if visit.coverage else ident.bhyt_number
    if card:
        identifiers.append(f"{escape(card)}^^^{BHYT_AUTHORITY}^{BHYT_TYPE}")
    msh = _segment(
        "MSH", ENCODING_CHARACTERS, escape(header.sending_application),
        escape(header.sending_facility), escape(header.receiving_application),
        escape(header.receiving_facility), _dtm(sent_at), "", "ADT^A04^ADT_A01",
        visit.message_id, "P", VERSION, "", "", "AL", "NE", "VNM", CHARSET,
    )  # fmt: skip
    evn = _segment("EVN", "A04", _dtm(sent_at), "", "", "", _dtm(visit.arrived_at))
    pid = _segment(
        "PID", "1", "", "~".join(identifiers), "", _xpn(ident.full_name), "",
        str(birth.year) if birth.year_only else birth.compact(), ident.sex.hl7_code,
        "", "", f"{escape(ident.address)}^^^^^VNM" if ident.address else "",
        *[""] * 20, IDENTITY_RELIABILITY[ident.trust],
    )  # fmt: skip
    financial_class = _financial_class(visit.visit_kind, card)
    day = visit.service_date
    department = check_department(visit.department, day) if visit.department else ""
    pv1 = _segment(
        "PV1", "1", "O", f"{escape(department)}^^^{escape(header.receiving_facility)}",
        *[""] * 6, check_code(CodeSystem.VISIT_TYPE, EXAMINATION, day), *[""] * 8,
        f"{visit.checkin_id}^^^{escape(header.sending_facility)}^VN",
        financial_class, *[""] * 23, _dtm(visit.arrived_at),
    )  # fmt: skip
    segments = [msh, evn, pid, pv1]
    priority = _VISIT_PRIORITY.get(visit.priority)
    if priority is not None:
        segments.append(_segment("PV2", *[""] * 24, priority))
    if visit.visit_kind is VisitKind.INSURED and card:
        cov = visit.coverage
        level = benefit_level(card, day)
        in1 = _segment(
            "IN1", "1", "BHYT", f"{BHYT_AUTHORITY}^^^{BHYT_AUTHORITY}",
            "Bảo hiểm xã hội Việt Nam", *[""] * 7,
            _dt(cov.valid_from if cov else None), _dt(cov.valid_to if cov else None),
            "", "" if level is None else level.code, *[""] * 20, escape(card),
        )  # fmt: skip
        segments.append(in1)
    return SEGMENT_SEPARATOR.join(segments) + SEGMENT_SEPARATOR


def parse_ack(text: str) -> Ack:
    """Parse an ACK; raise :class:`HisProtocolError` unless it has a valid MSA segment."""
    if len(text) > MAX_ACK_CHARS:
        raise HisProtocolError(f"acknowledgement longer than {MAX_ACK_CHARS} characters")
    if not text.startswith("MSH|"):
        raise HisProtocolError("acknowledgement does not start with MSH")
    # MSH-2 (HL7 v2.5 §2.15.9.2): distinct delimiters; python-hl7 trips an assertion on
    # repeated ones instead of raising its ParseException.
    delimiters = text[4 : text.find("|", 4)]
    if not (
        len(ENCODING_CHARACTERS) <= len(delimiters) <= len(ENCODING_CHARACTERS) + 1
        and len(set(delimiters)) == len(delimiters)
        and not any(char.isalnum() or char.isspace() for char in delimiters)
    ):
        raise HisProtocolError("acknowledgement has invalid encoding characters (MSH-2)")
    try:
        message = hl7.parse(text.replace("\n", SEGMENT_SEPARATOR))
        msa = message.segment("MSA")
        code, control_id = str(msa[1]), str(msa[2])
        detail = message.unescape(str(msa[3])) if len(msa) > 3 else ""
    except (KeyError, IndexError, hl7.exceptions.ParseException):
        raise HisProtocolError("acknowledgement has no valid MSA segment") from None
    try:
        return Ack(AckCode(code), control_id, detail)
    except ValueError:
        raise HisProtocolError(f"unknown acknowledgement code {code[:10]!r}") from None
