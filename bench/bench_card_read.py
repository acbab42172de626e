"""Estimated real-chip time and APDU count to read a CCCD, per read strategy (issue #4).

Run: ``.venv/bin/python bench/bench_card_read.py``. The card is persona 7's simulated 2021
CCCD (DG2 a JPEG face); times come from the simulator's timing model (simulators/timing.py:
8 ms per APDU, 424 kbit/s, PACE 0.9 s, CA 0.35 s on the chip), not from this machine.
"Identity" is EF.CardAccess, access control, EF.COM, DG1, DG13, DG14, DG15, EF.SOD and
Chip Authentication; "photo" is DG2.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.verified_read import VerifiedReader
from cardreader.verify.report import Verdict
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.faults import FaultSpec
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import build_chip, issue_card, sim_pki
from simulators.persona import make_persona
from simulators.timing import TimedCard


@dataclass(frozen=True)
class Strategy:
    name: str
    faults: tuple[str, ...] = ()
    block_size: int | None = None
    bac: bool = False


STRATEGIES = (
    Strategy("PACE, adaptive, extended length"),
    Strategy("PACE, adaptive, short-only card", ("short-le",)),
    Strategy("PACE, fixed 223", block_size=223),
    Strategy("PACE, fixed 160", block_size=160),
    Strategy("BAC, adaptive, extended length", ("no-pace",), bac=True),
    Strategy("BAC, fixed 223", ("no-pace",), block_size=223, bac=True),
)


def measure(strategy: Strategy) -> tuple[int, float, int, float, int]:
    """(identity APDUs, identity s, photo APDUs, photo s, DG2 bytes)."""
    persona = make_persona(7)
    card = issue_card(persona, faults=tuple(FaultSpec.parse(f) for f in strategy.faults))
    timed = TimedCard(build_chip(card))
    extended = "short-le" not in strategy.faults
    info = card.mrz_information
    credentials = (
        Credentials(mrz_keys=(MrzKey(info[:9], info[10:16], info[17:23]),))
        if strategy.bac
        else Credentials(can=card.can)
    )
    trust = TrustStore(parse_certificates(sim_pki().csca.der))
    reader = VerifiedReader(
        InProcessTransport(timed, extended), credentials, trust, block_size=strategy.block_size
    )
    identity = reader.read_identity()
    id_apdus, id_time = timed.apdus, timed.estimated_s
    photo = reader.read_photo()
    assert identity.report.verdict is Verdict.VERIFIED or photo.report.verdict is Verdict.VERIFIED
    return (
        id_apdus,
        id_time,
        timed.apdus - id_apdus,
        timed.estimated_s - id_time,
        len(card.files[0x0102]),
    )


@dataclass(frozen=True)
class Figures:
    """One strategy: APDUs and estimated chip seconds for the identity and the photo."""

    strategy: str
    identity_apdus: int
    identity_s: float
    photo_apdus: int
    photo_s: float

    @property
    def total_s(self) -> float:
        return self.identity_s + self.photo_s


def results() -> tuple[list[Figures], int]:
    """Every strategy's figures and the size of DG2."""
    figures, dg2 = [], 0
    for strategy in STRATEGIES:
        ids, id_s, photo, photo_s, dg2 = measure(strategy)
        figures.append(Figures(strategy.name, ids, id_s, photo, photo_s))
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
    print(f"{'strategy':34} {'identity':>16} {'photo (DG2)':>18} {'total':>9}")
    print(f"{'':34} {'APDUs':>6} {'est. s':>9} {'APDUs':>8} {'est. s':>9} {'est. s':>9}")
    base = figures[0].total_s
    for f in figures:
        print(
            f"{f.strategy:34} {f.identity_apdus:6d} {f.identity_s:9.2f} {f.photo_apdus:8d}"
            f" {f.photo_s:9.2f} {f.total_s:9.2f}  ({f.total_s / base:.2f}x)"
        )
    print(f"DG2 is {dg2} bytes.")


if __name__ == "__main__":
    main()
