"""Gateway codes, decisions and the bounded JSON parsers (docs/domain.md §3)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from hospital_adapter.errors import (
    CircuitOpenError,
    GatewayProtocolError,
    InvalidInputError,
    Xml0RejectedError,
)
from hospital_adapter.gateway import Decision, LookupQuery, ResultCode, decide
from hospital_adapter.gateway.resilience import BreakerState, CircuitBreaker, RetryPolicy, TtlCache
from hospital_adapter.gateway.submission import (
    Xml0Receipt,
    parse_submission_response,
    submission_form,
    submission_headers,
)
from hospital_adapter.gateway.wire import (
    GatewayToken,
    lookup_body,
    parse_lookup_response,
    parse_token_response,
    password_md5,
    token_form,
)
from hospital_adapter.identity import BirthDate
from hospital_adapter.visit import VIETNAM_TIME

EXPECTED_DECISIONS = {
    "000": Decision.INSURED,
    "001": Decision.GO_TO_COUNTER,
    "002": Decision.GO_TO_COUNTER,
    "003": Decision.INSURED,
    "004": Decision.INSURED,
    "010": Decision.SELF_PAY,
    "050": Decision.GO_TO_COUNTER,
    "051": Decision.GO_TO_COUNTER,
    "052": Decision.GO_TO_COUNTER,
    "053": Decision.GO_TO_COUNTER,
    "054": Decision.CONFIGURATION_ERROR,
    "055": Decision.CONFIGURATION_ERROR,
    "060": Decision.GO_TO_COUNTER,
    "061": Decision.GO_TO_COUNTER,
    "070": Decision.GO_TO_COUNTER,
    "080": Decision.GO_TO_COUNTER,
    "090": Decision.GO_TO_COUNTER,
    "100": Decision.RETRY,
    "101": Decision.RETRY,
    "110": Decision.GO_TO_COUNTER,
    "120": Decision.GO_TO_COUNTER,
    "121": Decision.GO_TO_COUNTER,
    "122": Decision.GO_TO_COUNTER,
    "123": Decision.GO_TO_COUNTER,
    "124": Decision.GO_TO_COUNTER,
    "130": Decision.GO_TO_COUNTER,
    "205": Decision.CONFIGURATION_ERROR,
    "401": Decision.CONFIGURATION_ERROR,
    "500": Decision.RETRY,
}


def test_every_result_code_has_its_decision() -> None:
    assert {code.value for code in ResultCode} == set(EXPECTED_DECISIONS)
    for raw, decision in EXPECTED_DECISIONS.items():
        assert decide(raw) is decision, raw
    assert decide("999") is Decision.GO_TO_COUNTER


def test_password_is_upper_case_md5_hex_and_body_carries_staff_identity() -> None:
    # RFC 1321 A.5: MD5("abc"); the gateway wants it in upper case (docs/domain.md §3.3).
    assert password_md5("abc") == "900150983CD24FB0D6963F7D28E17F72"
    assert token_form("u", "abc") == {
        "username": "u",
        "password": "900150983CD24FB0D6963F7D28E17F72",
    }
    query = LookupQuery(" hc4797912345678 ", " Nguyễn  Thị Hoa ", BirthDate(1950))
    assert lookup_body(query, "Cán Bộ", "079190000001") == {
        "maThe": "HC4797912345678",
        "hoTen": "Nguyễn Thị Hoa",
        "ngaySinh": "1950",
        "hoTenCb": "Cán Bộ",
        "cccdCb": "079190000001",
    }


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("7912345678", "7912345678"),  # 10: BHXH number
        ("079185001234", "079185001234"),  # 12: ID number
        (" hc4797912345678", "HC4797912345678"),  # 15: BHYT card
        ("hc479791234567801", "HC479791234567801"),  # 17 characters
    ],
)
def test_lookup_query_takes_codes_of_10_12_15_and_17_characters(given: str, sent: str) -> None:
    assert LookupQuery(given, "A", BirthDate(1950)).card_or_id == sent


@pytest.mark.parametrize(
    "bad",
    [
        "12345",
        "79123456789",
        "07918500123",
        "XX9797912345678",
        "HC47979123456780",
        "HC4797912345678-1",
    ],
)
def test_lookup_query_rejects_other_codes(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        LookupQuery(bad, "A", BirthDate(1950))
    assert info.value.field in ("maThe", "ID number", "BHYT number")


def test_token_answer_with_seven_fractional_digits() -> None:
    body = {
        "maKetQua": "200",
        "APIKey": {
            "access_token": "a",
            "id_token": "i",
            "token_type": "Bearer",
            "username": "u",
            "expires_in": "2025-09-05T07:31:44.6200586Z",
        },
    }
    code, token = parse_token_response(json.dumps(body).encode())
    assert code == "200" and token is not None
    assert token.expires_at == datetime(2025, 9, 5, 7, 31, 44, 620058, tzinfo=UTC)
    assert parse_token_response(b'{"maKetQua": "401"}') == ("401", None)
    with pytest.raises(GatewayProtocolError, match="APIKey"):
        parse_token_response(b'{"maKetQua": "200"}')


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        ("2025-09-05T14:31:44+07:00", datetime(2025, 9, 5, 7, 31, 44, tzinfo=UTC)),
        ("0001-01-01T00:00:00+00:00", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_token_expiry_is_kept_in_utc(expires_in: str, expected: datetime) -> None:
    body = {"maKetQua": "200", "APIKey": {"access_token": "a", "expires_in": expires_in}}
    _, token = parse_token_response(json.dumps(body).encode())
    assert token is not None and token.expires_at == expected
    assert token.expires_at.utcoffset() == timedelta(0)


def test_token_expiry_outside_the_calendar_is_a_protocol_error() -> None:
    body = {
        "maKetQua": "200",
        "APIKey": {"access_token": "a", "expires_in": "0001-01-01T00:00:00+01:00"},
    }
    with pytest.raises(GatewayProtocolError, match="expires_in is out of range"):
        parse_token_response(json.dumps(body).encode())


NEW_CARD = {
    "maKetQua": "003",
    "ghiChu": "x",
    "maThe": "HC4797912345678",
    "hoTen": "Nguyễn Thị Hoa",
    "ngaySinh": "07/03/1985",
    "gioiTinh": "Nữ",
    "diaChi": "12 Lê Lợi",
    "maDKBD": "79024",
    "gtTheTu": "01/01/2024",
    "gtTheDen": "31/12/2024",
    "maSoBHXH": "7912345678",
    "maTheMoi": "DN4797912345678",
    "gtTheTuMoi": "01/01/2025",
    "gtTheDenMoi": "31/12/2026",
    "maDKBDMoi": "79025",
    "tenDKBDMoi": "Trạm y tế",
    "ngayDu5Nam": None,
}


def test_new_card_answer_uses_the_new_card() -> None:
    result = parse_lookup_response(json.dumps(NEW_CARD).encode())
    assert result.code is ResultCode.OLD_CARD_EXPIRED_NEW_ISSUED
    assert result.decision is Decision.INSURED
    assert result.card is not None
    assert result.card.card_number == "DN4797912345678"
    assert (result.card.valid_from, result.card.valid_to) == (date(2025, 1, 1), date(2026, 12, 31))
    assert result.card.primary_care_facility == "79025"
    assert result.replaced_card_number == "HC4797912345678"
    assert result.holder is not None and result.holder.date_of_birth == BirthDate(1985, 3, 7)
    assert "Hoa" not in repr(result)
    assert result.to_dict()["card"] == {
        "card_number": "DN4797912345678",
        "valid_from": "2025-01-01",
        "valid_to": "2026-12-31",
        "primary_care_facility": "79025",
        "primary_care_facility_name": "Trạm y tế",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"x" * 70_000, "longer than"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 60_000, "not UTF-8 JSON"),
        (b'{"ghiChu": "x"}', "maKetQua"),
        (b'{"maKetQua": {"a": 1}}', "not a string"),
        (b'{"maKetQua": "000"}', "without maThe"),
        (b'{"maKetQua": ' + b"9" * 5000 + b"}", "not UTF-8 JSON"),  # past int() digit limit
        (b'{"maKetQua": ' + b"9" * 4000 + b"}", "out of range"),
        (b'{"maKetQua": 12345}', "out of range"),
        (json.dumps({**NEW_CARD, "maTheMoi": None}).encode(), "without maTheMoi"),
        (json.dumps({**NEW_CARD, "gtTheDenMoi": "2026-12-31"}).encode(), "gtTheDenMoi"),
        (json.dumps({"maKetQua": "050", "ghiChu": "x" * 1001}).encode(), "ghiChu longer"),
    ],
)
def test_lookup_parser_is_bounded_and_strict(body: bytes, reason: str) -> None:
    with pytest.raises(GatewayProtocolError, match=reason):
        parse_lookup_response(body)


def test_unknown_code_goes_to_counter() -> None:
    result = parse_lookup_response(b'{"maKetQua": 777}')
    assert (result.raw_code, result.code, result.decision) == ("777", None, Decision.GO_TO_COUNTER)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_circuit_breaker_opens_half_opens_and_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, reset_after=10.0, clock=clock)
    seen = []
    breaker.record_failure()
    seen.append(breaker.state)
    breaker.record_failure()
    seen.append(breaker.state)
    clock.now = 4.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_after == pytest.approx(6.0)
    clock.now = 10.0
    seen.append(breaker.state)
    breaker.before_call()  # the one trial call
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    breaker.record_failure()
    seen.append(breaker.state)
    clock.now = 20.0
    breaker.before_call()
    breaker.record_success()
    seen.append(breaker.state)
    assert seen == [
        BreakerState.CLOSED,
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.OPEN,
        BreakerState.CLOSED,
    ]


def test_ttl_cache_expires_and_evicts_least_recent() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int] = TtlCache(ttl=5.0, max_entries=2, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    clock.now = 5.0
    assert cache.get("a") is None


def test_retry_delays_are_bounded_full_jitter() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=2.0)
    rng = random.Random(1)
    delays = [[policy.delay(n, rng) for _ in range(200)] for n in range(4)]
    assert [max(d) <= bound for d, bound in zip(delays, (0.5, 1.0, 2.0, 2.0), strict=True)] == [
        True
    ] * 4
    assert max(delays[2]) > 1.0  # jitter spreads up to the cap
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_xml0_submission_form_headers_and_receipt() -> None:
    token = GatewayToken("acc", "idt", "Bearer", "kiosk", datetime(2026, 8, 5, tzinfo=UTC))
    assert submission_form("kiosk", "79", "79024", b"<x/>") == {
        "username": "kiosk",
        "loaiHoSo": "0",
        "maTinh": "79",
        "maCSKCB": "79024",
        "fileHSBase64": "PHgvPg==",
    }
    assert submission_headers(token, "abc") == {
        "accessToken": "acc",
        "tokenId": "idt",
        "passwordHash": "900150983CD24FB0D6963F7D28E17F72",
    }
    answer = {
        "maKetQua": "200",
        "maGiaoDich": "GD1",
        "thoiGianTiepNhan": "20260805093000",
        "thongDiep": "Thành công",
    }
    assert parse_submission_response(json.dumps(answer).encode()) == Xml0Receipt(
        "GD1", datetime(2026, 8, 5, 9, 30, tzinfo=VIETNAM_TIME)
    )
    for changed, reason in (
        ({"maGiaoDich": None}, "without a maGiaoDich"),
        ({"thoiGianTiepNhan": "05/08/2026"}, "not yyyyMMddHHmmss"),
    ):
        with pytest.raises(GatewayProtocolError, match=reason):
            parse_submission_response(json.dumps({**answer, **changed}).encode())
    for code, retryable in (("500", True), ("205", False), ("403", False)):
        refused = {**answer, "maKetQua": code, "maGiaoDich": None, "thongDiep": "Thiếu MA_LK"}
        with pytest.raises(Xml0RejectedError) as info:
            parse_submission_response(json.dumps(refused).encode())
        assert (info.value.code, info.value.detail) == (code, "Thiếu MA_LK")
        assert info.value.retryable is retryable
