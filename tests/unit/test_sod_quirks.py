"""Quirks of genuine EF.SODs (issue 11 items 1-2, docs/verification.md §3), on SODs built by
the test PKI exactly as the documents show them.

1. The signer identifier (issuerAndSerialNumber) lists the issuer's RDNs as C, O, ST, L,
   OU, CN while the one embedded Document Signer certificate says C, ST, L, O, OU, CN; the
   signature is RSASSA-PSS. VERIFIED with the right CSCA and a finding; the slightest
   change of the serial number, of an attribute or of the signature is INVALID.
2. eContentType and content-type attribute id-data, the pre-ICAO OID or a vendor OID
   instead of id-icao-ldsSecurityObject: VERIFIED with a finding when the content is an
   LDSSecurityObject.
3. A Document Signer certificate without keyUsage (the Bundesdruckerei test passport of
   2008 in tests/vectors): a finding; one whose keyUsage lacks digitalSignature fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from cardreader.errors import ParseError
from cardreader.files.ids import Ef
from cardreader.iso7816 import tlv
from cardreader.verify.passive import verify_files
from cardreader.verify.report import (
    Check,
    CheckKind,
    CheckStatus,
    Finding,
    FindingKind,
    Verdict,
    VerificationReport,
)
from cardreader.verify.signature import parse_certificate
from cardreader.verify.sod import (
    ContentType,
    SignerMatch,
    parse_sod,
    parse_sod_signed_data,
)
from cardreader.verify.trust import TrustStore
from simulators.pki import Algorithm, Issued, Pki

P, F, U = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.UNKNOWN
DATA_GROUPS = {1: b"\x61\x05\x5f\x1f\x02ID", 14: b"\x6e\x02\x31\x00"}
FILES = {Ef.DG1: DATA_GROUPS[1], Ef.DG14: DATA_GROUPS[14]}
ISSUER = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "UT"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Utopia State"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Capital"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ministry of Travel"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Passports"),
        x509.NameAttribute(NameOID.COMMON_NAME, "CSCA Utopia"),
    ]
)
"""C, ST, L, O, OU, CN: the order of the issuing state's certificates."""
C_O_ST_L_OU_CN = (0, 3, 1, 2, 4, 5)
"""The order of its signer identifier."""


@cache
def state() -> tuple[Pki, Issued, Issued]:
    pki = Pki(seed=11, now=datetime.now(UTC) - timedelta(days=10))
    csca = pki.csca(Algorithm.RSA_PSS, subject=ISSUER, not_before=pki.now - timedelta(days=400))
    return pki, csca, pki.document_signer(csca, Algorithm.RSA_PSS)


def trust() -> TrustStore:
    return TrustStore([parse_certificate(state()[1].der)])


def files(**sod_options: object) -> dict[Ef, bytes]:
    pki, _, ds = state()
    return {**FILES, Ef.SOD: pki.sod(ds, DATA_GROUPS, **sod_options)}  # type: ignore[arg-type]


def reordered() -> dict[Ef, bytes]:
    return files(issuer_rdn_order=C_O_ST_L_OU_CN)


def verify(documents: dict[Ef, bytes], anchors: TrustStore | None = None) -> VerificationReport:
    """Offline verification; the fictitious state has no ISO 3166 code, so no country check."""
    return verify_files(documents, trust() if anchors is None else anchors, None, None)


def only(report: VerificationReport, kind: CheckKind, subject: str = "") -> Check:
    (check,) = [c for c in report.of_kind(kind) if c.subject == subject]
    return check


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes((data[position] ^ 0x01,)) + data[position + 1 :]


# -- 1. the signer identifier ---------------------------------------------------------------


def test_the_reordered_issuer_is_another_name_with_the_same_rdns() -> None:
    signed = parse_sod_signed_data(reordered()[Ef.SOD])
    (certificate,) = signed.certificates
    named = signed.signer_info.signer.issuer
    assert named is not None
    assert named.rdn_types == ("C", "O", "ST", "L", "OU", "CN")
    assert certificate.issuer.rdn_types == ("C", "ST", "L", "O", "OU", "CN")
    assert named.match_key != certificate.issuer.match_key  # RFC 5280 §7.1
    assert signed.signer_certificate is None
    selection = signed.select_signer()
    assert selection is not None
    assert (selection.certificate, selection.match) == (certificate, SignerMatch.RDN_ORDER)
    assert parse_sod(reordered()[Ef.SOD]).ds_certificate == certificate


def test_the_reordered_issuer_verifies_with_a_finding() -> None:
    report = verify(reordered())
    assert report.verdict is Verdict.VERIFIED
    assert [c.title for c in report.checks if c.status is not P] == ["crl", "country"]
    assert only(report, CheckKind.SOD_SIGNATURE).reason == (
        "RSASSA-PSS SHA-256 signature is valid with the one certificate EF.SOD carries, "
        "named with its issuer's RDNs in another order"
    )
    assert report.findings == (
        Finding(
            FindingKind.SIGNER_IDENTIFIER_NAME_ORDER,
            "EF.SOD",
            "issuerAndSerialNumber lists the issuer's RDNs as C, O, ST, L, OU, CN, the "
            "certificate as C, ST, L, O, OU, CN: another name for RFC 5280 §7.1, with the "
            "same attributes and serial number; the signature verifies with the one "
            "certificate EF.SOD carries",
        ),
    )


def test_the_exact_name_verifies_without_a_finding() -> None:
    report = verify(files())
    assert report.verdict is Verdict.VERIFIED
    assert report.findings == ()
    assert only(report, CheckKind.SOD_SIGNATURE).reason == (
        "RSASSA-PSS SHA-256 signature by the Document Signer is valid"
    )


def test_the_reordered_issuer_needs_the_right_csca() -> None:
    assert verify(reordered(), TrustStore()).verdict is Verdict.UNTRUSTED
    impostor = Pki(seed=12).csca(Algorithm.RSA_PSS, subject=ISSUER)
    report = verify(reordered(), TrustStore([parse_certificate(impostor.der)]))
    assert only(report, CheckKind.CHAIN).status is U
    assert report.verdict is Verdict.UNTRUSTED


def _signer_identifier(sod: bytes) -> range:
    """The bytes of the issuerAndSerialNumber in EF.SOD (after the certificate)."""
    signed = parse_sod_signed_data(sod)
    named = signed.signer_info.signer.issuer
    assert named is not None
    start = sod.index(named.der, sod.index(signed.certificates[0].der) + 1)
    serial = signed.certificates[0].serial_number
    serial_der = tlv.encode(0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big"))
    end = sod.index(serial_der, start) + len(serial_der)
    return range(start, end)


def test_any_change_of_the_reordered_signer_identifier_is_invalid() -> None:
    sod = reordered()[Ef.SOD]
    positions = _signer_identifier(sod)
    assert len(positions) > 100
    for position in positions:
        report = verify({**FILES, Ef.SOD: flipped(sod, position)})
        assert report.verdict is Verdict.INVALID, position


def test_a_reordered_issuer_with_another_serial_or_attribute_fails() -> None:
    sod = reordered()[Ef.SOD]
    signed = parse_sod_signed_data(sod)
    serial_at = _signer_identifier(sod)[-1]  # the last byte of the serial number
    report = verify({**FILES, Ef.SOD: flipped(sod, serial_at)})
    assert only(report, CheckKind.SOD_SIGNATURE).reason.startswith(
        "the signer identifier does not name the one certificate EF.SOD carries"
    )
    assert report.findings == ()
    named = signed.signer_info.signer.issuer
    assert named is not None
    capital = sod.index(b"Capital", sod.index(named.der, sod.index(signed.certificates[0].der) + 1))
    changed = sod[:capital] + b"Kapital" + sod[capital + 7 :]
    assert verify({**FILES, Ef.SOD: changed}).verdict is Verdict.INVALID


def test_the_fallback_needs_a_single_embedded_certificate() -> None:
    pki, csca, _ = state()
    other = pki.document_signer(csca, Algorithm.RSA_PSS, common_name="Another signer")
    documents = files(issuer_rdn_order=C_O_ST_L_OU_CN, extra_certificates=[other.der])
    assert parse_sod_signed_data(documents[Ef.SOD]).select_signer() is None
    report = verify(documents)
    assert only(report, CheckKind.SOD_SIGNATURE).reason == (
        "the Document Signer certificate is not in EF.SOD"
    )
    assert report.verdict is Verdict.UNTRUSTED


def test_a_wrong_signature_with_the_reordered_issuer_is_invalid() -> None:
    sod = reordered()[Ef.SOD]
    signature = parse_sod_signed_data(sod).signer_info.signature
    at = sod.index(signature) + len(signature) // 2
    report = verify({**FILES, Ef.SOD: flipped(sod, at)})
    assert only(report, CheckKind.SOD_SIGNATURE).reason == (
        "RSASSA-PSS SHA-256 signature does not verify with the one certificate EF.SOD "
        "carries, named with its issuer's RDNs in another order"
    )
    assert report.verdict is Verdict.INVALID
    assert report.findings == ()


# -- 2. the eContentType --------------------------------------------------------------------

NON_STANDARD = [
    ("1.2.840.113549.1.7.1", "1.2.840.113549.1.7.1, id-data (RFC 5652 §4)"),
    ("1.3.27.1.1.1", "1.3.27.1.1.1, a pre-ICAO ldsSecurityObject OID"),
    ("1.2.528.1.1006.1.20.1", "1.2.528.1.1006.1.20.1, a vendor OID (SDU, Netherlands)"),
    ("1.3.6.1.4.1.99999.1", "1.3.6.1.4.1.99999.1, an unregistered OID"),
]


@pytest.mark.parametrize(("oid", "described"), NON_STANDARD, ids=[o for o, _ in NON_STANDARD])
def test_a_non_standard_content_type_verifies_with_a_finding(oid: str, described: str) -> None:
    report = verify(files(content_type=oid))
    assert report.verdict is Verdict.VERIFIED
    assert only(report, CheckKind.SOD_SIGNED_ATTRIBUTES, "content-type").reason == (
        f"content type {described}, as the eContentType; the content parses as expected"
    )
    assert report.findings == (
        Finding(
            FindingKind.CONTENT_TYPE,
            "EF.SOD",
            f"eContentType and content-type attribute are {described}, not 2.23.136.1.1.1 "
            "(ICAO 9303-10 §4.6.2.1); the content is an LDSSecurityObject",
        ),
    )
    assert parse_sod(files(content_type=oid)[Ef.SOD]).security_object.hashes.keys() == {1, 14}


def test_id_data_with_both_quirks() -> None:
    report = verify(files(content_type=ContentType.DATA.value, issuer_rdn_order=C_O_ST_L_OU_CN))
    assert report.verdict is Verdict.VERIFIED
    assert [f.kind for f in report.findings] == [
        FindingKind.CONTENT_TYPE,
        FindingKind.SIGNER_IDENTIFIER_NAME_ORDER,
    ]


def test_the_attribute_must_equal_the_econtent_type() -> None:
    report = verify(
        files(content_type=ContentType.DATA.value, content_type_attribute="2.23.136.1.1.1")
    )
    check = only(report, CheckKind.SOD_SIGNED_ATTRIBUTES, "content-type")
    assert (check.status, check.reason) == (
        F,
        "content type attribute is 2.23.136.1.1.1, not the eContentType "
        "1.2.840.113549.1.7.1 (RFC 5652 §11.1)",
    )
    assert report.verdict is Verdict.INVALID
    assert report.findings == ()


def test_hashes_changed_under_id_data_are_invalid() -> None:
    sod = files(content_type=ContentType.DATA.value)[Ef.SOD]
    content = parse_sod_signed_data(sod).content
    start = sod.index(content)
    for position in range(start, start + len(content)):
        report = verify({**FILES, Ef.SOD: flipped(sod, position)})
        assert report.verdict is Verdict.INVALID, position


def test_another_known_content_or_no_security_object_is_refused() -> None:
    pki, _, ds = state()
    for content_type, name in [
        (ContentType.CSCA_MASTER_LIST.value, "CSCA_MASTER_LIST"),
        (ContentType.SECURITY_OBJECT.value, "SECURITY_OBJECT"),
    ]:
        with pytest.raises(ParseError, match=rf"\({name}\) is not LDS_SECURITY_OBJECT"):
            parse_sod(files(content_type=content_type)[Ef.SOD])
    master_list = pki.master_list(ds, [])
    with pytest.raises(ParseError, match="not LDS_SECURITY_OBJECT"):
        parse_sod(tlv.encode(0x77, master_list))
    data = tlv.encode(0x77, pki._content_info(ds, ContentType.DATA.value, b"\x30\x00", None, False))
    with pytest.raises(
        ParseError,
        match=r"^encapsulated content 1\.2\.840\.113549\.1\.7\.1 is not LDS_SECURITY_OBJECT "
        "and does not parse as one",
    ):
        parse_sod(data)
    report = verify({**FILES, Ef.SOD: data})
    assert only(report, CheckKind.SOD_SIGNATURE).status is F
    assert report.verdict is Verdict.INVALID


# -- 3. the DS certificate's keyUsage ---------------------------------------------------------


def test_a_document_signer_without_key_usage_is_a_finding() -> None:
    pki, csca, _ = state()
    ds = pki.document_signer(csca, Algorithm.RSA_PSS, key_usage=False)
    report = verify({**FILES, Ef.SOD: pki.sod(ds, DATA_GROUPS)})
    check = only(report, CheckKind.DS_CERTIFICATE, "key-usage")
    assert (check.status, check.reason) == (
        P,
        "no keyUsage extension: the key is not restricted (RFC 5280 §4.2.1.3)",
    )
    assert report.findings == (
        Finding(
            FindingKind.DS_KEY_USAGE_ABSENT,
            "EF.SOD",
            "the Document Signer certificate has no keyUsage extension (ICAO 9303-12 §7.1.1)",
        ),
    )
    assert report.verdict is Verdict.VERIFIED


def test_a_key_usage_without_digital_signature_fails() -> None:
    pki, csca, _ = state()
    report = verify({**FILES, Ef.SOD: pki.sod(csca, DATA_GROUPS)})  # the CSCA signs itself
    check = only(report, CheckKind.DS_CERTIFICATE, "key-usage")
    assert (check.status, check.reason) == (F, "keyUsage lacks digitalSignature")
    assert report.verdict is Verdict.INVALID
