"""``cccd-kiosk --check-config``, ``--hash-pin``, a refused start, and the staff PIN gate with
its growing lockout kept in the audit log (issue #13 items 2, 4 and 6)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hospital_adapter.cli import main as hospital_main
from hospital_adapter.store import Store
from kiosk.__main__ import main
from kiosk.admin import PinGate
from kiosk.config import AdminSettings, default_config_text
from kiosk.pin import PinHash, hash_pin

ROOT = Path(__file__).parents[2]
KEY = bytes(range(32))
ENV = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": "kiosk-password",
    "BHXH_STAFF_NAME": "Trần Thị Bình",
    "BHXH_STAFF_ID": "079190000001",
    "CCCD_HOSPITAL_KEY": KEY.hex(),
}
PIN = "8642"


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


def _kiosk_file(tmp_path: Path, pin_hash: str | None, extra: str = "") -> Path:
    text = default_config_text().replace(
        'path = "kiosk-store.sqlite3"', f'path = "{tmp_path / "store.sqlite3"}"'
    )
    if pin_hash is not None:
        text = text.replace(text.split("pin_hash = ")[1].split("\n")[0], f'"{pin_hash}"')
    path = tmp_path / "kiosk.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_check_config_valid(tmp_path: Path, pin_hash: str) -> None:
    path = _kiosk_file(tmp_path, pin_hash)
    result = CliRunner().invoke(main, ["--check-config", str(path)], env=ENV)
    assert (result.exit_code, result.output) == (0, f"{path}: configuration valid\n")
    assert not (tmp_path / "store.sqlite3").exists(), "checking starts nothing"


def test_check_config_lists_every_problem(tmp_path: Path, pin_hash: str) -> None:
    path = _kiosk_file(tmp_path, pin_hash)
    text = path.read_text().replace("attempts = 3 ", "attempts = 0 ")
    path.write_text(text.replace('backend = "pcsc"', 'backend = "nfc"'))
    result = CliRunner().invoke(main, ["--check-config", str(path)], env=ENV)
    assert (result.exit_code, result.output.splitlines()) == (
        2,
        [
            f"{path}: 3 problems",
            "  kiosk.digit_attempts: Input should be greater than or equal to 1",
            "  card.backend: unknown card backend 'nfc' (known: pcsc)",
            "  admin.attempts: Input should be greater than or equal to 1",
        ],
    )


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (
            ("[gateway]\n", "[gateway]\nattempts = 0\n"),
            "gateway.attempts: Input should be greater than or equal to 1",
        ),
        (
            ('backend = "pcsc"', 'backend = "nfc"'),
            "card.backend: unknown card backend 'nfc' (known: pcsc)",
        ),
        (
            ("csca = []", 'csca = ["/nonexistent/csca.pem"]'),
            "card.csca[0]: /nonexistent/csca.pem does not exist",
        ),
    ],
)
def test_start_with_a_bad_file_is_exit_2_without_traceback(
    tmp_path: Path, pin_hash: str, edit: tuple[str, str], line: str
) -> None:
    path = _kiosk_file(tmp_path, pin_hash)
    path.write_text(path.read_text().replace(*edit, 1))
    result = CliRunner().invoke(main, ["--config", str(path)], env=ENV)
    assert (result.exit_code, result.output) == (
        2,
        f"cccd-kiosk: {path}: 1 problem\n  {line}\n",
    )
    assert result.exc_info is not None and result.exc_info[0] is SystemExit


def test_start_refuses_the_default_pin_and_a_missing_store_folder(tmp_path: Path) -> None:
    path = _kiosk_file(tmp_path, None)
    result = CliRunner().invoke(main, ["--config", str(path)], env=ENV)
    assert (result.exit_code, result.output) == (
        2,
        f"cccd-kiosk: {path}: 1 problem\n"
        "  admin.pin_hash: is the default PIN 2468: make one with `cccd-kiosk --hash-pin`\n",
    )
    path.write_text(path.read_text().replace(str(tmp_path / "store"), str(tmp_path / "gone/store")))
    result = CliRunner().invoke(main, ["--config", str(path)], env=ENV)
    assert (result.exit_code, result.output) == (
        2,
        f"cccd-kiosk: {path}: 1 problem\n  store.path: folder {tmp_path / 'gone'} does not exist\n",
    )


def test_start_refuses_a_trust_anchor_that_is_no_certificate(tmp_path: Path, pin_hash: str) -> None:
    """Read behind the first screen (with the card backend), refused like a bad file: exit
    2 with the problem, not a kiosk left without a card reader."""
    path = _kiosk_file(tmp_path, pin_hash)
    csca = tmp_path / "csca.der"
    csca.write_bytes(b"\x30\x03\x02\x01\x01")  # a DER SEQUENCE, not a certificate
    path.write_text(path.read_text().replace("csca = []", f'csca = ["{csca}"]', 1))
    result = CliRunner().invoke(main, ["--config", str(path)], env=ENV)
    assert (result.exit_code, result.output) == (
        2,
        f"cccd-kiosk: {path}: 1 problem\n  card: a trust anchor cannot be loaded: {csca}:"
        ' malformed certificate: Field "signature_algorithm" is missing from structure\n',
    )


def test_an_unexpected_failure_behind_the_first_screen_ends_the_kiosk(
    tmp_path: Path, pin_hash: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **options: object) -> None:
        raise RuntimeError("the disk controller died")

    monkeypatch.setattr("kiosk.app.build_services", broken)
    path = _kiosk_file(tmp_path, pin_hash)
    result = CliRunner().invoke(main, ["--config", str(path)], env=ENV)
    assert result.exit_code == 1
    (record,) = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert record.getMessage() == "the kiosk could not start"
    assert record.exc_info is not None and str(record.exc_info[1]) == "the disk controller died"


def test_hash_pin_prints_a_hash_that_matches() -> None:
    result = CliRunner().invoke(main, ["--hash-pin"], input=f"{PIN}\n{PIN}\n")
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith('pin_hash = "$scrypt$ln=15,r=8,p=1$') and PIN not in line
    assert PinHash.parse(line.split('"')[1]).matches(PIN)
    short = CliRunner().invoke(main, ["--hash-pin"], input="12\n12\n")
    assert (short.exit_code, short.stderr.splitlines()[-1]) == (
        2,
        "cccd-kiosk: a staff PIN is 4 to 8 digits",
    )


def test_hospital_check_of_the_example_file() -> None:
    example = str(ROOT / "examples" / "hospital.toml")
    result = CliRunner().invoke(hospital_main, ["--config", example, "check"], env=ENV)
    assert (result.exit_code, result.output) == (0, f"{example}: configuration valid\n")
    no_file = CliRunner().invoke(
        hospital_main, ["check"], env={**ENV, "CCCD_HOSPITAL_CONFIG": None}
    )
    assert (no_file.exit_code, no_file.output) == (
        2,
        "Invalid input: give the file with --config or $CCCD_HOSPITAL_CONFIG\n",
    )


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_pin_lockout_grows_survives_a_restart_and_is_audited(tmp_path: Path, pin_hash: str) -> None:
    settings = AdminSettings(pin_hash=pin_hash, attempts=2, lockout_s=60, max_lockout_s=150)
    store, clock = Store(tmp_path / "store.sqlite3", KEY), Clock()
    gate = PinGate(settings, store, clock)
    assert not gate.check("1111") and gate.locked_for == 0
    assert gate.check(PIN), "the right PIN before the lockout opens, and starts over"
    lockouts = []
    for _ in range(3):
        assert not gate.check("0000") and not gate.check("0001")
        lockouts.append(gate.locked_for)
        assert not gate.check(PIN), "locked: even the right PIN is refused"
        clock.advance(gate.locked_for)
    assert lockouts == [60.0, 120.0, 150.0]
    assert not gate.check("0002") and not gate.check("0003")
    clock.advance(100)
    store.close()
    store = Store(tmp_path / "store.sqlite3", KEY)
    restarted = PinGate(settings, store, clock)
    assert restarted.locked_for == 50.0, "the lockout is read back from the audit log"
    clock.advance(50)
    assert restarted.check(PIN) and restarted.locked_for == 0
    entries = [(e.action, e.subject, e.detail) for e in store.audit_entries()]
    assert entries == [
        ("staff_pin_failed", "", "failures=1"),
        ("staff_pin_ok", "", ""),
        ("staff_pin_failed", "", "failures=1"),
        ("staff_pin_failed", "", "failures=2 locked_s=60"),
        ("staff_pin_failed", "", "failures=3"),
        ("staff_pin_failed", "", "failures=4 locked_s=120"),
        ("staff_pin_failed", "", "failures=5"),
        ("staff_pin_failed", "", "failures=6 locked_s=150"),
        ("staff_pin_failed", "", "failures=7"),
        ("staff_pin_failed", "", "failures=8 locked_s=150"),
        ("staff_pin_ok", "", ""),
    ]
    assert store.verify_audit() == len(entries)
    store.close()
