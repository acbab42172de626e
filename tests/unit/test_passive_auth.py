"""Passive authentication: the BSI reference document and SODs of freshly generated PKIs.

The BSI TR-03105-5 data set (tests/vectors/bsi-tr03105-5) has a DS certificate valid
2013-12-16 to 2014-12-11 and no CSCA; the other documents are signed in the test by a
CSCA → DS chain of simulators.pki for every signature algorithm the issue names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from asn1crypto import algos, keys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.crypto.domain_params import (
    STANDARDIZED_DOMAIN_PARAMETERS,
    StandardizedDomainParameter,
)
from cardreader.crypto.ec import Curve
from cardreader.crypto.keys import EcPublicKey, parse_subject_public_key_info
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.files.ids import Ef
from cardreader.verify.passive import ISSUING_STATE_COUNTRY, passive_authentication, verify_files
from cardreader.verify.report import Check, CheckKind, CheckStatus, Verdict, VerificationReport
from cardreader.verify.signature import parse_certificate, verify_signature
from cardreader.verify.sod import parse_sod
from cardreader.verify.trust import TrustStore, parse_crl, parse_master_list
from simulators.pki import ALL_ALGORITHMS, Algorithm, Issued, Pki
from tests.vectors import BSI_DATASET

P, F, U = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.UNKNOWN
BSI_AT = datetime(2014, 6, 1, tzinfo=UTC)
BSI_COVERED = (1, 2, 3, 4, 14)


def _bsi_files() -> dict[Ef, bytes]:
    files = {Ef.SOD: (BSI_DATASET / "EF_SOD.bin").read_bytes()}
    for number in (*BSI_COVERED, 15):
        files[Ef[f"DG{number}"]] = (BSI_DATASET / f"Datagroup{number}.bin").read_bytes()
    return files


BSI_FILES: Mapping[Ef, bytes] = _bsi_files()


def _statuses(report: VerificationReport) -> list[tuple[str, CheckStatus]]:
    return [(check.title, check.status) for check in report.checks]


def _only(report: VerificationReport, kind: CheckKind, subject: str = "") -> Check:
    (check,) = [c for c in report.of_kind(kind) if not subject or c.subject == subject]
    return check


# -- the BSI reference document ----------------------------------------------------------


def test_bsi_at_2014_is_untrusted_without_a_csca() -> None:
    report = verify_files(BSI_FILES, TrustStore(), BSI_AT, "D")
    assert _statuses(report) == [
        ("dg-hash DG1", P),
        ("dg-hash DG2", P),
        ("dg-hash DG3", P),
        ("dg-hash DG4", P),
        ("dg-hash DG14", P),
        ("dg-hash DG15", U),
        ("sod-signed-attributes content-type", P),
        ("sod-signed-attributes message-digest", P),
        ("sod-signature", P),
        ("ds-certificate validity", P),
        ("ds-certificate key-usage", P),
        ("chain", U),
        ("crl", U),
        ("country", U),
    ]
    assert _only(report, CheckKind.DG_HASH, "DG15").reason.startswith("not covered by EF.SOD")
    assert _only(report, CheckKind.SOD_SIGNATURE).reason == (
        "RSASSA-PSS SHA-256 signature by the Document Signer is valid"
    )
    assert _only(report, CheckKind.DS_CERTIFICATE, "validity").reason == (
        "valid 2013-12-16 to 2014-12-11"
    )
    assert report.verdict is Verdict.UNTRUSTED


def test_bsi_now_is_invalid_because_the_signer_expired() -> None:
    report = verify_files(BSI_FILES, TrustStore(), None, "D")
    validity = _only(report, CheckKind.DS_CERTIFICATE, "validity")
    assert validity.status is F
    assert validity.reason.startswith("expired: valid 2013-12-16 to 2014-12-11, checked at ")
    assert [c.title for c in report.checks if c.status is F] == ["ds-certificate validity"]
    assert report.verdict is Verdict.INVALID


def _flipped(data: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


@pytest.mark.parametrize("number", BSI_COVERED)
def test_bsi_flipped_data_group_byte_is_invalid(number: int) -> None:
    ef = Ef[f"DG{number}"]
    size = len(BSI_FILES[ef])
    positions = sorted({0, 1, size - 1, *range(0, size, max(1, size // 24))})
    for position in positions:
        files = {**BSI_FILES, ef: _flipped(BSI_FILES[ef], position)}
        report = verify_files(files, TrustStore(), BSI_AT, "D")
        assert report.verdict is Verdict.INVALID, (number, position)
        assert _only(report, CheckKind.DG_HASH, f"DG{number}").status is F


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(BSI_COVERED), st.data())
def test_bsi_any_flipped_data_group_byte_is_invalid(number: int, data: st.DataObject) -> None:
    ef = Ef[f"DG{number}"]
    position = data.draw(st.integers(0, len(BSI_FILES[ef]) - 1))
    mask = data.draw(st.integers(1, 255))
    files = {**BSI_FILES, ef: _flipped(BSI_FILES[ef], position, mask)}
    assert verify_files(files, TrustStore(), BSI_AT, "D").verdict is Verdict.INVALID


def _sod_regions() -> dict[str, range]:
    sod = BSI_FILES[Ef.SOD]
    signed = parse_sod(sod).signed_data
    attributes = signed.signer_info.signed_attributes
    assert attributes is not None
    content_at = sod.index(signed.content)
    attributes_at = sod.index(attributes[2:]) - 2  # stored with tag A0 instead of 31
    signature_at = sod.index(signed.signer_info.signature)
    return {
        "eContent": range(content_at, content_at + len(signed.content)),
        "signed attributes": range(attributes_at, attributes_at + len(attributes)),
        "signature": range(signature_at, signature_at + len(signed.signer_info.signature)),
    }


@pytest.mark.parametrize("region", ["eContent", "signed attributes", "signature"])
def test_bsi_every_flipped_signed_sod_byte_is_invalid(region: str) -> None:
    for position in _sod_regions()[region]:
        files = {**BSI_FILES, Ef.SOD: _flipped(BSI_FILES[Ef.SOD], position)}
        report = verify_files(files, TrustStore(), BSI_AT, "D")
        assert report.verdict is Verdict.INVALID, (region, position)


# -- generated PKIs -----------------------------------------------------------------------

DATA_GROUPS = {
    1: b"\x61\x5d\x5f\x1f\x5a" + b"IDVNM" + b"<" * 85,
    2: b"\x75\x04" + secrets.token_bytes(4),
    13: b"\x6d\x03\x02\x01\x01",
    14: b"\x6e\x02\x31\x00",
    15: b"\x6f\x02\x30\x00",
}
FILES = {Ef[f"DG{n}"]: data for n, data in DATA_GROUPS.items()}


@dataclasses.dataclass(frozen=True)
class Chain:
    pki: Pki
    csca: Issued
    ds: Issued

    def files(self, ds: Issued | None = None, **sod_options: object) -> dict[Ef, bytes]:
        sod = self.pki.sod(ds or self.ds, DATA_GROUPS, **sod_options)  # type: ignore[arg-type]
        return {**FILES, Ef.SOD: sod}

    def trust(self, *crls: bytes) -> TrustStore:
        return TrustStore([parse_certificate(self.csca.der)], [parse_crl(c) for c in crls])


@cache
def chain(algorithm: Algorithm) -> Chain:
    pki = Pki(seed=2024, now=datetime.now(UTC) - timedelta(days=30))
    csca = pki.csca(algorithm, not_before=pki.now - timedelta(days=3 * 365))
    return Chain(pki, csca, pki.document_signer(csca, algorithm))


ALGORITHMS = pytest.mark.parametrize("algorithm", ALL_ALGORITHMS, ids=lambda a: a.label)


@ALGORITHMS
def test_verified_with_the_csca_as_anchor(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    report = verify_files(c.files(), c.trust(c.pki.crl(c.csca)), None, "VNM")
    assert [check.title for check in report.checks if check.status is not P] == []
    assert len(report.of_kind(CheckKind.DG_HASH)) == 5
    assert report.verdict is Verdict.VERIFIED


@ALGORITHMS
def test_without_a_crl_still_verified(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    report = verify_files(c.files(), c.trust(), None, "VNM")
    assert _only(report, CheckKind.CRL).status is U
    assert _only(report, CheckKind.CRL).reason.startswith("no CRL available for CSCA")
    assert report.verdict is Verdict.VERIFIED


@ALGORITHMS
def test_another_csca_of_the_same_name_is_unknown(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    twin = c.pki.csca(algorithm)  # same name, its own key
    report = verify_files(c.files(), TrustStore([parse_certificate(twin.der)]), None, "VNM")
    chain_check = _only(report, CheckKind.CHAIN)
    assert chain_check.status is U
    assert "1 with that name have another key identifier" in chain_check.reason
    assert report.verdict is Verdict.UNTRUSTED


@ALGORITHMS
def test_a_forged_csca_with_the_same_key_identifier_fails(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    real = parse_certificate(c.csca.der)
    forged = c.pki.csca(algorithm, subject_key_identifier=real.subject_key_identifier)
    report = verify_files(c.files(), TrustStore([parse_certificate(forged.der)]), None, "VNM")
    assert _only(report, CheckKind.CHAIN).status is F
    assert report.verdict is Verdict.INVALID


@ALGORITHMS
def test_expired_document_signer_is_invalid(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    expired = c.pki.document_signer(
        c.csca,
        algorithm,
        not_before=c.pki.now - timedelta(days=400),
        not_after=c.pki.now - timedelta(days=35),
    )
    report = verify_files(c.files(expired), c.trust(), None, "VNM")
    assert _only(report, CheckKind.DS_CERTIFICATE, "validity").status is F
    assert _only(report, CheckKind.CHAIN).status is P
    assert report.verdict is Verdict.INVALID
    archived = verify_files(c.files(expired), c.trust(), c.pki.now - timedelta(days=100), "VNM")
    assert archived.verdict is Verdict.VERIFIED


@ALGORITHMS
def test_revoked_document_signer_is_invalid(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    crl = c.pki.crl(c.csca, [c.ds], revoked_at=c.pki.now)
    report = verify_files(c.files(), c.trust(crl), None, "VNM")
    crl_check = _only(report, CheckKind.CRL)
    assert (crl_check.status, crl_check.reason) == (
        F,
        f"the DS certificate was revoked on {c.pki.now:%Y-%m-%d}",
    )
    assert report.verdict is Verdict.INVALID
    before = verify_files(c.files(), c.trust(crl), c.pki.now - timedelta(days=1), "VNM")
    assert _only(before, CheckKind.CRL).status is P
    assert _only(before, CheckKind.CRL).reason.endswith(f"(revoked later, on {c.pki.now:%Y-%m-%d})")


@ALGORITHMS
def test_wrong_country_is_invalid(algorithm: Algorithm) -> None:
    c = chain(algorithm)
    report = verify_files(c.files(), c.trust(), None, "DEU")
    country = _only(report, CheckKind.COUNTRY)
    assert (country.status, country.reason) == (F, "issued by DEU but the CSCA is from VN")
    assert report.verdict is Verdict.INVALID


def test_explicit_curve_parameters_verify() -> None:
    c = chain(Algorithm.ECDSA_BRAINPOOL_P256R1)
    ds = c.pki.with_explicit_curve(c.ds, c.csca)
    csca = c.pki.with_explicit_curve(c.csca, c.csca)
    assert b"\x06\x07\x2a\x86\x48\xce\x3d\x01\x01" in parse_certificate(ds.der).public_key
    trust = TrustStore([parse_certificate(csca.der)])
    report = verify_files(c.files(ds), trust, None, "VNM")
    assert report.verdict is Verdict.VERIFIED


def test_master_list_anchors_the_chain() -> None:
    c = chain(Algorithm.ECDSA_P256)
    signer = c.pki.master_list_signer(c.csca, Algorithm.ECDSA_P256)
    trust = TrustStore()
    trust.add_master_list(parse_master_list(c.pki.master_list(signer, [c.csca])))
    assert verify_files(c.files(), trust, None, "VNM").verdict is Verdict.VERIFIED


def test_csca_expired_at_t_fails_the_chain() -> None:
    c = chain(Algorithm.ECDSA_P256)
    now = c.pki.now
    csca = c.pki.csca(
        Algorithm.ECDSA_P256,
        not_before=now - timedelta(days=100),
        not_after=now - timedelta(days=1),
    )
    ds = c.pki.document_signer(csca, Algorithm.ECDSA_P256, not_before=now - timedelta(days=50))
    trust = TrustStore([parse_certificate(csca.der)])
    report = verify_files(c.files(ds), trust, None, "VNM")
    chain_check = _only(report, CheckKind.CHAIN)
    assert chain_check.status is F and "is not valid at" in chain_check.reason
    late = c.pki.document_signer(csca, Algorithm.ECDSA_P256, not_before=now)
    early = verify_files(c.files(late), trust, now - timedelta(days=10), "VNM")
    assert _only(early, CheckKind.CHAIN).reason.endswith("outside the CSCA's validity")


def test_wrong_content_type_attribute_fails() -> None:
    c = chain(Algorithm.ECDSA_P256)
    report = verify_files(c.files(content_type_attribute="1.2.3.4"), c.trust(), None, "VNM")
    assert _only(report, CheckKind.SOD_SIGNED_ATTRIBUTES, "content-type").status is F
    assert _only(report, CheckKind.SOD_SIGNATURE).status is P
    assert report.verdict is Verdict.INVALID


def test_signer_named_by_key_identifier_and_sha512() -> None:
    c = chain(Algorithm.RSA_PSS)
    files = c.files(use_key_identifier=True, digest="sha512", version=1)
    assert verify_files(files, c.trust(), None, "VNM").verdict is Verdict.VERIFIED


def test_data_group_not_read_and_not_covered() -> None:
    c = chain(Algorithm.ECDSA_P256)
    files = c.files()
    del files[Ef.DG2]
    files[Ef.DG11] = b"\x6b\x00"
    report = verify_files(files, c.trust(), None, "VNM")
    not_read = _only(report, CheckKind.DG_HASH, "DG2")
    assert not_read.status is CheckStatus.NOT_SUPPORTED
    assert not_read.reason == "listed in EF.SOD, not read: nothing from it is used"
    assert _only(report, CheckKind.DG_HASH, "DG11").status is U
    assert report.verdict is Verdict.UNTRUSTED
    del files[Ef.DG11]
    assert verify_files(files, c.trust(), None, "VNM").verdict is Verdict.VERIFIED


def test_missing_and_malformed_sod() -> None:
    missing = verify_files(FILES, TrustStore(), None, "VNM")
    assert _statuses(missing) == [("sod-signature", U)]
    assert missing.verdict is Verdict.UNTRUSTED
    broken = verify_files({**FILES, Ef.SOD: b"\x77\x01\x00"}, TrustStore(), None, "VNM")
    assert _statuses(broken) == [("sod-signature", F)]
    assert broken.verdict is Verdict.INVALID


def test_time_must_be_aware_and_country_codes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        passive_authentication(BSI_FILES, TrustStore(), datetime(2014, 6, 1), "D")
    assert (ISSUING_STATE_COUNTRY["VNM"], ISSUING_STATE_COUNTRY["D"]) == ("VN", "DE")
    assert ISSUING_STATE_COUNTRY["GBD"] == "GB"
    assert len(ISSUING_STATE_COUNTRY) == 249 + 6


# -- signature.py: schemes and curves beyond the PKI's ------------------------------------


def _spki(curve_parameters: keys.ECDomainParameters, point: bytes) -> bytes:
    info = keys.PublicKeyInfo(
        {"algorithm": {"algorithm": "ec", "parameters": curve_parameters}, "public_key": point}
    )
    return bytes(info.dump())


def _ecdsa_sign(curve: Curve, secret: int, message: bytes) -> bytes:
    """ECDSA (BSI TR-03111 §4.2.1.1) with SHA-256 and a random nonce, as plain r || s."""
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    e >>= max(0, 256 - curve.n.bit_length())
    while True:
        k = secrets.randbelow(curve.n - 1) + 1
        point = curve.multiply(k, curve.g)
        assert point is not None
        r = point.x % curve.n
        s = pow(k, -1, curve.n) * (e + r * secret) % curve.n
        if r and s:
            size = (curve.n.bit_length() + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")


PLAIN_SHA256 = bytes(algos.SignedDigestAlgorithm({"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}).dump())
ECDSA_SHA256 = bytes(algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump())


def _der(plain: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    half = len(plain) // 2
    return encode_dss_signature(
        int.from_bytes(plain[:half], "big"), int.from_bytes(plain[half:], "big")
    )


def test_ecdsa_on_a_curve_cryptography_lacks() -> None:
    curve = STANDARDIZED_DOMAIN_PARAMETERS[StandardizedDomainParameter.BRAINPOOL_P320R1]
    assert isinstance(curve, Curve)
    secret = secrets.randbelow(curve.n - 1) + 1
    public = curve.multiply(secret, curve.g)
    assert public is not None
    spki = _spki(
        keys.ECDomainParameters(name="named", value="1.3.36.3.3.2.8.1.1.9"),
        curve.encode_point(public),
    )
    signature = _ecdsa_sign(curve, secret, b"message")
    assert verify_signature(spki, PLAIN_SHA256, signature, b"message")
    assert verify_signature(spki, ECDSA_SHA256, _der(signature), b"message")
    assert not verify_signature(spki, PLAIN_SHA256, signature, b"massage")
    assert not verify_signature(spki, PLAIN_SHA256, signature[:-1], b"message")


def test_explicit_parameters_of_no_named_curve() -> None:
    """brainpoolP256r1 with 2·G as generator: same group, no named match, own arithmetic."""
    named = STANDARDIZED_DOMAIN_PARAMETERS[StandardizedDomainParameter.BRAINPOOL_P256R1]
    assert isinstance(named, Curve)
    g2 = named.multiply(2, named.g)
    assert g2 is not None
    curve = named.with_generator(g2)
    secret = secrets.randbelow(curve.n - 1) + 1
    public = curve.multiply(secret, curve.g)
    assert public is not None
    specified = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.p},
            "curve": {
                "a": curve.encode_field_element(curve.a),
                "b": curve.encode_field_element(curve.b),
            },
            "base": curve.encode_point(curve.g),
            "order": curve.n,
            "cofactor": 1,
        }
    )
    spki = _spki(
        keys.ECDomainParameters(name="specified", value=specified), curve.encode_point(public)
    )
    signature = _der(_ecdsa_sign(curve, secret, b"doc"))
    assert verify_signature(spki, ECDSA_SHA256, signature, b"doc")
    assert not verify_signature(spki, ECDSA_SHA256, signature, b"dog")


def test_pss_defaults_and_key_mismatch() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pss_sha1 = padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=20)
    signature = key.sign(b"data", pss_sha1, hashes.SHA1())
    defaults = bytes(algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss"}).dump())
    assert verify_signature(spki, defaults, signature, b"data")
    assert not verify_signature(spki, ECDSA_SHA256, signature, b"data")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_spki = ec_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert not verify_signature(ec_spki, defaults, signature, b"data")
    rsa_sha256 = bytes(algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}).dump())
    ecdsa_sig = ec_key.sign(b"data", ec.ECDSA(hashes.SHA256()))
    assert verify_signature(ec_spki, ECDSA_SHA256, ecdsa_sig, b"data")
    assert not verify_signature(ec_spki, rsa_sha256, ecdsa_sig, b"data")
    md5_rsa = bytes(algos.SignedDigestAlgorithm({"algorithm": "md5_rsa"}).dump())
    with pytest.raises(UnsupportedProtocolError, match=r"1\.2\.840\.113549\.1\.1\.4"):
        verify_signature(spki, md5_rsa, signature, b"data")


def test_a_certificate_parses_its_key_once() -> None:
    """A CSCA's key is parsed at its first check and reused for every DS certificate; the
    same DER (EF.SOD's and EF.CardSecurity's DS certificate) is parsed once."""
    c = chain(Algorithm.ECDSA_P256)
    csca, ds = parse_certificate(c.csca.der), parse_certificate(c.ds.der)
    key = csca.key
    assert isinstance(key, EcPublicKey)
    assert key == parse_subject_public_key_info(csca.public_key)
    assert ds.is_signed_by(csca) and csca.is_signed_by(csca)
    assert not csca.is_signed_by(ds)
    assert csca.key is key
    assert parse_certificate(c.csca.der) is csca  # the same DER: kept parsed
    parse_certificate.cache_clear()
    assert parse_certificate(c.csca.der).key is not key  # each Certificate parses its own


@pytest.mark.parametrize("cut", [1, 40], ids=["point off the curve", "truncated"])
def test_a_certificate_with_a_malformed_key_is_refused_at_every_check(cut: int) -> None:
    c = chain(Algorithm.ECDSA_P256)
    ds = parse_certificate(c.ds.der)
    csca = parse_certificate(c.csca.der)
    spki = csca.public_key[:-cut] + bytes(cut) if cut == 1 else csca.public_key[:-cut]
    broken = dataclasses.replace(csca, public_key=spki)
    with pytest.raises(ParseError) as expected:
        verify_signature(spki, ds.signature_algorithm, ds.signature, ds.tbs)
    for _ in range(2):
        with pytest.raises(ParseError, match=f"^{re.escape(str(expected.value))}$"):
            ds.is_signed_by(broken)
