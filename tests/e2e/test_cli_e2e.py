"""The ``cccd`` command through pcscd: readers, read --out --json, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cardreader.transport.pcsc import CardWaiter
from simulators.issuance.card import build_chip, issue_card, sim_pki
from simulators.persona import make_persona
from simulators.vpcd import VirtualReaderSlot

pytestmark = pytest.mark.pcsc

PERSONA = make_persona(7)
CARD = issue_card(PERSONA)
TIMEOUT = 5.0


def _cccd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cardreader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def card_in_reader(slot: VirtualReaderSlot, waiter: CardWaiter, reader: str) -> str:
    slot.insert(build_chip(CARD))
    assert waiter.wait_for_card(reader, TIMEOUT) is not None
    return reader


def test_readers_lists_the_virtual_reader(reader: str) -> None:
    result = _cccd("readers")
    assert result.returncode == 0
    assert reader in result.stdout.splitlines()


def test_read_with_id_verifies_saves_raw_files_and_prints_json(
    card_in_reader: str, tmp_path: Path
) -> None:
    csca = sim_pki().csca.write_pem(tmp_path / "csca.pem")
    out = tmp_path / "card"
    result = _cccd(
        "read", "--reader", card_in_reader, "--id", PERSONA.id_number,
        "--csca", str(csca), "--out", str(out), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["access"]["method"] == "PACE" and summary["access"]["password"] == "CAN"
    assert summary["access"]["downgraded"] is False
    assert summary["report"]["verdict"] == "VERIFIED"
    statuses = {(c["kind"], c["subject"]): c["status"] for c in summary["report"]["checks"]}
    assert statuses[("chip-authentication", "DG14")] == "passed"
    assert statuses[("dg-hash", "DG13")] == "passed"
    for fid, name in ((0x0101, "DG1.bin"), (0x0102, "DG2.bin"), (0x010D, "DG13.bin")):
        assert (out / name).read_bytes() == CARD.files[fid]
    assert (out / "EF_SOD.bin").read_bytes() == CARD.files[0x011D]
    assert summary["files"]["DG2.bin"] == len(CARD.files[0x0102])
    dg13 = summary["identity"]["dg13"]  # issue 11 item 7: the identity, Vietnamese intact
    assert (dg13["id_number"], dg13["full_name"]) == (PERSONA.id_number, PERSONA.full_name)
    assert (dg13["sex"], dg13["place_of_residence"]) == (
        PERSONA.sex.value,
        PERSONA.place_of_residence,
    )
    assert (dg13["father_name"], dg13["mother_name"]) == (PERSONA.father, PERSONA.mother)
    assert dg13["unknown_fields"][0]["number"] == 16
    assert summary["identity"]["dg1"]["document_number"] == PERSONA.id_number[-9:]
    assert PERSONA.id_number not in result.stderr and PERSONA.full_name not in result.stderr
    offline = _cccd("verify", str(out), "--csca", str(csca))
    assert offline.returncode == 0, offline.stdout
    assert offline.stdout.startswith("VERIFIED")
    assert f"  full name              {PERSONA.full_name}" in offline.stdout.splitlines()


def test_read_without_identity_prints_nothing_personal(card_in_reader: str) -> None:
    for mode in ((), ("--json",)):
        result = _cccd(
            "read", "--reader", card_in_reader, "--can", PERSONA.can, "--no-identity", *mode
        )
        assert result.returncode == 3, result.stdout + result.stderr
        for value in (PERSONA.id_number, PERSONA.full_name, PERSONA.id_number[-9:]):
            assert value not in result.stdout + result.stderr


def test_read_without_a_trust_anchor_is_untrusted(card_in_reader: str) -> None:
    result = _cccd("read", "--reader", card_in_reader, "--can", PERSONA.can)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "UNTRUSTED" in result.stdout
    assert "unknown       chain" in result.stdout


def test_wrong_can_is_access_denied_with_exit_code_5(card_in_reader: str) -> None:
    result = _cccd("read", "--reader", card_in_reader, "--can", "000000")
    assert (result.returncode, result.stdout, result.stderr) == (
        5,
        "",
        "error: the chip could not be opened: wrong CAN (the chip refused it)\n",
    )


def test_unknown_reader_is_a_card_error(card_in_reader: str) -> None:
    result = _cccd("read", "--reader", "No Such Reader", "--can", PERSONA.can)
    assert result.returncode == 4
    assert "no reader matches" in result.stderr


def test_read_without_credentials_is_a_usage_error() -> None:
    result = _cccd("read")
    assert result.returncode == 2
    assert "--can" in result.stderr
