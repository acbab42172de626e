"""Property tests: random and mutated inputs raise only the library's own errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu, ResponseApdu
from cardreader.mrz import parse_mrz
from cardreader.qr import parse_cccd_qr
from cardreader.transport.trace import parse_trace

SETTINGS = settings(max_examples=400, deadline=None)


@SETTINGS
@given(st.binary(max_size=512))
def test_tlv_walk_raises_only_parse_error(data: bytes) -> None:
    try:
        items = tlv.walk(data)
    except ParseError:
        return
    for _, item in items:
        assert len(item.value) <= len(data)


@SETTINGS
@given(st.integers(min_value=1, max_value=0xDF7F), st.binary(max_size=300))
def test_tlv_encode_decode_round_trip(tag: int, value: bytes) -> None:
    try:
        encoded = tlv.encode(tag, value)
    except ValueError:
        return  # not a well-formed BER tag (e.g. 0x0103): refused at encoding
    item = tlv.decode_single(encoded)
    assert (item.tag, item.value) == (tag, value)


@SETTINGS
@given(st.binary(max_size=300))
def test_command_apdu_decode_is_bounded(data: bytes) -> None:
    try:
        command = CommandApdu.decode(data)
    except ParseError:
        return
    assert CommandApdu.decode(command.encode()) == command


@SETTINGS
@given(st.binary(max_size=64))
def test_response_apdu_decode(data: bytes) -> None:
    try:
        response = ResponseApdu.decode(data)
    except ParseError:
        assert len(data) < 2
        return
    assert response.encode() == data


@SETTINGS
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<\n", max_size=100))
def test_mrz_parse_raises_only_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_mrz(text)


@SETTINGS
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_qr_parse_raises_only_parse_error(payload: bytes | str) -> None:
    with contextlib.suppress(ParseError):
        parse_cccd_qr(payload)


@SETTINGS
@given(st.lists(st.text(max_size=80), max_size=5))
def test_trace_parse_raises_only_parse_error(lines: list[str]) -> None:
    with contextlib.suppress(ParseError):
        parse_trace(lines)


@given(st.lists(st.integers(0, 2**70), min_size=1, max_size=6), st.integers(0, 2))
@settings(max_examples=200)
def test_oid_round_trip_and_the_kept_decoding(arcs: list[int], first: int) -> None:
    dotted = ".".join(map(str, [first, arcs[0] % 40 if first < 2 else arcs[0], *arcs[1:]]))
    value = tlv.encode_oid(dotted)
    assert tlv.decode_oid(value) == dotted
    assert tlv.decode_oid(bytes(value)) is tlv.decode_oid(value)  # kept for the same value


def test_a_malformed_oid_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ParseError, match=r"^truncated object identifier$"):
            tlv.decode_oid(b"\x2b\x86")
