"""The four installed commands: ``--version``, their help and their exit codes."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk.__main__ import main as kiosk_main
from kiosk.config import default_config_text
from simulators.bhxh_gateway.__main__ import main as gateway_main

BIN = Path(sys.executable).parent


def _run(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / command, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("command", ["cccd", "cccd-sim", "cccd-hospital", "cccd-kiosk"])
def test_version(command: str) -> None:
    result = _run(command, "--version")
    expected = f"{command}, version {version('cccd-toolkit')}\n"
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


@pytest.mark.parametrize(
    ("command", "option"), [("gateway", "--personas N"), ("his", "--mllp-port")]
)
def test_simulator_help_names_the_subcommand(command: str, option: str) -> None:
    result = _run("cccd-sim", command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: cccd-sim {command} [OPTIONS]\n")
    assert option in result.stdout


def test_gateway_options_exclude_each_other() -> None:
    result = CliRunner().invoke(gateway_main, ["--personas", "2", "--people", "3"])
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: give --personas or --people, not both\n")


def test_kiosk_help_is_plain_text() -> None:
    result = _run("cccd-kiosk", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: cccd-kiosk [OPTIONS]\n\n  Start the hospital check-in")
    for option in ("--config FILE", "--windowed", "--print-config", "--autopilot", "--verbose"):
        assert option in result.stdout
    assert "``" not in result.stdout
    assert "::" not in result.stdout


def test_kiosk_help_does_not_load_qt() -> None:
    code = (
        "import sys\n"
        "from kiosk.__main__ import main\n"
        "main(['--help'], standalone_mode=False)\n"
        "sys.exit('PySide6' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_kiosk_print_config() -> None:
    result = CliRunner().invoke(kiosk_main, ["--print-config"])
    assert (result.exit_code, result.stdout) == (0, default_config_text())


def test_kiosk_configuration_problem(tmp_path: Path) -> None:
    missing = tmp_path / "kiosk.toml"
    result = CliRunner().invoke(kiosk_main, ["--config", str(missing)])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"cccd-kiosk: {missing}: 1 problem\n  file: cannot read: No such file or directory\n",
    )
