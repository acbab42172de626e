"""Issue #4 through pcscd: ``cccd-sim card --persona 7`` in one process, ``cccd read`` in
another; VERIFIED with the simulator's CSCA, UNTRUSTED without; DG13 equals the persona."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cardreader.access.credentials import Credentials
from cardreader.lds.dg13 import parse_dg13
from cardreader.transport.pcsc import CardWaiter, PcscTransport
from cardreader.verified_read import read_and_verify
from cardreader.verify.report import Verdict
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.issuance.card import Profile, build_chip, issue_card, sim_pki
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona
from simulators.vpcd import VirtualReaderSlot

pytestmark = pytest.mark.pcsc

PERSONA = make_persona(7)
TIMEOUT = 10.0
TRUST = TrustStore(parse_certificates(sim_pki().csca.der))


@contextmanager
def virtual_card(pcscd: PcscDaemon, waiter: CardWaiter, reader: str, *args: str) -> Iterator[None]:
    """``cccd-sim card ...`` as its own process, until the test is done."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "card", "--port", str(pcscd.vpcd_ports[0]), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert waiter.wait_for_card(reader, TIMEOUT) is not None, "the virtual card did not appear"
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err
        assert waiter.wait_for_removal(reader, TIMEOUT)


def _cccd(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cardreader", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_persona_7_verified_with_pace_can(
    pcscd: PcscDaemon, waiter: CardWaiter, reader: str, tmp_path: Path
) -> None:
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    with virtual_card(pcscd, waiter, reader, "--persona", "7"):
        trusted = _cccd(
            "read",
            "--id",
            PERSONA.id_number,
            "--csca",
            str(csca),
            "--out",
            str(tmp_path / "f"),
            "--json",
        )
        untrusted = _cccd("read", "--id", PERSONA.id_number, "--json")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    report = json.loads(trusted.stdout)["report"]
    assert report["verdict"] == "VERIFIED"
    assert {"kind": "chip-authentication", "subject": "DG14", "status": "passed"}.items() <= next(
        c for c in report["checks"] if c["kind"] == "chip-authentication"
    ).items()
    assert (
        untrusted.returncode == 3
        and json.loads(untrusted.stdout)["report"]["verdict"] == "UNTRUSTED"
    )
    dg13 = parse_dg13((tmp_path / "f" / "DG13.bin").read_bytes())
    assert dg13.full_name == PERSONA.full_name
    assert dg13.id_number == PERSONA.id_number
    assert dg13.place_of_residence == PERSONA.place_of_residence
    assert dg13.father_name == PERSONA.father and dg13.mother_name == PERSONA.mother


def test_persona_7_verified_with_bac_and_the_mrz(
    pcscd: PcscDaemon, waiter: CardWaiter, reader: str, tmp_path: Path
) -> None:
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    info = issue_card(PERSONA).mrz_information
    mrz = f"{info[:9]},{info[10:16]},{info[17:23]}"
    with virtual_card(pcscd, waiter, reader, "--persona", "7", "--fault", "no-pace"):
        result = _cccd("read", "--mrz", mrz, "--csca", str(csca), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["access"]["method"] == "BAC" and not summary["access"]["downgraded"]
    assert summary["report"]["verdict"] == "VERIFIED"


def test_tampered_card_is_invalid_through_pcscd(
    pcscd: PcscDaemon, waiter: CardWaiter, reader: str, tmp_path: Path
) -> None:
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    with virtual_card(pcscd, waiter, reader, "--persona", "7", "--fault", "tampered-dg=13"):
        result = _cccd("read", "--can", PERSONA.can, "--csca", str(csca))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("Opened with id-PACE-ECDH-GM-AES-CBC-CMAC-128 (CAN)")
    assert "INVALID" in result.stdout and "failed        dg-hash DG13" in result.stdout


def test_can_cuoc_2024_proves_pace_cam_with_card_security_through_pcscd(
    pcscd: PcscDaemon, waiter: CardWaiter, reader: str, tmp_path: Path
) -> None:
    """Issue 11 item 3: EF.CardSecurity read after PACE-CAM, verified, its key used."""
    card = issue_card(make_persona(9), Profile.CAN_CUOC_2024)
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    out = tmp_path / "f"
    with virtual_card(pcscd, waiter, reader, "--persona", "9", "--profile", "can-cuoc-2024"):
        result = _cccd(
            "read", "--can", card.can, "--csca", str(csca), "--out", str(out), "--json",
            "--no-identity",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["access"]["protocol"] == "id-PACE-ECDH-CAM-AES-CBC-CMAC-128"
    report = summary["report"]
    assert report["verdict"] == "VERIFIED"
    checks = {(c["kind"], c["subject"]): c["status"] for c in report["checks"]}
    assert checks[("chip-authentication", "EF.CardSecurity")] == "passed"
    assert {key: status for key, status in checks.items() if key[0] == "card-security"} == {
        ("card-security", "security-infos"): "passed",
        ("card-security", "signed-attributes content-type"): "passed",
        ("card-security", "signed-attributes message-digest"): "passed",
        ("card-security", "signature"): "passed",
        ("card-security", "ds-certificate validity"): "passed",
        ("card-security", "ds-certificate key-usage"): "passed",
        ("card-security", "chain"): "passed",
    }
    assert (out / "EF_CardSecurity.bin").read_bytes() == card.card_security
    offline = _cccd("verify", str(out), "--csca", str(csca), "--no-identity")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "passed        card-security chain" in offline.stdout


@pytest.mark.parametrize("quirk", ["signer-name-order", "id-data-sod"])
def test_quirky_genuine_card_is_verified_through_pcscd(
    pcscd: PcscDaemon, waiter: CardWaiter, reader: str, tmp_path: Path, quirk: str
) -> None:
    """Issue 11 items 1-2: a genuine document's quirk is a finding, not a forgery."""
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    with virtual_card(pcscd, waiter, reader, "--persona", "7", "--fault", quirk):
        result = _cccd("read", "--can", PERSONA.can, "--csca", str(csca), "--no-identity")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED (checked at" in result.stdout
    finding = {
        "signer-name-order": "signer-identifier-name-order",
        "id-data-sod": "non-standard-content-type",
    }[quirk]
    assert f"  finding       {finding}" in result.stdout


def test_two_virtual_readers_at_once(
    pcscd: PcscDaemon, waiter: CardWaiter, slot: VirtualReaderSlot
) -> None:
    """Two personas in the two vpcd slots, read one after the other without removal."""
    second = VirtualReaderSlot(pcscd.vpcd_ports[1])
    cards = {0: issue_card(make_persona(7)), 1: issue_card(make_persona(8))}
    slot.insert(build_chip(cards[0]))
    second.insert(build_chip(cards[1]))
    try:
        for index, card in cards.items():
            name = pcscd.reader_names[index]
            assert waiter.wait_for_card(name, TIMEOUT) is not None
            with PcscTransport.connect(name) as transport:
                result = read_and_verify(transport, Credentials(can=card.can), TRUST)
            assert result.report.verdict is Verdict.VERIFIED
            assert result.identity.id_number is not None
            assert result.identity.id_number.value == card.persona.id_number
    finally:
        second.remove()
        assert waiter.wait_for_removal(pcscd.reader_names[1], TIMEOUT)
