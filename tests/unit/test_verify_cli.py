"""``cccd verify``: offline verification of saved EF files, its output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cardreader.cli import VERDICT_EXIT_CODES, main
from cardreader.verify.report import Verdict
from cardreader.verify.sod import parse_sod
from simulators.chip.sample import SampleCard, sample_files
from simulators.pki import Algorithm, Issued, Pki
from tests.vectors import BSI_DATASET

CCCD = Path(sys.executable).with_name("cccd")


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["verify", *(str(a) for a in args)])


def test_bsi_at_2014_is_untrusted() -> None:
    result = _run(BSI_DATASET, "--at", "2014-06-01")
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert lines[0] == "UNTRUSTED (checked at 2014-06-01 00:00 UTC)"
    assert any(
        line.split()[:2] == ["passed", "sod-signature"] and "RSASSA-PSS SHA-256" in line
        for line in lines
    )
    assert any(line.split()[:3] == ["unknown", "chain", "no"] for line in lines)


def test_bsi_now_is_invalid() -> None:
    result = _run(BSI_DATASET)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("INVALID")
    assert "expired: valid 2013-12-16 to 2014-12-11" in result.output


def test_bsi_json_lists_every_check() -> None:
    result = _run(BSI_DATASET, "--at", "2014-06-01", "--json")
    assert result.exit_code == 3
    report = json.loads(result.output)
    assert (report["verdict"], report["exit_code"]) == ("UNTRUSTED", 3)
    assert report["at"] == "2014-06-01T00:00:00+00:00"
    assert report["issuing_state"] == "D"
    assert [(c["kind"], c["subject"], c["status"]) for c in report["checks"][:6]] == [
        ("dg-hash", "DG1", "passed"),
        ("dg-hash", "DG2", "passed"),
        ("dg-hash", "DG3", "passed"),
        ("dg-hash", "DG4", "passed"),
        ("dg-hash", "DG14", "passed"),
        ("dg-hash", "DG15", "unknown"),
    ]
    assert len(report["checks"]) == 14
    assert all(c["reason"] for c in report["checks"])


def _bsi_copy(tmp_path: Path, name: str, position: int) -> Path:
    folder = tmp_path / "bsi"
    shutil.copytree(BSI_DATASET, folder)
    path = folder / name
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[position] ^= 0x80
    path.write_bytes(bytes(data))
    return folder


@pytest.mark.parametrize(("name", "position"), [("Datagroup2.bin", 5000), ("Datagroup14.bin", 0)])
def test_flipped_data_group_byte_is_invalid(tmp_path: Path, name: str, position: int) -> None:
    result = _run(_bsi_copy(tmp_path, name, position), "--at", "2014-06-01")
    assert result.exit_code == 1, result.output


def test_flipped_security_object_byte_is_invalid(tmp_path: Path) -> None:
    sod = (BSI_DATASET / "EF_SOD.bin").read_bytes()
    content = parse_sod(sod).signed_data.content
    position = sod.index(content) + len(content) - 1  # last byte of the DG4 hash (listed last)
    result = _run(_bsi_copy(tmp_path, "EF_SOD.bin", position), "--at", "2014-06-01", "--json")
    assert result.exit_code == 1
    failed = [c for c in json.loads(result.output)["checks"] if c["status"] == "failed"]
    assert [(c["kind"], c["subject"]) for c in failed] == [
        ("dg-hash", "DG4"),
        ("sod-signed-attributes", "message-digest"),
    ]


# -- a freshly issued Vietnamese document ---------------------------------------------------


@dataclass(frozen=True)
class Document:
    pki: Pki
    csca: Issued
    ds: Issued
    folder: Path


def _save(pki: Pki, ds: Issued, folder: Path, **sod_options: Any) -> Path:
    files = sample_files(SampleCard())
    data_groups = {fid & 0xFF: data for fid, data in files.items() if 0x0101 <= fid <= 0x0110}
    folder.mkdir()
    for number, data in data_groups.items():
        (folder / f"DG{number}.bin").write_bytes(data)
    (folder / "EF_COM.bin").write_bytes(files[0x011E])
    (folder / "EF_SOD.bin").write_bytes(pki.sod(ds, data_groups, **sod_options))
    return folder


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Document:
    pki = Pki(seed=5)
    csca = pki.csca(Algorithm.ECDSA_BRAINPOOL_P512R1)
    ds = pki.document_signer(csca, Algorithm.ECDSA_BRAINPOOL_P256R1)
    root = tmp_path_factory.mktemp("vn")
    return Document(pki, csca, ds, _save(pki, ds, root / "card"))


def test_verified_with_the_csca(document: Document, tmp_path: Path) -> None:
    pem = document.csca.write_pem(tmp_path / "csca.pem")
    result = _run(document.folder, "--csca", pem, "--at", "2025-06-01")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("VERIFIED")
    assert "CSCA country VN matches issuing state VNM" in result.output
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "csca.der").write_bytes(document.csca.der)
    assert _run(document.folder, "--csca", folder, "--at", "2025-06-01").exit_code == 0


def test_the_verdict_sets_the_exit_code() -> None:
    assert dict(VERDICT_EXIT_CODES) == {
        Verdict.VERIFIED: 0,
        Verdict.INVALID: 1,
        Verdict.UNTRUSTED: 3,
    }


def test_quirks_are_verified_and_shown_as_findings(document: Document, tmp_path: Path) -> None:
    folder = _save(
        document.pki,
        document.ds,
        tmp_path / "quirks",
        content_type="1.2.840.113549.1.7.1",
        issuer_rdn_order=(1, 0, 2),
    )
    pem = document.csca.write_pem(tmp_path / "csca.pem")
    text = _run(folder, "--csca", pem, "--at", "2025-06-01", "--no-identity")
    assert text.exit_code == 0, text.output
    findings = [line.split()[:3] for line in text.output.splitlines() if "  finding " in line]
    assert findings == [
        ["finding", "non-standard-content-type", "EF.SOD:"],
        ["finding", "signer-identifier-name-order", "EF.SOD:"],
    ]
    result = _run(folder, "--csca", pem, "--at", "2025-06-01", "--json", "--no-identity")
    report = json.loads(result.output)
    assert (report["verdict"], report["exit_code"]) == ("VERIFIED", 0)
    assert [(f["kind"], f["subject"]) for f in report["findings"]] == [
        ("non-standard-content-type", "EF.SOD"),
        ("signer-identifier-name-order", "EF.SOD"),
    ]
    assert report["findings"][1]["detail"].startswith(
        "issuerAndSerialNumber lists the issuer's RDNs as O, C, CN, the certificate as C, O, CN"
    )


def test_verified_with_a_master_list(document: Document, tmp_path: Path) -> None:
    signer = document.pki.master_list_signer(document.csca, Algorithm.ECDSA_P256)
    path = tmp_path / "vn.ml"
    path.write_bytes(document.pki.master_list(signer, [document.csca]))
    result = _run(document.folder, "--masterlist", path, "--at", "2025-06-01")
    assert result.exit_code == 0, result.output
    tampered = bytearray(path.read_bytes())
    tampered[-5] ^= 0x01  # inside the signature, the last field of the SignerInfo
    path.write_bytes(bytes(tampered))
    refused = _run(document.folder, "--masterlist", path)
    assert refused.exit_code == 2
    assert "master list refused" in refused.output and "signature does not verify" in (
        refused.output
    )


def test_revoked_signer_and_unknown_anchor(document: Document, tmp_path: Path) -> None:
    pem = document.csca.write_pem(tmp_path / "csca.pem")
    crl = tmp_path / "vn.crl"
    crl.write_bytes(document.pki.crl(document.csca, [document.ds]))
    revoked = _run(document.folder, "--csca", pem, "--crl", crl, "--at", "2025-06-01")
    assert revoked.exit_code == 1, revoked.output
    assert "the DS certificate was revoked on" in revoked.output
    assert _run(document.folder, "--at", "2025-06-01").exit_code == 3


def test_wrong_country_and_expired_signer(document: Document, tmp_path: Path) -> None:
    pki = document.pki
    german = pki.csca(Algorithm.ECDSA_P256, country="DE")
    pem = german.write_pem(tmp_path / "de.pem")
    folder = _save(pki, pki.document_signer(german, Algorithm.ECDSA_P256), tmp_path / "de")
    result = _run(folder, "--csca", pem, "--at", "2025-06-01", "--json")
    assert result.exit_code == 1
    country = next(c for c in json.loads(result.output)["checks"] if c["kind"] == "country")
    assert (country["status"], country["reason"]) == (
        "failed",
        "issued by VNM but the CSCA is from DE",
    )
    expired = pki.document_signer(
        document.csca,
        Algorithm.ECDSA_P256,
        not_before=pki.now - timedelta(days=2),
        not_after=pki.now - timedelta(days=1),
    )
    old = _save(pki, expired, tmp_path / "old")
    csca = document.csca.write_pem(tmp_path / "csca.pem")
    assert _run(old, "--csca", csca, "--at", "2025-06-01").exit_code == 1


def test_usage_and_io_errors(tmp_path: Path) -> None:
    assert _run(tmp_path / "absent").exit_code == 2
    assert "holds no EF file" in _run(tmp_path).output
    assert _run(tmp_path).exit_code == 2
    assert _run(BSI_DATASET, "--at", "01/06/2014").exit_code == 2
    assert _run(BSI_DATASET, "--csca", tmp_path / "absent.pem").exit_code == 2
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")
    result = _run(BSI_DATASET, "--csca", junk)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {junk}: malformed certificate")


def test_installed_command_as_a_subprocess() -> None:
    completed = subprocess.run(
        [str(CCCD), "verify", str(BSI_DATASET), "--at", "2014-06-01", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3, completed.stderr
    assert json.loads(completed.stdout)["verdict"] == "UNTRUSTED"
