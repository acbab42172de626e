"""What the kiosk imports before its first screen (issue 16 item 7), and the lazily loaded
public names of the packages it uses.

``cardreader`` and ``hospital_adapter`` (and the gateway, HIS and store packages) list their
public names once, in ``__init__.pyi``; ``lazy_loader`` imports each from its module on first
use. The first screen then needs neither the card's verification nor the HTTP, XML, database
or imaging libraries: they load behind it.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

HEAVY = (
    "PIL",
    "asn1crypto",
    "cardreader.verified_read",
    "cryptography",
    "httpx",
    "hospital_adapter.outbox",
    "hospital_adapter.store.db",
    "hospital_adapter.xml0_report",
    "lxml",
    "pkcs11",
    "psycopg",
    "signxml",
    "smartcard",
    "sqlite_utils",
)
"""Modules that are slow to import and that no first screen needs."""

_PROBE = """
import json, sys
import kiosk.config, kiosk.qt.app
print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))
"""

LAZY_PACKAGES = (
    "cardreader",
    "hospital_adapter",
    "hospital_adapter.gateway",
    "hospital_adapter.his",
    "hospital_adapter.store",
)


def test_the_first_screen_imports_none_of_the_slow_libraries() -> None:
    answer = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(answer.stdout) == []


def _stub_names(package: ModuleType) -> dict[str, str]:
    """Public name → the module it comes from, as the package's ``__init__.pyi`` lists them."""
    assert package.__file__ is not None
    stub = Path(package.__file__).with_suffix(".pyi")
    return {
        alias.name: f"{package.__name__}.{node.module}"
        for node in ast.parse(stub.read_text()).body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_is_its_module_s(name: str) -> None:
    package = importlib.import_module(name)
    names = _stub_names(package)
    assert sorted(package.__all__) == sorted(names)
    for public, module in names.items():
        assert getattr(package, public) is getattr(importlib.import_module(module), public)
    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = package.NoSuchName
