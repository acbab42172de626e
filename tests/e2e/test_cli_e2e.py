"""The ``cccd`` command through pcscd: readers, read --out --json, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cardreader.transport.pcsc import CardWaiter
from simulators.chip.sample import SampleCard, sample_chip, sample_files
from simulators.vpcd import VirtualReaderSlot

pytestmark = pytest.mark.pcsc

CARD = SampleCard()
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
    slot.insert(sample_chip(CARD))
    assert waiter.wait_for_card(reader, TIMEOUT) is not None
    return reader


def test_readers_lists_the_virtual_reader(reader: str) -> None:
    result = _cccd("readers")
    assert result.returncode == 0
    assert reader in result.stdout.splitlines()


def test_read_with_id_saves_raw_files_and_prints_json(card_in_reader: str, tmp_path: Path) -> None:
    out = tmp_path / "card"
    result = _cccd(
        "read", "--reader", card_in_reader, "--id", CARD.id_number, "--out", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["access"]["method"] == "PACE" and summary["access"]["password"] == "CAN"
    assert summary["access"]["downgraded"] is False
    files = sample_files(CARD)
    assert (out / "DG1.bin").read_bytes() == files[0x0101]
    assert (out / "DG2.bin").read_bytes() == files[0x0102]
    assert (out / "EF_CardAccess.bin").read_bytes() == files[0x011C]
    assert summary["files"]["DG2.bin"] == len(files[0x0102])
    assert CARD.id_number not in result.stdout + result.stderr
    assert CARD.can not in result.stderr


def test_wrong_can_is_access_denied_with_exit_code_5(card_in_reader: str) -> None:
    result = _cccd("read", "--reader", card_in_reader, "--can", "000000")
    assert result.returncode == 5
    assert "could not be opened" in result.stderr
    assert "000000" not in result.stderr


def test_unknown_reader_is_a_card_error(card_in_reader: str) -> None:
    result = _cccd("read", "--reader", "No Such Reader", "--can", CARD.can)
    assert result.returncode == 4
    assert "no reader matches" in result.stderr


def test_read_without_credentials_is_a_usage_error() -> None:
    result = _cccd("read")
    assert result.returncode == 2
    assert "--can" in result.stderr
