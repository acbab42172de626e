"""The ``cccd-hospital`` CLI against the simulated gateway and HIS, with a real store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from hospital_adapter.cli import main
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus
from simulators.bhxh_gateway import DEFAULT_ACCOUNTS, Dataset, RunningGateway
from simulators.his import serve

from .conftest import STAFF_ID, STAFF_NAME
from .helpers import KEY, request_for

ENV = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": DEFAULT_ACCOUNTS["kiosk"],
    "BHXH_STAFF_NAME": STAFF_NAME,
    "BHXH_STAFF_ID": STAFF_ID,
    "CCCD_HOSPITAL_KEY": KEY.hex(),
}


def _lookup_args(dataset: Dataset, gateway: RunningGateway, outcome: str) -> list[str]:
    person = dataset.with_outcome(outcome).person
    return ["lookup", "--id", person.id_number, "--name", person.full_name,
            "--dob", f"{person.date_of_birth:%d/%m/%Y}", "--gateway", gateway.url]  # fmt: skip


def test_lookup_json(dataset: Dataset, gateway: RunningGateway) -> None:
    result = CliRunner().invoke(main, [*_lookup_args(dataset, gateway, "004"), "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    record = dataset.with_outcome("004")
    assert (data["code"], data["code_name"], data["decision"]) == (
        "004", "OLD_CARD_VALID_NEW_ISSUED", "insured",
    )  # fmt: skip
    assert data["card"]["card_number"] == record.new_card_number
    assert data["from_cache"] is False


def test_lookup_errors_have_exit_codes(dataset: Dataset, gateway: RunningGateway) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        main, _lookup_args(dataset, gateway, "000"), env={**ENV, "BHXH_STAFF_ID": ""}
    )
    assert missing.exit_code == 3
    assert "BHXH_STAFF_ID" in missing.output
    bad = runner.invoke(
        main, [*_lookup_args(dataset, gateway, "000")[:-2], "--dob", "1/1/90"], env=ENV
    )
    assert bad.exit_code == 2 and "Invalid input" in bad.output
    gateway.simulator.down = True
    down = runner.invoke(main, _lookup_args(dataset, gateway, "000"), env=ENV)
    assert down.exit_code == 1 and "try again later" in down.output


@pytest.fixture
def configured(tmp_path: Path, dataset: Dataset) -> tuple[Path, Path]:
    db = tmp_path / "kiosk.sqlite3"
    store = Store(db, KEY)
    for record in dataset.records[:3]:
        store.check_in(request_for(record), InsuranceStatus.TO_VERIFY_AT_COUNTER)
    store.close()
    return tmp_path / "hospital.toml", db


def _write_config(path: Path, db: Path, mllp_port: int) -> None:
    path.write_text(
        f'[store]\npath = "{db}"\n[his]\nkind = "hl7"\nport = {mllp_port}\n'
        '[hospital]\nfacility_code = "79024"\n',
        encoding="utf-8",
    )


def test_checkins_outbox_and_audit(configured: tuple[Path, Path]) -> None:
    config, db = configured
    runner = CliRunner()
    with serve() as his:
        _write_config(config, db, his.mllp.address[1])
        base = ["--config", str(config)]
        listing = runner.invoke(main, [*base, "checkins", "--json"], env=ENV)
        assert listing.exit_code == 0, listing.output
        rows = json.loads(listing.output)
        assert [r["ticket"] for r in rows] == [1, 2, 3]
        assert {r["registration"] for r in rows} == {"pending"}
        status = runner.invoke(main, [*base, "outbox", "status"], env=ENV)
        assert status.output.split() == ["pending", "3", "delivered", "0", "rejected", "0"]
        retry = runner.invoke(main, [*base, "outbox", "retry"], env=ENV)
        assert retry.exit_code == 0, retry.output
        assert retry.output.strip() == "re-queued 0; delivered 3, retrying 0, rejected 0"
        assert len(his.state.registrations) == 3
    verify = runner.invoke(main, [*base, "audit", "verify"], env=ENV)
    assert verify.output.strip() == "audit chain intact: 6 entries"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET action = 'x' WHERE seq = 4")
    broken = runner.invoke(main, [*base, "audit", "verify"], env=ENV)
    assert broken.exit_code == 4
    assert "audit chain broken at entry 4" in broken.output
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit SET action = 'delivered' WHERE seq = 4")  # undo the edit
        conn.execute("DELETE FROM audit WHERE seq = 6")
    truncated = runner.invoke(main, [*base, "audit", "verify"], env=ENV)
    assert truncated.exit_code == 4
    assert truncated.output.strip() == (
        "Store problem: audit chain broken at entry 6: the newest 1 entry is missing"
        " (the checkpoint counts 6)"
    )


def test_bad_config_and_missing_key(configured: tuple[Path, Path]) -> None:
    config, db = configured
    config.write_text("[gateway]\ntimeout_s = 'soon'\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "checkins"], env=ENV)
    assert result.exit_code == 3
    assert result.output == (
        "Configuration problem: gateway.timeout_s: Input should be a valid number\n"
    )
    _write_config(config, db, 1)
    nokey = runner.invoke(
        main, ["--config", str(config), "checkins"], env={**ENV, "CCCD_HOSPITAL_KEY": ""}
    )
    assert nokey.exit_code == 3
    assert nokey.output == (
        "Configuration problem: CCCD_HOSPITAL_KEY: not set, nor [store] key_file:"
        " a 32-byte hex key\n"
    )
