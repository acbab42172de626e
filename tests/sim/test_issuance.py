"""Issuance: deterministic cards, the persona CLI, and a card from the BSI folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.verified_read import read_and_verify
from cardreader.verify.report import CheckKind, CheckStatus, Verdict
from cardreader.verify.trust import TrustStore
from simulators.cli import main as sim_cli
from simulators.faults import FaultSpec
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import Profile, issue_card
from simulators.issuance.folder import chip_from_folder
from simulators.persona import make_persona, qr_payload
from tests.vectors import BSI_DATASET


def test_same_seed_same_card() -> None:
    for profile in Profile:
        first, again = issue_card(make_persona(9), profile), issue_card(make_persona(9), profile)
        assert dict(first.files) == dict(again.files)
        assert first.mrz_information == again.mrz_information


def test_persona_cli_json() -> None:
    result = CliRunner().invoke(sim_cli, ["persona", "7", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    persona = make_persona(7)
    assert data["id"] == persona.id_number and data["name"] == persona.full_name
    assert data["dob"] == persona.date_of_birth.isoformat() and data["can"] == persona.can
    assert data["qr"] == qr_payload(persona)


def test_issue_cli_writes_files_that_verify(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "card"
    result = CliRunner().invoke(
        sim_cli, ["issue", str(out), "--persona", "4", "--profile", "can-cuoc-2024"]
    )
    assert result.exit_code == 0, result.output
    card = issue_card(make_persona(4), Profile.CAN_CUOC_2024)
    assert (out / "DG13.bin").read_bytes() == card.files[0x010D]
    assert (out / "EF_SOD.bin").read_bytes() == card.files[0x011D]
    assert (out / "csca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_unknown_fault_names_the_choices() -> None:
    result = CliRunner().invoke(
        sim_cli, ["issue", "/tmp/never", "--persona", "1", "--fault", "melted"]
    )
    assert result.exit_code == 2
    assert "choose from: removed-at" in result.output


def test_bsi_folder_card_with_its_ca_and_aa_keys() -> None:
    chip = chip_from_folder(BSI_DATASET)
    credentials = Credentials(mrz_keys=(MrzKey("C11T002JM", "960812", "231031"),))
    at = datetime(2014, 6, 1, tzinfo=UTC)
    result = read_and_verify(InProcessTransport(chip), credentials, TrustStore(), at=at)
    assert result.report.verdict is Verdict.UNTRUSTED
    statuses = {c.kind: c.status for c in result.report.checks if c.kind is not CheckKind.DG_HASH}
    assert statuses[CheckKind.CHIP_AUTHENTICATION] is CheckStatus.PASSED
    assert statuses[CheckKind.SOD_SIGNATURE] is CheckStatus.PASSED
    assert statuses[CheckKind.CHAIN] is CheckStatus.UNKNOWN
    assert result.face is not None and (result.face.width, result.face.height) == (413, 531)


def test_bsi_folder_clone_is_invalid() -> None:
    chip = chip_from_folder(BSI_DATASET, (FaultSpec.parse("ca-clone"),))
    credentials = Credentials(mrz_keys=(MrzKey("C11T002JM", "960812", "231031"),))
    at = datetime(2014, 6, 1, tzinfo=UTC)
    result = read_and_verify(InProcessTransport(chip), credentials, TrustStore(), at=at)
    assert result.report.verdict is Verdict.INVALID
