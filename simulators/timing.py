"""A timing model of a contactless chip, to estimate a read's wall time on real hardware.

Figures are typical of ISO/IEC 14443 eMRTD chips read by a desktop reader: a fixed cost
per command/response pair (reader, frame waiting, chip OS), the air bit rate, and the chip's
public-key operations. They are estimates, configurable per card, not measurements of a
particular CCCD chip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

BITS_PER_BYTE_ON_AIR = 9.7
"""8 data bits + parity, plus ISO 14443-4 block framing (PCB, CRC) spread over the bytes."""
_INS_GENERAL_AUTHENTICATE = 0x86
_INS_MSE = 0x22
_INS_INTERNAL_AUTHENTICATE = 0x88
_INS_MUTUAL_AUTHENTICATE = 0x82
_SM_CLASS_BITS = 0x0C
_P1P2_SET_KAT = 0x41A6
_PACE_STEPS = 4


@dataclass(frozen=True)
class TimingModel:
    """Seconds a chip and reader spend per APDU and per cryptographic operation."""

    apdu_overhead_s: float = 0.008
    bit_rate: int = 424_000
    pace_s: float = 0.9
    """All four GENERAL AUTHENTICATE steps of PACE (two to three EC scalar multiplications)."""
    ca_s: float = 0.35
    aa_s: float = 0.3
    bac_s: float = 0.02

    def crypto_time(self, command: bytes) -> float:
        """Chip-side public-key time triggered by ``command`` (by its INS and class)."""
        if len(command) < 4:
            return 0.0
        cla, ins = command[0], command[1]
        p1p2 = int.from_bytes(command[2:4], "big")
        secured = bool(cla & _SM_CLASS_BITS)
        if ins == _INS_GENERAL_AUTHENTICATE:
            return self.ca_s if secured else self.pace_s / _PACE_STEPS
        if ins == _INS_MSE and p1p2 == _P1P2_SET_KAT:
            return self.ca_s
        if ins == _INS_INTERNAL_AUTHENTICATE:
            return self.aa_s
        if ins == _INS_MUTUAL_AUTHENTICATE:
            return self.bac_s
        return 0.0

    def apdu_time(self, command: bytes, response: bytes) -> float:
        """Estimated time of one exchange on a real chip."""
        air = (len(command) + len(response)) * BITS_PER_BYTE_ON_AIR / self.bit_rate
        return self.apdu_overhead_s + air + self.crypto_time(command)


FAST = TimingModel(apdu_overhead_s=0.0, bit_rate=10**12, pace_s=0.0, ca_s=0.0, aa_s=0.0, bac_s=0.0)
"""No delay at all (unit tests)."""


class CardModel(Protocol):
    atr: bytes

    def process(self, apdu: bytes) -> bytes: ...

    def reset(self) -> None: ...


@dataclass
class TimedCard:
    """Wraps a card: counts APDUs and the estimated chip time; ``realtime`` also sleeps it."""

    card: CardModel
    model: TimingModel = field(default_factory=TimingModel)
    realtime: bool = False
    apdus: int = 0
    estimated_s: float = 0.0
    atr: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.atr = self.card.atr

    def reset(self) -> None:
        self.card.reset()

    def process(self, apdu: bytes) -> bytes:
        response = self.card.process(apdu)
        spent = self.model.apdu_time(apdu, response)
        self.apdus += 1
        self.estimated_s += spent
        if self.realtime:
            time.sleep(spent)
        return response
