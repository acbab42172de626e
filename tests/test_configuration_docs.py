"""docs/configuration.md: its keys table is the schema's, and its bad-configuration matrix is
what ``cccd-kiosk --check-config`` and ``cccd-hospital check`` answer (issue #13 item 4)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from click.testing import CliRunner

from hospital_adapter.cli import main as hospital_main
from kiosk.__main__ import main as kiosk_main

DOCS = Path(__file__).parents[1] / "docs"


def _tables() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "configuration_tables", DOCS / "configuration_tables.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _section(markers: tuple[str, str]) -> list[str]:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    start, end = text.index(markers[0]) + len(markers[0]), text.index(markers[1])
    return text[start:end].strip().splitlines()[2:]  # without the header


def _in_process(args: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    command = {"cccd-kiosk": kiosk_main, "cccd-hospital": hospital_main}[args[0]]
    result = CliRunner().invoke(command, args[1:], env=env)
    return result.exit_code, result.output


def test_every_key_of_the_schema_is_documented_with_its_range() -> None:
    tables = _tables()
    assert _section(tables.KEYS) == list(tables.key_rows())


def test_the_matrix_is_what_the_commands_answer(tmp_path: Path) -> None:
    tables = _tables()
    assert _section(tables.MATRIX) == list(tables.matrix_rows(_in_process, tmp_path))
