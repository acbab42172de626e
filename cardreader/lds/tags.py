"""Application tags that wrap each LDS elementary file (ICAO 9303-10 §4.6).

Every EF of the LDS1 application except EF.CardAccess is one BER-TLV data object whose tag
names the file: EF.COM ``60``, DG1 ``61``, DG2 ``75`` ... EF.SOD ``77``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from cardreader.errors import ParseError
from cardreader.files.ids import Ef
from cardreader.iso7816 import tlv


class LdsTag(enum.IntEnum):
    """The tag of each LDS file (ICAO 9303-10 §4.6, data group tags)."""

    COM = 0x60
    DG1 = 0x61
    DG2 = 0x75
    DG3 = 0x63
    DG4 = 0x76
    DG5 = 0x65
    DG6 = 0x66
    DG7 = 0x67
    DG8 = 0x68
    DG9 = 0x69
    DG10 = 0x6A
    DG11 = 0x6B
    DG12 = 0x6C
    DG13 = 0x6D
    DG14 = 0x6E
    DG15 = 0x6F
    DG16 = 0x70
    SOD = 0x77

    @property
    def ef(self) -> Ef:
        """The elementary file this tag wraps."""
        return Ef[self.name]


EF_BY_TAG: Mapping[int, Ef] = MappingProxyType({tag.value: tag.ef for tag in LdsTag})
"""Tag → file, for the data group presence list of EF.COM."""


def unwrap(data: bytes, tag: LdsTag) -> tlv.Tlv:
    """The single data object ``tag`` that spans all of ``data``; :class:`ParseError` else."""
    item = tlv.decode_single(data)
    if item.tag != tag:
        raise ParseError(f"{tag.ef.name} must start with tag {tag:02X}, not {item.tag:X}")
    return item
