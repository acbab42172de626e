"""``cccd-hospital queue`` and ``call`` on the hospital's PostgreSQL store (the URL in the
file, the password from PGPASSWORD) and on the SQLite file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from hospital_adapter.cli import main
from hospital_adapter.store import Store
from hospital_adapter.visit import InsuranceStatus, Priority
from simulators.bhxh_gateway import Dataset

from .helpers import KEY, request_for


@pytest.fixture(params=["sqlite", "postgresql"])
def configured(
    request: pytest.FixtureRequest, tmp_path: Path, dataset: Dataset
) -> tuple[Path, dict[str, str]]:
    env = {"CCCD_HOSPITAL_KEY": KEY.hex()}
    if request.param == "sqlite":
        location = str(tmp_path / "hospital.sqlite3")
        table = f'[store]\npath = "{location}"\n'
    else:
        location = request.getfixturevalue("pg_url")
        parts = urlsplit(location)
        env["PGPASSWORD"] = parts.password or ""
        bare = parts._replace(netloc=f"{parts.username}@{parts.hostname}:{parts.port}")
        table = f'[store]\nurl = "{urlunsplit(bare)}"\n'
    store = Store(location, KEY)
    kinds = [Priority.NONE, Priority.NONE, Priority.ELDERLY]
    for record, priority in zip(dataset.records, kinds, strict=False):
        request_ = replace(request_for(record, "K03"), priority=priority)
        store.check_in(request_, InsuranceStatus.TO_VERIFY_AT_COUNTER)
    store.close()
    config = tmp_path / "hospital.toml"
    config.write_text(table, encoding="utf-8")
    return config, env


def test_call_and_queue(configured: tuple[Path, dict[str, str]]) -> None:
    config, env = configured
    runner = CliRunner()
    called = runner.invoke(main, ["--config", str(config), "call", "K03", "--room", "203"], env=env)
    assert (called.exit_code, called.output) == (0, "K03 003 -> room 203\n")  # priority first
    listed = runner.invoke(main, ["--config", str(config), "queue", "--department", "K03"], env=env)
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "waiting 2, called 1, served 0",
        "K03 001 - waiting",
        "K03 002 - waiting",
        "K03 003 P called   room 203",
    ]
    as_json = runner.invoke(main, ["--config", str(config), "queue", "--json"], env=env)
    entries = json.loads(as_json.output)
    assert [(e["ticket"], e["status"], e["room"], e["priority"]) for e in entries] == [
        (1, "waiting", "", False),
        (2, "waiting", "", False),
        (3, "called", "203", True),
    ]
    assert set(entries[0]) == {
        "department", "ticket", "status", "priority", "arrived_at", "room", "called_at",
    }  # fmt: skip
    for expected in ("K03 001 -> room 204", "K03 002 -> room 204", "K03: nobody waiting"):
        step = runner.invoke(
            main, ["--config", str(config), "call", "K03", "--room", "204"], env=env
        )
        assert (step.exit_code, step.output) == (0, expected + "\n")


def test_a_bad_room_and_an_unreachable_store(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CCCD_HOSPITAL_KEY": KEY.hex()}
    db = tmp_path / "hospital.sqlite3"
    config = tmp_path / "hospital.toml"
    config.write_text(f'[store]\npath = "{db}"\n', encoding="utf-8")
    bad = runner.invoke(main, ["--config", str(config), "call", "K03", "--room", ""], env=env)
    assert bad.exit_code == 2 and "room" in bad.output
    config.write_text('[store]\nurl = "postgresql://cccd@127.0.0.1:1/cccd"\n', encoding="utf-8")
    down = runner.invoke(main, ["--config", str(config), "queue"], env=env)
    assert down.exit_code == 4, down.output
    assert "cannot be reached" in down.output
    config.write_text('[store]\nurl = "postgresql://cccd:secret@db/cccd"\n', encoding="utf-8")
    leaked = runner.invoke(main, ["--config", str(config), "queue"], env=env)
    assert leaked.exit_code == 3
    assert "store.url" in leaked.output and "PGPASSWORD" in leaked.output
    assert "secret" not in leaked.output
