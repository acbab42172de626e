"""Certificate names (RFC 5280 §4.1.2.4, §7.1): compared by DER first, prepared (RFC 4518)
only when the DER differs, a name with a prohibited character refused when parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cardreader.errors import ParseError
from cardreader.verify.signature import Certificate, parse_certificate
from cardreader.verify.trust import TrustStore

KEY = ec.derive_private_key(7, ec.SECP256R1())


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def certificate(subject: str, issuer: str, ca: bool = False) -> Certificate:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(KEY, hashes.SHA256())
    )
    return parse_certificate(built.public_bytes(serialization.Encoding.DER))


def test_an_ascii_name_is_read_and_matched_by_der() -> None:
    ds = certificate("DS VN", "CSCA VN")
    assert ds.issuer.text == "Common Name: CSCA VN, Country: VN"
    assert (ds.issuer.country, ds.issuer.rdn_types) == ("VN", ("C", "CN"))
    csca = certificate("CSCA VN", "CSCA VN", ca=True)
    assert ds.issuer.der == csca.subject.der
    assert ds.issuer.matches(csca.subject)
    assert TrustStore([csca]).issuers_of(ds) == (csca,)


def test_names_differing_in_case_and_spaces_match_after_preparation() -> None:
    ds = certificate("DS VN", "csca   vn")
    csca = certificate("CSCA VN", "CSCA VN", ca=True)
    assert ds.issuer.der != csca.subject.der
    key = "country_name:  vn \x1ecommon_name:  csca  vn "
    assert ds.issuer.match_key == csca.subject.match_key == key
    assert ds.issuer.matches(csca.subject)
    assert TrustStore([csca]).issuers_of(ds) == (csca,)
    assert not certificate("DS VN", "CSCA VN 2").issuer.matches(csca.subject)


def test_a_non_ascii_name_is_prepared_when_parsed() -> None:
    ds = certificate("DS VN", "Cục Cảnh sát")
    assert ds.issuer.text == "Common Name: Cục Cảnh sát, Country: VN"
    with pytest.raises(ParseError, match=r"^malformed certificate: X\.509 Name objects may not"):
        certificate("DS VN", "CSCA \ue000")
