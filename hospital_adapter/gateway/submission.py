"""Reporting a check-in to BHXH: ``POST /api/qd130/checkInKcbQd3176`` (docs/domain.md §3.7).

Form URL-encoded fields ``username``, ``loaiHoSo`` (``0`` for XML0), ``maTinh``, ``maCSKCB``
and ``fileHSBase64`` (the signed XML0 in base64); the credentials in the headers
``accessToken``, ``tokenId`` and ``passwordHash``. The answer carries ``maKetQua`` (``200``
accepted), the receipt ``maGiaoDich`` to keep for reconciliation, ``thoiGianTiepNhan``
(``yyyyMMddHHmmss``) and ``thongDiep``.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from datetime import datetime

from hospital_adapter.errors import GatewayProtocolError, Xml0RejectedError
from hospital_adapter.gateway.wire import (
    GatewayToken,
    load_object,
    password_md5,
    result_code,
    text_field,
)
from hospital_adapter.visit import VIETNAM_TIME

SUBMIT_PATH = "/api/qd130/checkInKcbQd3176"
RECEIVED_FORMAT = "%Y%m%d%H%M%S"
MAX_RECEIPT_LENGTH = 100


class RecordType(enum.StrEnum):
    """``loaiHoSo`` values (docs/domain.md §3.7)."""

    CHECK_IN = "0"


class SubmissionCode(enum.StrEnum):
    """``maKetQua`` of a submission: 200 accepted, 401 token refused; the codes for a refused
    record are [open] (docs/domain.md §3.7) and all mean "fix the record", except 500."""

    ACCEPTED = "200"
    UNAUTHORIZED = "401"
    SERVER_ERROR = "500"


@dataclass(frozen=True)
class Xml0Receipt:
    """The gateway's receipt for one XML0 record."""

    transaction_id: str
    """``maGiaoDich``."""
    received_at: datetime
    """``thoiGianTiepNhan``, read as hospital time (UTC+7)."""


def submission_form(
    username: str, province: str, facility: str, signed_xml: bytes
) -> dict[str, str]:
    """The form body; ``province`` is ``maTinh``, ``facility`` is ``maCSKCB``."""
    return {
        "username": username,
        "loaiHoSo": RecordType.CHECK_IN,
        "maTinh": province,
        "maCSKCB": facility,
        "fileHSBase64": base64.b64encode(signed_xml).decode("ascii"),
    }


def submission_headers(token: GatewayToken, password: str) -> dict[str, str]:
    """``accessToken``, ``tokenId`` and ``passwordHash`` (the upper-case MD5 of the password)."""
    return {
        "accessToken": token.access_token,
        "tokenId": token.id_token,
        "passwordHash": password_md5(password),
    }


def parse_submission_response(body: bytes) -> Xml0Receipt:
    """The receipt of an accepted record; :class:`Xml0RejectedError` for a refusal and
    :class:`GatewayProtocolError` for an answer that is neither."""
    data = load_object(body)
    code = result_code(data)
    if code != SubmissionCode.ACCEPTED:
        retryable = code == SubmissionCode.SERVER_ERROR
        raise Xml0RejectedError(code, text_field(data, "thongDiep"), retryable=retryable)
    receipt = text_field(data, "maGiaoDich")
    if not receipt or len(receipt) > MAX_RECEIPT_LENGTH:
        raise GatewayProtocolError("accepted without a maGiaoDich receipt")
    try:
        received = datetime.strptime(text_field(data, "thoiGianTiepNhan"), RECEIVED_FORMAT)
    except ValueError:
        raise GatewayProtocolError("thoiGianTiepNhan is not yyyyMMddHHmmss") from None
    return Xml0Receipt(receipt, received.replace(tzinfo=VIETNAM_TIME))
