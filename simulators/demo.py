"""The simulated setup behind ``make run``: a private pcscd, a virtual card, a real read.

Starts pcscd with the vpcd driver, inserts the sample CCCD chip into a virtual reader,
then reads it through pyscard exactly as a physical reader is read: with PACE and the
CAN first, then with BAC and the MRZ data, and prints what it found.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.files.ids import Ef
from cardreader.mrz import parse_mrz
from cardreader.read import CardRead, read_card
from cardreader.transport import pcsc
from simulators.chip.sample import SampleCard, sample_chip
from simulators.pcscd import PcscDaemon
from simulators.vpcd import VirtualReaderSlot

CARD_WAIT_SECONDS = 5.0


def _describe(read: CardRead, elapsed: float) -> list[str]:
    access = read.access
    lines = [f"  opened with {access.protocol} using the {access.password}"]
    if access.downgraded:
        lines.append(f"  downgraded to BAC: {access.fallback_reason}")
    elif access.fallback_reason:
        lines.append(f"  BAC because {access.fallback_reason}")
    for ef, data in read.files.items():
        lines.append(f"  {ef.file_name:10} {len(data):6d} bytes")
    dg1 = read.files.get(Ef.DG1)
    if dg1 is not None:
        mrz = parse_mrz(dg1[5:].decode("ascii"))
        verdict = "all check digits valid" if mrz.valid else "check digit errors"
        lines.append(f"  DG1: {mrz.format.name} MRZ of {mrz.issuing_state}, {verdict}")
    lines.append(f"  {elapsed * 1000:.0f} ms through pcscd")
    return lines


def run(echo: Callable[[str], None] = print) -> None:
    """Run the demo; raises on any failure so ``make run`` fails loudly."""
    card = SampleCard()
    with PcscDaemon() as daemon:
        os.environ.update(daemon.client_env())
        reader = daemon.reader_names[0]
        echo(f"pcscd running (PID {daemon.pid}); virtual reader: {reader}")
        attempts = (
            ("PACE with the CAN", Credentials(can=card.can), True),
            (
                "BAC with the MRZ data (chip without PACE)",
                Credentials(
                    mrz_keys=(
                        MrzKey(card.document_number, card.date_of_birth, card.date_of_expiry),
                    )
                ),
                False,
            ),
        )
        with VirtualReaderSlot(daemon.vpcd_ports[0]) as slot:
            for title, credentials, pace in attempts:
                slot.insert(sample_chip(card, pace=pace))
                if pcsc.wait_for_card(reader, CARD_WAIT_SECONDS) is None:
                    raise RuntimeError("the virtual card did not appear in the reader")
                started = time.perf_counter()
                with pcsc.PcscTransport.connect(reader) as transport:
                    result = read_card(transport, credentials)
                echo(f"{title}:")
                for line in _describe(result, time.perf_counter() - started):
                    echo(line)
                slot.remove()
                pcsc.wait_for_removal(reader, CARD_WAIT_SECONDS)
