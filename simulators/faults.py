"""Faults a virtual card can be issued or run with (issue #4), parsed from ``name[=value]``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar


class Fault(enum.Enum):
    """What goes wrong, and where it is applied."""

    REMOVED_AT = "removed-at"
    """Card pulled away when APDU number N arrives (transport or vpcd slot)."""
    SLOW = "slow"
    """The timing model runs in real time: the card is as slow as a real chip."""
    SHORT_LE = "short-le"
    """No extended length: 6700 to any Le the short form cannot carry."""
    SHORT_LE_ATR = "short-le-atr"
    """No extended length, and the ATR's card capabilities say so (ISO/IEC 7816-4
    §8.1.1.2.7): a reader that reads them never sends an extended Le."""
    NO_PACE = "no-pace"
    """EF.CardAccess lists no PACE: only BAC opens the chip."""
    PACE_FAILS = "pace-fails"
    """The chip offers PACE but refuses every password (a downgrade to BAC follows)."""
    CA_CLONE = "ca-clone"
    """Chip Authentication with another private key than DG14's."""
    AA_CLONE = "aa-clone"
    """Active Authentication with another private key than DG15's."""
    TAMPERED_DG = "tampered-dg"
    """One byte of data group N (default 1) changed after EF.SOD was signed."""
    BAD_SOD_SIGNATURE = "bad-sod-signature"
    EXPIRED_SIGNER = "expired-signer"
    """EF.SOD signed by a Document Signer whose certificate has expired."""
    UNKNOWN_SIGNER = "unknown-signer"
    """EF.SOD signed under a CSCA nobody trusts."""
    SIGNER_NAME_ORDER = "signer-name-order"
    """A genuine quirk: EF.SOD's issuerAndSerialNumber lists the RDNs of the DS
    certificate's issuer in another order (docs/verification.md §3.1)."""
    ID_DATA_SOD = "id-data-sod"
    """A genuine quirk: EF.SOD's eContentType and content-type attribute are id-data
    instead of id-icao-ldsSecurityObject (docs/verification.md §3.2)."""


E = TypeVar("E", bound=enum.Enum)


def parse_named(text: str, kind: type[E], what: str) -> tuple[E, int | None]:
    """``name`` or ``name=N`` → the enum member named and N; ValueError listing the choices."""
    name, _, value = text.partition("=")
    try:
        member = kind(name.strip())
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise ValueError(f"unknown {what} {name!r}; choose from: {choices}") from None
    return member, int(value) if value else None


@dataclass(frozen=True)
class FaultSpec:
    fault: Fault
    value: int | None = None

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """``removed-at=12``, ``tampered-dg=13``, ``slow``; ValueError with the choices."""
        fault, value = parse_named(text, Fault, "fault")
        if fault is Fault.REMOVED_AT and value is None:
            raise ValueError("removed-at needs an APDU number: removed-at=N")
        return cls(fault, value)

    def __str__(self) -> str:
        return self.fault.value if self.value is None else f"{self.fault.value}={self.value}"


def find(faults: tuple[FaultSpec, ...], fault: Fault) -> FaultSpec | None:
    return next((spec for spec in faults if spec.fault is fault), None)
