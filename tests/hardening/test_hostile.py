"""Issue 7 item 2: every hostile card mode is rejected cleanly, in bounded time and memory.

Each mode of :mod:`simulators.chip.hostile` is read with PACE-CAN, the secure-messaging
ones also with BAC (3DES instead of AES), Active Authentication included (``run_both``). The
outcome must be exactly the expected library error, or a report whose verdict is not
VERIFIED (for a malformed but signed photo: the identity is proven and the photo refused).
The read runs in a thread joined with a timeout (a hang fails the test), and the peak of
Python allocations is measured.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from cardreader.errors import (
    CardError,
    ParseError,
    SecureMessagingError,
    StatusWordError,
    WrongLengthError,
)
from cardreader.iso7816.status import describe
from cardreader.verified_read import PhotoResult, VerifiedReader
from cardreader.verify.report import CheckKind, CheckStatus, Verdict
from simulators.chip.hostile import HostileSpec, Hostility, build_hostile_chip
from simulators.cli import main as sim_cli
from simulators.inprocess import InProcessTransport
from simulators.pcscd import PcscDaemon
from simulators.vpcd import VirtualReaderSlot
from tests.hardening.cards import Method, credentials, issued, run_bounded, trust
from tests.hardening.conftest import PcscClient

READ_TIMEOUT = 20.0
MEMORY_BOUND = 16 << 20
"""Peak Python allocations of one hostile read (the largest, giant-file, needs ~2.2 MB)."""


@dataclass(frozen=True)
class Expect:
    """An error of exactly ``error``'s type in ``phase``, or a report with ``verdict`` and
    a check ``kind`` of ``status`` on ``subject``."""

    error: type[CardError] | None = None
    phase: str = "identity"
    verdict: Verdict | None = None
    kind: CheckKind | None = None
    status: CheckStatus = CheckStatus.FAILED
    subject: str = ""
    face: bool = True


def _rejected(
    kind: CheckKind, subject: str = "", status: CheckStatus = CheckStatus.FAILED
) -> Expect:
    verdict = Verdict.INVALID if status is CheckStatus.FAILED else Verdict.UNTRUSTED
    return Expect(verdict=verdict, kind=kind, status=status, subject=subject)


CASES: dict[str, Expect] = {
    "malformed-tlv": Expect(ParseError),
    "malformed-tlv=13": Expect(ParseError),
    "malformed-tlv=14": _rejected(CheckKind.CHIP_AUTHENTICATION),
    "malformed-tlv=15": _rejected(CheckKind.ACTIVE_AUTHENTICATION),
    "malformed-tlv=2": Expect(verdict=Verdict.VERIFIED, face=False),
    "overlong-length": Expect(StatusWordError),
    "overlong-length=2": Expect(StatusWordError, phase="photo"),
    "oversized-file": Expect(ParseError, phase="photo"),
    "oversized-file=1": Expect(ParseError),
    "giant-file": Expect(
        verdict=Verdict.INVALID, kind=CheckKind.DG_HASH, subject="DG2", face=False
    ),
    "huge-response": Expect(ParseError),
    "sm-overlong-object": Expect(SecureMessagingError),
    "endless-61xx": Expect(StatusWordError),
    "endless-6cxx": Expect(WrongLengthError),
    "bad-mac": Expect(SecureMessagingError),
    "stale-ssc": Expect(SecureMessagingError),
    "replayed-response": Expect(SecureMessagingError),
    "sod-lists-absent-dg": _rejected(CheckKind.DG_HASH, "DG13", CheckStatus.UNKNOWN),
    "sod-lists-absent-dg=14": _rejected(CheckKind.DG_HASH, "DG14", CheckStatus.UNKNOWN),
    "sod-lists-absent-dg=15": _rejected(CheckKind.DG_HASH, "DG15", CheckStatus.UNKNOWN),
    "sod-lists-absent-dg=2": Expect(
        verdict=Verdict.UNTRUSTED,
        kind=CheckKind.DG_HASH,
        status=CheckStatus.UNKNOWN,
        subject="DG2",
        face=False,
    ),
    "huge-rsa-key": _rejected(CheckKind.SOD_SIGNATURE),
    "huge-rsa-key=32768": _rejected(CheckKind.SOD_SIGNATURE),
    "giant-curve": _rejected(CheckKind.SOD_SIGNATURE),
    "giant-curve=2048": _rejected(CheckKind.SOD_SIGNATURE),
}
"""Every hostility at least once (checked below), some with several data groups or sizes."""


def test_every_hostility_has_a_case() -> None:
    named = {HostileSpec.parse(text).hostility for text in CASES}
    assert named == set(Hostility)


@dataclass
class Read:
    phase: str = "identity"
    photo: PhotoResult | None = None


def _read_both(reader: VerifiedReader, progress: Read) -> PhotoResult:
    reader.read_identity()
    progress.phase = "photo"
    return reader.read_photo()


WIRE = {"huge-response", "sm-overlong-object", "endless-61xx", "endless-6cxx"}
WIRE |= {"bad-mac", "stale-ssc", "replayed-response"}
"""Hostilities in secure messaging, read under both ciphers; the others with PACE-CAN."""
RUNS = [
    (text, method) for text in CASES for method in (Method if text in WIRE else (Method.PACE_CAN,))
]


@pytest.mark.parametrize(("text", "method"), RUNS, ids=[f"{t}-{m.value}" for t, m in RUNS])
def test_hostile_card_is_rejected_cleanly(text: str, method: Method) -> None:
    expect = CASES[text]
    card = issued(method)
    chip = build_hostile_chip(card, HostileSpec.parse(text))
    link = InProcessTransport(chip)
    reader = VerifiedReader(link, credentials(card, method), trust(), run_both=True)
    progress = Read()
    outcome = run_bounded(lambda: _read_both(reader, progress), READ_TIMEOUT, trace_memory=True)
    assert outcome.peak_bytes < MEMORY_BOUND
    if expect.error is not None:
        assert type(outcome.error) is expect.error, outcome.error
        assert progress.phase == expect.phase
        if text == "endless-6cxx":  # refused when the card refuses the length it named
            assert chip.hostile_answers == 2
        return
    assert outcome.error is None, repr(outcome.error)
    photo = outcome.value
    assert photo is not None
    assert photo.report.verdict is expect.verdict, photo.report.checks
    assert (photo.face is not None) is expect.face, photo.problem
    if expect.kind is not None:
        statuses = {
            c.status for c in photo.report.of_kind(expect.kind) if c.subject == expect.subject
        }
        assert expect.status in statuses, photo.report.checks
    if expect.verdict is Verdict.VERIFIED:  # the signed photo is malformed: refused alone
        assert photo.problem is not None and photo.problem.startswith("the face image cannot")


def test_hostile_names_and_numbers_parse() -> None:
    assert str(HostileSpec.parse("malformed-tlv=13")) == "malformed-tlv=13"
    assert HostileSpec.parse("huge-rsa-key").number == 16384
    with pytest.raises(ValueError, match="choose from"):
        HostileSpec.parse("friendly")
    with pytest.raises(ValueError, match="takes no number"):
        HostileSpec.parse("bad-mac=3")


THROUGH_PCSCD = {
    "bad-mac": "SecureMessagingError",
    "endless-6cxx": "WrongLengthError",
    "endless-61xx": "StatusWordError",
    "giant-file": "INVALID",
}
"""Wire hostilities through the real stack; giant-file's 64 KB answers fit a vpcd frame."""


@pytest.mark.pcsc
def test_hostile_cards_through_pcscd(hardening_pcscd: PcscDaemon, pcsc_client: PcscClient) -> None:
    slot = VirtualReaderSlot(hardening_pcscd.vpcd_ports[0])
    card = issued(Method.PACE_CAN)
    for text, expected in THROUGH_PCSCD.items():
        slot.insert(build_hostile_chip(card, HostileSpec.parse(text)))
        answer = pcsc_client.read(Method.PACE_CAN.value)
        slot.remove()
        assert pcsc_client.request("wait-removal") == {"outcome": "removed"}
        outcome = answer["outcome"] if answer["outcome"] != "error" else answer["error"]
        assert outcome == expected, (text, answer)


def test_wrong_length_6c00_names_256_bytes() -> None:
    assert describe(0x6C00) == "wrong length, the card expects 256"


def test_cccd_sim_card_refuses_an_unknown_hostility() -> None:
    result = CliRunner().invoke(sim_cli, ["card", "--persona", "7", "--hostile", "friendly"])
    assert result.exit_code == 2
    assert "unknown hostility 'friendly'" in result.output


@pytest.mark.pcsc
def test_cccd_sim_card_serves_a_hostile_card(
    hardening_pcscd: PcscDaemon, pcsc_client: PcscClient
) -> None:
    port = str(hardening_pcscd.vpcd_ports[0])
    command = [sys.executable, "-m", "simulators", "card", "--persona", "7", "--port", port]
    process = subprocess.Popen([*command, "--hostile", "bad-mac"], stderr=subprocess.PIPE)
    try:
        answer = pcsc_client.read(Method.PACE_CAN.value)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=READ_TIMEOUT)
    assert process.returncode == 0, err
    assert pcsc_client.request("wait-removal") == {"outcome": "removed"}
    assert (answer["outcome"], answer["error"]) == ("error", "SecureMessagingError")
