"""This machine's CPU per verified read against the read's cryptographic floor (issue #16).

Run: ``.venv/bin/python bench/bench_read_cpu.py``. Persona 7's simulated cards (2021 CCCD,
2024 Căn cước) are read and verified in process (identity and photo, PACE with the CAN); the
simulated chip's own CPU is taken off, so the figure is the reader's. A verified read
returns the face as the chip holds it, its header read; decoding it for display is the
application's step (``decode_face``, which the kiosk runs on its card thread), timed apart
and shown beside the read: a JPEG face is checked at 1/8 scale, a JPEG 2000 face decoded by
OpenJPEG. The floor is the cryptography that read cannot avoid, each primitive timed alone
on the same cards in the same run: its elliptic-curve scalar multiplications (counted during
the read) at the cost of one in fastecdsa's compiled code, with random scalars as the read's
are; the EF.SOD (and EF.CardSecurity) signer signatures and Document Signer certificates
verified by OpenSSL through ``cryptography`` (a DS certificate both files carry, the same
DER, counted once: the reader chains it once); SHA-2 over the data groups read; and secure
messaging's AES for every protected APDU (ICAO 9303-11 §9.8.6: the IV, the CBC encryption or
decryption, the CMAC of command and response), each operation the reader made (recorded with
its length) done once more alone through ``cryptography``, the CMAC keyed once per channel
as the reader keys it. PACE's nonce decryption, authentication tokens and key derivations (a
few microseconds) are left out. The ratio without secure messaging in the floor is printed
too. Median of the runs; CPU time (``time.process_time``), so another process on the machine
lengthens neither figure much.
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import json
import os
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastecdsa.curve import brainpoolP256r1

from cardreader.access.credentials import Credentials
from cardreader.access.secure_messaging import SecureMessagingSession
from cardreader.crypto.cipher import MAC_LENGTH, BlockCipher, pad
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
BEST_OF = 50
"""Each primitive of the floor is timed this many times; the least time counts."""


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


class SmOperation(enum.Enum):
    """The reader's secure-messaging operations (:class:`SecureMessagingSession` methods)."""

    MAC = "mac"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"


@dataclass(frozen=True)
class Read:
    """One verified read: the reader's CPU, the cryptography it did, what it read."""

    cpu_s: float
    multiplications: int
    secure_messaging: tuple[tuple[SmOperation, int, int], ...]
    """(operation, key length, data length) of each secure-messaging operation, in order."""
    files: dict[Ef, bytes]
    face: FaceImage


def read_once(card: IssuedCard, trust: TrustStore) -> Read:
    """One verified read of ``card``, its cryptography recorded."""
    clock = _ChipClock(card)
    multiplications = 0
    operations: list[tuple[SmOperation, int, int]] = []
    multiply = Curve.multiply
    session_methods = {op: getattr(SecureMessagingSession, op.value) for op in SmOperation}

    def counted(self: Curve, scalar: int, point: Point) -> Point | None:
        nonlocal multiplications
        multiplications += not clock.inside
        return multiply(self, scalar, point)

    def recorded(op: SmOperation) -> Callable[[SecureMessagingSession, bytes], bytes]:
        def method(session: SecureMessagingSession, data: bytes) -> bytes:
            assert session.cipher is BlockCipher.AES  # the floor below is AES's
            operations.append((op, len(session.ks_enc), len(data)))
            return session_methods[op](session, data)  # type: ignore[no-any-return]

        return method

    Curve.multiply = counted  # type: ignore[method-assign]
    for op in SmOperation:
        setattr(SecureMessagingSession, op.value, recorded(op))
    parse_signed_data.cache_clear()  # each read parses as a new card's would,
    parse_certificate.cache_clear()  # its DS certificate too
    try:
        started = time.process_time()
        reader = VerifiedReader(InProcessTransport(clock), Credentials(can=card.can), trust)
        reader.read_identity()
        photo = reader.read_photo()
        spent = time.process_time() - started - clock.cpu_s
    finally:
        Curve.multiply = multiply  # type: ignore[method-assign]
        for op, method in session_methods.items():
            setattr(SecureMessagingSession, op.value, method)
    assert photo.report.verdict is Verdict.VERIFIED and photo.face is not None
    return Read(spent, multiplications, tuple(operations), dict(reader.files), photo.face)


def _cpu(action: Callable[[], object]) -> float:
    """CPU seconds of one ``action``."""
    started = time.process_time()
    action()
    return time.process_time() - started


def _best(action: Callable[[], object], runs: int = BEST_OF) -> float:
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


def _sm_cost(op: SmOperation, key_length: int, length: int) -> float:
    """One secure-messaging operation on ``length`` bytes, through ``cryptography``: the MAC
    over SSC and the data, padded; the IV (the SSC encrypted) and the CBC pass."""
    key = bytes(key_length)
    block = algorithms.AES.block_size // 8
    if op is SmOperation.MAC:
        keyed = cmac.CMAC(algorithms.AES(key))
        message = pad(bytes(block + length), block)

        def mac() -> bytes:
            copy = keyed.copy()
            copy.update(message)
            return copy.finalize()[:MAC_LENGTH]

        return _best(mac)
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    data = bytes(len(pad(bytes(length), block)) if op is SmOperation.ENCRYPT else length)

    def cbc() -> bytes:
        cipher = Cipher(algorithms.AES(key), modes.CBC(ecb.update(bytes(block))))
        context = cipher.encryptor() if op is SmOperation.ENCRYPT else cipher.decryptor()
        return context.update(data) + context.finalize()

    return _best(cbc)


def secure_messaging_floor_s(read: Read) -> float:
    """The secure-messaging part of the floor (see the module docstring)."""
    costs = {item: _sm_cost(*item) for item in set(read.secure_messaging)}
    return sum(costs[item] for item in read.secure_messaging)


def floor_s(files: dict[Ef, bytes], multiplications: int) -> float:
    """The public-key and hash part of the floor of a read that fetched ``files``."""
    csca = x509.load_der_x509_certificate(sim_pki().csca.der)
    scalars = iter([secrets.randbelow(brainpoolP256r1.q - 1) + 1 for _ in range(BEST_OF)])
    point = brainpoolP256r1.G
    total = multiplications * _best(lambda: next(scalars) * point)
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
    """The whole floor, secure messaging's part included."""
    secure_messaging_ms: float
    """Secure messaging's part of the floor."""
    multiplications: int
    protected_apdus: int
    face_format: str
    display_ms: float

    @property
    def ratio(self) -> float:
        return self.cpu_ms / self.floor_ms

    @property
    def without_secure_messaging_ratio(self) -> float:
        """Against the floor without secure messaging (as this bench's figure was before)."""
        return self.cpu_ms / (self.floor_ms - self.secure_messaging_ms)

    @property
    def with_display_ratio(self) -> float:
        """The read and the display decode together against the read's floor."""
        return (self.cpu_ms + self.display_ms) / self.floor_ms


def measure(profile: Profile, runs: int) -> Figures:
    card = issue_card(make_persona(7), profile)
    trust = TrustStore(parse_certificates(sim_pki().csca.der))
    read_once(card, trust)  # warm: imports, caches
    samples = [read_once(card, trust) for _ in range(runs)]
    first = samples[0]
    cpu = statistics.median(read.cpu_s for read in samples)
    display = statistics.median(_cpu(lambda: decode_face(first.face.data)) for _ in range(runs))
    secure_messaging = secure_messaging_floor_s(first)
    return Figures(
        card=profile.value,
        cpu_ms=cpu * 1000,
        floor_ms=(floor_s(first.files, first.multiplications) + secure_messaging) * 1000,
        secure_messaging_ms=secure_messaging * 1000,
        multiplications=first.multiplications,
        protected_apdus=sum(op is SmOperation.MAC for op, _, _ in first.secure_messaging) // 2,
        face_format=first.face.source_format.name,
        display_ms=display * 1000,
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
            asdict(f)
            | {
                "ratio": f.ratio,
                "without_secure_messaging_ratio": f.without_secure_messaging_ratio,
                "with_display_ratio": f.with_display_ratio,
            }
            for f in figures
        ]
        print(json.dumps({"runs": args.runs, "cards": rows}))
        return
    print(__doc__.splitlines()[0])
    for f in figures:
        print(
            f"{f.card:14} reader CPU {f.cpu_ms:6.2f} ms · floor {f.floor_ms:5.2f} ms"
            f" ({f.multiplications} scalar multiplications, {f.protected_apdus} protected"
            f" APDUs: {f.secure_messaging_ms:.2f} ms) · {f.ratio:.2f}× the floor"
            f" ({f.without_secure_messaging_ratio:.2f}× without secure messaging);"
            f" then the {f.face_format} face decoded for display {f.display_ms:.2f} ms"
            f" (with it {f.with_display_ratio:.2f}×)"
        )


if __name__ == "__main__":
    main()
