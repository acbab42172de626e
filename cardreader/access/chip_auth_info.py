"""DG14 and the Chip, Terminal and Active Authentication SecurityInfos (ICAO 9303-11 §9.2).

DG14 (tag 6E, ICAO 9303-10 §4.7.14) wraps the same ``SecurityInfos`` SET as EF.CardAccess
(and EF.CardSecurity signs one, BSI TR-03110-3 §A.1.2.5), so
:func:`cardreader.access.pace_info.parse_card_access` reads the outer structure and this
module interprets the infos that it keeps raw, each with its declared layout:

- ChipAuthenticationInfo ``{id-CA-*, version, keyId OPTIONAL}`` and
  ChipAuthenticationPublicKeyInfo ``{id-PK-DH | id-PK-ECDH, SubjectPublicKeyInfo,
  keyId OPTIONAL}`` (ICAO 9303-11 §9.2, BSI TR-03110-3 §A.1.1.2);
- TerminalAuthenticationInfo ``{id-TA, version, efCVCA OPTIONAL}`` (TR-03110-3 §A.1.1.3);
- ActiveAuthenticationInfo ``{id-AA, version, signatureAlgorithm}`` (ICAO 9303-11 §9.2).

The layouts are read by :mod:`cardreader.access.security_info`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cardreader.access.pace_info import (
    CardAccess,
    KeyAgreement,
    RawSecurityInfo,
    parse_card_access,
)
from cardreader.access.security_info import (
    PROTOCOL,
    Field,
    optional_small_integer,
    read_sequence,
    small_integer,
)
from cardreader.asn1 import UniversalTag
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.crypto.keys import (
    DhPublicKey,
    EcPublicKey,
    RsaPublicKey,
    parse_subject_public_key_info,
    standardized_only,
)
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.log import get_logger

_log = get_logger(__name__)

DG14_TAG = 0x6E
"""Tag of DG14 (ICAO 9303-10 §4.7.14)."""

ID_PK = "0.4.0.127.0.7.2.2.1"
"""id-PK: the Chip Authentication public keys (ICAO 9303-11 §9.2)."""
ID_TA = "0.4.0.127.0.7.2.2.2"
"""id-TA: Terminal Authentication (BSI TR-03110-3 §A.1.1.3)."""
ID_CA = "0.4.0.127.0.7.2.2.3"
"""id-CA: Chip Authentication (ICAO 9303-11 §9.2)."""
ID_AA = "2.23.136.1.1.5"
"""id-icao-mrtd-security-aaProtocolObject (ICAO 9303-11 §9.2)."""

MAX_CHIP_AUTHENTICATION_KEYS = 16
"""Chips hold one or two keys; more are refused, which bounds the cost of validating them."""

CHIP_AUTHENTICATION_KEYS: Mapping[str, KeyAgreement] = MappingProxyType(
    {f"{ID_PK}.1": KeyAgreement.DH, f"{ID_PK}.2": KeyAgreement.ECDH}
)
"""id-PK-DH and id-PK-ECDH."""


_INTEGER, _OCTET_STRING = UniversalTag.INTEGER, UniversalTag.OCTET_STRING
_VERSION = Field("version", _INTEGER)
_KEY_ID = Field("keyId", _INTEGER, optional=True)
_CHIP_AUTHENTICATION_INFO = (PROTOCOL, _VERSION, _KEY_ID)
"""ChipAuthenticationInfo (ICAO 9303-11 §9.2.5)."""
_CHIP_AUTHENTICATION_PUBLIC_KEY_INFO = (
    PROTOCOL,
    Field("chipAuthenticationPublicKey", UniversalTag.SEQUENCE),
    _KEY_ID,
)
"""ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2.6); the key is a SubjectPublicKeyInfo,
read by :func:`parse_subject_public_key_info`."""
_FILE_ID = (Field("fid", _OCTET_STRING), Field("sfid", _OCTET_STRING, optional=True))
"""FileID (BSI TR-03110-3 §A.1.1.3)."""
_TERMINAL_AUTHENTICATION_INFO = (
    PROTOCOL,
    _VERSION,
    Field("efCVCA", UniversalTag.SEQUENCE, optional=True, layout=_FILE_ID),
)
"""TerminalAuthenticationInfo (BSI TR-03110-3 §A.1.1.3)."""
_ACTIVE_AUTHENTICATION_INFO = (
    PROTOCOL,
    _VERSION,
    Field("signatureAlgorithm", UniversalTag.OBJECT_IDENTIFIER),
)
"""ActiveAuthenticationInfo (ICAO 9303-11 §9.2.8)."""


@dataclass(frozen=True, slots=True)
class ChipAuthenticationProtocol:
    """One id-CA-* protocol: key agreement and the secure messaging cipher it switches to."""

    name: str
    oid: str
    key_agreement: KeyAgreement
    key_algorithm: KeyAlgorithm


_DH, _ECDH = KeyAgreement.DH, KeyAgreement.ECDH
_CIPHERS = (
    (1, KeyAlgorithm.TDES, "3DES-CBC-CBC"),
    (2, KeyAlgorithm.AES_128, "AES-CBC-CMAC-128"),
    (3, KeyAlgorithm.AES_192, "AES-CBC-CMAC-192"),
    (4, KeyAlgorithm.AES_256, "AES-CBC-CMAC-256"),
)
CA_PROTOCOLS: Mapping[str, ChipAuthenticationProtocol] = MappingProxyType(
    {
        f"{ID_CA}.{family}.{arc}": ChipAuthenticationProtocol(
            f"id-CA-{agreement.value}-{cipher}", f"{ID_CA}.{family}.{arc}", agreement, alg
        )
        for family, agreement in ((1, _DH), (2, _ECDH))
        for arc, alg, cipher in _CIPHERS
    }
)
"""Every Chip Authentication protocol OID of ICAO 9303-11 §9.2, by dotted OID."""


def default_protocol(agreement: KeyAgreement) -> ChipAuthenticationProtocol:
    """The protocol implied when DG14 lists a key but no ChipAuthenticationInfo.

    3DES, as in Chip Authentication version 1 of BSI TR-03110 (older chips omit the info).
    """
    family = 1 if agreement is KeyAgreement.DH else 2
    return CA_PROTOCOLS[f"{ID_CA}.{family}.1"]


@dataclass(frozen=True, slots=True)
class ChipAuthenticationInfo:
    """ChipAuthenticationInfo (ICAO 9303-11 §9.2)."""

    protocol: ChipAuthenticationProtocol
    version: int
    key_id: int | None


@dataclass(frozen=True, slots=True)
class ChipAuthenticationPublicKeyInfo:
    """ChipAuthenticationPublicKeyInfo (ICAO 9303-11 §9.2): the chip's static key ``PK_IC``."""

    key_agreement: KeyAgreement
    public_key: EcPublicKey | DhPublicKey
    key_id: int | None
    subject_public_key_info: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class TerminalAuthenticationInfo:
    """TerminalAuthenticationInfo (BSI TR-03110-3 §A.1.1.3); efCVCA kept as raw DER."""

    version: int
    ef_cvca: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ActiveAuthenticationInfo:
    """ActiveAuthenticationInfo (ICAO 9303-11 §9.2): the ECDSA signature algorithm OID."""

    version: int
    signature_algorithm: str


@dataclass(frozen=True, slots=True)
class ChipSecurityInfos:
    """The SecurityInfos of DG14 (or EF.CardAccess), grouped by protocol."""

    card_access: CardAccess
    """PACE infos and every SecurityInfo as the outer parser read them."""
    chip_authentication: tuple[ChipAuthenticationInfo, ...]
    chip_authentication_keys: tuple[ChipAuthenticationPublicKeyInfo, ...]
    terminal_authentication: tuple[TerminalAuthenticationInfo, ...]
    active_authentication: ActiveAuthenticationInfo | None
    other: tuple[RawSecurityInfo, ...]
    """SecurityInfos of other protocols, and keys whose algorithm this library lacks."""


def _parse_ca_info(protocol: ChipAuthenticationProtocol, der: bytes) -> ChipAuthenticationInfo:
    what = f"{protocol.name} ChipAuthenticationInfo"
    info = read_sequence(der, _CHIP_AUTHENTICATION_INFO, what)
    return ChipAuthenticationInfo(
        protocol,
        small_integer(info["version"], protocol.name),
        optional_small_integer(info.get("keyId"), protocol.name),
    )


def _parse_public_key_info(oid: str, der: bytes) -> ChipAuthenticationPublicKeyInfo:
    what = "ChipAuthenticationPublicKeyInfo"
    info = read_sequence(der, _CHIP_AUTHENTICATION_PUBLIC_KEY_INFO, what)
    agreement = CHIP_AUTHENTICATION_KEYS[oid]
    spki = info["chipAuthenticationPublicKey"].der
    key = parse_subject_public_key_info(spki)
    if isinstance(key, RsaPublicKey) or (agreement is _ECDH) != isinstance(key, EcPublicKey):
        raise ParseError(f"id-PK-{agreement.value} holds a key of another kind")
    standardized_only(key)
    key_id = optional_small_integer(info.get("keyId"), what)
    return ChipAuthenticationPublicKeyInfo(agreement, key, key_id, spki)


def _parse_ta_info(der: bytes) -> TerminalAuthenticationInfo:
    what = "TerminalAuthenticationInfo"
    info = read_sequence(der, _TERMINAL_AUTHENTICATION_INFO, what)
    ef_cvca = info.get("efCVCA")
    return TerminalAuthenticationInfo(
        small_integer(info["version"], what), None if ef_cvca is None else ef_cvca.der
    )


def _parse_aa_info(der: bytes) -> ActiveAuthenticationInfo:
    what = "ActiveAuthenticationInfo"
    info = read_sequence(der, _ACTIVE_AUTHENTICATION_INFO, what)
    return ActiveAuthenticationInfo(
        small_integer(info["version"], what), tlv.decode_oid(info["signatureAlgorithm"].value)
    )


def parse_security_infos(card_access: CardAccess) -> ChipSecurityInfos:
    """Interpret the CA, TA and AA infos that :func:`parse_card_access` kept raw.

    Malformed infos raise :class:`ParseError`; a public key with an algorithm or domain
    parameters this library lacks is kept in ``other`` (Chip Authentication is then not
    supported with it), so that the rest of the file stays usable.
    """
    ca: list[ChipAuthenticationInfo] = []
    keys: list[ChipAuthenticationPublicKeyInfo] = []
    ta: list[TerminalAuthenticationInfo] = []
    aa: list[ActiveAuthenticationInfo] = []
    other: list[RawSecurityInfo] = []
    key_count = sum(raw.oid in CHIP_AUTHENTICATION_KEYS for raw in card_access.other)
    if key_count > MAX_CHIP_AUTHENTICATION_KEYS:
        raise ParseError(f"{key_count} Chip Authentication public keys")
    for raw in card_access.other:
        if raw.oid in CA_PROTOCOLS:
            ca.append(_parse_ca_info(CA_PROTOCOLS[raw.oid], raw.der))
        elif raw.oid in CHIP_AUTHENTICATION_KEYS:
            try:
                keys.append(_parse_public_key_info(raw.oid, raw.der))
            except UnsupportedProtocolError as exc:
                _log.info("Chip Authentication key not usable: %s", exc)
                other.append(raw)
        elif raw.oid == ID_TA:
            ta.append(_parse_ta_info(raw.der))
        elif raw.oid == ID_AA:
            aa.append(_parse_aa_info(raw.der))
        else:
            other.append(raw)
    if len(aa) > 1:
        raise ParseError(f"{len(aa)} ActiveAuthenticationInfos")
    return ChipSecurityInfos(
        card_access=card_access,
        chip_authentication=tuple(ca),
        chip_authentication_keys=tuple(keys),
        terminal_authentication=tuple(ta),
        active_authentication=aa[0] if aa else None,
        other=tuple(other),
    )


def parse_dg14(data: bytes) -> ChipSecurityInfos:
    """Parse DG14 (tag 6E around ``SecurityInfos``, ICAO 9303-10 §4.7.14)."""
    infos = tlv.decode_padded(data, DG14_TAG, "DG14").value
    return parse_security_infos(parse_card_access(infos))


@dataclass(frozen=True, slots=True)
class ChipAuthenticationChoice:
    """The protocol and static key Chip Authentication will use; ``key_id`` goes in DO84."""

    protocol: ChipAuthenticationProtocol
    key: ChipAuthenticationPublicKeyInfo
    key_id: int | None
    implied: bool
    """True when DG14 has no ChipAuthenticationInfo and 3DES is assumed."""


def _preference(choice: ChipAuthenticationChoice) -> tuple[bool, bool, int]:
    protocol = choice.protocol
    return (
        protocol.key_algorithm is not KeyAlgorithm.TDES,
        protocol.key_agreement is _ECDH,
        protocol.key_algorithm.key_length,
    )


def _keys_for(
    info: ChipAuthenticationInfo, keys: tuple[ChipAuthenticationPublicKeyInfo, ...]
) -> list[ChipAuthenticationPublicKeyInfo]:
    agreement = info.protocol.key_agreement
    matching = [key for key in keys if key.key_agreement is agreement]
    if info.key_id is not None:
        return [key for key in matching if key.key_id == info.key_id]
    return matching[:1]


def select_chip_authentication(infos: ChipSecurityInfos) -> ChipAuthenticationChoice:
    """The best supported (protocol, key) pair: AES over 3DES, ECDH over DH, longest key.

    A ChipAuthenticationInfo names its key by keyId, or by key agreement when there is a
    single key. Without any ChipAuthenticationInfo 3DES is implied (:func:`default_protocol`).
    :class:`UnsupportedProtocolError` when no usable pair exists.
    """
    choices = [
        ChipAuthenticationChoice(info.protocol, key, info.key_id, implied=False)
        for info in infos.chip_authentication
        for key in _keys_for(info, infos.chip_authentication_keys)
    ]
    if not infos.chip_authentication:
        choices = [
            ChipAuthenticationChoice(default_protocol(key.key_agreement), key, key.key_id, True)
            for key in infos.chip_authentication_keys
        ]
    if not choices:
        raise UnsupportedProtocolError("DG14 offers no usable Chip Authentication key")
    return max(choices, key=_preference)
