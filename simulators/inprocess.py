"""An in-process transport: the reader talks straight to a simulated card (fast unit tests)."""

from __future__ import annotations

from typing import Protocol

from cardreader.errors import CardRemovedError
from cardreader.iso7816.atr import extended_length_allowed


class Card(Protocol):
    """Anything that answers raw command APDUs (the vpcd ``CardModel`` shape)."""

    def process(self, apdu: bytes) -> bytes: ...


class InProcessTransport:
    """A :class:`cardreader.transport.base.Transport` wired to a card object.

    ``remove_at`` pulls the card away when that APDU number (1-based) is sent; ``atr`` is
    the card's, read for its card capabilities as the PC/SC transport reads them.
    """

    def __init__(
        self, card: Card, extended: bool = True, remove_at: int | None = None, atr: bytes = b""
    ) -> None:
        self.card = card
        self.extended = extended
        self.remove_at = remove_at
        self.atr = atr
        self.sent = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    @property
    def supports_extended_length(self) -> bool:
        return extended_length_allowed(self.extended, self.atr)

    def transmit(self, apdu: bytes) -> bytes:
        self.sent += 1
        if self.remove_at is not None and self.sent >= self.remove_at:
            raise CardRemovedError("the card was removed from the reader")
        self.bytes_sent += len(apdu)
        response = self.card.process(apdu)
        self.bytes_received += len(response)
        return response
