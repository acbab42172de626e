"""DG1: the machine readable zone (ICAO 9303-10 §4.7.1).

``61 { 5F1F MRZ }``; the MRZ is parsed by :func:`cardreader.mrz.parse_mrz` (TD1, TD2 or
TD3), which verifies and reports every check digit instead of failing on the first bad one.
"""

from __future__ import annotations

from cardreader.errors import ParseError
from cardreader.lds.tags import LdsTag, unwrap
from cardreader.mrz import Mrz, parse_mrz

MRZ_TAG = 0x5F1F
"""The MRZ data element inside DG1 (ICAO 9303-10 §4.7.1)."""


def parse_dg1(data: bytes) -> Mrz:
    """Parse DG1 into the MRZ with its check digits (the result's ``valid`` says if all hold)."""
    mrz = unwrap(data, LdsTag.DG1).require(MRZ_TAG).value
    try:
        text = mrz.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ParseError("the MRZ in DG1 holds non-ASCII bytes") from exc
    return parse_mrz(text)
