"""Status words and their mapping to exceptions, in one place (ISO/IEC 7816-4 §5.6)."""

from __future__ import annotations

import enum

from cardreader.errors import (
    FileNotFoundOnCardError,
    SecurityStatusError,
    StatusWordError,
    WrongLengthError,
)


class StatusWord(enum.IntEnum):
    """Status words an eMRTD reader meets (ISO/IEC 7816-4 tables 5–6, ICAO 9303-11)."""

    SUCCESS = 0x9000
    END_OF_FILE_WARNING = 0x6282
    WRONG_LENGTH = 0x6700
    SM_DATA_OBJECTS_MISSING = 0x6987
    SM_DATA_OBJECTS_INCORRECT = 0x6988
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6983
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    UNKNOWN_ERROR = 0x6F00


SW1_BYTES_AVAILABLE = 0x61
"""SW1 of ``61xx``: xx more bytes available with GET RESPONSE."""
SW1_WRONG_LE = 0x6C
"""SW1 of ``6Cxx``: wrong Le, xx is the exact length."""
SW1_WRONG_LENGTH_CLASS = 0x67

_EXCEPTIONS: dict[int, type[StatusWordError]] = {
    StatusWord.SECURITY_STATUS_NOT_SATISFIED: SecurityStatusError,
    StatusWord.FILE_NOT_FOUND: FileNotFoundOnCardError,
    StatusWord.WRONG_LENGTH: WrongLengthError,
}


def describe(sw: int) -> str:
    """A short human description of ``sw`` (falls back to the hex value)."""
    if sw >> 8 == SW1_WRONG_LE:
        return f"wrong length, the card expects {sw & 0xFF or 256}"
    try:
        return StatusWord(sw).name.replace("_", " ").lower()
    except ValueError:
        return f"status {sw:04X}"


def check_status(sw: int) -> None:
    """Raise the exception for ``sw`` unless it is 9000."""
    if sw == StatusWord.SUCCESS:
        return
    if sw >> 8 in (SW1_WRONG_LE, SW1_WRONG_LENGTH_CLASS):
        raise WrongLengthError(sw, f"card returned {sw:04X} ({describe(sw)})")
    cls = _EXCEPTIONS.get(sw, StatusWordError)
    raise cls(sw, f"card returned {sw:04X} ({describe(sw)})")
