"""A test eMRTD PKI: CSCA, Document Signer, master list signer, CRLs, master lists and EF.SOD.

Built on ``cryptography`` (keys, X.509, CRLs) and ``asn1crypto`` (CMS), independently of
``cardreader.verify``: the LDSSecurityObject (ICAO 9303-10 §4.6.2.2) and the CSCA master
list (ICAO 9303-12 §8) are laid out here from the specification, so the reader's parsers
are tested against a second model of the documents.

Determinism: with ``seed``, serial numbers and EC private keys come from a seeded generator,
ECDSA signatures are deterministic (RFC 6979) and times default to a fixed ``now``, so EC
outputs repeat byte for byte. ``cryptography`` cannot generate RSA keys from a seed, and
RSASSA-PSS uses a random salt: certificates and signatures with RSA keys differ on each run
(RSASSA-PKCS1-v1_5 signatures are deterministic for a given key).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from asn1crypto import algos, cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from cardreader.asn1 import UniversalTag
from cardreader.crypto.domain_params import STANDARDIZED_DOMAIN_PARAMETERS
from cardreader.crypto.ec import Curve
from cardreader.iso7816 import tlv

LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"
SECURITY_OBJECT_OID = "0.4.0.127.0.7.3.2.1"
"""id-SecurityObject, the content of EF.CardSecurity (BSI TR-03110-3 §A.1.2.5)."""
CSCA_MASTER_LIST_OID = "2.23.136.1.1.2"
MASTER_LIST_SIGNER_EKU_OID = "2.23.136.1.1.3"
"""id-icao-mrtd-security-cscaMasterListSigningKey (ICAO 9303-12 §7.1.1.3)."""

_SEQUENCE, _SET, _INTEGER, _OCTET_STRING, _OID, _NULL, _PRINTABLE = (
    UniversalTag.SEQUENCE,
    UniversalTag.SET,
    UniversalTag.INTEGER,
    UniversalTag.OCTET_STRING,
    UniversalTag.OBJECT_IDENTIFIER,
    UniversalTag.NULL,
    UniversalTag.PRINTABLE_STRING,
)
_DIGEST_OIDS = {
    "sha1": "1.3.14.3.2.26",
    "sha224": "2.16.840.1.101.3.4.2.4",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
}
CertificateHash = hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_CERTIFICATE_HASHES: dict[str, type[CertificateHash]] = {
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
"""A certification authority's key usage: certificates and CRLs only (RFC 5280 §4.2.1.3)."""


class Algorithm(enum.Enum):
    """Key type and signature scheme of a certificate holder: (label, curve, default hash)."""

    RSA_PKCS1V15 = ("rsa-pkcs1v15", None, "sha256")
    RSA_PSS = ("rsa-pss", None, "sha256")
    ECDSA_P256 = ("ecdsa-p256", ec.SECP256R1, "sha256")
    ECDSA_BRAINPOOL_P256R1 = ("ecdsa-brainpoolP256r1", ec.BrainpoolP256R1, "sha256")
    ECDSA_BRAINPOOL_P384R1 = ("ecdsa-brainpoolP384r1", ec.BrainpoolP384R1, "sha384")
    ECDSA_BRAINPOOL_P512R1 = ("ecdsa-brainpoolP512r1", ec.BrainpoolP512R1, "sha512")

    def __init__(self, label: str, curve: type[ec.EllipticCurve] | None, digest: str) -> None:
        self.label = label
        self.curve = curve
        self.digest = digest


ALL_ALGORITHMS = tuple(Algorithm)


@dataclass(frozen=True)
class Issued:
    """A key pair with its certificate (DER), as the PKI issued it."""

    der: bytes = field(repr=False)
    private_key: PrivateKey = field(repr=False)
    algorithm: Algorithm
    digest: str

    @cached_property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(self.pem)
        return path

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with this holder's scheme and hash."""
        digest = _HASHES[self.digest]()
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest, deterministic_signing=True))
        return key.sign(data, self._rsa_padding(), digest)

    def _rsa_padding(self) -> padding.PSS | padding.PKCS1v15:
        if self.algorithm is Algorithm.RSA_PSS:
            return padding.PSS(
                mgf=padding.MGF1(_HASHES[self.digest]()),
                salt_length=padding.PSS.DIGEST_LENGTH,
            )
        return padding.PKCS1v15()

    def signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        """The AlgorithmIdentifier of :meth:`sign` (RFC 4055 §3.1, RFC 5758 §3.2)."""
        if self.algorithm is Algorithm.RSA_PSS:
            digest = {"algorithm": self.digest}
            params = {
                "hash_algorithm": digest,
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": digest},
                "salt_length": _HASHES[self.digest]().digest_size,
                "trailer_field": "trailer_field_bc",
            }
            return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
        suffix = "rsa" if self.algorithm is Algorithm.RSA_PKCS1V15 else "ecdsa"
        return algos.SignedDigestAlgorithm({"algorithm": f"{self.digest}_{suffix}"})

    def _certificate_signing(self) -> dict[str, object]:
        """Arguments of ``CertificateBuilder.sign`` for this holder as issuer."""
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return {"ecdsa_deterministic": True}
        return {"rsa_padding": self._rsa_padding()}


def _name(country: str, organization: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def crl_pem(der: bytes) -> bytes:
    """A DER CRL as PEM."""
    return x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)


def explicit_curve_key(curve: Curve, point: bytes) -> keys.PublicKeyInfo:
    """An EC SubjectPublicKeyInfo with the full curve parameters (RFC 3279 §2.3.5)."""
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
            "cofactor": curve.h,
        }
    )
    return keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="specified", value=specified),
            },
            "public_key": point,
        }
    )


def with_public_key(certificate: bytes, public_key: keys.PublicKeyInfo, issuer: Issued) -> bytes:
    """``certificate`` (DER) with another SubjectPublicKeyInfo, signed again by ``issuer``.

    Rebuilt with asn1crypto: ``cryptography`` emits neither explicit curve parameters nor
    keys it cannot use (hostile test certificates).
    """
    cert = asn1_x509.Certificate.load(certificate)
    tbs = cert["tbs_certificate"]
    tbs["subject_public_key_info"] = public_key
    tbs_der = tbs.dump(force=True)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": cert["signature_algorithm"],
            "signature_value": issuer.sign(tbs_der),
        }
    )
    der: bytes = rebuilt.dump(force=True)
    return der


def _uint(value: int) -> bytes:
    """DER INTEGER of a non-negative value."""
    return tlv.encode(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def lds_security_object(
    data_groups: Mapping[int, bytes], digest: str = "sha256", version: int = 0
) -> bytes:
    """LDSSecurityObject v0 or v1 over the data group bytes (ICAO 9303-10 §4.6.2.2)."""
    algorithm = tlv.encode(
        _SEQUENCE, tlv.encode(_OID, tlv.encode_oid(_DIGEST_OIDS[digest])) + tlv.encode(_NULL, b"")
    )
    entries = b"".join(
        tlv.encode(
            _SEQUENCE,
            _uint(number) + tlv.encode(_OCTET_STRING, hashes_of(digest, data)),
        )
        for number, data in sorted(data_groups.items())
    )
    body = _uint(version) + algorithm + tlv.encode(_SEQUENCE, entries)
    if version == 1:
        body += tlv.encode(
            _SEQUENCE, tlv.encode(_PRINTABLE, b"0108") + tlv.encode(_PRINTABLE, b"040000")
        )
    return tlv.encode(_SEQUENCE, body)


def hashes_of(digest: str, data: bytes) -> bytes:
    """The ``digest`` hash of ``data``."""
    context = hashes.Hash(_HASHES[digest]())
    context.update(data)
    return context.finalize()


class Pki:
    """Issues certificates, CRLs, master lists and SODs; see the module docstring on seeds."""

    def __init__(self, seed: int | None = None, now: datetime | None = None) -> None:
        self._random: random.Random = (
            random.Random(seed) if seed is not None else random.SystemRandom()
        )
        default_now = datetime(2025, 1, 1, tzinfo=UTC) if seed is not None else None
        self.now = (now or default_now or datetime.now(UTC)).replace(microsecond=0)

    # -- keys and certificates -------------------------------------------------------

    def _key(self, algorithm: Algorithm, rsa_bits: int) -> PrivateKey:
        if algorithm.curve is None:
            return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        curve = algorithm.curve()
        scalar = self._random.getrandbits(curve.key_size - 1) | 1
        return ec.derive_private_key(scalar, curve)

    def _serial(self) -> int:
        return self._random.getrandbits(63) + 1

    def _issue(
        self,
        subject: x509.Name,
        issuer: Issued | None,
        algorithm: Algorithm,
        extensions: Sequence[tuple[x509.ExtensionType, bool]],
        not_before: datetime,
        not_after: datetime,
        rsa_bits: int,
        subject_key_identifier: bytes | None,
        digest: str | None,
    ) -> Issued:
        key = self._key(algorithm, rsa_bits)
        ski = (
            x509.SubjectKeyIdentifier(subject_key_identifier)
            if subject_key_identifier is not None
            else x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.certificate.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(self._serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(ski, critical=False)
        )
        if issuer is not None:
            issuer_ski = issuer.certificate.extensions.get_extension_for_class(
                x509.SubjectKeyIdentifier
            ).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
            builder = builder.add_extension(aki, critical=False)
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        chosen_digest = digest or algorithm.digest
        # A self-signed certificate is signed by its own holder.
        signer = issuer or Issued(b"", key, algorithm, chosen_digest)
        certificate = builder.sign(
            signer.private_key,
            _CERTIFICATE_HASHES[signer.digest](),
            **signer._certificate_signing(),  # type: ignore[arg-type]
        )
        der = certificate.public_bytes(serialization.Encoding.DER)
        return Issued(der, key, algorithm, chosen_digest)

    def csca(
        self,
        algorithm: Algorithm = Algorithm.ECDSA_BRAINPOOL_P256R1,
        country: str = "VN",
        common_name: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        rsa_bits: int = 2048,
        subject_key_identifier: bytes | None = None,
        digest: str | None = None,
        subject: x509.Name | None = None,
    ) -> Issued:
        """A self-signed CSCA: basicConstraints CA, keyCertSign + cRLSign (ICAO 9303-12 §7.1.1).

        ``subject`` replaces the name C, O, CN made of ``country`` and ``common_name``.
        """
        return self._issue(
            subject or _name(country, "Test PKI", common_name or f"CSCA {country} test"),
            None,
            algorithm,
            [(x509.BasicConstraints(ca=True, path_length=0), True), (CA_KEY_USAGE, True)],
            not_before or self.now - timedelta(days=1),
            not_after or self.now + timedelta(days=15 * 365),
            rsa_bits,
            subject_key_identifier,
            digest,
        )

    def _signer(
        self,
        csca: Issued,
        common_name: str,
        algorithm: Algorithm,
        not_before: datetime | None,
        not_after: datetime | None,
        rsa_bits: int,
        digest: str | None,
        extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
        key_usage: bool = True,
    ) -> Issued:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        subject_country = csca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        country = str(subject_country[0].value)
        return self._issue(
            _name(country, "Test PKI", common_name),
            csca,
            algorithm,
            [(usage, True), *extra] if key_usage else list(extra),
            not_before or self.now - timedelta(days=1),
            not_after or self.now + timedelta(days=10 * 365),
            rsa_bits,
            None,
            digest,
        )

    def document_signer(
        self,
        csca: Issued,
        algorithm: Algorithm = Algorithm.ECDSA_BRAINPOOL_P256R1,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        rsa_bits: int = 2048,
        digest: str | None = None,
        common_name: str = "Document Signer test",
        key_usage: bool = True,
    ) -> Issued:
        """A Document Signer certificate with keyUsage digitalSignature (ICAO 9303-12 §7.1.1);
        ``key_usage`` False leaves the extension out, as some older test documents do."""
        return self._signer(
            csca,
            common_name,
            algorithm,
            not_before,
            not_after,
            rsa_bits,
            digest,
            key_usage=key_usage,
        )

    def master_list_signer(
        self,
        csca: Issued,
        algorithm: Algorithm = Algorithm.ECDSA_BRAINPOOL_P256R1,
        rsa_bits: int = 2048,
    ) -> Issued:
        """A master list signer: digitalSignature and the ICAO master list EKU (9303-12 §7.1.1)."""
        eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(MASTER_LIST_SIGNER_EKU_OID)])
        return self._signer(
            csca, "Master List Signer test", algorithm, None, None, rsa_bits, None, [(eku, False)]
        )

    def with_explicit_curve(self, holder: Issued, issuer: Issued) -> Issued:
        """``holder`` re-issued by ``issuer`` with its EC key in explicit-parameter form.

        The SubjectPublicKeyInfo carries the full curve (RFC 3279 §2.3.5) instead of the
        named-curve OID; ``cryptography`` cannot emit that, so the certificate is rebuilt
        with asn1crypto and signed again.
        """
        key = holder.private_key
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("explicit parameters need an EC key")
        cert = asn1_x509.Certificate.load(holder.der)
        spki = cert["tbs_certificate"]["subject_public_key_info"]
        curve = next(
            params
            for params in STANDARDIZED_DOMAIN_PARAMETERS.values()
            if isinstance(params, Curve) and params.name == key.curve.name
        )
        spki_explicit = explicit_curve_key(curve, spki["public_key"].native)
        der = with_public_key(holder.der, spki_explicit, issuer)
        return Issued(der, key, holder.algorithm, holder.digest)

    # -- revocation ----------------------------------------------------------------------

    def crl(
        self,
        csca: Issued,
        revoked: Sequence[Issued] = (),
        revoked_at: datetime | None = None,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
    ) -> bytes:
        """A DER CRL signed by ``csca`` listing ``revoked`` (RFC 5280 §5, ICAO 9303-12 §7.1.4)."""
        at = revoked_at or self.now - timedelta(hours=1)
        issued = this_update or self.now - timedelta(hours=1)
        issuer_ski = csca.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(csca.certificate.subject)
            .last_update(issued)
            .next_update(next_update or issued + timedelta(days=90))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
                critical=False,
            )
            .add_extension(x509.CRLNumber(1), critical=False)
        )
        for holder in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(holder.serial_number)
                .revocation_date(at)
                .build()
            )
        crl = builder.sign(
            csca.private_key,
            _CERTIFICATE_HASHES[csca.digest](),
            **csca._certificate_signing(),  # type: ignore[arg-type]
        )
        return crl.public_bytes(serialization.Encoding.DER)

    # -- CMS -----------------------------------------------------------------------------

    def _content_info(
        self,
        signer: Issued,
        content_type: str,
        content: bytes,
        signing_time: datetime | None,
        use_key_identifier: bool,
        content_type_attribute: str | None = None,
        extra_certificates: Sequence[bytes] = (),
        issuer_rdn_order: Sequence[int] | None = None,
    ) -> bytes:
        """ContentInfo with SignedData, one SignerInfo and signed attributes (RFC 5652 §5).

        ``issuer_rdn_order`` lists the signer certificate's issuer RDNs by index in the order
        the issuerAndSerialNumber gives them (a quirk of some genuine documents).
        """
        certificate = asn1_x509.Certificate.load(signer.der)
        attributes = [
            cms.CMSAttribute(
                {"type": "content_type", "values": [content_type_attribute or content_type]}
            ),
            cms.CMSAttribute(
                {"type": "message_digest", "values": [hashes_of(signer.digest, content)]}
            ),
            cms.CMSAttribute(
                {
                    "type": "signing_time",
                    "values": [cms.Time({"utc_time": signing_time or self.now})],
                }
            ),
        ]
        signed_attributes = cms.CMSAttributes(attributes)  # asn1crypto sorts a SET OF (DER)
        if use_key_identifier:
            sid = cms.SignerIdentifier(
                name="subject_key_identifier", value=certificate.key_identifier
            )
        else:
            issuer = certificate.issuer
            if issuer_rdn_order is not None:
                rdns = [
                    asn1_x509.RelativeDistinguishedName.load(rdn.dump()) for rdn in issuer.chosen
                ]
                issuer = asn1_x509.Name(
                    name="", value=asn1_x509.RDNSequence([rdns[i] for i in issuer_rdn_order])
                )
            sid = cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": issuer, "serial_number": certificate.serial_number},
            )
        signer_info = cms.SignerInfo(
            {
                "version": "v3" if use_key_identifier else "v1",
                "sid": sid,
                "digest_algorithm": {"algorithm": signer.digest},
                "signed_attrs": signed_attributes,
                "signature_algorithm": signer.signature_algorithm(),
                "signature": signer.sign(signed_attributes.dump()),
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": signer.digest}],
                "encap_content_info": {"content_type": content_type, "content": content},
                "certificates": [
                    certificate,
                    *(asn1_x509.Certificate.load(der) for der in extra_certificates),
                ],
                "signer_infos": [signer_info],
            }
        )
        info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        der: bytes = info.dump()
        return der

    def sod(
        self,
        signer: Issued,
        data_groups: Mapping[int, bytes],
        digest: str = "sha256",
        version: int = 0,
        signing_time: datetime | None = None,
        use_key_identifier: bool = False,
        content_type_attribute: str | None = None,
        content_type: str = LDS_SECURITY_OBJECT_OID,
        issuer_rdn_order: Sequence[int] | None = None,
        extra_certificates: Sequence[bytes] = (),
    ) -> bytes:
        """EF.SOD: tag 77 around the SignedData over the DG hashes (ICAO 9303-10 §4.6.2).

        ``content_type`` is the eContentType and, unless ``content_type_attribute`` says
        otherwise, the content-type attribute; ``issuer_rdn_order`` reorders the RDNs of
        the signer identifier's issuer (see :meth:`_content_info`); ``extra_certificates``
        (DER) are carried after the signer's.
        """
        content = lds_security_object(data_groups, digest, version)
        signed = self._content_info(
            signer,
            content_type,
            content,
            signing_time,
            use_key_identifier,
            content_type_attribute,
            extra_certificates,
            issuer_rdn_order,
        )
        return tlv.encode(0x77, signed)

    def card_security(self, signer: Issued, security_infos: bytes) -> bytes:
        """EF.CardSecurity: SignedData over the DER SecurityInfos (BSI TR-03110-3 §A.1.2.5)."""
        return self._content_info(signer, SECURITY_OBJECT_OID, security_infos, None, False)

    def master_list(
        self, signer: Issued, certificates: Sequence[Issued], extra: Sequence[bytes] = ()
    ) -> bytes:
        """An ICAO CSCA master list: SignedData over CscaMasterList (ICAO 9303-12 §8.2)."""
        ders = sorted([holder.der for holder in certificates] + list(extra))
        content = tlv.encode(_SEQUENCE, _uint(0) + tlv.encode(_SET, b"".join(ders)))
        return self._content_info(signer, CSCA_MASTER_LIST_OID, content, None, False)
