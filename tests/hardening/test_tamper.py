"""Issue 7 item 4: every single-byte change of a data group or of EF.SOD is detected.

Persona 7's 2021 card: for DG1, DG2, DG13, DG14, DG15 and EF.SOD, every byte position is
changed once (XOR 01) and the files are verified offline with
:func:`cardreader.verify.passive.verify_files` and the simulator CSCA, on all cores.

- The verdict is never VERIFIED.
- A changed data group is always INVALID (its hash differs from EF.SOD).
- A changed EF.SOD is INVALID, or UNTRUSTED only where the change makes it look like a
  genuine document this reader cannot check (:data:`UNDECIDABLE`: a signature algorithm
  it does not know, a Document Signer certificate it cannot find, a CSCA not in its trust
  store; docs/domain.md "Trust": unknown is never reported as forged).

The counts are printed per file, with how many changes its own parser refuses (the
reading layer refuses a card whose DG1 or DG13 does not parse, with ParseError). A sample
of positions is also read live from a chip serving the changed file: never VERIFIED.

The same matrix runs over the EF.SOD of the two quirks genuine documents show
(docs/verification.md §3): the signer identifier naming the issuer's RDNs in another
order, and id-data as eContentType. Unchanged they verify with a finding; every change of
the signature, of either serial number (DS certificate, signer identifier) or of the
hashes (eContent) is INVALID.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType

import pytest

from cardreader.access.chip_auth_info import parse_dg14
from cardreader.crypto.active_auth import parse_dg15
from cardreader.errors import CardError
from cardreader.files.ids import Ef
from cardreader.iso7816 import tlv
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.dg2 import parse_dg2
from cardreader.lds.dg13 import parse_dg13
from cardreader.verified_read import VerifiedReader
from cardreader.verify.passive import verify_files
from cardreader.verify.report import CheckStatus, Verdict, VerificationReport
from cardreader.verify.sod import parse_sod, parse_sod_signed_data
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import FID, SOD_FID, build_chip
from tests.hardening.cards import QUIRKS, Method, credentials, issued, quirky, trust

FLIP = 0x01
PARSERS: Mapping[Ef, Callable[[bytes], object]] = MappingProxyType(
    {
        Ef.DG1: parse_dg1,
        Ef.DG2: parse_dg2,
        Ef.DG13: parse_dg13,
        Ef.DG14: parse_dg14,
        Ef.DG15: parse_dg15,
        Ef.SOD: parse_sod,
    }
)
FIDS: Mapping[Ef, int] = MappingProxyType(
    {**{Ef[f"DG{n}"]: fid for n, fid in FID.items()}, Ef.SOD: SOD_FID}
)
LIVE_SAMPLES = 8
"""Positions per file read live: the first three (tag and length), then evenly spread."""
UNDECIDABLE = {
    "the Document Signer certificate is not in EF.SOD": "signer certificate not found",
    "no CSCA in the trust store": "no trusted CSCA for the DS certificate",
    "cannot verify: signature algorithm": "unknown signature algorithm",
}
"""Reasons (by prefix) that may leave a changed EF.SOD UNTRUSTED, and their category."""


def card_files(quirk: str | None = None) -> dict[Ef, bytes]:
    card = issued(Method.PACE_CAN) if quirk is None else quirky(quirk)
    return {ef: card.files[fid] for ef, fid in FIDS.items()}


def changed(data: bytes, position: int) -> bytes:
    return data[:position] + bytes((data[position] ^ FLIP,)) + data[position + 1 :]


def undecidable(report: VerificationReport) -> str:
    """The :data:`UNDECIDABLE` category that left ``report`` UNTRUSTED, or ``other``."""
    for check in report.checks:
        if check.status in (CheckStatus.UNKNOWN, CheckStatus.NOT_SUPPORTED):
            for prefix, category in UNDECIDABLE.items():
                if check.reason.startswith(prefix):
                    return category
    return "other"


@dataclass
class Tally:
    """What the changes of one file gave."""

    changes: int = 0
    unparseable: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    untrusted: Counter[str] = field(default_factory=Counter)
    """UNTRUSTED verdicts by :data:`UNDECIDABLE` category."""
    by_position: dict[int, str] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.changes += other.changes
        self.unparseable += other.unparseable
        self.verdicts += other.verdicts
        self.untrusted += other.untrusted
        self.by_position.update(other.by_position)


def tally(ef: Ef, chunk: list[int], quirk: str | None = None) -> Tally:
    """Change each position of ``chunk`` in ``ef`` and verify (runs in a worker process)."""
    files = card_files(quirk)
    original = files[ef]
    result = Tally()
    for position in chunk:
        files[ef] = changed(original, position)
        try:
            PARSERS[ef](files[ef])
        except CardError:
            result.unparseable += 1
        state = None
        with contextlib.suppress(CardError):  # the reading layer refuses such a card
            state = parse_dg1(files[Ef.DG1]).issuing_state
        report = verify_files(files, trust(), None, state)
        result.changes += 1
        result.verdicts[report.verdict.name] += 1
        result.by_position[position] = report.verdict.name
        if report.verdict is Verdict.UNTRUSTED:
            result.untrusted[undecidable(report)] += 1
    return result


def matrix(ef: Ef, quirk: str | None = None) -> Tally:
    """Every position of ``ef`` changed, spread over the machine's cores."""
    workers = os.cpu_count() or 1
    todo = list(range(len(card_files(quirk)[ef])))
    total = Tally()
    chunks = [todo[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        for part in pool.map(tally, [ef] * workers, chunks, [quirk] * workers):
            total.add(part)
    return total


@pytest.mark.parametrize("ef", list(PARSERS), ids=lambda ef: ef.name)
def test_every_single_byte_change_is_detected(ef: Ef) -> None:
    size = len(card_files()[ef])
    result = matrix(ef)
    print(
        f"\n{ef.name}: {size} bytes, {result.changes} changes, {result.unparseable} unparseable,"
        f" verdicts {dict(result.verdicts)}, untrusted {dict(result.untrusted)}"
    )
    assert result.changes == size
    assert result.verdicts[Verdict.VERIFIED.name] == 0
    if ef is Ef.SOD:
        assert result.untrusted["other"] == 0
    else:
        assert result.verdicts == Counter({Verdict.INVALID.name: size})


def signed_regions(sod: bytes) -> dict[str, range]:
    """Where EF.SOD holds the signature, the two serial numbers and the hashes."""
    signed = parse_sod_signed_data(sod)
    (certificate,) = signed.certificates
    serial = certificate.serial_number
    serial_der = tlv.encode(0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big"))
    certificate_serial = sod.index(serial_der)
    signer_serial = sod.index(serial_der, certificate_serial + 1)
    signature = signed.signer_info.signature
    return {
        "signature": range(sod.index(signature), sod.index(signature) + len(signature)),
        "certificate serial": range(certificate_serial, certificate_serial + len(serial_der)),
        "signer serial": range(signer_serial, signer_serial + len(serial_der)),
        "hashes": range(sod.index(signed.content), sod.index(signed.content) + len(signed.content)),
    }


@pytest.mark.parametrize("quirk", QUIRKS)
def test_every_single_byte_change_of_a_quirky_sod_is_detected(quirk: str) -> None:
    files = card_files(quirk)
    unchanged = verify_files(files, trust(), None, "VNM")
    assert unchanged.verdict is Verdict.VERIFIED
    assert len(unchanged.findings) == 1
    sod = files[Ef.SOD]
    result = matrix(Ef.SOD, quirk)
    print(
        f"\nSOD with {quirk}: {len(sod)} bytes, {result.changes} changes, "
        f"{result.unparseable} unparseable, verdicts {dict(result.verdicts)}, "
        f"untrusted {dict(result.untrusted)}"
    )
    assert result.changes == len(sod)
    assert result.verdicts[Verdict.VERIFIED.name] == 0
    assert result.untrusted["other"] == 0
    for region, positions in signed_regions(sod).items():
        verdicts = Counter(result.by_position[position] for position in positions)
        assert verdicts == Counter({Verdict.INVALID.name: len(positions)}), (region, verdicts)


def live_positions(size: int) -> list[int]:
    step = max(1, (size - 3) // (LIVE_SAMPLES - 3))
    return sorted({0, 1, 2, *range(3, size, step)})[:LIVE_SAMPLES]


@pytest.mark.parametrize("ef", list(PARSERS), ids=lambda ef: ef.name)
def test_changed_files_served_by_a_chip_are_never_verified(ef: Ef) -> None:
    """DG15 is read only when Active Authentication runs: this card passes Chip
    Authentication, so its DG15 is read with ``run_both`` (and is not read without it)."""
    card = issued(Method.PACE_CAN)
    creds = credentials(card, Method.PACE_CAN)
    run_both = ef is Ef.DG15
    data = card.files[FIDS[ef]]
    outcomes: Counter[str] = Counter()
    for position in live_positions(len(data)):
        files = {**card.files, FIDS[ef]: changed(data, position)}
        chip = build_chip(dataclasses.replace(card, files=MappingProxyType(files)))
        reader = VerifiedReader(InProcessTransport(chip), creds, trust(), run_both=run_both)
        try:
            report = reader.read_identity().report
            photo = reader.read_photo()
        except CardError as exc:  # refused by the reading layer
            outcomes[type(exc).__name__] += 1
            continue
        assert ef in reader.files
        assert photo.report.verdict is not Verdict.VERIFIED, (ef, position)
        assert report.verdict is not Verdict.VERIFIED or ef is Ef.DG2, (ef, position)
        outcomes[photo.report.verdict.name] += 1
    print(f"\n{ef.name} live: {dict(outcomes)}")
    assert outcomes.total() == LIVE_SAMPLES
