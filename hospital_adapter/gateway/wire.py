"""Wire formats of the BHXH gateway (docs/domain.md §3): pure request builders, bounded parsers.

``POST /api/token/take`` (form ``username``, ``password`` = MD5 in upper-case hex) answers
``{maKetQua: "200", APIKey: {...}}``; ``POST /api/egw/KQNhanLichSuKCB2024`` takes the token
in the query string and ``maThe``, ``hoTen``, ``ngaySinh``, ``hoTenCb``, ``cccdCb`` as JSON
(docs/domain.md §3.3, §3.4). The helpers :func:`load_object`, :func:`text_field` and
:func:`result_code` are shared by the other answers (history, XML0 receipts).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from hospital_adapter.bhyt import BhytNumber, is_bhxh_number
from hospital_adapter.errors import GatewayProtocolError, InvalidInputError
from hospital_adapter.gateway.codes import Decision, ResultCode
from hospital_adapter.identity import (
    MAX_NAME_LENGTH,
    BirthDate,
    PatientIdentity,
    Sex,
    check_id_number,
)

TOKEN_PATH = "/api/token/take"
LOOKUP_PATH = "/api/egw/KQNhanLichSuKCB2024"
TOKEN_OK = "200"
MAX_RESPONSE_BYTES = 64 * 1024
"""Answers longer than this are refused unread: a lookup answer is well under 2 KiB."""
MAX_FIELD_LENGTH = 1000
MAX_CODE_DIGITS = 4
_CODE_17_RE = re.compile(r"[A-Z0-9]{17}")


def password_md5(password: str) -> str:
    """The account password as MD5 in upper-case hex, as BHXH's guide asks (docs/domain.md §3.3)."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _normalise_card_or_id(value: str) -> str:
    """``maThe``: 10, 12, 15 or 17 characters (docs/domain.md §3.1; the 17-character form's
    layout is [open], so only its length and alphabet are checked)."""
    value = value.strip().upper()
    if len(value) == 12:
        return check_id_number(value)
    if len(value) == 15:
        return str(BhytNumber.parse(value))
    if is_bhxh_number(value) or _CODE_17_RE.fullmatch(value):
        return value
    raise InvalidInputError(
        "maThe",
        "expected a 10-digit BHXH number, a 12-digit ID number, a 15-character BHYT number"
        " or a 17-character code",
    )


@dataclass(frozen=True)
class LookupQuery:
    """The patient part of a lookup: ``maThe`` (ID, BHYT or BHXH number), ``hoTen``,
    ``ngaySinh``."""

    card_or_id: str = field(repr=False)
    full_name: str = field(repr=False)
    date_of_birth: BirthDate = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "card_or_id", _normalise_card_or_id(self.card_or_id))
        name = " ".join(self.full_name.split())
        if not name or len(name) > MAX_NAME_LENGTH:
            raise InvalidInputError("full name", f"must be 1 to {MAX_NAME_LENGTH} characters")
        object.__setattr__(self, "full_name", name)

    @classmethod
    def for_identity(cls, identity: PatientIdentity) -> LookupQuery:
        """Ask by the BHYT number when the patient showed one, else by the ID number."""
        return cls(
            identity.bhyt_number or identity.id_number, identity.full_name, identity.date_of_birth
        )

    def cache_key(self) -> tuple[str, str, str]:
        return (self.card_or_id, self.full_name.casefold(), self.date_of_birth.gateway_format())


@dataclass(frozen=True)
class GatewayToken:
    """``APIKey`` of the token answer; ``expires_at`` is absolute (``expires_in``, UTC)."""

    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    token_type: str
    username: str
    expires_at: datetime


@dataclass(frozen=True)
class CoverageCard:
    """The BHYT card to bill: ``maThe``/``gtTheTu``/``gtTheDen``/``maDKBD`` (or the *Moi* ones)."""

    card_number: str
    valid_from: date | None
    valid_to: date | None
    primary_care_facility: str
    primary_care_facility_name: str = ""


@dataclass(frozen=True)
class InsuranceHolder:
    """The insured person as the gateway knows them (personal data: never logged)."""

    full_name: str
    date_of_birth: BirthDate | None
    sex: Sex | None
    address: str


@dataclass(frozen=True)
class InsuranceLookup:
    """A typed ``KQNhanLichSuKCB2024`` answer and the decision it leads to.

    ``card`` is the card to use: for 003/004 the newly issued one, with the old number in
    ``replaced_card_number``. ``code`` is ``None`` for a ``raw_code`` this version does not know.
    """

    raw_code: str
    code: ResultCode | None
    decision: Decision
    note: str = field(default="", repr=False)
    card: CoverageCard | None = None
    replaced_card_number: str | None = None
    holder: InsuranceHolder | None = field(default=None, repr=False)
    bhxh_number: str = field(default="", repr=False)
    issuing_office: str = ""
    area_code: str = ""
    five_years_from: date | None = None
    from_cache: bool = False

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (dates ISO 8601, enums by value)."""

        def iso(d: date | None) -> str | None:
            return None if d is None else d.isoformat()

        card = self.card
        holder = self.holder
        return {
            "code": self.raw_code,
            "code_name": None if self.code is None else self.code.name,
            "decision": self.decision.value,
            "note": self.note,
            "card": None
            if card is None
            else {
                "card_number": card.card_number,
                "valid_from": iso(card.valid_from),
                "valid_to": iso(card.valid_to),
                "primary_care_facility": card.primary_care_facility,
                "primary_care_facility_name": card.primary_care_facility_name,
            },
            "replaced_card_number": self.replaced_card_number,
            "holder": None
            if holder is None
            else {
                "full_name": holder.full_name,
                "date_of_birth": None
                if holder.date_of_birth is None
                else holder.date_of_birth.gateway_format(),
                "sex": None if holder.sex is None else holder.sex.value,
                "address": holder.address,
            },
            "bhxh_number": self.bhxh_number,
            "issuing_office": self.issuing_office,
            "area_code": self.area_code,
            "five_years_from": iso(self.five_years_from),
            "from_cache": self.from_cache,
        }


def token_form(username: str, password: str) -> dict[str, str]:
    """The form of ``POST /api/token/take``."""
    return {"username": username, "password": password_md5(password)}


def lookup_params(token: GatewayToken, username: str, password: str) -> dict[str, str]:
    """The query string of ``POST /api/egw/KQNhanLichSuKCB2024``."""
    return {
        "token": token.access_token,
        "id_token": token.id_token,
        "username": username,
        "password": password_md5(password),
    }


def lookup_body(query: LookupQuery, staff_name: str, staff_id: str) -> dict[str, str]:
    """The JSON body; ``hoTenCb``/``cccdCb`` name the staff member (mandatory since 2024)."""
    return {
        "maThe": query.card_or_id,
        "hoTen": query.full_name,
        "ngaySinh": query.date_of_birth.gateway_format(),
        "hoTenCb": staff_name,
        "cccdCb": staff_id,
    }


def load_object(body: bytes, limit: int = MAX_RESPONSE_BYTES) -> dict[str, object]:
    """The answer as a JSON object, or :class:`GatewayProtocolError`; at most ``limit``
    bytes, and numbers too long for Python's integer parser are refused, not raised."""
    if len(body) > limit:
        raise GatewayProtocolError(f"answer longer than {limit} bytes")
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise GatewayProtocolError("answer is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise GatewayProtocolError("answer is not a JSON object")
    return data


def text_field(data: dict[str, object], key: str) -> str:
    """``data[key]`` as stripped text (empty when missing), at most MAX_FIELD_LENGTH long."""
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise GatewayProtocolError(f"{key} is not a string")
    text = str(value).strip()
    if len(text) > MAX_FIELD_LENGTH:
        raise GatewayProtocolError(f"{key} longer than {MAX_FIELD_LENGTH} characters")
    return text


def result_code(data: dict[str, object]) -> str:
    """``maKetQua`` as text of 3 or 4 digits (a number 7 is read as ``007``)."""
    value = data.get("maKetQua")
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 10**MAX_CODE_DIGITS:
            raise GatewayProtocolError("maKetQua out of range")
        return f"{value:03d}"
    code = text_field(data, "maKetQua")
    if not code.isdigit() or len(code) > MAX_CODE_DIGITS:
        raise GatewayProtocolError("maKetQua missing or not a number")
    return code


def _date(data: dict[str, object], key: str) -> date | None:
    text = text_field(data, key)
    if not text:
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise GatewayProtocolError(f"{key} is not dd/mm/yyyy") from None


def parse_token_response(body: bytes) -> tuple[str, GatewayToken | None]:
    """``(maKetQua, token)``; the token is ``None`` unless ``maKetQua`` is ``200``."""
    data = load_object(body)
    code = result_code(data)
    if code != TOKEN_OK:
        return code, None
    key = data.get("APIKey")
    if not isinstance(key, dict):
        raise GatewayProtocolError("APIKey missing")
    expires = text_field(key, "expires_in")
    try:
        expires_at = datetime.fromisoformat(expires)
    except ValueError:
        raise GatewayProtocolError("expires_in is not an ISO 8601 time") from None
    if expires_at.tzinfo is None:
        raise GatewayProtocolError("expires_in has no time zone")
    try:
        expires_at = expires_at.astimezone(UTC)
    except OverflowError:
        raise GatewayProtocolError("expires_in is out of range") from None
    token = GatewayToken(
        access_token=text_field(key, "access_token"),
        id_token=text_field(key, "id_token"),
        token_type=text_field(key, "token_type"),
        username=text_field(key, "username"),
        expires_at=expires_at,
    )
    if not token.access_token:
        raise GatewayProtocolError("access_token missing")
    return code, token


def _card(data: dict[str, object], new: bool) -> CoverageCard | None:
    suffix = "Moi" if new else ""
    number = text_field(data, "maThe" + suffix)
    if not number:
        return None
    return CoverageCard(
        card_number=number,
        valid_from=_date(data, "gtTheTu" + suffix),
        valid_to=_date(data, "gtTheDen" + suffix),
        primary_care_facility=text_field(data, "maDKBD" + suffix),
        primary_care_facility_name=text_field(data, "tenDKBDMoi") if new else "",
    )


def _holder(data: dict[str, object]) -> InsuranceHolder | None:
    name = text_field(data, "hoTen")
    if not name:
        return None
    try:
        birth: BirthDate | None = BirthDate.parse(text_field(data, "ngaySinh"))
    except InvalidInputError:
        birth = None
    sexes = {"nam": Sex.MALE, "nữ": Sex.FEMALE, "nu": Sex.FEMALE}
    return InsuranceHolder(
        full_name=name,
        date_of_birth=birth,
        sex=sexes.get(text_field(data, "gioiTinh").casefold()),
        address=text_field(data, "diaChi"),
    )


def parse_lookup_response(body: bytes) -> InsuranceLookup:
    """Type a lookup answer; raise :class:`GatewayProtocolError` if it is not one.

    An insured decision needs a card: 000 must carry ``maThe``, 003/004 ``maTheMoi``.
    """
    data = load_object(body)
    raw = result_code(data)
    code = ResultCode.lookup(raw)
    decision = Decision.GO_TO_COUNTER if code is None else code.decision
    new = code is not None and code.uses_new_card
    card = _card(data, new)
    if decision is Decision.INSURED and card is None:
        raise GatewayProtocolError(f"result {raw} without {'maTheMoi' if new else 'maThe'}")
    return InsuranceLookup(
        raw_code=raw,
        code=code,
        decision=decision,
        note=text_field(data, "ghiChu"),
        card=card,
        replaced_card_number=text_field(data, "maThe") if new else None,
        holder=_holder(data),
        bhxh_number=text_field(data, "maSoBHXH"),
        issuing_office=text_field(data, "cqBHXH"),
        area_code=text_field(data, "maKV"),
        five_years_from=_date(data, "ngayDu5Nam"),
    )
