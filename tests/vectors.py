"""Access to the test vectors in tests/vectors (sources and terms: tests/vectors/README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"
BSI_DATASET = VECTORS_DIR / "bsi-tr03105-5"
BSI_BDR_2008 = VECTORS_DIR / "bsi-bdr-2008"
NL_SDU_2006 = VECTORS_DIR / "nl-sdu-2006"
ETSI_PLUGTEST_SOD = VECTORS_DIR / "etsi-plugtest-sod"
PYMRTD_ID_DATA_SOD = VECTORS_DIR / "pymrtd-id-data-sod"
JMRTD_CARD_SECURITY = VECTORS_DIR / "jmrtd-cardsecurity"
DE_MASTER_LIST = VECTORS_DIR / "de-masterlist" / "DE_ML_2024-12-19-10-09-11.ml"
MRZ_SPECIMENS = VECTORS_DIR / "mrz-specimens.json"


@cache
def icao9303_part11() -> dict[str, Any]:
    """The ICAO 9303-11 worked examples (hex strings, upper case)."""
    data: dict[str, Any] = json.loads((VECTORS_DIR / "icao9303-part11.json").read_text())
    return data


def h(value: str) -> bytes:
    """Bytes of a hex string from the vector file."""
    return bytes.fromhex(value)
