"""Issue 7 item 3: every parser of untrusted input, fed mutated and random bytes.

For each target of :mod:`fuzz.targets`, hypothesis draws inputs that are mostly a valid
seed with 1–6 mutations (bit flips, interesting bytes such as 00/80/81/82/84/FF at length
positions, inserted, deleted, duplicated or spliced ranges, truncation) or random bytes.
The parser may only raise its own documented errors; anything else fails the test with
the (shrunk) input.

CI runs ``FUZZ_EXAMPLES`` (default 200) inputs per target, divided by the target's cost
(at least 25), derandomized so a run repeats. ``FUZZ_EXAMPLES=100000`` makes a big,
randomized run; ``FUZZ_REPORT=FILE`` appends one JSON line per target (inputs, parsed,
rejected, seconds) for docs/hardening.md.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.targets import TARGETS, run_one
from hospital_adapter.errors import HisProtocolError
from hospital_adapter.his.hl7v2 import parse_ack

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
BIG_RUN = "FUZZ_EXAMPLES" in os.environ
MIN_EXAMPLES = 25
INTERESTING = (0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFE, 0xFF)
"""Bytes that change a BER length or tag (short/long form, indefinite, too long) or a
boundary."""


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with 1–6 random edits."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 6))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1 and pos < len(data):
            data[pos] = draw(st.sampled_from(INTERESTING))
        elif op == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == 3:
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == 4:
            del data[pos:]
        elif op == 5:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 64))]
        else:
            other = draw(st.sampled_from(seeds))
            data[pos:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@st.composite
def inputs(draw: st.DrawFn, seeds: tuple[bytes, ...], max_size: int) -> bytes:
    """Three in four inputs are mutated seeds, one in four random bytes."""
    if draw(st.sampled_from((True, True, True, False))):
        return draw(mutated(seeds))
    return draw(st.binary(max_size=max_size))


@pytest.mark.parametrize("name", list(TARGETS))
def test_parser_raises_only_its_own_errors(name: str) -> None:
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds and all(run_one(target, seed) for seed in seeds), "every seed must parse"
    counts: Counter[bool] = Counter()
    examples = max(MIN_EXAMPLES, EXAMPLES // target.cost)

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=not BIG_RUN,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs(seeds, target.max_size))
    def check(data: bytes) -> None:
        counts[run_one(target, data)] += 1

    started = time.perf_counter()
    check()
    elapsed = time.perf_counter() - started
    assert counts[False] > 0, "no input was rejected: the mutations do not reach the parser"
    report = os.environ.get("FUZZ_REPORT")
    if report:
        line = {
            "target": name,
            "inputs": counts.total(),
            "parsed": counts[True],
            "rejected": counts[False],
            "seconds": round(elapsed, 1),
        }
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


ACK_BODY = "|HIS||KIOSK||20250101120000||ACK^A04^ACK|ACK1|P|2.5\rMSA|AA|MSG0001|\r"


def test_finding_ack_with_repeated_delimiters_is_a_protocol_error() -> None:
    # Found by this harness: python-hl7 tripped an assertion (AssertionError) on MSH-2
    # encoding characters that repeat; parse_ack now checks them first.
    with pytest.raises(HisProtocolError, match="encoding characters"):
        parse_ack("MSH|0250" + ACK_BODY)
    assert parse_ack("MSH|^~\\&" + ACK_BODY).control_id == "MSG0001"
    assert parse_ack("MSH|^~\\&#" + ACK_BODY).control_id == "MSG0001"  # v2.7 truncation
