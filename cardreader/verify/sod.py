"""EF.SOD, the Document Security Object, and the CMS SignedData around it.

EF.SOD is application tag ``77`` around a CMS ContentInfo whose SignedData encapsulates an
LDSSecurityObject: the hash algorithm and one hash per data group (ICAO 9303-10 §4.6.2,
ICAO 9303-12 §4.6, RFC 5652 §5). The same SignedData shape carries the CSCA master list
(ICAO 9303-12 §8), so :func:`parse_signed_data` serves both. Parsing is bounded in size and
counts and raises :class:`ParseError` on malformed input, :class:`UnsupportedProtocolError`
on a hash algorithm this library lacks; nothing is verified here, only decoded.

Two quirks of genuine documents are decoded rather than refused, and the verifier reports
them as findings (docs/verification.md §3): an eContentType other than
id-icao-ldsSecurityObject whose content is an LDSSecurityObject, and a signer identifier
whose issuer lists the RDNs of the one embedded certificate's issuer in another order.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TypeVar, cast

from asn1crypto import algos, cms, core, x509

from cardreader.asn1 import UniversalTag, asn1_parse_errors
from cardreader.crypto.digests import DigestAlgorithm
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.verify.signature import (
    Certificate,
    DistinguishedName,
    distinguished_name,
    parse_certificate,
)

T = TypeVar("T")

SOD_TAG = 0x77
"""Application tag 23 around the ContentInfo (ICAO 9303-10 §4.6.2)."""
SIGNED_ATTRIBUTES_TAG = UniversalTag.SET
"""The signature covers the signed attributes encoded as a SET OF (RFC 5652 §5.4)."""

MAX_SOD_BYTES = 65536
MAX_DATA_GROUPS = 16
PARSED_SIGNED_DATA = 8
"""Signed files kept parsed (a read has two: EF.SOD and EF.CardSecurity)."""
MAX_CERTIFICATES = 64
MAX_SIGNED_ATTRIBUTES = 32
MIN_DATA_GROUP, MAX_DATA_GROUP = 1, 16
SIGNED_DATA_VERSIONS = frozenset({"v3"})
"""SignedData around content other than id-data (RFC 5652 §5.1, ICAO 9303-10 §4.6.2.1)."""
ID_DATA_SIGNED_DATA_VERSIONS = frozenset({"v1", "v3"})
"""Around id-data RFC 5652 §5.1 asks v1 when every SignerInfo is v1, ICAO v3: either."""
SIGNER_INFO_VERSIONS: Mapping[str, str] = {
    "issuer_and_serial_number": "v1",
    "subject_key_identifier": "v3",
}
"""SignerInfo version by the kind of signer identifier (RFC 5652 §5.3)."""


class ContentType(enum.Enum):
    """OIDs of CMS content and signed attribute types used by eMRTDs."""

    DATA = "1.2.840.113549.1.7.1"
    """id-data (RFC 5652 §4): arbitrary octets."""
    SIGNED_DATA = "1.2.840.113549.1.7.2"
    LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
    """id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.1)."""
    CSCA_MASTER_LIST = "2.23.136.1.1.2"
    """id-icao-cscaMasterList (ICAO 9303-12 §8.2)."""
    SECURITY_OBJECT = "0.4.0.127.0.7.3.2.1"
    """id-SecurityObject: the SecurityInfos of EF.CardSecurity (BSI TR-03110-3 §A.1.2.5)."""


NON_STANDARD_SOD_CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        ContentType.DATA.value: "id-data (RFC 5652 §4)",
        "1.3.27.1.1.1": "a pre-ICAO ldsSecurityObject OID",
        "1.2.528.1.1006.1.20.1": "a vendor OID (SDU, Netherlands)",
    }
)
"""eContentTypes of EF.SOD seen on genuine documents instead of id-icao-ldsSecurityObject;
others are accepted too when the content is an LDSSecurityObject, named by their OID."""


class SignedAttribute(enum.Enum):
    """Attribute types of a SignerInfo (RFC 5652 §11)."""

    CONTENT_TYPE = "1.2.840.113549.1.9.3"
    MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
    SIGNING_TIME = "1.2.840.113549.1.9.5"


class LdsSecurityObjectVersion(enum.IntEnum):
    """V0 has no LDSVersionInfo, V1 must have one (ICAO 9303-10 §4.6.2.2)."""

    V0 = 0
    V1 = 1


class _DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class _DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _DataGroupHash


class _LdsVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class _LdsSecurityObject(core.Sequence):  # type: ignore[misc]
    """LDSSecurityObject (ICAO 9303-10 §4.6.2.2)."""

    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", _DataGroupHashValues),
        ("lds_version_info", _LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True, slots=True)
class DataGroupHash:
    number: int
    value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class LdsSecurityObject:
    """The hashes the Document Signer vouches for (ICAO 9303-10 §4.6.2.2)."""

    version: LdsSecurityObjectVersion
    hash_algorithm: DigestAlgorithm
    data_group_hashes: tuple[DataGroupHash, ...]
    lds_version: str | None = None
    unicode_version: str | None = None

    @property
    def hashes(self) -> Mapping[int, bytes]:
        """Data group number → hash value."""
        return {item.number: item.value for item in self.data_group_hashes}


@dataclass(frozen=True, slots=True)
class SignerIdentifier:
    """issuerAndSerialNumber or subjectKeyIdentifier of a SignerInfo (RFC 5652 §5.3)."""

    issuer: DistinguishedName | None = None
    serial_number: int | None = None
    subject_key_identifier: bytes | None = None

    def matches(self, certificate: Certificate) -> bool:
        """Whether this identifier names ``certificate`` (RFC 5652 §5.3, §10.2.4; names
        compared as RFC 5280 §7.1 says, RDN by RDN in order)."""
        if self.subject_key_identifier is not None:
            return certificate.subject_key_identifier == self.subject_key_identifier
        return (
            self.issuer is not None
            and certificate.issuer.matches(self.issuer)
            and certificate.serial_number == self.serial_number
        )

    def matches_but_for_rdn_order(self, certificate: Certificate) -> bool:
        """The serial number of ``certificate`` and the RDNs of its issuer, in another order.

        RFC 5280 §7.1 makes that another name, so :meth:`matches` is False; every attribute
        and the serial number are still equal (docs/verification.md §3.1).
        """
        return (
            self.issuer is not None
            and certificate.serial_number == self.serial_number
            and certificate.issuer.rdn_keys == self.issuer.rdn_keys
            and not self.matches(certificate)
        )


class SignerMatch(enum.Enum):
    """How the signer's certificate was found among those the SignedData carries."""

    EXACT = "exact"
    """The signer identifier names it (RFC 5652 §5.3)."""
    RDN_ORDER = "rdn-order"
    """The one certificate carried, named but for the order of its issuer's RDNs."""


@dataclass(frozen=True, slots=True)
class SignerSelection:
    """The certificate whose key must verify the signature, and how it was chosen."""

    certificate: Certificate
    match: SignerMatch


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """One SignerInfo (RFC 5652 §5.3) with its signed attributes decoded."""

    signer: SignerIdentifier
    digest_algorithm: DigestAlgorithm
    signature_algorithm: bytes = field(repr=False)
    """DER AlgorithmIdentifier."""
    signature: bytes = field(repr=False)
    signed_attributes: bytes | None = field(repr=False)
    """The attributes as the DER SET OF the signature covers; None if absent."""
    content_type: str | None
    message_digest: bytes | None = field(repr=False)
    signing_time: datetime | None


@dataclass(frozen=True, slots=True)
class SignedData:
    """A CMS SignedData with one signer and encapsulated content (RFC 5652 §5.1)."""

    content_type: str
    content: bytes = field(repr=False)
    certificates: tuple[Certificate, ...]
    signer_info: SignerInfo
    _decoded: dict[Callable[[bytes], object], object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def decoded_content(self, decode: Callable[[bytes], T]) -> T:
        """``decode(content)``, kept with this SignedData: a read that decodes the content
        twice (the files it lists, then their hashes) decodes it once. Exceptions are not
        kept."""
        if decode not in self._decoded:
            self._decoded[decode] = decode(self.content)
        return cast(T, self._decoded[decode])

    @property
    def signer_certificate(self) -> Certificate | None:
        """The certificate the SignerInfo names, if the SignedData carries it."""
        return next((c for c in self.certificates if self.signer_info.signer.matches(c)), None)

    def select_signer(self) -> SignerSelection | None:
        """The certificate the SignerInfo names or, when the SignedData carries exactly one
        certificate and the identifier names it but for the order of the issuer's RDNs,
        that one (docs/verification.md §3.1). None otherwise."""
        named = self.signer_certificate
        if named is not None:
            return SignerSelection(named, SignerMatch.EXACT)
        if len(self.certificates) == 1 and self.signer_info.signer.matches_but_for_rdn_order(
            self.certificates[0]
        ):
            return SignerSelection(self.certificates[0], SignerMatch.RDN_ORDER)
        return None

    @property
    def signed_bytes(self) -> bytes:
        """What the signature covers: the signed attributes, or the content without them."""
        signed = self.signer_info.signed_attributes
        return self.content if signed is None else signed

    def content_digest(self) -> bytes:
        """Hash of the encapsulated content with the signer's digest algorithm."""
        return self.signer_info.digest_algorithm.digest(self.content)

    def signature_valid(self, certificate: Certificate) -> bool:
        """Whether ``certificate``'s key verifies the SignerInfo's signature."""
        info = self.signer_info
        return certificate.verifies(
            info.signature_algorithm,
            info.signature,
            self.signed_bytes,
            info.digest_algorithm,
        )


@dataclass(frozen=True, slots=True)
class Sod:
    """EF.SOD: the SignedData and the LDSSecurityObject inside it."""

    signed_data: SignedData
    security_object: LdsSecurityObject

    @property
    def ds_certificate(self) -> Certificate | None:
        """The Document Signer certificate carried in the SOD."""
        selection = self.signed_data.select_signer()
        return None if selection is None else selection.certificate


def _single_value(attribute: cms.CMSAttribute) -> core.Asn1Value:
    values = attribute["values"]
    if len(values) != 1:
        raise ParseError(f"signed attribute {attribute['type'].dotted} must have one value")
    return values[0]


def _digest_oid(identifier: algos.DigestAlgorithm) -> str:
    """The OID of a DigestAlgorithmIdentifier; its parameters must be absent or NULL
    (RFC 5754 §2)."""
    if not isinstance(identifier["parameters"], core.Void | core.Null):
        raise ParseError("digest algorithm parameters must be absent or NULL")
    oid: str = identifier["algorithm"].dotted
    return oid


def _issuer_name(name: x509.Name, certificates: tuple[Certificate, ...]) -> DistinguishedName:
    """The signer identifier's issuer, taken from a certificate with the same DER issuer."""
    der = name.dump()
    known = next((c.issuer for c in certificates if c.issuer.der == der), None)
    return known or distinguished_name(name)


def _signer_info(info: cms.SignerInfo, certificates: tuple[Certificate, ...]) -> SignerInfo:
    sid = info["sid"]
    version = SIGNER_INFO_VERSIONS[sid.name]
    if info["version"].native != version:
        raise ParseError(f"SignerInfo version {info['version'].native}, not {version}")
    if sid.name == "subject_key_identifier":
        signer = SignerIdentifier(subject_key_identifier=sid.chosen.native)
    else:
        signer = SignerIdentifier(
            issuer=_issuer_name(sid.chosen["issuer"], certificates),
            serial_number=sid.chosen["serial_number"].native,
        )
    raw_attributes: bytes | None = None
    content_type: str | None = None
    digest: bytes | None = None
    signing_time: datetime | None = None
    attributes = info["signed_attrs"]
    if not isinstance(attributes, core.Void):
        if len(attributes) > MAX_SIGNED_ATTRIBUTES:
            raise ParseError(f"more than {MAX_SIGNED_ATTRIBUTES} signed attributes")
        raw_attributes = tlv.encode(SIGNED_ATTRIBUTES_TAG, attributes.contents)
        seen: set[str] = set()
        for attribute in attributes:
            oid = attribute["type"].dotted
            if oid in seen:
                raise ParseError(f"signed attribute {oid} appears twice")
            seen.add(oid)
            if oid == SignedAttribute.CONTENT_TYPE.value:
                value = _single_value(attribute)
                if not isinstance(value, core.ObjectIdentifier):
                    raise ParseError("content-type attribute is not an OID")
                content_type = value.dotted
            elif oid == SignedAttribute.MESSAGE_DIGEST.value:
                digest = _single_value(attribute).native
                if not isinstance(digest, bytes):
                    raise ParseError("message-digest attribute is not an OCTET STRING")
            elif oid == SignedAttribute.SIGNING_TIME.value:
                signing_time = _single_value(attribute).native
                if not isinstance(signing_time, datetime):
                    raise ParseError("signing-time attribute is not a time")
    return SignerInfo(
        signer=signer,
        digest_algorithm=DigestAlgorithm.from_oid(_digest_oid(info["digest_algorithm"])),
        signature_algorithm=info["signature_algorithm"].dump(),
        signature=info["signature"].native,
        signed_attributes=raw_attributes,
        content_type=content_type,
        message_digest=digest,
        signing_time=signing_time,
    )


@functools.lru_cache(maxsize=PARSED_SIGNED_DATA)
def parse_signed_data(
    der: bytes, expected: ContentType | None, max_certificates: int = MAX_CERTIFICATES
) -> SignedData:
    """Decode a ContentInfo holding SignedData with ``expected`` content (RFC 5652 §3, §5);
    ``expected`` None leaves the eContentType to the caller. The result is immutable and
    kept for the same bytes, so one read parses each signed file once (issue #16).

    Exactly one SignerInfo is accepted (ICAO 9303-10 §4.6.2.2 recommends one). The parts
    the signature does not cover must be consistent too: the versions, and the signer's
    digest algorithm among the SignedData's digestAlgorithms (RFC 5652 §5.1, §5.3).
    """
    with asn1_parse_errors("CMS SignedData"):
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != ContentType.SIGNED_DATA.value:
            raise ParseError(f"content type {info['content_type'].dotted} is not SignedData")
        signed = info["content"]
        encapsulated = signed["encap_content_info"]
        content_type = encapsulated["content_type"].dotted
        if expected is not None and content_type != expected.value:
            raise ParseError(f"encapsulated content {content_type} is not {expected.name}")
        versions = (
            ID_DATA_SIGNED_DATA_VERSIONS
            if content_type == ContentType.DATA.value
            else SIGNED_DATA_VERSIONS
        )
        if signed["version"].native not in versions:
            raise ParseError(f"SignedData version {signed['version'].native}, not v3")
        listed = {_digest_oid(identifier) for identifier in signed["digest_algorithms"]}
        content = encapsulated["content"].native
        if not isinstance(content, bytes):
            raise ParseError("SignedData without encapsulated content")
        certificates = signed["certificates"]
        count = 0 if isinstance(certificates, core.Void) else len(certificates)
        if count > max_certificates:
            raise ParseError(f"more than {max_certificates} certificates")
        parsed = tuple(
            parse_certificate(choice.chosen.dump())
            for choice in (certificates if count else ())
            if choice.name == "certificate"
        )
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            raise ParseError(f"{len(signer_infos)} signer infos; exactly one is supported")
        if _digest_oid(signer_infos[0]["digest_algorithm"]) not in listed:
            raise ParseError("the signer's digest algorithm is not in digestAlgorithms")
        return SignedData(content_type, content, parsed, _signer_info(signer_infos[0], parsed))


def parse_lds_security_object(der: bytes) -> LdsSecurityObject:
    """Decode an LDSSecurityObject v0 or v1 (ICAO 9303-10 §4.6.2.2)."""
    with asn1_parse_errors("LDSSecurityObject"):
        lso = _LdsSecurityObject.load(der, strict=True)
        try:
            version = LdsSecurityObjectVersion(lso["version"].native)
        except ValueError:
            raise ParseError(f"LDSSecurityObject version {lso['version'].native}") from None
        algorithm = DigestAlgorithm.from_oid(lso["hash_algorithm"]["algorithm"].dotted)
        values = lso["data_group_hash_values"]
        if not 1 <= len(values) <= MAX_DATA_GROUPS:
            raise ParseError(f"{len(values)} data group hashes (1 to {MAX_DATA_GROUPS} allowed)")
        hashes: list[DataGroupHash] = []
        for item in values:
            number = item["data_group_number"].native
            value = item["data_group_hash_value"].native
            if not MIN_DATA_GROUP <= number <= MAX_DATA_GROUP:
                raise ParseError(f"data group number {number} out of range")
            if any(h.number == number for h in hashes):
                raise ParseError(f"data group {number} hashed twice")
            if len(value) != algorithm.digest_size:
                raise ParseError(f"DG{number} hash is not a {algorithm.label} value")
            hashes.append(DataGroupHash(number, value))
        version_info = lso["lds_version_info"]
        has_info = not isinstance(version_info, core.Void)
        if has_info != (version is LdsSecurityObjectVersion.V1):
            raise ParseError("LDSVersionInfo must be present exactly in version 1")
        return LdsSecurityObject(
            version=version,
            hash_algorithm=algorithm,
            data_group_hashes=tuple(hashes),
            lds_version=version_info["lds_version"].native if has_info else None,
            unicode_version=version_info["unicode_version"].native if has_info else None,
        )


def parse_sod_signed_data(data: bytes) -> SignedData:
    """Decode EF.SOD up to the SignedData, leaving its LDSSecurityObject undecoded.

    Lets a verifier check the signature even when the security object itself is malformed
    or uses a hash algorithm this library lacks.
    """
    if len(data) > MAX_SOD_BYTES:
        raise ParseError(f"EF.SOD of {len(data)} bytes exceeds {MAX_SOD_BYTES}")
    wrapper = tlv.decode_single(data)
    if wrapper.tag != SOD_TAG:
        raise ParseError(f"EF.SOD starts with tag {wrapper.tag:X}, not {SOD_TAG:X}")
    signed = parse_signed_data(wrapper.value, None)
    content_type = signed.content_type
    if content_type == ContentType.LDS_SECURITY_OBJECT.value:
        return signed
    known = {item.value: item.name for item in ContentType}
    if content_type in known and content_type != ContentType.DATA.value:
        raise ParseError(
            f"encapsulated content {content_type} ({known[content_type]}) "
            "is not LDS_SECURITY_OBJECT"
        )
    try:
        parse_lds_security_object(signed.content)
    except ParseError as exc:
        raise ParseError(
            f"encapsulated content {content_type} is not LDS_SECURITY_OBJECT "
            f"and does not parse as one: {exc}"
        ) from exc
    except UnsupportedProtocolError:
        pass  # an LDSSecurityObject with a hash this library lacks: the verifier says so
    return signed


def non_standard_content_type(signed: SignedData) -> str | None:
    """What an EF.SOD's eContentType is when it is not id-icao-ldsSecurityObject, or None."""
    content_type = signed.content_type
    if content_type == ContentType.LDS_SECURITY_OBJECT.value:
        return None
    name = NON_STANDARD_SOD_CONTENT_TYPES.get(content_type, "an unregistered OID")
    return f"{content_type}, {name}"


def parse_sod(data: bytes) -> Sod:
    """Decode EF.SOD: tag 77, the SignedData and its LDSSecurityObject (ICAO 9303-10 §4.6.2)."""
    signed = parse_sod_signed_data(data)
    return Sod(signed, parse_lds_security_object(signed.content))
