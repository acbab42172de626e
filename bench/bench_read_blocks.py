"""APDUs and bytes to read a 15 KB EF over secure messaging, per READ BINARY block size.

Run: ``.venv/bin/python bench/bench_read_blocks.py``. The card is the simulated chip,
opened with BAC (3DES secure messaging); "extended" says whether the card and link accept
extended-length APDUs. Fixed block sizes that the card refuses are reported as such.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from cardreader.access.bac import BacKeys, perform_bac
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import CardError
from cardreader.files.ids import Ef
from cardreader.files.reader import BlockSizePolicy, FileReader, select_application
from cardreader.iso7816 import tlv
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.inprocess import InProcessTransport

MRZ_INFO = "L898902C<369080619406236"
FILE_SIZE = 15_000
POLICIES: tuple[tuple[str, int | None], ...] = (
    ("160", 160),
    ("223", 223),
    ("256", 256),
    ("adaptive", None),
)


def _file() -> bytes:
    value = bytes(i % 251 for i in range(FILE_SIZE - 4))
    return tlv.encode(0x75, value)


def measure(extended: bool, block: int | None) -> tuple[int, int, int] | None:
    """(APDUs, bytes sent, bytes received) for the file read, or None if the card refused."""
    content = _file()
    chip = EmrtdChip(
        ChipConfig(files={Ef.DG2.fid: content}, mrz_information=MRZ_INFO, extended_length=extended)
    )
    link = InProcessTransport(chip, extended)
    select_application(link)
    bac = perform_bac(link, BacKeys.from_mrz_information(MRZ_INFO))
    channel = SecureMessagingTransport(link, KeyAlgorithm.TDES, bac.ks_enc, bac.ks_mac, bac.ssc)
    before = (link.sent, link.bytes_sent, link.bytes_received)
    reader = FileReader(channel, BlockSizePolicy.fixed(block) if block else None)
    try:
        data = reader.read(Ef.DG2)
    except CardError:
        return None
    assert data == content
    return link.sent - before[0], link.bytes_sent - before[1], link.bytes_received - before[2]


@dataclass(frozen=True)
class Row:
    """One card and block size; no figures when the card refused that block size."""

    card: str
    block: str
    apdus: int | None
    sent: int | None
    received: int | None


def results() -> list[Row]:
    rows = []
    for extended in (True, False):
        card = "extended length" if extended else "short length only"
        for name, block in POLICIES:
            apdus, sent, received = measure(extended, block) or (None, None, None)
            rows.append(Row(card, name, apdus, sent, received))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    rows = results()
    if parser.parse_args().json:
        print(json.dumps({"file_bytes": FILE_SIZE, "rows": [asdict(row) for row in rows]}))
        return
    print(f"Reading a {FILE_SIZE}-byte EF through BAC secure messaging (SELECT included)")
    print(f"{'card':22} {'block':>9} {'APDUs':>6} {'sent':>7} {'received':>9} {'vs 223':>7}")
    for row in rows:
        base = next(r for r in rows if r.card == row.card and r.block == "223")
        if row.apdus is None:
            print(f"{row.card:22} {row.block:>9} {'refused by the card':>35}")
            continue
        ratio = f"{row.apdus / base.apdus:.2f}x" if base.apdus else "-"
        print(
            f"{row.card:22} {row.block:>9} {row.apdus:6d} {row.sent:7d} {row.received:9d}"
            f" {ratio:>7}"
        )


if __name__ == "__main__":
    main()
