"""Access to the test vectors in tests/vectors (sources and terms: tests/vectors/README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
BSI_DATASET = VECTORS_DIR / "bsi-tr03105-5"


@cache
def icao9303_part11() -> dict[str, Any]:
    """The ICAO 9303-11 worked examples (hex strings, upper case)."""
    data: dict[str, Any] = json.loads((VECTORS_DIR / "icao9303-part11.json").read_text())
    return data


def h(value: str) -> bytes:
    """Bytes of a hex string from the vector file."""
    return bytes.fromhex(value)
