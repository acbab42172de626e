"""The simulated gateway's side of ``POST /api/qd130/checkInKcbQd3176`` (docs/domain.md §3.7).

Written apart from the adapter: the signature is checked by Debian's ``xmlsec1`` against
the certificate the facility registered, the record is read with the standard library, and
the code lists are read from the same data files (they are the Ministry's lists, not the
adapter's logic). A record is refused, in the answer's usual four fields, when:

- the token or password hash is wrong: ``maKetQua`` 401;
- the facility registered no certificate, or the file is not signed by it: 403;
- a form field or the record breaks a rule (a required field empty, a time not
  ``yyyyMMddHHmm``, a code not valid on the visit's day, ``MA_CSKCB`` not the form's): 205.

BHXH's codes for refused records are not published [open]; these are the simulator's.
An accepted record gets a ``maGiaoDich``; the same ``MA_CSKCB`` and ``MA_LK`` again get the
same receipt, so a report resent after a lost answer is recorded once.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
import secrets
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path

ACCEPTED = "200"
UNAUTHORIZED = "401"
NOT_SIGNED_BY_FACILITY = "403"
BAD_PARAMETER = "205"
XMLSEC_TIMEOUT_S = 10.0
MAX_FILE_BYTES = 48 * 1024
RECORD_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT",
    "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "NGAY_VAO_NOI_TRU",
    "LY_DO_VNT", "MA_LY_DO_VNT", "MA_LOAI_KCB", "MA_CSKCB", "MA_DICH_VU", "TEN_DICH_VU",
    "MA_THUOC", "TEN_THUOC", "MA_VAT_TU", "TEN_VAT_TU", "NGAY_YL", "DU_PHONG",
)  # fmt: skip
REQUIRED = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "MA_THE_BHYT", "MA_DKBD",
    "GT_THE_TU", "GT_THE_DEN", "MA_DOITUONG_KCB", "NGAY_VAO", "MA_LOAI_KCB", "MA_CSKCB",
    "NGAY_YL",
)  # fmt: skip
_TIME = re.compile(r"\d{12}")
_DAY = re.compile(r"\d{8}")


class RefusedError(Exception):
    """A record the gateway refuses: ``code`` and the ``thongDiep`` that says why."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Report:
    """An accepted record: its receipt."""

    transaction_id: str
    received_at: datetime


def _code_lists() -> dict[str, list[tuple[str, date, date | None]]]:
    """``MA_LOAI_KCB`` and ``MA_DOITUONG_KCB`` rows (code, from, to) from the data files."""
    lists = {}
    for name in ("ma_loai_kcb", "ma_doituong_kcb"):
        text = resources.files("hospital_adapter.data").joinpath(f"{name}.csv").read_text("utf-8")
        lists[name.upper()] = [
            (
                row["code"],
                date.fromisoformat(row["valid_from"]),
                date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            )
            for row in csv.DictReader(io.StringIO(text))
        ]
    return lists


CODE_LISTS = _code_lists()


def _valid_on(field: str, code: str, day: date) -> bool:
    rows = CODE_LISTS[field]
    if all(start > day for _, start, _ in rows):
        return True  # a day before the list: the list in force then is not known
    return any(c == code and start <= day and (end is None or day <= end) for c, start, end in rows)


def verify_signature(xml: bytes, certificate_pem: bytes) -> None:
    """Run ``xmlsec1 --verify`` with the facility's certificate as the only trust anchor;
    the certificate in the file must be that one."""
    with tempfile.TemporaryDirectory(prefix="bhxh-sim-") as work:
        signed, trusted = Path(work, "xml0.xml"), Path(work, "facility.pem")
        signed.write_bytes(xml)
        trusted.write_bytes(certificate_pem)
        try:
            done = subprocess.run(
                ["xmlsec1", "--verify", "--trusted-pem", str(trusted), str(signed)],
                capture_output=True,
                timeout=XMLSEC_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            raise RefusedError(NOT_SIGNED_BY_FACILITY, "Không kiểm tra được chữ ký số") from None
    if done.returncode != 0:
        raise RefusedError(NOT_SIGNED_BY_FACILITY, "Chữ ký số không hợp lệ")
    embedded = ET.fromstring(xml).find(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
    registered = b"".join(
        line for line in certificate_pem.splitlines() if line and not line.startswith(b"-----")
    )
    if embedded is None or base64.b64decode("".join((embedded.text or "").split())) != (
        base64.b64decode(registered)
    ):
        raise RefusedError(NOT_SIGNED_BY_FACILITY, "Chứng thư số không phải của cơ sở")


def _time(record: dict[str, str], field: str, *, unknown_parts: bool = False) -> datetime | None:
    text = record[field]
    if not _TIME.fullmatch(text):
        raise RefusedError(BAD_PARAMETER, f"{field} không đúng định dạng yyyyMMddHHmm")
    if unknown_parts:  # NGAY_SINH: 0000 for an unknown day and month, or time
        text = text[:4] + (text[4:8] if text[4:8] != "0000" else "0101") + "0000"
    try:
        return datetime.strptime(text, "%Y%m%d%H%M")
    except ValueError:
        raise RefusedError(BAD_PARAMETER, f"{field} không đúng định dạng yyyyMMddHHmm") from None


def check_record(record: dict[str, str], facility: str) -> None:
    """The field rules of one ``TRANG_THAI_KCB`` (docs/domain.md §3.7)."""
    for field in REQUIRED:
        if not record[field]:
            raise RefusedError(BAD_PARAMETER, f"Thiếu {field}")
    if not (record["MA_DICH_VU"] or record["MA_THUOC"] or record["MA_VAT_TU"]):
        raise RefusedError(BAD_PARAMETER, "Thiếu MA_DICH_VU, MA_THUOC hoặc MA_VAT_TU")
    _time(record, "NGAY_SINH", unknown_parts=True)
    arrived = _time(record, "NGAY_VAO")
    _time(record, "NGAY_YL")
    if record["NGAY_VAO_NOI_TRU"]:
        _time(record, "NGAY_VAO_NOI_TRU")
    for field in ("GT_THE_TU", "GT_THE_DEN"):
        if not _DAY.fullmatch(record[field]):
            raise RefusedError(BAD_PARAMETER, f"{field} không đúng định dạng yyyyMMdd")
    if record["GIOI_TINH"] not in ("1", "2", "3"):
        raise RefusedError(BAD_PARAMETER, "GIOI_TINH không hợp lệ")
    if record["MA_CSKCB"] != facility:
        raise RefusedError(BAD_PARAMETER, "MA_CSKCB khác mã cơ sở gửi")
    assert arrived is not None
    for field in ("MA_LOAI_KCB", "MA_DOITUONG_KCB"):
        if not _valid_on(field, record[field], arrived.date()):
            raise RefusedError(BAD_PARAMETER, f"{field} không hợp lệ tại ngày vào")


def read_records(xml: bytes) -> list[dict[str, str]]:
    """The ``TRANG_THAI_KCB`` records of an XML0 file, every field present."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        raise RefusedError(BAD_PARAMETER, "File XML không đúng cấu trúc") from None
    records = root.findall("DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")
    if root.tag != "CHI_TIEU_TRANG_THAI_KCB" or not records or root.find("CHUKYDONVI") is None:
        raise RefusedError(BAD_PARAMETER, "File XML không đúng cấu trúc XML0")
    out = []
    for element in records:
        record = {}
        for field in RECORD_FIELDS:
            found = element.find(field)
            if found is None:
                raise RefusedError(BAD_PARAMETER, f"Thiếu thẻ {field}")
            record[field] = (found.text or "").strip()
        out.append(record)
    return out


def decode_file(form: dict[str, str]) -> bytes:
    """The form's ``fileHSBase64``, after checking the other fields."""
    if form.get("loaiHoSo") != "0":
        raise RefusedError(BAD_PARAMETER, "loaiHoSo phải là 0")
    if not re.fullmatch(r"\d{2}", form.get("maTinh", "")):
        raise RefusedError(BAD_PARAMETER, "maTinh không hợp lệ")
    if not re.fullmatch(r"[0-9A-Z]{5}", form.get("maCSKCB", "")):
        raise RefusedError(BAD_PARAMETER, "maCSKCB không hợp lệ")
    try:
        xml = base64.b64decode(form.get("fileHSBase64", ""), validate=True)
    except binascii.Error:
        raise RefusedError(BAD_PARAMETER, "fileHSBase64 không phải base64") from None
    if not xml or len(xml) > MAX_FILE_BYTES:
        raise RefusedError(BAD_PARAMETER, "fileHSBase64 rỗng hoặc quá lớn")
    return xml


def new_receipt(now: datetime) -> Report:
    """A fresh receipt: the simulator's own ``maGiaoDich`` form (the real one is [open])."""
    return Report(f"GD{now:%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}", now)
