"""The kiosk's card port: what a card read gives the flow, and the port that reads it.

The flow never sees a transport or a data group: a :class:`CardReaderPort` opens the chip
with the given credentials, reports progress, then the identity as soon as the identity
files are verified, already as the hospital's :class:`hospital_adapter.PatientIdentity`,
then the photo (DG2, read after the identity). Adapters live in :mod:`kiosk.card_pcsc`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from cardreader import CardError, Credentials
from hospital_adapter import IdentityTrust, PatientIdentity


class Trust(enum.Enum):
    """The verdict of passive and chip authentication, as the kiosk acts on it (issue #3)."""

    VERIFIED = "verified"
    """Integrity, genuineness and the chain to a known CSCA are proven."""
    UNTRUSTED = "untrusted"
    """Every proof that could be made holds, but the signer's CSCA is unknown."""
    INVALID = "invalid"
    """A proof failed: altered or cloned data. Refused, sent to the counter."""

    @property
    def identity_trust(self) -> IdentityTrust:
        """The trust level the hospital records for an identity the chip gave with this
        verdict (an INVALID one is refused before it reaches the hospital)."""
        return IdentityTrust.CHIP if self is Trust.VERIFIED else IdentityTrust.CHIP_UNTRUSTED


class CardInvalidError(CardError):
    """The chip failed verification and its fields do not even make one identity: the
    verdict (a forged or damaged card) is what the patient is told, not the fields."""


@dataclass(frozen=True)
class IdentityRead:
    """What the chip says, as the one record the adapter takes, with the chip's verdict.

    ``identity`` is the hospital's :class:`hospital_adapter.PatientIdentity` (DG13 with the
    MRZ of DG1, docs/domain.md §2), its ``trust`` the verdict's (:attr:`Trust.identity_trust`).
    Beside it, what the screen shows and the adapter does not keep: the card's expiry
    (``None``: the card has no expiry, issued at 58 or older) and ``detail``, which explains
    the verdict to staff (no personal data: check names and reasons only).
    """

    identity: PatientIdentity
    trust: Trust
    detail: str = ""
    date_of_expiry: date | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.identity.trust is not self.trust.identity_trust:
            raise ValueError("the identity's trust does not match the chip's verdict")

    def expired_on(self, day: date) -> bool:
        return self.date_of_expiry is not None and self.date_of_expiry < day


class CardEvents(Protocol):
    """Called by a :class:`CardReaderPort` from its worker thread, in this order."""

    def progress(self, done: int, total: int) -> None:
        """Bytes read so far of all files, and the total expected."""

    def identity(self, read: IdentityRead) -> None:
        """The identity files are read and verified (before the photo is read)."""

    def photo(self, png: bytes | None, trust: Trust) -> None:
        """The face from DG2 as an image file Qt decodes (the chip's JPEG, or PGM/PPM
        pixels; ``None`` if unreadable), with the verdict once DG2's hash is checked too:
        INVALID here means the photo was altered."""


class CardReaderPort(Protocol):
    """Reads the card on the kiosk's reader. Blocking: run it off the GUI thread.

    Raises :class:`cardreader.errors.CardError` subclasses: ``CardRemovedError`` (pulled
    out), ``AccessDeniedError`` (wrong CAN), ``NoCardError``, other ``TransportError``
    and ``ParseError``; :class:`hospital_adapter.InvalidInputError` when the chip's fields
    contradict each other (no identity is then reported). An error after
    :meth:`CardEvents.identity` only loses the photo.
    """

    def read(self, credentials: Credentials, events: CardEvents) -> None: ...


def mask_id_number(id_number: str, visible: int = 4) -> str:
    """``079185012345`` → ``••••••••2345``: only the last ``visible`` digits on screen."""
    shown = id_number[-visible:] if visible > 0 else ""
    return "•" * (len(id_number) - len(shown)) + shown
