"""Estimated real-chip time and APDU count to read a CCCD, per read strategy (issues #4, #16).

Run: ``.venv/bin/python bench/bench_card_read.py``. The cards are persona 7's simulated 2021
CCCD (DG2 a JPEG face) and 2024 Căn cước (PACE-CAM, EF.CardSecurity); times come from the
simulator's timing model (simulators/timing.py: 8 ms per APDU, 424 kbit/s, PACE 0.9 s, CA
0.35 s on the chip), not from this machine. "Identity" is everything before the photo;
"photo" is DG2. The floor beside each identity count is measured on the same run: the
access-control and Chip Authentication commands the trace holds, plus the fewest READ
BINARYs for the files a proven identity needs (EF.CardAccess, EF.SOD, DG1, DG13, and the
Chip Authentication key's file: EF.CardSecurity where the chip has one, else DG14).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.files.ids import Ef
from cardreader.iso7816.apdu import Ins
from cardreader.verified_read import VerifiedReader
from cardreader.verify.report import Verdict
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.faults import FaultSpec
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import (
    IssuedCard,
    Profile,
    build_chip,
    issue_card,
    length_capabilities,
    sim_pki,
)
from simulators.persona import make_persona
from simulators.timing import TimedCard

SHORT_SM_BLOCK = 223
"""The largest plain block a short response carries under any cipher's SM overhead."""
SHORT_PLAIN_BLOCK = 256


@dataclass(frozen=True)
class Strategy:
    name: str
    faults: tuple[str, ...] = ()
    block_size: int | None = None
    bac: bool = False
    profile: Profile = Profile.CCCD_2021


STRATEGIES = (
    Strategy("PACE, adaptive, extended length"),
    Strategy("PACE, adaptive, card refuses extended length", ("short-le",)),
    Strategy("PACE, adaptive, card declares no extended length in its ATR", ("short-le-atr",)),
    Strategy("PACE, fixed 223", block_size=223),
    Strategy("PACE, fixed 160", block_size=160),
    Strategy("BAC, adaptive, extended length", ("no-pace",), bac=True),
    Strategy("BAC, fixed 223", ("no-pace",), block_size=223, bac=True),
    Strategy("2024 card, PACE-CAM, adaptive, extended length", profile=Profile.CAN_CUOC_2024),
    Strategy(
        "2024 card, PACE-CAM, adaptive, card refuses extended length",
        ("short-le",),
        profile=Profile.CAN_CUOC_2024,
    ),
    Strategy(
        "2024 card, PACE-CAM, adaptive, card declares no extended length in its ATR",
        ("short-le-atr",),
        profile=Profile.CAN_CUOC_2024,
    ),
)
"""The readers all claim extended length (as PC/SC readers do); "refuses" is the card."""

_PROTOCOL_INS = frozenset(
    {Ins.MSE, Ins.GENERAL_AUTHENTICATE, Ins.GET_CHALLENGE, Ins.MUTUAL_AUTHENTICATE}
)
_SELECT_BY_NAME = 0x04


class Recorder(InProcessTransport):
    """The in-process link, keeping every command (for the floor)."""

    def __init__(self, card: TimedCard, extended: bool) -> None:
        super().__init__(card, extended, atr=card.atr)
        self.commands: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return super().transmit(apdu)


def floor(card: IssuedCard, commands: list[bytes], extended: bool, block: int | None) -> int:
    """The fewest identity APDUs on this run (see the module's docstring)."""
    protocol = sum(
        1
        for c in commands
        if c[1] in _PROTOCOL_INS or (c[1] == Ins.SELECT and c[2] == _SELECT_BY_NAME)
    )
    needed = [card.files[ef.fid] for ef in (Ef.SOD, Ef.DG1, Ef.DG13)]
    needed.append(card.card_security or card.files[Ef.DG14.fid])
    card_access = card.files.get(Ef.CARD_ACCESS.fid)

    def reads(data: bytes, limit: int | None) -> int:
        return -(-len(data) // (limit or len(data)))

    sm_limit = block or (None if extended else SHORT_SM_BLOCK)
    plain_limit = None if extended else SHORT_PLAIN_BLOCK
    return (
        protocol
        + sum(reads(d, sm_limit) for d in needed)
        + (reads(card_access, plain_limit) if card_access else 1)  # its 6A82 when absent
    )


def measure(strategy: Strategy) -> tuple[int, int, float, int, float, int]:
    """(identity APDUs, their floor, identity s, photo APDUs, photo s, DG2 bytes)."""
    persona = make_persona(7)
    faults = tuple(FaultSpec.parse(f) for f in strategy.faults)
    card = issue_card(persona, strategy.profile, faults)
    timed = TimedCard(build_chip(card))
    extended, _ = length_capabilities(faults)
    info = card.mrz_information
    credentials = (
        Credentials(mrz_keys=(MrzKey(info[:9], info[10:16], info[17:23]),))
        if strategy.bac
        else Credentials(can=card.can)
    )
    trust = TrustStore(parse_certificates(sim_pki().csca.der))
    link = Recorder(timed, True)
    reader = VerifiedReader(link, credentials, trust, block_size=strategy.block_size)
    identity = reader.read_identity()
    id_apdus, id_time = timed.apdus, timed.estimated_s
    least = floor(card, link.commands, extended, strategy.block_size)
    photo = reader.read_photo()
    assert identity.report.verdict is Verdict.VERIFIED or photo.report.verdict is Verdict.VERIFIED
    return (
        id_apdus,
        least,
        id_time,
        timed.apdus - id_apdus,
        timed.estimated_s - id_time,
        len(card.files[Ef.DG2.fid]),
    )


@dataclass(frozen=True)
class Figures:
    """One strategy: APDUs (and their floor) and estimated chip seconds for the identity and
    the photo."""

    strategy: str
    identity_apdus: int
    identity_floor: int
    identity_s: float
    photo_apdus: int
    photo_s: float

    @property
    def total_s(self) -> float:
        return self.identity_s + self.photo_s


def results() -> tuple[list[Figures], int]:
    """Every strategy's figures and the size of persona 7's 2021 DG2."""
    figures, dg2 = [], 0
    for strategy in STRATEGIES:
        ids, least, id_s, photo, photo_s, size = measure(strategy)
        dg2 = dg2 or size
        figures.append(Figures(strategy.name, ids, least, id_s, photo, photo_s))
    return figures, dg2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    figures, dg2 = results()
    if parser.parse_args().json:
        rows = [asdict(f) | {"total_s": f.total_s} for f in figures]
        print(json.dumps({"dg2_bytes": dg2, "strategies": rows}))
        return
    print(__doc__.splitlines()[0])
    width = max(len(f.strategy) for f in figures)
    print(f"{'strategy':{width}} {'identity':>22} {'photo (DG2)':>18} {'total':>9}")
    units = ("APDUs", "floor", "est. s", "APDUs", "est. s", "est. s")
    print(f"{'':{width}}", *(f"{u:>{w}}" for u, w in zip(units, (6, 6, 9, 8, 9, 9), strict=True)))
    for f in figures:
        print(
            f"{f.strategy:{width}} {f.identity_apdus:6d} {f.identity_floor:6d} {f.identity_s:9.2f}"
            f" {f.photo_apdus:8d} {f.photo_s:9.2f} {f.total_s:9.2f}"
        )
    print(f"The 2021 card's DG2 is {dg2} bytes.")


if __name__ == "__main__":
    main()
