"""``cccd-hospital history`` and ``cccd-hospital xml0 sign|verify|build|submit|receipt``
against the simulated gateway, a real store, a PKCS#12 file, a SoftHSM2 token and xmlsec1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hospital_adapter.cli import main
from hospital_adapter.gateway import CoverageCard
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus
from hospital_adapter.xml0 import Xml0Facility, build_xml0
from simulators.bhxh_gateway import Dataset, RunningGateway

from .facility_pki import P12_PASSWORD, TOKEN_LABEL, USER_PIN, FacilityPki, xmlsec1_verify
from .helpers import KEY, request_for, sample_visit
from .test_cli import ENV

SIGNING_ENV = {**ENV, "CCCD_XML0_P12_PASSWORD": P12_PASSWORD, "CCCD_XML0_TOKEN_PIN": USER_PIN}
SERVICE = ["--service-code", "02.1896", "--service-name", "Khám Nội"]


@pytest.fixture
def unsigned(tmp_path: Path) -> Path:
    path = tmp_path / "xml0.xml"
    path.write_bytes(build_xml0(sample_visit(), Xml0Facility("79024", "02.1896", "Khám Nội")))
    return path


def test_sign_with_pkcs12_then_verify_and_a_changed_byte_fails(
    unsigned: Path, facility: FacilityPki, tmp_path: Path
) -> None:
    runner = CliRunner()
    signed = tmp_path / "xml0.signed.xml"
    result = runner.invoke(
        main, ["xml0", "sign", str(unsigned), "--p12", str(facility.p12)], env=SIGNING_ENV
    )
    assert (result.exit_code, result.output) == (0, f"signed {unsigned} -> {signed}\n")
    assert xmlsec1_verify(signed, facility.certificate_pem).returncode == 0
    ok = runner.invoke(
        main, ["xml0", "verify", str(signed), "--cert", str(facility.certificate_pem)]
    )
    subject = facility.certificate.subject.rfc4514_string()
    serial = f"{facility.certificate.serial_number:x}"
    assert (ok.exit_code, ok.output) == (
        0,
        f"signature valid: signed by {subject} (serial {serial}) with the pinned certificate\n",
    )
    unpinned = runner.invoke(main, ["xml0", "verify", str(signed)])
    assert unpinned.exit_code == 0 and "not checked against any trust anchor" in unpinned.output
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace(b"<STT>1</STT>", b"<STT>7</STT>"))
    bad = runner.invoke(main, ["xml0", "verify", str(tampered)])
    assert bad.exit_code == 5
    assert bad.output.startswith("Signature problem: signature does not verify: Digest mismatch")


def test_sign_with_the_softhsm_token(
    unsigned: Path, facility: FacilityPki, softhsm_token: str, tmp_path: Path
) -> None:
    out = tmp_path / "token.xml"
    args = ["xml0", "sign", str(unsigned), "--pkcs11", softhsm_token, "--token", TOKEN_LABEL]
    result = CliRunner().invoke(main, [*args, "--out", str(out)], env=SIGNING_ENV)
    assert result.exit_code == 0, result.output
    done = xmlsec1_verify(out, facility.certificate_pem)
    assert (done.returncode, done.stderr.splitlines()[0]) == (0, "OK")
    nopin = CliRunner().invoke(main, args, env={**SIGNING_ENV, "CCCD_XML0_TOKEN_PIN": ""})
    assert nopin.exit_code == 3
    assert nopin.output == (
        "Configuration problem: CCCD_XML0_TOKEN_PIN: set it to the token's user PIN\n"
    )


@pytest.mark.parametrize(
    "extra",
    [[], ["--p12", "a.p12", "--pkcs11", "lib.so", "--token", "T"], ["--pkcs11", "lib.so"]],
)
def test_sign_needs_exactly_one_key_source(extra: list[str], unsigned: Path) -> None:
    result = CliRunner().invoke(main, ["xml0", "sign", str(unsigned), *extra], env=SIGNING_ENV)
    assert result.exit_code == 2
    assert result.output.startswith("Invalid input: invalid --")


def test_history_json(dataset: Dataset, gateway: RunningGateway) -> None:
    record = next(r for r in dataset.records if r.history and r.scenario.linked)
    person = record.person
    args = ["history", "--id", person.id_number, "--name", person.full_name,
            "--dob", f"{person.date_of_birth:%d/%m/%Y}", "--gateway", gateway.url,
            "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args, env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["code"] == "000"
    assert [v["record_id"] for v in data["visits"]] == [v.record_id for v in record.history]
    assert data["visits"][0]["admitted_at"] == record.history[0].admitted_at.isoformat()


def test_build_submit_and_receipt_from_the_store(
    dataset: Dataset, gateway: RunningGateway, facility: FacilityPki, tmp_path: Path
) -> None:
    gateway.simulator.register_facility("79024", facility.certificate_pem.read_bytes())
    db, config = tmp_path / "h.sqlite3", tmp_path / "hospital.toml"
    config.write_text(
        f'[gateway]\nurl = "{gateway.url}"\n[store]\npath = "{db}"\n'
        '[hospital]\nfacility_code = "79024"\n',
        encoding="utf-8",
    )
    record = dataset.with_outcome("000")
    card = CoverageCard(record.card_number, record.valid_from, record.valid_to, record.facility)
    store = Store(db, KEY)
    visit = store.check_in(
        request_for(record), InsuranceStatus.VERIFIED, insurance_code="000", coverage=card,
        now=datetime.now(UTC),
    )  # fmt: skip
    store.close()
    runner, base = CliRunner(), ["--config", str(config), "xml0"]
    built = runner.invoke(main, [*base, "build", visit.checkin_id, *SERVICE], env=ENV)
    assert built.exit_code == 0, built.output
    assert f"<MA_LK>{visit.checkin_id}</MA_LK>" in built.output
    assert f"<MA_THE_BHYT>{record.card_number}</MA_THE_BHYT>" in built.output
    submit = [*base, "submit", "--province", "79", *SERVICE, "--p12", str(facility.p12)]
    first = runner.invoke(main, submit, env=SIGNING_ENV)
    assert (first.exit_code, first.output) == (0, "reported 1, retrying 0, rejected 0\n")
    again = runner.invoke(main, submit, env=SIGNING_ENV)
    assert again.output == "reported 0, retrying 0, rejected 0\n"
    ((receipt, _),) = gateway.simulator.reports.values()
    shown = runner.invoke(main, [*base, "receipt", visit.checkin_id], env=ENV)
    assert shown.output == (
        f"delivered {receipt.transaction_id} {receipt.received_at:%Y%m%d%H%M%S}\n"
    )


def test_submit_takes_what_no_option_gives_from_the_xml0_table(
    dataset: Dataset, gateway: RunningGateway, facility: FacilityPki, tmp_path: Path
) -> None:
    gateway.simulator.register_facility("79024", facility.certificate_pem.read_bytes())
    db, config = tmp_path / "h.sqlite3", tmp_path / "hospital.toml"
    text = (
        f'[gateway]\nurl = "{gateway.url}"\n[store]\npath = "{db}"\n'
        '[hospital]\nfacility_code = "79024"\n'
        '[xml0]\nprovince = "79"\nservice_code = "02.1896"\nservice_name = "Khám Nội"\n'
    )
    config.write_text(text, encoding="utf-8")
    record = dataset.with_outcome("000")
    card = CoverageCard(record.card_number, record.valid_from, record.valid_to, record.facility)
    store = Store(db, KEY)
    store.check_in(
        request_for(record), InsuranceStatus.VERIFIED, insurance_code="000", coverage=card,
        now=datetime.now(UTC),
    )  # fmt: skip
    store.close()
    runner, base = CliRunner(), ["--config", str(config), "xml0"]
    no_key = runner.invoke(main, [*base, "submit"], env=SIGNING_ENV)
    assert (no_key.exit_code, no_key.output) == (
        3,
        "Configuration problem: xml0.p12: required when enabled (or pkcs11_module and token):"
        " the key\n",
    )
    config.write_text(text + f'p12 = "{facility.p12}"\n', encoding="utf-8")
    status = [*base, "status"]
    assert runner.invoke(main, status, env=ENV).output == (
        "pending    1\ndelivered  0\nrejected   0\n"
    )
    first = runner.invoke(main, [*base, "submit"], env=SIGNING_ENV)
    assert (first.exit_code, first.output) == (0, "reported 1, retrying 0, rejected 0\n")
    ((_, fields),) = gateway.simulator.reports.values()
    assert (fields["MA_DICH_VU"], fields["TEN_DICH_VU"]) == ("02.1896", "Khám Nội")
    assert runner.invoke(main, status, env=ENV).output == (
        "pending    0\ndelivered  1\nrejected   0\n"
    )
