"""APDU trace recording and replay."""

from __future__ import annotations

import io

import pytest

from cardreader.access.bac import BacKeys, perform_bac
from cardreader.errors import ParseError
from cardreader.transport.trace import (
    Exchange,
    RecordingTransport,
    ReplayTransport,
    TraceMismatchError,
    parse_trace,
)
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.inprocess import InProcessTransport

MRZ_INFO = "L898902C<369080619406236"


def _fixed(values: list[bytes]):  # type: ignore[no-untyped-def]
    return lambda n: values.pop(0)


def test_record_then_replay_a_bac_session() -> None:
    chip = EmrtdChip(
        ChipConfig(files={}, mrz_information=MRZ_INFO), random=_fixed([bytes(8), bytes(16)])
    )
    sink = io.StringIO()
    keys = BacKeys.from_mrz_information(MRZ_INFO)
    live = perform_bac(
        RecordingTransport(InProcessTransport(chip), sink),
        keys,
        _fixed([b"\x01" * 8, b"\x02" * 16]),
    )
    exchanges = parse_trace(sink.getvalue().splitlines())
    assert [e.command[:4].hex() for e in exchanges] == ["00840000", "00820000"]
    replay = ReplayTransport(exchanges)
    again = perform_bac(replay, keys, _fixed([b"\x01" * 8, b"\x02" * 16]))
    assert again == live


def test_replay_detects_a_different_command() -> None:
    replay = ReplayTransport([Exchange(bytes.fromhex("0084000008"), bytes(8) + b"\x90\x00")])
    with pytest.raises(TraceMismatchError, match="command 1"):
        replay.transmit(bytes.fromhex("00A4040C"))
    with pytest.raises(TraceMismatchError, match="ended"):
        replay.transmit(bytes.fromhex("0084000008"))


@pytest.mark.parametrize("line", ['{"c": "zz", "r": "9000"}', '{"c": "00"}', "[1, 2]", "not json"])
def test_bad_trace_lines_raise_parse_error(line: str) -> None:
    with pytest.raises(ParseError, match="line 1"):
        parse_trace([line])
