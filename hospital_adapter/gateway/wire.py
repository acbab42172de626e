"""Wire formats of the BHXH gateway (docs/domain.md §3): pure request builders, bounded parsers.

``POST /api/token/take`` (form ``username``, ``password`` = MD5 hex) answers
``{maKetQua: "200", APIKey: {...}}``; ``POST /api/egw/KQNhanLichSuKCB2024`` takes the token
in the query string and ``maThe``, ``hoTen``, ``ngaySinh``, ``hoTenCb``, ``cccdCb`` as JSON.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

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


def password_md5(password: str) -> str:
    """The gateway wants the account password as lowercase MD5 hex (docs/domain.md §3)."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def _normalise_card_or_id(value: str) -> str:
    value = value.strip().upper()
    if len(value) == 12:
        return check_id_number(value)
    if len(value) == 15:
        return str(BhytNumber.parse(value))
    if is_bhxh_number(value):
        return value
    raise InvalidInputError(
        "maThe", "expected a 12-digit ID number, a 15-character BHYT number or a BHXH number"
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


def _load_object(body: bytes) -> dict[str, object]:
    if len(body) > MAX_RESPONSE_BYTES:
        raise GatewayProtocolError(f"answer longer than {MAX_RESPONSE_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise GatewayProtocolError("answer is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise GatewayProtocolError("answer is not a JSON object")
    return data


def _text(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise GatewayProtocolError(f"{key} is not a string")
    text = str(value).strip()
    if len(text) > MAX_FIELD_LENGTH:
        raise GatewayProtocolError(f"{key} longer than {MAX_FIELD_LENGTH} characters")
    return text


def _code(data: dict[str, object]) -> str:
    value = data.get("maKetQua")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:03d}"
    code = _text(data, "maKetQua")
    if not code.isdigit() or len(code) > 4:
        raise GatewayProtocolError("maKetQua missing or not a number")
    return code


def _date(data: dict[str, object], key: str) -> date | None:
    text = _text(data, key)
    if not text:
        return None
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise GatewayProtocolError(f"{key} is not dd/mm/yyyy") from None


def parse_token_response(body: bytes) -> tuple[str, GatewayToken | None]:
    """``(maKetQua, token)``; the token is ``None`` unless ``maKetQua`` is ``200``."""
    data = _load_object(body)
    code = _code(data)
    if code != TOKEN_OK:
        return code, None
    key = data.get("APIKey")
    if not isinstance(key, dict):
        raise GatewayProtocolError("APIKey missing")
    expires = _text(key, "expires_in")
    try:
        expires_at = datetime.fromisoformat(expires)
    except ValueError:
        raise GatewayProtocolError("expires_in is not an ISO 8601 time") from None
    if expires_at.tzinfo is None:
        raise GatewayProtocolError("expires_in has no time zone")
    token = GatewayToken(
        access_token=_text(key, "access_token"),
        id_token=_text(key, "id_token"),
        token_type=_text(key, "token_type"),
        username=_text(key, "username"),
        expires_at=expires_at,
    )
    if not token.access_token:
        raise GatewayProtocolError("access_token missing")
    return code, token


def _card(data: dict[str, object], new: bool) -> CoverageCard | None:
    suffix = "Moi" if new else ""
    number = _text(data, "maThe" + suffix)
    if not number:
        return None
    return CoverageCard(
        card_number=number,
        valid_from=_date(data, "gtTheTu" + suffix),
        valid_to=_date(data, "gtTheDen" + suffix),
        primary_care_facility=_text(data, "maDKBD" + suffix),
        primary_care_facility_name=_text(data, "tenDKBDMoi") if new else "",
    )


def _holder(data: dict[str, object]) -> InsuranceHolder | None:
    name = _text(data, "hoTen")
    if not name:
        return None
    try:
        birth: BirthDate | None = BirthDate.parse(_text(data, "ngaySinh"))
    except InvalidInputError:
        birth = None
    sexes = {"nam": Sex.MALE, "nữ": Sex.FEMALE, "nu": Sex.FEMALE}
    return InsuranceHolder(
        full_name=name,
        date_of_birth=birth,
        sex=sexes.get(_text(data, "gioiTinh").casefold()),
        address=_text(data, "diaChi"),
    )


def parse_lookup_response(body: bytes) -> InsuranceLookup:
    """Type a lookup answer; raise :class:`GatewayProtocolError` if it is not one.

    An insured decision needs a card: 000 must carry ``maThe``, 003/004 ``maTheMoi``.
    """
    data = _load_object(body)
    raw = _code(data)
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
        note=_text(data, "ghiChu"),
        card=card,
        replaced_card_number=_text(data, "maThe") if new else None,
        holder=_holder(data),
        bhxh_number=_text(data, "maSoBHXH"),
        issuing_office=_text(data, "cqBHXH"),
        area_code=_text(data, "maKV"),
        five_years_from=_date(data, "ngayDu5Nam"),
    )
