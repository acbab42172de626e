"""The transport port: the one interface every card link implements (docs/architecture.md §3)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Transport(Protocol):
    """Sends one command APDU (raw bytes) and returns the raw response (data + SW1 SW2).

    Implementations raise :class:`cardreader.errors.TransportError` subclasses on link
    failures and never interpret status words.
    """

    def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu`` and return the response bytes including the status word."""
        ...

    @property
    def supports_extended_length(self) -> bool:
        """Whether the link (reader and driver) can carry extended-length APDUs."""
        ...
