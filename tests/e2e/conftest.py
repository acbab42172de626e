"""A tiny file card for the PC/SC transport tests; the session pcscd and the
``reader``/``waiter``/``slot`` fixtures live in tests/conftest.py (shared with the kiosk
and hardening tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cardreader.transport.pcsc import CardWaiter
from simulators.vpcd import VirtualReaderSlot
from tests.conftest import PRESENCE_TIMEOUT

SW_OK = b"\x90\x00"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0


@dataclass
class FileCard:
    """A tiny card for transport tests: SELECT answers 9000, READ BINARY reads
    ``content`` (short or extended Le), anything else 6A82. Not a model of the CCCD."""

    content: bytes = bytes(range(256)) * 2
    atr: bytes = bytes.fromhex("3B80800101")  # T=1, no historical bytes (ISO 7816-3 §8)
    resets: int = 0
    commands: list[bytes] = field(default_factory=list)

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        ins = apdu[1]
        if ins == INS_SELECT:
            return SW_OK
        if ins == INS_READ_BINARY:
            offset = int.from_bytes(apdu[2:4], "big")
            if offset > len(self.content):
                return SW_WRONG_P1P2
            if len(apdu) == 5:  # short Le, 00 means 256
                le = apdu[4] or 256
            elif len(apdu) == 7 and apdu[4] == 0:  # extended Le, 0000 means 65536
                le = int.from_bytes(apdu[5:7], "big") or 65536
            else:
                return b"\x67\x00"
            return self.content[offset : offset + le] + SW_OK
        return SW_FILE_NOT_FOUND

    def reset(self) -> None:
        self.resets += 1


@pytest.fixture
def card() -> FileCard:
    return FileCard()


@pytest.fixture
def inserted(slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter) -> FileCard:
    """``card`` inserted in slot 0 and seen present by pcscd."""
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) == card.atr
    return card
