"""EF.COM: LDS and Unicode versions and the data group presence list (ICAO 9303-10 §4.6.1).

``60 { 5F01 LDS version "aabb", 5F36 Unicode version "aabbcc", 5C tag list }``. Tags in
the list that this library does not know are kept, not refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cardreader.errors import ParseError
from cardreader.files.ids import Ef
from cardreader.lds.tags import EF_BY_TAG, LdsTag, unwrap


class ComTag(enum.IntEnum):
    """Data objects inside EF.COM (ICAO 9303-10 §4.6.1)."""

    LDS_VERSION = 0x5F01
    UNICODE_VERSION = 0x5F36
    TAG_LIST = 0x5C


_LDS_VERSION_DIGITS = 4
_UNICODE_VERSION_DIGITS = 6


@dataclass(frozen=True, slots=True)
class EfCom:
    """The parsed EF.COM; versions as printed (``"0107"`` is LDS 1.7)."""

    lds_version: str
    unicode_version: str | None
    data_groups: tuple[Ef, ...]
    unknown_tags: tuple[int, ...] = ()

    @property
    def lds_version_number(self) -> tuple[int, int]:
        """(version, release): ``"0107"`` → ``(1, 7)``."""
        return int(self.lds_version[:2]), int(self.lds_version[2:])

    @property
    def unicode_version_number(self) -> tuple[int, int, int] | None:
        """(major, minor, release): ``"040000"`` → ``(4, 0, 0)``."""
        text = self.unicode_version
        if text is None:
            return None
        return int(text[:2]), int(text[2:4]), int(text[4:])


def _digits(value: bytes, count: int, name: str) -> str:
    text = value.decode("ascii", errors="replace")
    if len(value) != count or not text.isdigit() or not text.isascii():
        raise ParseError(f"{name} must be {count} ASCII digits")
    return text


def parse_com(data: bytes) -> EfCom:
    """Parse EF.COM (ICAO 9303-10 §4.6.1); the LDS version and tag list are mandatory."""
    com = unwrap(data, LdsTag.COM)
    lds = _digits(com.require(ComTag.LDS_VERSION).value, _LDS_VERSION_DIGITS, "LDS version")
    unicode_item = com.find(ComTag.UNICODE_VERSION)
    unicode_version = (
        None
        if unicode_item is None
        else _digits(unicode_item.value, _UNICODE_VERSION_DIGITS, "Unicode version")
    )
    groups: list[Ef] = []
    unknown: list[int] = []
    for tag in com.require(ComTag.TAG_LIST).value:
        ef = EF_BY_TAG.get(tag)
        if ef is None or ef in (Ef.COM, Ef.SOD):
            if tag not in unknown:
                unknown.append(tag)
        elif ef not in groups:
            groups.append(ef)
    return EfCom(lds, unicode_version, tuple(groups), tuple(unknown))
