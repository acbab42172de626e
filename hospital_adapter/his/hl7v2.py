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

Patient Demographics Query (IHE ITI TF-2 §3.21, ITI-21): ``QBP^Q22^QBP_Q21`` asking by
PID-3 (the ID number with its assigning authority ``BCA``, or the BHXH number with
``BHXH``), answered by ``RSP^K22^RSP_K21`` whose QAK-2 is ``OK`` (PID segments follow) or
``NF`` (none). The answer is bounded in length and segments before it is parsed.
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
from hospital_adapter.errors import HisProtocolError, HisRejectedError, InvalidInputError
from hospital_adapter.his.base import KnownPatient, PatientKey
from hospital_adapter.identity import BirthDate, IdentityTrust, Sex
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
BHXH_NUMBER_TYPE = "SS"
"""HL7 table 0203 ``SS``: the 10-digit social insurance (BHXH) number [open: local use]."""
PDQ_QUERY_NAME = "IHE PDQ Query"
"""QPD-1 of ITI-21 (IHE ITI TF-2 §3.21.4.1.2.2)."""
PDQ_QUANTITY_LIMIT = 2
"""RCP-2: two records are enough to tell one patient from an ambiguous number."""
MAX_PDQ_ANSWER_CHARS = 64 * 1024
MAX_PDQ_SEGMENTS = 40


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


def _check_header(text: str, what: str, limit: int) -> None:
    """Raise :class:`HisProtocolError` unless ``text`` is short enough and starts with an
    MSH segment whose delimiters python-hl7 can take."""
    if len(text) > limit:
        raise HisProtocolError(f"{what} longer than {limit} characters")
    if not text.startswith("MSH|"):
        raise HisProtocolError(f"{what} does not start with MSH")
    # MSH-2 (HL7 v2.5 §2.15.9.2): distinct delimiters; python-hl7 trips an assertion on
    # repeated ones instead of raising its ParseException.
    delimiters = text[4 : text.find("|", 4)]
    if not (
        len(ENCODING_CHARACTERS) <= len(delimiters) <= len(ENCODING_CHARACTERS) + 1
        and len(set(delimiters)) == len(delimiters)
        and not any(char.isalnum() or char.isspace() for char in delimiters)
    ):
        raise HisProtocolError(f"{what} has invalid encoding characters (MSH-2)")


def parse_ack(text: str) -> Ack:
    """Parse an ACK; raise :class:`HisProtocolError` unless it has a valid MSA segment."""
    _check_header(text, "acknowledgement", MAX_ACK_CHARS)
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


def build_pdq_query(number: str, header: MessageHeader, sent_at: datetime, control_id: str) -> str:
    """The ITI-21 ``QBP^Q22`` asking for the patient with the ID number (or BHXH number)
    ``number`` (IHE ITI TF-2 §3.21.4.1); QPD-2, the query tag, is ``control_id``."""
    if PatientKey.of(number) is PatientKey.ID_NUMBER:
        authority, kind = ID_AUTHORITY, ID_TYPE
    else:
        authority, kind = BHYT_AUTHORITY, BHXH_NUMBER_TYPE
    msh = _segment(
        "MSH", ENCODING_CHARACTERS, escape(header.sending_application),
        escape(header.sending_facility), escape(header.receiving_application),
        escape(header.receiving_facility), _dtm(sent_at), "", "QBP^Q22^QBP_Q21",
        control_id, "P", VERSION, "", "", "", "", "VNM", CHARSET,
    )  # fmt: skip
    parameters = f"@PID.3.1^{number}~@PID.3.4^{authority}~@PID.3.5^{kind}"
    qpd = _segment("QPD", PDQ_QUERY_NAME, control_id, parameters)
    rcp = _segment("RCP", "I", f"{PDQ_QUANTITY_LIMIT}^RD")
    return SEGMENT_SEPARATOR.join((msh, qpd, rcp)) + SEGMENT_SEPARATOR


def parse_pdq_response(text: str, control_id: str) -> KnownPatient | None:
    """Parse the ITI-21 ``RSP^K22`` answering query ``control_id`` (IHE ITI TF-2 §3.21.4.2).

    QAK-2 ``OK`` with one PID: that patient; ``NF``, more than one PID, or one without a
    name: ``None``.
    MSA-1/QAK-2 ``AE``/``AR``: :class:`HisRejectedError`; anything else malformed (an
    answer to another query, a PID without a usable ID number, name, birth date or sex):
    :class:`HisProtocolError`.
    """
    _check_header(text, "PDQ answer", MAX_PDQ_ANSWER_CHARS)
    text = text.replace("\n", SEGMENT_SEPARATOR)
    if len([s for s in text.split(SEGMENT_SEPARATOR) if s]) > MAX_PDQ_SEGMENTS:
        raise HisProtocolError(f"PDQ answer has more than {MAX_PDQ_SEGMENTS} segments")
    try:
        message = hl7.parse(text)
        kind = str(message.segment("MSH")[9])
        msa, qak = message.segment("MSA"), message.segment("QAK")
        ack, answered = str(msa[1]), str(msa[2])
        tag, status = str(qak[1]), str(qak[2])
        pids = [segment for segment in message if str(segment[0]) == "PID"]
    except (KeyError, IndexError, hl7.exceptions.ParseException):
        raise HisProtocolError("PDQ answer has no valid MSA and QAK segments") from None
    if not kind.startswith("RSP^K22"):
        raise HisProtocolError(f"PDQ answer is not an RSP^K22 ({kind[:20]!r})")
    if answered != control_id or tag != control_id:
        raise HisProtocolError("PDQ answer is for another query")
    if ack in ("AE", "AR") or status in ("AE", "AR"):
        code = status if status in ("AE", "AR") else ack
        raise HisRejectedError(code, "the HIS refused the demographics query", retryable=False)
    if ack != "AA" or status not in ("OK", "NF"):
        raise HisProtocolError(f"PDQ answer has unknown codes {ack[:4]!r}/{status[:4]!r}")
    if status == "NF" or len(pids) > 1:
        return None
    if not pids:
        raise HisProtocolError("PDQ answer says OK but has no PID segment")
    return _known_patient(message, pids[0])


def _known_patient(message: hl7.Message, pid: hl7.Segment) -> KnownPatient | None:
    """PID-3 (ID number ``^^^BCA^NNVNM``, BHYT card ``^^^BHXH^HC``), PID-5, PID-7, PID-8;
    ``None`` for a patient without a name (registered from a typed number)."""

    def field_of(n: int) -> str:
        return str(pid[n]) if len(pid) > n else ""

    def unescape(value: str) -> str:
        return str(message.unescape(value))

    ids, cards = [], []
    for repetition in field_of(3).split("~"):
        parts = [*repetition.split("^"), "", "", "", "", ""]
        authority = parts[3].split("&")[0]
        if (authority, parts[4]) == (ID_AUTHORITY, ID_TYPE):
            ids.append(parts[0])
        elif (authority, parts[4]) == (BHYT_AUTHORITY, BHYT_TYPE):
            cards.append(unescape(parts[0]))
    if len(ids) != 1:
        raise HisProtocolError("PDQ patient has no single ID number in PID-3")
    family, given, middle = [*field_of(5).split("~")[0].split("^"), "", "", ""][:3]
    name = " ".join(unescape(part) for part in (family, middle, given) if part)
    if not name.strip():
        return None
    born = field_of(7)[:8]
    sex = {"M": Sex.MALE, "F": Sex.FEMALE}.get(field_of(8))
    if sex is None:
        raise HisProtocolError("PDQ patient has no sex M or F in PID-8")
    try:
        if len(born) == 4 or born[4:] == "0000":
            birth = BirthDate(int(born[:4]))
        elif len(born) == 8 and born.isdigit():
            birth = BirthDate(int(born[:4]), int(born[4:6]), int(born[6:8]))
        else:
            raise InvalidInputError("date of birth", "expected yyyy or yyyyMMdd")
        return KnownPatient(ids[0], name, birth, sex, cards[0] if len(cards) == 1 else None)
    except (InvalidInputError, ValueError) as exc:
        field = getattr(exc, "field", "date of birth")
        raise HisProtocolError(f"PDQ patient has an unusable {field}") from None
