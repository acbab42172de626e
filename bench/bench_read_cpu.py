"""This machine's CPU per verified read against the read's cryptographic floor (issue #16).

Run: ``.venv/bin/python bench/bench_read_cpu.py``. Persona 7's simulated cards (2021 CCCD,
2024 Căn cước) are read and verified in process (identity and photo, PACE with the CAN); the
simulated chip's own CPU is taken off, so the figure is the reader's. A verified read returns
the face as the chip holds it, its header read; decoding it for display is the application's
step (``decode_face``, which the kiosk runs on its card thread), timed apart and shown beside
the read: a JPEG face is checked at 1/8 scale, a JPEG 2000 face decoded by OpenJPEG. The
floor is the public-key and hash work that read cannot avoid, each primitive timed alone on
the same cards in the same run: its elliptic-curve scalar multiplications (counted during the read)
at the cost of one in fastecdsa's compiled code, the EF.SOD (and EF.CardSecurity) signer
signatures and Document Signer certificates verified by OpenSSL through ``cryptography`` (a
DS certificate both files carry, the same DER, counted once: the reader chains it once),
and SHA-2 over the data groups read. Secure messaging (a few AES blocks per APDU) is left out
of the floor. Median of the runs; CPU time (``time.process_time``), so another process on
the machine lengthens neither figure much.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastecdsa.curve import brainpoolP256r1

from cardreader.access.credentials import Credentials
from cardreader.crypto.ec import Curve, Point
from cardreader.files.ids import Ef
from cardreader.lds.image import FaceImage, decode_face
from cardreader.verified_read import VerifiedReader
from cardreader.verify.card_security import parse_card_security_signed_data
from cardreader.verify.report import Verdict
from cardreader.verify.signature import parse_certificate
from cardreader.verify.sod import (
    SignedData,
    parse_lds_security_object,
    parse_signed_data,
    parse_sod_signed_data,
)
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import IssuedCard, Profile, build_chip, issue_card, sim_pki
from simulators.persona import make_persona

RUNS = int(os.environ.get("BENCH_CPU_RUNS", "30"))


class _ChipClock:
    """The simulated chip, its CPU time kept apart; counts the reader's scalar multiplications."""

    def __init__(self, card: IssuedCard) -> None:
        self.chip = build_chip(card)
        self.cpu_s = 0.0
        self.inside = False

    def process(self, apdu: bytes) -> bytes:
        started = time.process_time()
        self.inside = True
        try:
            return self.chip.process(apdu)
        finally:
            self.inside = False
            self.cpu_s += time.process_time() - started


def read_once(card: IssuedCard, trust: TrustStore) -> tuple[float, int, dict[Ef, bytes], FaceImage]:
    """(reader CPU s, reader scalar multiplications, files read, face) of one verified read."""
    clock = _ChipClock(card)
    multiplications = 0
    original = Curve.multiply

    def counted(self: Curve, scalar: int, point: Point) -> Point | None:
        nonlocal multiplications
        multiplications += not clock.inside
        return original(self, scalar, point)

    Curve.multiply = counted  # type: ignore[method-assign]
    parse_signed_data.cache_clear()  # each read parses as a new card's would,
    parse_certificate.cache_clear()  # its DS certificate too
    try:
        started = time.process_time()
        reader = VerifiedReader(InProcessTransport(clock), Credentials(can=card.can), trust)
        reader.read_identity()
        photo = reader.read_photo()
        spent = time.process_time() - started - clock.cpu_s
    finally:
        Curve.multiply = original  # type: ignore[method-assign]
    assert photo.report.verdict is Verdict.VERIFIED and photo.face is not None
    return spent, multiplications, dict(reader.files), photo.face


def _cpu(action: Callable[[], object]) -> float:
    """CPU seconds of one ``action``."""
    started = time.process_time()
    action()
    return time.process_time() - started


def _best(action: Callable[[], object], runs: int = 50) -> float:
    """Least CPU seconds of ``action`` over ``runs``."""
    return min(_cpu(action) for _ in range(runs))


def _signature_cost(signed: SignedData) -> float:
    """The signer's signature, verified by OpenSSL."""
    info = signed.signer_info
    assert info.signed_attributes is not None and signed.signer_certificate is not None
    key = x509.load_der_x509_certificate(signed.signer_certificate.der).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    algorithm = ec.ECDSA(info.digest_algorithm.backend())
    attributes = info.signed_attributes
    return _best(lambda: key.verify(info.signature, attributes, algorithm))


def _chain_cost(ds_der: bytes, csca: x509.Certificate) -> float:
    """A DS certificate's signature, verified by OpenSSL."""
    ds = x509.load_der_x509_certificate(ds_der)
    return _best(lambda: ds.verify_directly_issued_by(csca))


def floor_s(files: dict[Ef, bytes], multiplications: int) -> float:
    """The cryptographic floor of a read that fetched ``files`` (see the module docstring)."""
    csca = x509.load_der_x509_certificate(sim_pki().csca.der)
    scalar = brainpoolP256r1.q // 3
    point = brainpoolP256r1.G
    total = multiplications * _best(lambda: scalar * point)
    sod = parse_sod_signed_data(files[Ef.SOD])
    signed = [sod]
    if Ef.CARD_SECURITY in files:
        signed.append(parse_card_security_signed_data(files[Ef.CARD_SECURITY]))
    total += sum(_signature_cost(item) for item in signed)
    signers = {item.signer_certificate.der for item in signed if item.signer_certificate}
    total += sum(_chain_cost(der, csca) for der in signers)
    name = parse_lds_security_object(sod.content).hash_algorithm.hashlib_name
    hashed = [data for ef, data in files.items() if ef.name.startswith("DG")] + [sod.content]
    return total + sum(_best(lambda data=data: hashlib.new(name, data).digest()) for data in hashed)


@dataclass(frozen=True)
class Figures:
    """One card: the reader's CPU per verified read, its floor, and the face's decode for
    display after the read, in milliseconds."""

    card: str
    cpu_ms: float
    floor_ms: float
    multiplications: int
    face_format: str
    display_ms: float

    @property
    def ratio(self) -> float:
        return self.cpu_ms / self.floor_ms

    @property
    def with_display_ratio(self) -> float:
        """The read and the display decode together against the read's floor."""
        return (self.cpu_ms + self.display_ms) / self.floor_ms


def measure(profile: Profile, runs: int) -> Figures:
    card = issue_card(make_persona(7), profile)
    trust = TrustStore(parse_certificates(sim_pki().csca.der))
    read_once(card, trust)  # warm: imports, caches
    samples = [read_once(card, trust) for _ in range(runs)]
    _, multiplications, files, face = samples[0]
    cpu = statistics.median(spent for spent, _, _, _ in samples)
    display = statistics.median(_cpu(lambda: decode_face(face.data)) for _ in range(runs))
    return Figures(
        profile.value,
        cpu * 1000,
        floor_s(files, multiplications) * 1000,
        multiplications,
        face.source_format.name,
        display * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    parser.add_argument("--runs", type=int, default=RUNS, help="reads per card")
    args = parser.parse_args()
    figures = [
        measure(profile, args.runs) for profile in (Profile.CCCD_2021, Profile.CAN_CUOC_2024)
    ]
    if args.json:
        rows = [
            asdict(f) | {"ratio": f.ratio, "with_display_ratio": f.with_display_ratio}
            for f in figures
        ]
        print(json.dumps({"runs": args.runs, "cards": rows}))
        return
    print(__doc__.splitlines()[0])
    for f in figures:
        print(
            f"{f.card:14} reader CPU {f.cpu_ms:6.2f} ms · floor {f.floor_ms:5.2f} ms"
            f" ({f.multiplications} scalar multiplications) · {f.ratio:.2f}× the floor;"
            f" then the {f.face_format} face decoded for display {f.display_ms:.2f} ms"
            f" (with it {f.with_display_ratio:.2f}×)"
        )


if __name__ == "__main__":
    main()
