"""File identifiers of the eMRTD application (ICAO 9303-10 §4.6, docs/domain.md §2)."""

from __future__ import annotations

import enum

LDS_AID = bytes.fromhex("A0000002471001")
"""Application identifier of the LDS1 eMRTD application."""


class Ef(enum.Enum):
    """Elementary files: (file identifier, short EF identifier, file name for saving)."""

    CARD_ACCESS = (0x011C, 0x1C, "EF_CardAccess")
    CARD_SECURITY = (0x011D, 0x1D, "EF_CardSecurity")
    """In the master file, before the eMRTD application is selected (BSI TR-03110-3
    §A.1.2.5, ICAO 9303-10 §3.11.3); EF.SOD has the same identifier inside the application."""
    COM = (0x011E, 0x1E, "EF_COM")
    SOD = (0x011D, 0x1D, "EF_SOD")
    DG1 = (0x0101, 0x01, "DG1")
    DG2 = (0x0102, 0x02, "DG2")
    DG3 = (0x0103, 0x03, "DG3")
    DG4 = (0x0104, 0x04, "DG4")
    DG5 = (0x0105, 0x05, "DG5")
    DG6 = (0x0106, 0x06, "DG6")
    DG7 = (0x0107, 0x07, "DG7")
    DG8 = (0x0108, 0x08, "DG8")
    DG9 = (0x0109, 0x09, "DG9")
    DG10 = (0x010A, 0x0A, "DG10")
    DG11 = (0x010B, 0x0B, "DG11")
    DG12 = (0x010C, 0x0C, "DG12")
    DG13 = (0x010D, 0x0D, "DG13")
    DG14 = (0x010E, 0x0E, "DG14")
    DG15 = (0x010F, 0x0F, "DG15")
    DG16 = (0x0110, 0x10, "DG16")

    @property
    def fid(self) -> int:
        return self.value[0]

    @property
    def sfi(self) -> int:
        return self.value[1]

    @property
    def file_name(self) -> str:
        """Name used when saving the file: ``EF_COM.bin``, ``DG1.bin``, ..."""
        return f"{self.value[2]}.bin"


CCCD_FILES = (Ef.COM, Ef.DG1, Ef.DG13, Ef.DG14, Ef.DG15, Ef.SOD, Ef.DG2)
"""What a CCCD read fetches, identity first and the large DG2 photo last (docs/domain.md §2)."""
