"""Active Authentication: cardreader.access.active_auth against the chip simulator, and the
signature verification of cardreader.crypto.active_auth on its own.

The BSI TR-03105-5 reference data set (tests/vectors/bsi-tr03105-5) gives the RSA-1024
key of its DG15 with the private key DG15_sk.pkcs8; other RSA and EC keys are generated
here. Signatures come from the chip simulator's own ISO/IEC 9796-2 encoder and from
``cryptography``'s ECDSA.
"""

from __future__ import annotations

import hashlib
import secrets

import pytest
from asn1crypto import algos as asn1_algos
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardreader.access.active_auth import ActiveAuthenticationResult, perform_active_authentication
from cardreader.access.chip_auth import perform_chip_authentication
from cardreader.access.chip_auth_info import parse_dg14
from cardreader.access.credentials import Credentials, MrzKey
from cardreader.access.strategy import CardSession, open_session
from cardreader.crypto.active_auth import (
    parse_dg15,
    verify_ecdsa_challenge,
    verify_iso9796_2,
    verify_signature,
)
from cardreader.crypto.domain_params import StandardizedDomainParameter as Std
from cardreader.crypto.ec import Curve
from cardreader.crypto.keys import EcPublicKey, RsaPublicKey, parse_subject_public_key_info
from cardreader.errors import CardError, SecureMessagingError, UnsupportedProtocolError
from cardreader.files.ids import Ef
from cardreader.files.reader import FileReader
from cardreader.iso7816 import tlv
from cardreader.transport.base import Transport
from cardreader.verify.report import Check, CheckKind, CheckStatus
from cardreader.verify.signature import verify_signature as pa_verify_signature
from simulators.chip.active_auth import ActiveAuthentication, EcdsaForm, Fault, RsaTrailer
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.chip.sample import sample_files
from simulators.inprocess import InProcessTransport
from tests.unit.test_chip_auth import CARD, Link, Recorder, SeededRandom, bsi_chip, open_bsi
from tests.unit.test_dg14_dg15 import aa_info, curve, dg14, standardized_spki
from tests.vectors import BSI_DATASET

ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
ECDSA_WITH_SHA512 = "1.2.840.10045.4.3.4"
ECDSA_PLAIN_SHA384 = "0.4.0.127.0.7.1.1.4.1.4"
ECDSA_PLAIN_SHA1 = "0.4.0.127.0.7.1.1.4.1.1"

BSI_AA_KEY = load_der_private_key((BSI_DATASET / "DG15_sk.pkcs8").read_bytes(), None)
assert isinstance(BSI_AA_KEY, rsa.RSAPrivateKey)
RSA_1024 = rsa.generate_private_key(65537, 1024)
RSA_2048 = rsa.generate_private_key(65537, 2048)


def bsi_with_aa(fault: Fault = Fault.NONE) -> tuple[EmrtdChip, ActiveAuthentication]:
    assert isinstance(BSI_AA_KEY, rsa.RSAPrivateKey)
    responder = ActiveAuthentication(BSI_AA_KEY, fault=fault)
    return bsi_chip(active_authentication=responder), responder


def spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def aa_chip(responder: ActiveAuthentication, public_spki: bytes, aa_oid: str | None) -> EmrtdChip:
    """A BAC chip with DG1, DG15 and, when ``aa_oid`` is given, a DG14 naming it."""
    files = sample_files(CARD)
    del files[0x011C]
    files[0x010F] = tlv.encode(0x6F, public_spki)
    if aa_oid is not None:
        files[0x010E] = dg14(aa_info(aa_oid))
    config = ChipConfig(files=files, mrz_information=CARD.mrz_information)
    return EmrtdChip(config, active_authentication=responder)


def run(chip: EmrtdChip, *, with_dg14: bool = True) -> ActiveAuthenticationResult:
    mrz = MrzKey(CARD.document_number, CARD.date_of_birth, CARD.date_of_expiry)
    session = open_session(InProcessTransport(chip), Credentials(mrz_keys=(mrz,)))
    dg15 = parse_dg15(session.reader.read(Ef.DG15))
    infos = parse_dg14(session.reader.read(Ef.DG14)) if with_dg14 else None
    aa_info_ = infos.active_authentication if infos is not None else None
    return perform_active_authentication(session.transport, dg15, aa_info_)


def open_bsi_dg15(chip: EmrtdChip) -> tuple[CardSession, RsaPublicKey]:
    session, _ = open_bsi(chip)
    dg15 = parse_dg15(session.reader.read(Ef.DG15))
    assert isinstance(dg15.public_key, RsaPublicKey)
    return session, dg15.public_key


# -- the BSI data set ---------------------------------------------------------------------


def test_bsi_active_authentication_passes_with_fresh_challenges() -> None:
    chip, responder = bsi_with_aa()
    session, _ = open_bsi(chip)
    dg15 = parse_dg15(session.reader.read(Ef.DG15))
    channel = Recorder(session.transport)
    results = [perform_active_authentication(channel, dg15) for _ in range(2)]
    for result in results:
        assert result.status is CheckStatus.PASSED, result.reason
        assert result.mechanism == "RSA-1024 ISO/IEC 9796-2 scheme 1 with SHA-1"
        assert result.check() == Check(
            CheckKind.ACTIVE_AUTHENTICATION, CheckStatus.PASSED, result.reason, "DG15"
        )
    assert results[0].challenge != results[1].challenge
    assert responder.challenges == [result.challenge for result in results]
    assert channel.plain == [
        bytes.fromhex("0088000008") + result.challenge + b"\x00" for result in results
    ]


def test_injected_random_source_gives_the_challenge() -> None:
    chip, responder = bsi_with_aa()
    session, _ = open_bsi(chip)
    dg15 = parse_dg15(session.reader.read(Ef.DG15))
    result = perform_active_authentication(session.transport, dg15, rng=SeededRandom(7))
    assert result.passed
    assert result.challenge == SeededRandom(7).token_bytes(8)
    assert responder.challenges == [result.challenge]


def test_bsi_chip_and_active_authentication_then_read() -> None:
    """The full genuineness check: CA re-keys, AA runs on the new channel, DG1 reads right."""
    chip, _ = bsi_with_aa()
    session, infos = open_bsi(chip)
    ca = perform_chip_authentication(session.transport, infos)
    assert ca.passed, ca.reason
    assert ca.transport is not None
    reader = FileReader(ca.transport)
    aa = perform_active_authentication(ca.transport, parse_dg15(reader.read(Ef.DG15)))
    assert aa.passed, aa.reason
    assert reader.read(Ef.DG1) == (BSI_DATASET / "Datagroup1.bin").read_bytes()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.WRONG_KEY, "the chip's signature does not verify with the DG15 key: "),
        (
            Fault.REPLAY,
            "the chip's signature does not verify with the DG15 key: "
            "the hash does not cover this challenge",
        ),
    ],
)
def test_bsi_clone_fails(fault: Fault, reason: str) -> None:
    chip, _ = bsi_with_aa(fault)
    session, _ = open_bsi(chip)
    result = perform_active_authentication(
        session.transport, parse_dg15(session.reader.read(Ef.DG15))
    )
    assert result.status is CheckStatus.FAILED
    assert result.reason.startswith(reason)
    assert result.check().status is CheckStatus.FAILED


def test_chip_without_active_authentication_fails() -> None:
    session, _ = open_bsi(bsi_chip())
    result = perform_active_authentication(
        session.transport, parse_dg15(session.reader.read(Ef.DG15))
    )
    assert result.status is CheckStatus.FAILED
    assert result.reason == ("the chip refused INTERNAL AUTHENTICATE with 6D00 (ins not supported)")


# -- RSA trailers and ECDSA forms --------------------------------------------------------


@pytest.mark.parametrize(
    ("trailer", "title"),
    [
        (RsaTrailer.SHA1_IMPLICIT, "SHA-1"),
        (RsaTrailer.SHA1, "SHA-1"),
        (RsaTrailer.SHA224, "SHA-224"),
        (RsaTrailer.SHA256, "SHA-256"),
        (RsaTrailer.SHA384, "SHA-384"),
        (RsaTrailer.SHA512, "SHA-512"),
    ],
)
def test_rsa_iso9796_2_trailers(trailer: RsaTrailer, title: str) -> None:
    result = run(
        aa_chip(ActiveAuthentication(RSA_1024, rsa_trailer=trailer), spki(RSA_1024), None),
        with_dg14=False,
    )
    assert result.status is CheckStatus.PASSED, result.reason
    assert result.mechanism == f"RSA-1024 ISO/IEC 9796-2 scheme 1 with {title}"


def test_rsa_2048_sha256() -> None:
    responder = ActiveAuthentication(RSA_2048, rsa_trailer=RsaTrailer.SHA256)
    result = run(aa_chip(responder, spki(RSA_2048), None), with_dg14=False)
    assert result.passed
    assert result.mechanism == "RSA-2048 ISO/IEC 9796-2 scheme 1 with SHA-256"


@pytest.mark.parametrize(
    ("curve_type", "algorithm", "hash_type", "form", "mechanism"),
    [
        (
            ec.SECP256R1,
            ECDSA_WITH_SHA256,
            hashes.SHA256,
            EcdsaForm.PLAIN,
            "ECDSA on secp256r1 with SHA-256 (plain)",
        ),
        (
            ec.SECP256R1,
            ECDSA_WITH_SHA256,
            hashes.SHA256,
            EcdsaForm.DER,
            "ECDSA on secp256r1 with SHA-256 (DER)",
        ),
        (
            ec.BrainpoolP384R1,
            ECDSA_PLAIN_SHA384,
            hashes.SHA384,
            EcdsaForm.PLAIN,
            "ECDSA on brainpoolP384r1 with SHA-384 (plain)",
        ),
        (
            ec.SECP521R1,
            ECDSA_WITH_SHA512,
            hashes.SHA512,
            EcdsaForm.DER,
            "ECDSA on secp521r1 with SHA-512 (DER)",
        ),
        (
            ec.BrainpoolP256R1,
            ECDSA_PLAIN_SHA1,
            hashes.SHA1,
            EcdsaForm.PLAIN,
            "ECDSA on brainpoolP256r1 with SHA-1 (plain)",
        ),
    ],
)
def test_ecdsa(
    curve_type: type[ec.EllipticCurve],
    algorithm: str,
    hash_type: type[hashes.HashAlgorithm],
    form: EcdsaForm,
    mechanism: str,
) -> None:
    key = ec.generate_private_key(curve_type())
    responder = ActiveAuthentication(key, ecdsa_hash=hash_type, ecdsa_form=form)
    result = run(aa_chip(responder, spki(key), algorithm))
    assert result.status is CheckStatus.PASSED, result.reason
    assert result.mechanism == mechanism


@pytest.mark.parametrize("fault", [Fault.WRONG_KEY, Fault.REPLAY])
def test_ecdsa_clone_fails(fault: Fault) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    responder = ActiveAuthentication(key, fault=fault)
    result = run(aa_chip(responder, spki(key), ECDSA_WITH_SHA256))
    assert result.status is CheckStatus.FAILED
    assert result.reason == (
        "the chip's signature does not verify with the DG15 key: the signature does not verify"
    )


def test_ecdsa_without_signature_algorithm_is_not_supported() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    result = run(aa_chip(ActiveAuthentication(key), spki(key), None), with_dg14=False)
    assert result.status is CheckStatus.NOT_SUPPORTED
    assert result.reason == "an ECDSA key, but DG14 names no signature algorithm"


def _plain_ecdsa(curve: Curve, secret: int, message: bytes) -> bytes:
    """ECDSA with SHA-256 by the textbook (BSI TR-03111 §4.2.1.1), independent of the reader."""
    size = (curve.n.bit_length() + 7) // 8
    digest = int.from_bytes(hashlib.sha256(message).digest(), "big")
    e = digest >> max(0, 256 - curve.n.bit_length())
    while True:
        k = secrets.randbelow(curve.n - 1) + 1
        point = curve.multiply(k, curve.g)
        assert point is not None
        r = point.x % curve.n
        s = pow(k, -1, curve.n) * (e + r * secret) % curve.n
        if r and s:
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def test_ecdsa_on_a_curve_cryptography_lacks_uses_the_one_verifier() -> None:
    """brainpoolP224r1: Active Authentication verifies as passive authentication does."""
    params = curve(Std.BRAINPOOL_P224R1)
    secret = 0xC0FFEE
    public = params.multiply(secret, params.g)
    assert public is not None
    encoded_spki = standardized_spki(Std.BRAINPOOL_P224R1, params.encode_point(public))
    key = parse_subject_public_key_info(encoded_spki)
    assert isinstance(key, EcPublicKey)
    signature = _plain_ecdsa(params, secret, CHALLENGE)
    result = verify_ecdsa_challenge(key, CHALLENGE, signature, ECDSA_WITH_SHA256)
    assert (result.valid, result.mechanism) == (
        True,
        "ECDSA on brainpoolP224r1 with SHA-256 (plain)",
    )
    assert not verify_ecdsa_challenge(key, bytes(8), signature, ECDSA_WITH_SHA256).valid
    plain_sha256 = bytes(
        asn1_algos.SignedDigestAlgorithm({"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}).dump()
    )
    assert pa_verify_signature(encoded_spki, plain_sha256, signature, CHALLENGE)
    assert not pa_verify_signature(encoded_spki, plain_sha256, signature, bytes(8))
    p256 = parse_subject_public_key_info(spki(ec.generate_private_key(ec.SECP256R1())))
    assert isinstance(p256, EcPublicKey)
    with pytest.raises(UnsupportedProtocolError, match=r"signature algorithm 1\.2\.3"):
        verify_ecdsa_challenge(p256, bytes(8), bytes(64), "1.2.3")


# -- ISO/IEC 9796-2 verification on its own -----------------------------------------------

BSI_PUBLIC = RsaPublicKey(
    BSI_AA_KEY.private_numbers().public_numbers.n, BSI_AA_KEY.private_numbers().public_numbers.e
)
CHALLENGE = bytes.fromhex("0011223344556677")


def sign_representative(representative: bytes) -> bytes:
    """The RSA private operation of the BSI key on a representative built by the test."""
    numbers = BSI_AA_KEY.private_numbers()
    n = numbers.public_numbers.n
    return pow(int.from_bytes(representative, "big"), numbers.d, n).to_bytes(128, "big")


def representative(
    m1: bytes, *, first: bytes = b"\x6a", hash_name: str = "sha1", trailer: bytes = b"\xbc"
) -> bytes:
    digest = hashlib.new(hash_name, m1 + CHALLENGE).digest()
    return first + m1 + digest + trailer


def test_iso9796_2_known_answer() -> None:
    m1 = bytes(range(106))
    signature = sign_representative(representative(m1))
    result = verify_iso9796_2(BSI_PUBLIC, CHALLENGE, signature)
    assert result.valid
    assert result.mechanism == "RSA-1024 ISO/IEC 9796-2 scheme 1 with SHA-1"
    assert not verify_iso9796_2(BSI_PUBLIC, bytes(8), signature).valid


def test_iso9796_2_accepts_the_signature_n_minus_s() -> None:
    """ISO/IEC 9796-2: when J does not end in nibble C the representative is n - J."""
    assert BSI_PUBLIC.modulus % 16 == 9  # so n - J ends in nibble D, never C, for J = C
    signature = int.from_bytes(sign_representative(representative(bytes(106))), "big")
    alternative = (BSI_PUBLIC.modulus - signature).to_bytes(128, "big")
    assert verify_iso9796_2(BSI_PUBLIC, CHALLENGE, alternative).valid


def test_iso9796_2_padding_field() -> None:
    """Header 6B, padding octets BB, closing BA, then a shorter M1 (1+5+101+20+1 = 128)."""
    m1 = bytes(range(101))
    padded = representative(m1, first=b"\x6b" + b"\xbb" * 4 + b"\xba")
    assert verify_iso9796_2(BSI_PUBLIC, CHALLENGE, sign_representative(padded)).valid
    broken = representative(m1, first=b"\x6b" + b"\xbb" * 5)
    result = verify_iso9796_2(BSI_PUBLIC, CHALLENGE, sign_representative(broken))
    assert (result.valid, result.reason) == (
        False,
        "the 9796-2 padding field does not end in nibble A",
    )


@pytest.mark.parametrize(
    ("built", "reason"),
    [
        (
            representative(bytes(106), first=b"\x4a"),
            "header 4 is not partial message recovery with the challenge as M2",
        ),
        (
            representative(bytes(93), hash_name="sha256", trailer=b"\x31\xcc"),
            "unknown 9796-2 trailer 31CC",
        ),
        (representative(bytes(106), first=b"\x6c"), "malformed 9796-2 padding field"),
        (
            # n = 9 mod 16 for this key, so neither J nor n - J ends in nibble C
            representative(bytes(106))[:-1] + b"\xb5",
            "the recovered representative has no 9796-2 trailer",
        ),
        (
            representative(bytes(106))[:-1] + b"\xac",
            f"unknown 9796-2 trailer {representative(bytes(106))[-2:-1].hex().upper()}AC",
        ),
    ],
)
def test_iso9796_2_rejections(built: bytes, reason: str) -> None:
    result = verify_iso9796_2(BSI_PUBLIC, CHALLENGE, sign_representative(built))
    assert (result.valid, result.reason) == (False, reason)


def test_iso9796_2_signature_size() -> None:
    too_long = verify_iso9796_2(BSI_PUBLIC, CHALLENGE, bytes(129))
    assert too_long.reason == "a signature of 129 bytes for an RSA-1024"
    at_modulus = BSI_PUBLIC.modulus.to_bytes(128, "big")
    assert verify_iso9796_2(BSI_PUBLIC, CHALLENGE, at_modulus).reason == (
        "the signature is not below the modulus"
    )
    assert not verify_iso9796_2(BSI_PUBLIC, CHALLENGE, b"").valid


SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(st.binary(max_size=140))
def test_random_rsa_signatures_are_invalid_not_errors(signature: bytes) -> None:
    assert not verify_signature(BSI_PUBLIC, CHALLENGE, signature).valid


@SETTINGS
@given(st.integers(min_value=0, max_value=127), st.integers(min_value=1, max_value=255))
def test_any_changed_byte_invalidates_a_signature(position: int, delta: int) -> None:
    signature = bytearray(sign_representative(representative(bytes(106))))
    signature[position] ^= delta
    assert not verify_iso9796_2(BSI_PUBLIC, CHALLENGE, bytes(signature)).valid


EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_PUBLIC = parse_subject_public_key_info(spki(EC_KEY))


@SETTINGS
@given(st.binary(max_size=140))
def test_random_ecdsa_signatures_are_invalid_not_errors(signature: bytes) -> None:
    assert isinstance(EC_PUBLIC, EcPublicKey)
    result = verify_signature(EC_PUBLIC, CHALLENGE, signature, ECDSA_WITH_SHA256)
    assert not result.valid


def test_ecdsa_signature_forms() -> None:
    assert isinstance(EC_PUBLIC, EcPublicKey)
    der = EC_KEY.sign(CHALLENGE, ec.ECDSA(hashes.SHA256()))
    assert verify_ecdsa_challenge(EC_PUBLIC, CHALLENGE, der, ECDSA_WITH_SHA256).mechanism.endswith(
        "(DER)"
    )
    result = verify_ecdsa_challenge(EC_PUBLIC, CHALLENGE, bytes(10), ECDSA_WITH_SHA256)
    assert result.reason == "10 bytes are neither plain r||s nor DER"
    assert not verify_ecdsa_challenge(EC_PUBLIC, CHALLENGE, der, "1.2.840.10045.4.3.3").valid


# -- tampered and truncated responses ----------------------------------------------------


class PlainTamper:
    """Sits above secure messaging and changes the chip's plain answer (a broken chip)."""

    def __init__(self, channel: CardSession, mode: str, position: int, value: int) -> None:
        self.channel = channel.transport
        self.mode, self.position, self.value = mode, position, value

    @property
    def supports_extended_length(self) -> bool:
        return self.channel.supports_extended_length

    def transmit(self, apdu: bytes) -> bytes:
        response = self.channel.transmit(apdu)
        position = self.position % len(response)
        if self.mode == "truncate":
            return response[:position]
        return (
            response[:position]
            + bytes((response[position] ^ self.value,))
            + response[position + 1 :]
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layer=st.sampled_from(("plain", "wire")),
    mode=st.sampled_from(("flip", "truncate")),
    position=st.integers(min_value=0, max_value=200),
    value=st.integers(min_value=1, max_value=255),
)
def test_tampered_responses_fail_or_raise_card_errors(
    layer: str, mode: str, position: int, value: int
) -> None:
    chip, _ = bsi_with_aa()
    link = Link(chip)
    session, _ = open_bsi(chip, link)
    dg15 = parse_dg15(session.reader.read(Ef.DG15))
    transport: Transport = session.transport
    if layer == "wire":
        link.tamper_at = link.responses + 1
        link.tamper = (mode, position, value)
    else:
        transport = PlainTamper(session, mode, position, value)
    try:
        result = perform_active_authentication(transport, dg15)
    except CardError as exc:
        assert layer == "wire" or mode == "truncate", exc
        if layer == "wire":
            assert isinstance(exc, SecureMessagingError)
        return
    if layer == "wire" and link.tampered_status_word:
        assert result.passed  # the outer SW is not protected; DO99 inside the MAC counts
    else:
        assert result.status is CheckStatus.FAILED
