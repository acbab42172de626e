"""X.509 certificates and signature verification for passive authentication.

Certificates are parsed to the fields passive authentication needs (RFC 5280 §4.1,
ICAO 9303-12 §7). A signature is checked against a SubjectPublicKeyInfo with the
library's one key parser (:mod:`cardreader.crypto.keys`) and its one verifier per scheme
(:mod:`cardreader.crypto.signatures`): RSASSA-PKCS1-v1_5, RSASSA-PSS with the parameters of
its AlgorithmIdentifier (RFC 8017 §8, RFC 4055 §3.1), ECDSA with DER (RFC 3279 §2.2.3) or
plain ``r || s`` signatures (BSI TR-03111 §5.2.1) on named or explicit curves.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from asn1crypto import algos, x509
from cryptography.hazmat.primitives.asymmetric import padding

from cardreader.asn1 import UniversalTag, asn1_parse_errors
from cardreader.crypto.digests import DigestAlgorithm
from cardreader.crypto.keys import (
    DhPublicKey,
    PublicKey,
    RsaPublicKey,
    parse_subject_public_key_info,
)
from cardreader.crypto.signatures import (
    RSA_PSS_OID,
    SIGNATURE_ALGORITHMS,
    SignatureScheme,
    ecdsa_der_values,
    ecdsa_plain_values,
    verify_ecdsa,
    verify_rsa,
)
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv

MAX_CERTIFICATE_BYTES = 65536

_MGF1_OID = "1.2.840.113549.1.1.8"
_PSS_TRAILER_FIELD_BC = 1


# -- signatures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Algorithm:
    scheme: SignatureScheme
    digest: DigestAlgorithm
    pss: padding.PSS | None = None


def _pss_padding(parameters: Any) -> tuple[DigestAlgorithm, padding.PSS]:
    """RSASSA-PSS-params with their defaults (RFC 4055 §3.1)."""
    digest = DigestAlgorithm.from_oid(parameters["hash_algorithm"]["algorithm"].dotted)
    mgf = parameters["mask_gen_algorithm"]
    if mgf["algorithm"].dotted != _MGF1_OID:
        raise UnsupportedProtocolError(f"PSS mask generation {mgf['algorithm'].dotted}")
    mgf_digest = DigestAlgorithm.from_oid(mgf["parameters"]["algorithm"].dotted)
    salt = parameters["salt_length"].native
    if parameters["trailer_field"].native not in ("trailer_field_bc", _PSS_TRAILER_FIELD_BC):
        raise UnsupportedProtocolError("PSS trailer field other than 0xBC")
    if not 0 <= salt <= 1024:
        raise ParseError(f"PSS salt length {salt} out of range")
    pss = padding.PSS(mgf=padding.MGF1(mgf_digest.cryptography_hash()), salt_length=salt)
    return digest, pss


PARSED_SIGNATURE_ALGORITHMS = 32
"""Signature AlgorithmIdentifiers kept parsed: a read checks three or four signatures with
one or two identifiers."""


@functools.lru_cache(maxsize=PARSED_SIGNATURE_ALGORITHMS)
def _signature_algorithm(algorithm: bytes, digest: DigestAlgorithm | None) -> _Algorithm:
    """The scheme and digest of the DER AlgorithmIdentifier ``algorithm`` (``digest`` when
    it names none); kept for the same arguments, a refused one refused every time."""
    with asn1_parse_errors("signature algorithm"):
        identifier = algos.SignedDigestAlgorithm.load(algorithm, strict=True)
        oid = identifier["algorithm"].dotted
        if oid not in SIGNATURE_ALGORITHMS:
            raise UnsupportedProtocolError(f"signature algorithm {oid} is not supported")
        named = SIGNATURE_ALGORITHMS[oid]
        if oid == RSA_PSS_OID:
            params = identifier["parameters"]
            if not isinstance(params, algos.RSASSAPSSParams):
                params = algos.RSASSAPSSParams()
            pss_digest, pss = _pss_padding(params)
            return _Algorithm(named.scheme, pss_digest, pss)
    chosen = named.digest or digest
    if chosen is None:
        raise ParseError(f"signature algorithm {oid} needs a digest algorithm")
    return _Algorithm(named.scheme, chosen)


def verify_signature(
    public_key: bytes,
    algorithm: bytes,
    signature: bytes,
    message: bytes,
    digest: DigestAlgorithm | None = None,
) -> bool:
    """Whether ``signature`` over ``message`` verifies with the SubjectPublicKeyInfo ``public_key``.

    ``algorithm`` is the DER AlgorithmIdentifier of the signature; ``digest`` gives the hash
    when that identifier names none (rsaEncryption or id-ecPublicKey in a CMS SignerInfo).
    Raises :class:`ParseError` for a malformed key or identifier and
    :class:`UnsupportedProtocolError` for an algorithm or curve this library lacks.
    """
    chosen = _signature_algorithm(algorithm, digest)
    return _verify(chosen, parse_subject_public_key_info(public_key), signature, message)


def _verify(chosen: _Algorithm, key: PublicKey, signature: bytes, message: bytes) -> bool:
    """:func:`verify_signature` once the algorithm and the key are parsed."""
    if isinstance(key, DhPublicKey):
        raise UnsupportedProtocolError("a Diffie-Hellman key does not verify signatures")
    if chosen.scheme.is_ecdsa == isinstance(key, RsaPublicKey):
        return False
    if isinstance(key, RsaPublicKey):
        return verify_rsa(key, chosen.digest, message, signature, chosen.pss)
    values = (
        ecdsa_plain_values(key, signature)
        if chosen.scheme is SignatureScheme.ECDSA_PLAIN
        else ecdsa_der_values(signature)
    )
    return values is not None and verify_ecdsa(key, chosen.digest, message, values)


def signature_algorithm_label(algorithm: bytes) -> str:
    """A short name of a signature AlgorithmIdentifier, e.g. ``RSASSA-PSS SHA-256``."""
    try:
        chosen = _signature_algorithm(algorithm, DigestAlgorithm.SHA256)
    except (ParseError, UnsupportedProtocolError) as exc:
        return f"unknown ({exc})"
    return f"{chosen.scheme.value} {chosen.digest.label}"


# -- certificates ----------------------------------------------------------------------


class KeyUsage(enum.Enum):
    """keyUsage bits (RFC 5280 §4.2.1.3), named as asn1crypto names them."""

    DIGITAL_SIGNATURE = "digital_signature"
    NON_REPUDIATION = "non_repudiation"
    KEY_ENCIPHERMENT = "key_encipherment"
    DATA_ENCIPHERMENT = "data_encipherment"
    KEY_AGREEMENT = "key_agreement"
    KEY_CERT_SIGN = "key_cert_sign"
    CRL_SIGN = "crl_sign"
    ENCIPHER_ONLY = "encipher_only"
    DECIPHER_ONLY = "decipher_only"


@dataclass(frozen=True)
class DistinguishedName:
    """An X.501 name: its DER, a readable form, its country and a key for matching.

    The readable form and the key are computed when first asked for when every attribute
    value is ASCII (RFC 4518 string preparation cannot refuse it); a read compares names by
    DER first (:meth:`matches`), so it rarely needs them. A name with other characters is
    prepared at once, where a prohibited character makes the certificate malformed.
    """

    der: bytes = field(repr=False)
    country: str | None
    rdn_types: tuple[str, ...] = field(repr=False)
    """The attribute types of each RDN in encoded order, e.g. ``("C", "O", "CN")``."""
    _name: x509.Name = field(repr=False, compare=False)

    @functools.cached_property
    def text(self) -> str:
        """The name as RFC 4514-like text, e.g. ``Common Name: CSCA, Country: VN``."""
        text: str = self._name.human_friendly
        return text

    @functools.cached_property
    def match_key(self) -> str:
        """RFC 5280 §7.1 comparison form (case and spaces folded): the RDNs' forms joined by
        :data:`RDN_SEPARATOR`."""
        key: str = self._name.hashable
        return key

    @property
    def rdn_keys(self) -> tuple[str, ...]:
        """The comparison form of each RDN, sorted: equal for the same RDNs in any order."""
        return tuple(sorted(self.match_key.split(RDN_SEPARATOR)))

    def matches(self, other: DistinguishedName) -> bool:
        """The same name under RFC 5280 §7.1: the same DER, or else the same comparison form."""
        return self.der == other.der or self.match_key == other.match_key

    def __str__(self) -> str:
        return self.text


RDN_SEPARATOR = "\x1e"
"""What asn1crypto joins the RDNs' comparison forms with; string preparation (RFC 4518
§2.2) maps it to nothing, so no form contains it."""


_SHORT_ATTRIBUTE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "common_name": "CN",
        "locality_name": "L",
        "state_or_province_name": "ST",
        "organization_name": "O",
        "organizational_unit_name": "OU",
        "country_name": "C",
        "street_address": "STREET",
        "domain_component": "DC",
        "serial_number": "SERIALNUMBER",
    }
)
"""Attribute types by their RFC 4514 §3 short names."""


_SHORT_NAMES_BY_OID: Mapping[str, str] = MappingProxyType(
    {
        oid: _SHORT_ATTRIBUTE_NAMES[name]
        for oid, name in x509.NameType._map.items()
        if name in _SHORT_ATTRIBUTE_NAMES
    }
)
_DIRECTORY_STRING_OIDS = frozenset(
    oid
    for oid, name in x509.NameType._map.items()
    if x509.NameTypeAndValue._oid_specs.get(name) is x509.DirectoryString
)
"""Attribute types whose value is a DirectoryString (X.520), as asn1crypto reads them."""
_ASCII_STRING_TAGS = frozenset(
    {UniversalTag.UTF8_STRING, UniversalTag.PRINTABLE_STRING, UniversalTag.IA5_STRING}
)
"""DirectoryString choices whose ASCII octets are the characters themselves."""
_COUNTRY_NAME = "2.5.4.6"


def _ascii_rdns(der: bytes) -> list[list[tuple[str, str]]] | None:
    """The (type OID, value) pairs of each RDN of an X.501 Name (RFC 5280 §4.1.2.4) read
    with the package's BER-TLV, when every value is an ASCII DirectoryString of a type
    asn1crypto reads as one; None for anything else, which asn1crypto then reads."""
    try:
        name = tlv.decode_single(der)
        if name.tag != UniversalTag.SEQUENCE:
            return None
        rdns: list[list[tuple[str, str]]] = []
        for rdn in tlv.decode_all(name.value):
            if rdn.tag != UniversalTag.SET:
                return None
            pairs: list[tuple[str, str]] = []
            for attribute in tlv.decode_all(rdn.value):
                parts = tlv.decode_all(attribute.value)
                if attribute.tag != UniversalTag.SEQUENCE or len(parts) != 2:
                    return None
                kind, value = parts
                if kind.tag != UniversalTag.OBJECT_IDENTIFIER:
                    return None
                oid = tlv.decode_oid(kind.value)
                if (
                    oid not in _DIRECTORY_STRING_OIDS
                    or value.tag not in _ASCII_STRING_TAGS
                    or not value.value.isascii()
                ):
                    return None
                pairs.append((oid, value.value.decode("ascii")))
            if not pairs:
                return None
            rdns.append(pairs)
    except ParseError:
        return None
    return rdns


def distinguished_name(name: x509.Name) -> DistinguishedName:
    """Convert an asn1crypto Name (call inside :func:`asn1_parse_errors`). A name of ASCII
    DirectoryStrings, the usual one, is read by :func:`_ascii_rdns` (issue #16); any other
    through asn1crypto, and prepared at once (see :class:`DistinguishedName`)."""
    der = name.dump()
    rdns = _ascii_rdns(der)
    if rdns is None:
        return _prepared_name(name, der)
    countries = [value for rdn in rdns for oid, value in rdn if oid == _COUNTRY_NAME]
    return DistinguishedName(
        der=der,
        country=countries[0].upper() if len(countries) == 1 else None,
        rdn_types=tuple(
            "+".join(_SHORT_NAMES_BY_OID.get(oid, oid) for oid, _ in rdn) for rdn in rdns
        ),
        _name=name,
    )


def _prepared_name(name: x509.Name, der: bytes) -> DistinguishedName:
    """:func:`distinguished_name` through asn1crypto's reading of every value."""
    attributes = [
        (attribute["type"], attribute["value"].native) for rdn in name.chosen for attribute in rdn
    ]
    countries = [value for kind, value in attributes if kind.native == "country_name"]
    country = countries[0] if len(countries) == 1 else None
    converted = DistinguishedName(
        der=der,
        country=country.upper() if isinstance(country, str) else None,
        rdn_types=tuple(
            "+".join(_SHORT_ATTRIBUTE_NAMES.get(a["type"].native, a["type"].dotted) for a in rdn)
            for rdn in name.chosen
        ),
        _name=name,
    )
    if not all(isinstance(value, str) and value.isascii() for _, value in attributes):
        _ = converted.text, converted.match_key  # RFC 4518 §2.4 may refuse them now
    return converted


def _utc(value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ParseError("certificate time outside the supported range")
    return value


@dataclass(frozen=True)
class Certificate:
    """The fields of an X.509 certificate that passive authentication uses (RFC 5280 §4.1).

    Its key is parsed and validated once, when a signature is first checked with it
    (:meth:`verifies`): a trust store's CSCA certificates verify every read's DS certificate.
    """

    der: bytes = field(repr=False)
    tbs: bytes = field(repr=False)
    serial_number: int
    issuer: DistinguishedName
    subject: DistinguishedName
    not_before: datetime
    not_after: datetime
    public_key: bytes = field(repr=False)
    signature_algorithm: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    key_usage: frozenset[KeyUsage] | None
    """None when the certificate has no keyUsage extension."""
    ca: bool
    """basicConstraints cA (False when the extension is absent)."""
    subject_key_identifier: bytes | None
    authority_key_identifier: bytes | None

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= at <= self.not_after

    @functools.cached_property
    def key(self) -> PublicKey:
        """:attr:`public_key` parsed and validated (:func:`parse_subject_public_key_info`)."""
        return parse_subject_public_key_info(self.public_key)

    def verifies(
        self,
        algorithm: bytes,
        signature: bytes,
        message: bytes,
        digest: DigestAlgorithm | None = None,
    ) -> bool:
        """:func:`verify_signature` with this certificate's key, the same errors."""
        chosen = _signature_algorithm(algorithm, digest)
        return _verify(chosen, self.key, signature, message)

    def is_signed_by(self, issuer: Certificate) -> bool:
        """Whether ``issuer``'s key verifies this certificate's signature."""
        return issuer.verifies(self.signature_algorithm, self.signature, self.tbs)

    def may_be_issued_by(self, issuer: Certificate) -> bool:
        """Names match and, when both are given, the key identifiers (RFC 5280 §4.2.1.1)."""
        if not self.issuer.matches(issuer.subject):
            return False
        aki, ski = self.authority_key_identifier, issuer.subject_key_identifier
        return aki is None or ski is None or aki == ski


def certificate_from_asn1(cert: x509.Certificate) -> Certificate:
    """Convert a parsed asn1crypto certificate (call inside :func:`asn1_parse_errors`)."""
    tbs = cert["tbs_certificate"]
    if tbs["signature"].dump() != cert["signature_algorithm"].dump():
        raise ParseError("certificate signature algorithms disagree (RFC 5280 §4.1.1.2)")
    usage = cert.key_usage_value
    constraints = cert.basic_constraints_value
    aki = cert.authority_key_identifier_value
    aki_bytes = aki["key_identifier"].native if aki is not None else None
    ski = cert.key_identifier_value
    validity = tbs["validity"]
    return Certificate(
        der=cert.dump(),
        tbs=tbs.dump(),
        serial_number=tbs["serial_number"].native,
        issuer=distinguished_name(tbs["issuer"]),
        subject=distinguished_name(tbs["subject"]),
        not_before=_utc(validity["not_before"].native),
        not_after=_utc(validity["not_after"].native),
        public_key=tbs["subject_public_key_info"].dump(),
        signature_algorithm=cert["signature_algorithm"].dump(),
        signature=bytes(cert["signature_value"].native),
        key_usage=None if usage is None else frozenset(KeyUsage(u) for u in usage.native),
        ca=bool(constraints is not None and constraints["ca"].native),
        subject_key_identifier=ski.native if ski is not None else None,
        authority_key_identifier=aki_bytes,
    )


PARSED_CERTIFICATES = 8
"""Certificates kept parsed, by their DER: EF.SOD and EF.CardSecurity carry the same DS
certificate, which one read then parses once (issue #16)."""


@functools.lru_cache(maxsize=PARSED_CERTIFICATES)
def parse_certificate(der: bytes) -> Certificate:
    """Parse one DER X.509 certificate; :class:`ParseError` if malformed or too large. The
    result is immutable and kept for the same DER (:data:`PARSED_CERTIFICATES`)."""
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise ParseError(f"certificate of {len(der)} bytes exceeds {MAX_CERTIFICATE_BYTES}")
    with asn1_parse_errors("certificate"):
        return certificate_from_asn1(x509.Certificate.load(der, strict=True))
