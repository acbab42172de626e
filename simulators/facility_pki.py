"""A facility's XML0 signing key and self-signed certificate (docs/domain.md §3.7), for the
simulated hospital and the tests: the key as a PKCS#12 file (mode 0600, as the adapter
requires), the certificate as PEM, to register with the simulated gateway."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSWORD = "p12-password"
"""The PKCS#12 file's password (``CCCD_XML0_P12_PASSWORD``)."""


@dataclass(frozen=True)
class FacilityPki:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    p12: Path
    certificate_pem: Path


def make_facility(directory: Path, name: str = "Benh vien Thu nghiem 79024") -> FacilityPki:
    """An RSA-2048 key and a self-signed certificate valid for a year, written to
    ``directory`` as ``facility.p12`` (mode 0600, :data:`P12_PASSWORD`) and
    ``facility.pem``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    p12 = directory / "facility.p12"
    data = pkcs12.serialize_key_and_certificates(
        b"facility",
        key,
        certificate,
        None,
        serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
    )
    with os.fdopen(os.open(p12, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(data)
    pem = directory / "facility.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return FacilityPki(key, certificate, p12, pem)
