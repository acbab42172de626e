"""A simulated BHXH gateway: a real HTTP server on 127.0.0.1 (docs/domain.md §3).

Same endpoints, fields and result codes as the real one (token, card check, visit history
``Lskcb2025``, XML0 check-in reports), with configurable latency, scripted faults
(101/100/500 answers, HTTP 500, 401 token expiry, 401 inside HTTP 200, hangs, connection
resets, hostile answers), an outage switch and a rate limit. It validates requests on its
own terms and refuses what production refuses (a lower-case password hash, a JSON body
for ``Lskcb2025``), so tests check the client against an independent model rather than a
mirror of it.
"""

from __future__ import annotations

import collections
import enum
import functools
import gzip
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulators.bhxh_gateway import checkin
from simulators.bhxh_gateway.dataset import Dataset, InsuranceRecord
from simulators.server_thread import ServerThread

TOKEN_PATH = "/api/token/take"
LOOKUP_PATH = "/api/egw/KQNhanLichSuKCB2024"
HISTORY_PATH = "/api/egw/Lskcb2025"
SUBMIT_PATH = "/api/qd130/checkInKcbQd3176"
CONTROL_PATH = "/_sim/control"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024
"""How often the serving thread looks for a stop request (``stop()`` waits that long)."""
DEFAULT_ACCOUNTS = {"kiosk": "kiosk-password"}
VIETNAM = timezone(timedelta(hours=7))
"""Receipt times are hospital time (``thoiGianTiepNhan``, docs/domain.md §3.7)."""
"""The simulator's own test account; real credentials never live in the repository."""

_NOTES = {
    "000": "Thẻ còn giá trị sử dụng",
    "001": "Thẻ do BHXH Bộ Quốc Phòng quản lý",
    "002": "Thẻ do BHXH Bộ Công An quản lý",
    "003": "Thẻ cũ hết giá trị sử dụng, được cấp thẻ mới",
    "004": "Thẻ cũ còn giá trị sử dụng, được cấp thẻ mới",
    "010": "Thẻ hết giá trị sử dụng",
    "050": "Không tìm thấy thông tin thẻ",
    "051": "Mã thẻ không đúng",
    "052": "Mã tỉnh cấp thẻ không đúng",
    "053": "Mã quyền lợi thẻ không đúng",
    "054": "Họ tên cán bộ không hợp lệ",
    "055": "Số CCCD cán bộ không hợp lệ",
    "060": "Họ tên không đúng",
    "061": "Họ tên không đúng (sai dấu)",
    "070": "Ngày sinh không đúng",
    "080": "Giới tính không đúng",
    "090": "Nơi đăng ký KCB ban đầu không đúng",
    "100": "Lỗi khi lấy dữ liệu số thẻ",
    "101": "Lỗi server",
    "110": "Thẻ đã thu hồi",
    "120": "Thẻ đã báo giảm",
    "121": "Thẻ đã báo giảm (chuyển ngoại tỉnh)",
    "122": "Thẻ đã báo giảm (chuyển nội tỉnh)",
    "123": "Thẻ đã báo giảm (thay đổi thông tin)",
    "124": "Thẻ đã báo giảm (tạm dừng)",
    "130": "Trẻ em dưới 6 tuổi không có thẻ",
    "205": "Lỗi tham số",
    "401": "Lỗi xác thực",
    "500": "Lỗi không xác định",
}


class Fault(enum.Enum):
    """What to do to the next request(s) instead of answering normally."""

    RESET = "reset"
    """Close the connection with a TCP RST, no answer."""
    HANG = "hang"
    """Sleep ``hang_s`` before answering (the client should time out first)."""
    HTTP_500 = "http500"
    """HTTP 500 with an HTML body."""
    CODE_100 = "100"
    CODE_101 = "101"
    CODE_500 = "500"
    """HTTP 200 with ``maKetQua`` 100/101/500."""
    TOKEN_EXPIRED = "401"
    """Forget every token first, so the request is refused with 401."""
    GARBAGE = "garbage"
    """HTTP 200 with a body that is not JSON."""
    AUTH_IN_200 = "401in200"
    """Forget every token first, and refuse the request with ``maKetQua`` 401 in HTTP 200."""
    BIG_NUMBER = "bignum"
    """HTTP 200 whose ``maKetQua`` is a 5,000-digit number."""
    GZIP_BOMB = "gzipbomb"
    """HTTP 200, ``Content-Encoding: gzip``: about 100 KB that inflate to 100 MiB."""
    LOST_ANSWER = "lost"
    """Handle the request, then reset the connection: the answer is lost."""


GZIP_BOMB_BYTES = 100 * 1024 * 1024


@functools.cache
def gzip_bomb() -> bytes:
    """:data:`GZIP_BOMB_BYTES` zero bytes, gzip-compressed (made once, about 100 KB)."""
    return gzip.compress(bytes(GZIP_BOMB_BYTES), compresslevel=9)


def password_hash(password: str) -> str:
    """What the gateway expects for a password: MD5 in upper-case hex (docs/domain.md §3.3)."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest().upper()


@dataclass
class _Token:
    id_token: str
    username: str
    expires_at: datetime


@dataclass
class Stats:
    """Counters the tests read: requests received per endpoint, faults served."""

    token_takes: int = 0
    lookups: int = 0
    faults_served: int = 0
    histories: int = 0
    submissions: int = 0
    lookup_bodies: list[dict[str, Any]] = field(default_factory=list)


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _strip_marks(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", _fold(name).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _ddmmyyyy(d: date | None) -> str | None:
    return None if d is None else d.strftime("%d/%m/%Y")


CONTROL_KEYS = frozenset(
    {
        "inject",
        "count",
        "latency",
        "hang_s",
        "down",
        "rate_limit",
        "expire_tokens",
        "clear_faults",
        "token_expires_in",
    }
)
MAX_EXPIRES_IN_LENGTH = 64
MAX_FAULT_COUNT = 10_000


@dataclass(frozen=True)
class ControlCommand:
    """A validated :data:`CONTROL_PATH` command; ``None`` leaves a setting as it is."""

    inject: Fault | None = None
    count: int = 1
    latency: float | None = None
    hang_s: float | None = None
    down: bool | None = None
    set_rate_limit: bool = False
    rate_limit: tuple[int, float] | None = None
    expire_tokens: bool = False
    clear_faults: bool = False
    set_token_expires_in: bool = False
    token_expires_in: str | None = None


def _number(command: dict[str, Any], key: str) -> float | None:
    value = command.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ValueError(f"{key} must be a number of seconds from 0 to 3600")
    return float(value)


def _flag(command: dict[str, Any], key: str) -> bool | None:
    value = command.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def parse_control(command: object) -> ControlCommand:
    """Check a control command before anything is applied; :class:`ValueError` says why not.

    ``{"inject": fault, "count": n}`` serves a :class:`Fault` (its value) to the next ``n``
    lookups (default 1); ``"latency"``/``"hang_s"`` seconds; ``"down"`` true/false (every
    connection reset); ``"rate_limit"`` ``[calls, window_s]`` or ``null`` for none;
    ``"expire_tokens"``: forget every token; ``"clear_faults"``: drop pending faults;
    ``"token_expires_in"``: a string sent verbatim as ``expires_in`` of new tokens, or
    ``null`` for the real expiry.
    """
    if not isinstance(command, dict):
        raise ValueError("the command must be a JSON object")
    unknown = sorted(set(command) - CONTROL_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    inject = None
    if "inject" in command:
        try:
            inject = Fault(command["inject"])
        except ValueError:
            names = ", ".join(f.value for f in Fault)
            raise ValueError(f"inject must be one of {names}") from None
    elif "count" in command:
        raise ValueError("count goes with inject")
    count = command.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_FAULT_COUNT:
        raise ValueError(f"count must be an integer from 1 to {MAX_FAULT_COUNT}")
    rate_limit = command.get("rate_limit")
    if rate_limit is not None:
        if not (
            isinstance(rate_limit, list)
            and len(rate_limit) == 2
            and type(rate_limit[0]) is int
            and rate_limit[0] >= 1
            and type(rate_limit[1]) in (int, float)
            and rate_limit[1] > 0
        ):
            raise ValueError("rate_limit must be [calls >= 1, window seconds > 0] or null")
        rate_limit = (rate_limit[0], float(rate_limit[1]))
    expires_in = command.get("token_expires_in")
    if expires_in is not None and not (
        isinstance(expires_in, str) and len(expires_in) <= MAX_EXPIRES_IN_LENGTH
    ):
        raise ValueError(f"token_expires_in must be a string of at most {MAX_EXPIRES_IN_LENGTH}")
    return ControlCommand(
        inject=inject,
        count=count,
        latency=_number(command, "latency"),
        hang_s=_number(command, "hang_s"),
        down=_flag(command, "down"),
        set_rate_limit="rate_limit" in command,
        rate_limit=rate_limit,
        expire_tokens=bool(_flag(command, "expire_tokens")),
        clear_faults=bool(_flag(command, "clear_faults")),
        set_token_expires_in="token_expires_in" in command,
        token_expires_in=expires_in,
    )


class GatewaySimulator:
    """The gateway's state and rules, independent of sockets."""

    def __init__(
        self,
        dataset: Dataset,
        accounts: dict[str, str] | None = None,
        token_lifetime: timedelta = timedelta(hours=1),
    ) -> None:
        self.dataset = dataset
        self.accounts = dict(accounts or DEFAULT_ACCOUNTS)
        self.token_lifetime = token_lifetime
        self.latency = 0.0
        self.hang_s = 5.0
        self.down = False
        self.rate_limit: tuple[int, float] | None = None
        self.token_expires_in: str | None = None
        self.stats = Stats()
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.facility_certificates: dict[str, bytes] = {}
        self.reports: dict[tuple[str, str], tuple[checkin.Report, dict[str, str]]] = {}
        """Accepted XML0 records by (``maCSKCB``, ``MA_LK``): receipt and fields."""
        self._faults: collections.deque[Fault] = collections.deque()
        self._recent: collections.deque[float] = collections.deque()

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Serve ``fault`` to the next ``count`` lookup requests."""
        with self._lock:
            self._faults.extend([fault] * count)

    def expire_tokens(self) -> None:
        """Forget every issued token, as when tokens expire or the IP lock changes."""
        with self._lock:
            self._tokens.clear()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def apply_control(self, command: object) -> None:
        """Apply a :data:`CONTROL_PATH` command (see :func:`parse_control`) all at once."""
        change = parse_control(command)
        if change.clear_faults:
            self.clear_faults()
        if change.inject is not None:
            self.inject(change.inject, change.count)
        if change.latency is not None:
            self.latency = change.latency
        if change.hang_s is not None:
            self.hang_s = change.hang_s
        if change.down is not None:
            self.down = change.down
        if change.set_rate_limit:
            self.rate_limit = change.rate_limit
        if change.expire_tokens:
            self.expire_tokens()
        if change.set_token_expires_in:
            self.token_expires_in = change.token_expires_in

    def control_state(self) -> dict[str, Any]:
        """What ``GET`` :data:`CONTROL_PATH` answers: settings, pending faults, counters."""
        with self._lock:
            return {
                "latency": self.latency,
                "hang_s": self.hang_s,
                "down": self.down,
                "rate_limit": None if self.rate_limit is None else list(self.rate_limit),
                "faults_pending": [fault.value for fault in self._faults],
                "tokens": len(self._tokens),
                "token_expires_in": self.token_expires_in,
                "stats": {
                    "token_takes": self.stats.token_takes,
                    "lookups": self.stats.lookups,
                    "faults_served": self.stats.faults_served,
                    "histories": self.stats.histories,
                    "submissions": self.stats.submissions,
                    "reports": len(self.reports),
                },
            }

    def next_fault(self) -> Fault | None:
        with self._lock:
            if self.down:
                return Fault.RESET
            if not self._faults:
                return None
            self.stats.faults_served += 1
            return self._faults.popleft()

    def rate_limited(self) -> bool:
        if self.rate_limit is None:
            return False
        limit, window = self.rate_limit
        now = time.monotonic()
        with self._lock:
            while self._recent and self._recent[0] <= now - window:
                self._recent.popleft()
            if len(self._recent) >= limit:
                return True
            self._recent.append(now)
            return False

    def take_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.stats.token_takes += 1
            password = self.accounts.get(form.get("username", ""))
            expected = None if password is None else password_hash(password)
            if expected is None or form.get("password") != expected:
                return 401, {"maKetQua": "401", "ghiChu": _NOTES["401"]}
            access, id_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            expires = datetime.now(UTC) + self.token_lifetime
            self._tokens[access] = _Token(id_token, form["username"], expires)
        # The real gateway writes seven fractional digits (docs/domain.md §3).
        expires_in = self.token_expires_in or (
            f"{expires:%Y-%m-%dT%H:%M:%S}.{expires.microsecond:06d}0Z"
        )
        api_key = {
            "access_token": access,
            "id_token": id_token,
            "token_type": "Bearer",
            "username": form["username"],
            "expires_in": expires_in,
        }
        return 200, {"maKetQua": "200", "APIKey": api_key}

    def token_ok(self, access: str, id_token: str, username: str, password: str) -> bool:
        """Whether a token, its id, the account and its password hash go together."""
        with self._lock:
            token = self._tokens.get(access)
            known = self.accounts.get(username)
            return (
                token is not None
                and known is not None
                and token.expires_at > datetime.now(UTC)
                and token.id_token == id_token
                and token.username == username
                and password_hash(known) == password
            )

    def _query_token_ok(self, params: dict[str, str]) -> bool:
        return self.token_ok(
            params.get("token", ""),
            params.get("id_token", ""),
            params.get("username", ""),
            params.get("password", ""),
        )

    def lookup(
        self, params: dict[str, str], body: dict[str, Any], *, refuse_in_200: bool = False
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.stats.lookups += 1
            self.stats.lookup_bodies.append(body)
        if not self._query_token_ok(params):
            return (200 if refuse_in_200 else 401), {"maKetQua": "401", "ghiChu": _NOTES["401"]}
        code, record = self._match(body)
        return 200, _answer(code, record)

    def history(self, params: dict[str, str], form: dict[str, Any]) -> dict[str, Any]:
        """``Lskcb2025``: a refused token is ``maKetQua`` 401 inside HTTP 200."""
        with self._lock:
            self.stats.histories += 1
        if not self._query_token_ok(params):
            return {"maKetQua": "401", "ghiChu": _NOTES["401"], "dsLichSuKCB2025": None}
        code, record = self._match(form)
        if record is None:
            return {"maKetQua": code, "ghiChu": _NOTES.get(code, ""), "dsLichSuKCB2025": None}
        visits = [
            {
                "maHoSo": visit.record_id,
                "maCSKCB": visit.facility,
                "ngayVao": f"{visit.admitted_at:%Y%m%d%H%M}",
                "ngayRa": f"{visit.discharged_at:%Y%m%d%H%M}",
                "tenBenh": visit.diagnosis,
                "tinhTrang": "1",
                "kqDieuTri": "1",
                "lyDoVV": "1",
            }
            for visit in record.history
        ]
        return {"maKetQua": "000", "ghiChu": None, "dsLichSuKCB2025": visits or None}

    def register_facility(self, facility: str, certificate_pem: bytes) -> None:
        """Register a facility's signing certificate (done on BHXH's portal in reality)."""
        with self._lock:
            self.facility_certificates[facility] = certificate_pem

    def submit(self, headers: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        """``checkInKcbQd3176`` (:mod:`simulators.bhxh_gateway.checkin`): the answer's four
        fields, a refused token included (401 inside HTTP 200)."""
        with self._lock:
            self.stats.submissions += 1
        now = datetime.now(VIETNAM)
        try:
            facility, records = self._accept(headers, form)
        except checkin.RefusedError as refused:
            return _receipt_answer(refused.code, None, now, refused.message)
        with self._lock:
            for record in records:
                key = (facility, record["MA_LK"])
                if key not in self.reports:
                    self.reports[key] = (checkin.new_receipt(now), record)
            report = self.reports[(facility, records[0]["MA_LK"])][0]
        return _receipt_answer(checkin.ACCEPTED, report, report.received_at, "Thành công")

    def _accept(
        self, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[str, list[dict[str, str]]]:
        if not self.token_ok(
            headers.get("accesstoken", ""),
            headers.get("tokenid", ""),
            form.get("username", ""),
            headers.get("passwordhash", ""),
        ):
            raise checkin.RefusedError(checkin.UNAUTHORIZED, _NOTES["401"])
        xml = checkin.decode_file(form)
        facility = form["maCSKCB"]
        certificate = self.facility_certificates.get(facility)
        if certificate is None:
            raise checkin.RefusedError(
                checkin.NOT_SIGNED_BY_FACILITY, "Cơ sở chưa đăng ký chứng thư số"
            )
        checkin.verify_signature(xml, certificate)
        records = checkin.read_records(xml)
        for record in records:
            checkin.check_record(record, facility)
        return facility, records

    def _match(self, body: dict[str, Any]) -> tuple[str, InsuranceRecord | None]:
        fields = {k: body.get(k) for k in ("maThe", "hoTen", "ngaySinh", "hoTenCb", "cccdCb")}
        if not all(isinstance(v, str) for v in fields.values()):
            return "205", None
        values: dict[str, str] = {k: str(v) for k, v in fields.items()}
        if not values["hoTenCb"].strip():
            return "054", None
        if not (values["cccdCb"].isdigit() and len(values["cccdCb"]) == 12):
            return "055", None
        card, name, birth = values["maThe"], values["hoTen"], values["ngaySinh"]
        if not name.strip() or not birth:
            return "205", None
        record, code = self._find(card)
        if record is None:
            return code, None
        if _fold(name) != _fold(record.person.full_name):
            same_letters = _strip_marks(name) == _strip_marks(record.person.full_name)
            return ("061" if same_letters else "060"), None
        dob = record.person.date_of_birth
        if birth not in (dob.strftime("%d/%m/%Y"), str(dob.year)):
            return "070", None
        return record.scenario.outcome, record

    def _find(self, card: str) -> tuple[InsuranceRecord | None, str]:
        if card.isdigit() and len(card) == 12:
            return self.dataset.by_id(card), "050"
        if card.isdigit() and len(card) == 10:
            return self.dataset.by_bhxh(card), "050"
        if len(card) == 17 and card.isalnum():
            return self.dataset.by_code17(card), "050"
        if len(card) != 15 or not card[:2].isalpha() or not card[2:].isdigit():
            return None, "051"
        record = self.dataset.by_card(card)
        if record is not None:
            return record, "000"
        record = self.dataset.by_bhxh(card[5:])
        if record is None:
            return None, "050"
        if card[3:5] != record.card_number[3:5]:
            return None, "052"
        if card[2] != record.card_number[2]:
            return None, "053"
        return None, "051"


def _receipt_answer(
    code: str, report: checkin.Report | None, at: datetime, message: str
) -> dict[str, Any]:
    return {
        "maKetQua": code,
        "maGiaoDich": None if report is None else report.transaction_id,
        "thoiGianTiepNhan": f"{at:%Y%m%d%H%M%S}",
        "thongDiep": message,
    }


def _answer(code: str, record: InsuranceRecord | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"maKetQua": code, "ghiChu": _NOTES.get(code, "")}
    if record is None or code == "130":
        return answer
    person = record.person
    answer |= {
        "maThe": record.card_number,
        "hoTen": person.full_name,
        "ngaySinh": _ddmmyyyy(person.date_of_birth),
        "gioiTinh": person.sex,
        "diaChi": record.address,
        "maDKBD": record.facility,
        "cqBHXH": f"BHXH tỉnh {record.card_number[3:5]}",
        "gtTheTu": _ddmmyyyy(record.valid_from),
        "gtTheDen": _ddmmyyyy(record.valid_to),
        "maKV": "",
        "ngayDu5Nam": _ddmmyyyy(date(record.valid_from.year + 5, 1, 1)),
        "maSoBHXH": record.bhxh_number,
        "maTheCu": None,
        "maTheMoi": record.new_card_number or None,
        "gtTheTuMoi": _ddmmyyyy(record.new_valid_from),
        "gtTheDenMoi": _ddmmyyyy(record.new_valid_to),
        "maDKBDMoi": record.facility if record.new_card_number else None,
        "tenDKBDMoi": f"Trạm y tế {record.facility}" if record.new_card_number else None,
    }
    return answer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: requests carry personal data."""

    def do_POST(self) -> None:
        sim = self.server.simulator
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"maKetQua": "205"})
            return
        raw = self.rfile.read(length)
        if url.path == CONTROL_PATH:
            self._control(raw)
            return
        if sim.latency:
            time.sleep(sim.latency)
        if sim.rate_limited():
            self._send(429, {"maKetQua": "429", "ghiChu": "Quá số lần gọi cho phép"})
            return
        if url.path == TOKEN_PATH:
            if sim.down:
                self._reset()
                return
            form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
            self._send(*sim.take_token(form))
        elif url.path == LOOKUP_PATH:
            self._lookup(sim, url.query, raw)
        elif url.path == HISTORY_PATH:
            self._history(sim, url.query, raw)
        elif url.path == SUBMIT_PATH:
            self._submit(sim, raw)
        else:
            self._send(404, {"maKetQua": "404"})

    def _shared_fault(self, sim: GatewaySimulator) -> tuple[bool, Fault | None]:
        """Draw the next fault and play what every endpoint does alike: a reset or an HTTP
        500 answers the request (``True``); a hang delays it, an expiry drops the tokens.
        The fault goes back to the endpoint for its own answer."""
        fault = sim.next_fault()
        if fault is Fault.RESET:
            self._reset()
            return True, fault
        if fault is Fault.HTTP_500:
            self._send_raw(500, b"<html>Internal Server Error</html>", "text/html")
            return True, fault
        if fault is Fault.HANG:
            time.sleep(sim.hang_s)
        elif fault in (Fault.TOKEN_EXPIRED, Fault.AUTH_IN_200):
            sim.expire_tokens()
        return False, fault

    def _lookup(self, sim: GatewaySimulator, query: str, raw: bytes) -> None:
        answered, fault = self._shared_fault(sim)
        if answered:
            return
        if fault is Fault.GARBAGE:
            self._send_raw(200, b"<html>maintenance</html>", "text/html")
            return
        elif fault in (Fault.CODE_100, Fault.CODE_101, Fault.CODE_500):
            self._send(200, {"maKetQua": fault.value, "ghiChu": _NOTES[fault.value]})
            return
        elif fault is Fault.BIG_NUMBER:
            self._send_raw(200, b'{"maKetQua": ' + b"9" * 5000 + b"}", "application/json")
            return
        elif fault is Fault.GZIP_BOMB:
            self._send_raw(200, gzip_bomb(), "application/json", encoding="gzip")
            return
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            self._send(200, {"maKetQua": "205", "ghiChu": _NOTES["205"]})
            return
        params = dict(urllib.parse.parse_qsl(query))
        answer = sim.lookup(params, body, refuse_in_200=fault is Fault.AUTH_IN_200)
        if fault is Fault.LOST_ANSWER:
            self._reset()
            return
        self._send(*answer)

    def _history(self, sim: GatewaySimulator, query: str, raw: bytes) -> None:
        """``Lskcb2025`` takes a form body only: JSON is refused (docs/domain.md §3.4)."""
        if sim.down:
            self._reset()
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != FORM:
            self._send(200, {"maKetQua": "205", "ghiChu": _NOTES["205"], "dsLichSuKCB2025": None})
            return
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
        self._send(200, sim.history(dict(urllib.parse.parse_qsl(query)), form))

    def _submit(self, sim: GatewaySimulator, raw: bytes) -> None:
        """``checkInKcbQd3176``: a form body, the credentials in headers; faults as lookups."""
        answered, fault = self._shared_fault(sim)
        if answered:
            return
        if fault is Fault.CODE_500:
            self._send(200, _receipt_answer("500", None, datetime.now(VIETNAM), _NOTES["500"]))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        form = dict(urllib.parse.parse_qsl(raw.decode("ascii", "replace")))
        answer = sim.submit(headers, form)
        if fault is Fault.LOST_ANSWER:
            self._reset()
            return
        self._send(200, answer)

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path == CONTROL_PATH:
            self._send(200, self.server.simulator.control_state())
        else:
            self._send(404, {"maKetQua": "404"})

    def _control(self, raw: bytes) -> None:
        """``POST /_sim/control`` (:func:`parse_control`): drive a simulator running in
        another process. Answers 200 with the new state, or 400 and changes nothing."""
        sim = self.server.simulator
        try:
            sim.apply_control(json.loads(raw))
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            self._send(400, {"error": str(exc)})
            return
        self._send(200, sim.control_state())

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        self._send_raw(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _send_raw(self, status: int, body: bytes, content_type: str, *, encoding: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: clients that time out and hang up are part of the simulation."""

    def __init__(self, address: tuple[str, int], simulator: GatewaySimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class RunningGateway(ServerThread):
    """A simulated gateway serving on a background thread; use as a context manager."""

    def __init__(self, simulator: GatewaySimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        super().__init__(_Server((host, port), simulator), "bhxh-gateway-sim")

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"


def serve(
    dataset: Dataset | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    accounts: dict[str, str] | None = None,
    token_lifetime: timedelta = timedelta(hours=1),
) -> RunningGateway:
    """Start a simulated gateway on ``host:port`` (0: a free port) and return it running."""
    simulator = GatewaySimulator(dataset or Dataset.generated(), accounts, token_lifetime)
    return RunningGateway(simulator, host, port).start()


def control(
    url: str, command: dict[str, Any] | None = None, *, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Drive the simulator at ``url`` (``RunningGateway.url`` or another process's) through
    :data:`CONTROL_PATH`: POST ``command`` (:func:`parse_control`), or GET the state when
    ``None``. Returns the state; raises :class:`ValueError` if the command is refused."""
    data = None if command is None else json.dumps(command).encode()
    request = urllib.request.Request(
        url.rstrip("/") + CONTROL_PATH,
        data=data,
        headers={"Content-Type": "application/json"},
        method="GET" if command is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            state: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            reason = str(json.loads(exc.read())["error"])
        except (ValueError, KeyError, TypeError):
            reason = f"HTTP {exc.code}"
        raise ValueError(f"the gateway simulator refused the command: {reason}") from None
    return state
