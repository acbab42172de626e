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

from cardreader.lds.dg13 import parse_dg13
from cardreader.transport.pcsc import CardWaiter
from simulators.issuance.card import issue_card, sim_pki
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona

pytestmark = pytest.mark.pcsc

PERSONA = make_persona(7)
TIMEOUT = 10.0


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
