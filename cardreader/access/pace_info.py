"""EF.CardAccess SecurityInfos and the choice of the PACE protocol (ICAO 9303-11 §9.2).

``SecurityInfos ::= SET OF SecurityInfo``, each ``SEQUENCE { protocol OID, requiredData,
optionalData OPTIONAL }`` (BSI TR-03110-3 §A.1.1), read by
:mod:`cardreader.access.security_info`. PACEInfo (§9.2.1) and PACEDomainParameterInfo
(§9.2.2) are parsed here; every other SecurityInfo (Terminal and Chip Authentication, ...)
is kept as its raw DER so that the modules owning those protocols can parse it with their
own layouts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cardreader.access.security_info import (
    PROTOCOL,
    Field,
    SecurityInfo,
    decode_security_infos,
    optional_small_integer,
    read_fields,
    small_integer,
)
from cardreader.asn1 import UniversalTag
from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import DomainParameters, standardized_domain_parameters
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.log import get_logger

_log = get_logger(__name__)

PACE_VERSION = 2
"""The only PACEInfo version of ICAO 9303-11 §9.2.1 (version 1 computed tokens differently)."""

_INTEGER, _OID = UniversalTag.INTEGER, UniversalTag.OBJECT_IDENTIFIER
_PACE_INFO = (PROTOCOL, Field("version", _INTEGER), Field("parameterId", _INTEGER, optional=True))
"""PACEInfo (ICAO 9303-11 §9.2.1)."""
_ALGORITHM_IDENTIFIER = (Field("algorithm", _OID), Field("parameters", optional=True))
_PACE_DOMAIN_PARAMETER_INFO = (
    PROTOCOL,
    Field("domainParameter", UniversalTag.SEQUENCE, layout=_ALGORITHM_IDENTIFIER),
    Field("parameterId", _INTEGER, optional=True),
)
"""PACEDomainParameterInfo (ICAO 9303-11 §9.2.2)."""


class KeyAgreement(enum.Enum):
    """Key agreement of a PACE protocol (ICAO 9303-11 §4.4.3.1-2)."""

    DH = "DH"
    ECDH = "ECDH"


class PaceMapping(enum.Enum):
    """Nonce mapping of a PACE protocol (ICAO 9303-11 §4.4.3.3)."""

    GENERIC = "GM"
    INTEGRATED = "IM"
    CHIP_AUTHENTICATION = "CAM"


@dataclass(frozen=True, slots=True)
class PaceProtocol:
    """One id-PACE-* object identifier and what it selects (ICAO 9303-11 tables 2-3)."""

    name: str
    oid: str
    key_agreement: KeyAgreement
    mapping: PaceMapping
    key_algorithm: KeyAlgorithm


ID_PACE = "0.4.0.127.0.7.2.2.4"
"""id-PACE ::= { bsi-de protocols(2) smartcard(2) 4 } (ICAO 9303-11 §9.2.3)."""

_DH, _ECDH = KeyAgreement.DH, KeyAgreement.ECDH
_GM, _IM, _CAM = PaceMapping.GENERIC, PaceMapping.INTEGRATED, PaceMapping.CHIP_AUTHENTICATION
_TDES, _AES128, _AES192, _AES256 = (
    KeyAlgorithm.TDES,
    KeyAlgorithm.AES_128,
    KeyAlgorithm.AES_192,
    KeyAlgorithm.AES_256,
)

PACE_PROTOCOLS: Mapping[str, PaceProtocol] = MappingProxyType(
    {
        protocol.oid: protocol
        for protocol in (
            PaceProtocol("id-PACE-DH-GM-3DES-CBC-CBC", f"{ID_PACE}.1.1", _DH, _GM, _TDES),
            PaceProtocol("id-PACE-DH-GM-AES-CBC-CMAC-128", f"{ID_PACE}.1.2", _DH, _GM, _AES128),
            PaceProtocol("id-PACE-DH-GM-AES-CBC-CMAC-192", f"{ID_PACE}.1.3", _DH, _GM, _AES192),
            PaceProtocol("id-PACE-DH-GM-AES-CBC-CMAC-256", f"{ID_PACE}.1.4", _DH, _GM, _AES256),
            PaceProtocol("id-PACE-ECDH-GM-3DES-CBC-CBC", f"{ID_PACE}.2.1", _ECDH, _GM, _TDES),
            PaceProtocol("id-PACE-ECDH-GM-AES-CBC-CMAC-128", f"{ID_PACE}.2.2", _ECDH, _GM, _AES128),
            PaceProtocol("id-PACE-ECDH-GM-AES-CBC-CMAC-192", f"{ID_PACE}.2.3", _ECDH, _GM, _AES192),
            PaceProtocol("id-PACE-ECDH-GM-AES-CBC-CMAC-256", f"{ID_PACE}.2.4", _ECDH, _GM, _AES256),
            PaceProtocol("id-PACE-DH-IM-3DES-CBC-CBC", f"{ID_PACE}.3.1", _DH, _IM, _TDES),
            PaceProtocol("id-PACE-DH-IM-AES-CBC-CMAC-128", f"{ID_PACE}.3.2", _DH, _IM, _AES128),
            PaceProtocol("id-PACE-DH-IM-AES-CBC-CMAC-192", f"{ID_PACE}.3.3", _DH, _IM, _AES192),
            PaceProtocol("id-PACE-DH-IM-AES-CBC-CMAC-256", f"{ID_PACE}.3.4", _DH, _IM, _AES256),
            PaceProtocol("id-PACE-ECDH-IM-3DES-CBC-CBC", f"{ID_PACE}.4.1", _ECDH, _IM, _TDES),
            PaceProtocol("id-PACE-ECDH-IM-AES-CBC-CMAC-128", f"{ID_PACE}.4.2", _ECDH, _IM, _AES128),
            PaceProtocol("id-PACE-ECDH-IM-AES-CBC-CMAC-192", f"{ID_PACE}.4.3", _ECDH, _IM, _AES192),
            PaceProtocol("id-PACE-ECDH-IM-AES-CBC-CMAC-256", f"{ID_PACE}.4.4", _ECDH, _IM, _AES256),
            PaceProtocol(
                "id-PACE-ECDH-CAM-AES-CBC-CMAC-128", f"{ID_PACE}.6.2", _ECDH, _CAM, _AES128
            ),
            PaceProtocol(
                "id-PACE-ECDH-CAM-AES-CBC-CMAC-192", f"{ID_PACE}.6.3", _ECDH, _CAM, _AES192
            ),
            PaceProtocol(
                "id-PACE-ECDH-CAM-AES-CBC-CMAC-256", f"{ID_PACE}.6.4", _ECDH, _CAM, _AES256
            ),
        )
    }
)
"""Every PACE protocol OID of ICAO 9303-11 §9.2.3, by dotted OID."""

PACE_DOMAIN_PARAMETER_PROTOCOLS: Mapping[str, KeyAgreement] = MappingProxyType(
    {
        f"{ID_PACE}.1": _DH,  # id-PACE-DH-GM
        f"{ID_PACE}.2": _ECDH,  # id-PACE-ECDH-GM
        f"{ID_PACE}.3": _DH,  # id-PACE-DH-IM
        f"{ID_PACE}.4": _ECDH,  # id-PACE-ECDH-IM
        f"{ID_PACE}.6": _ECDH,  # id-PACE-ECDH-CAM
    }
)
"""The protocol OIDs of PACEDomainParameterInfo (§9.2.2) and their key agreement."""

_MAPPING_PREFERENCE = {_CAM: 2, _GM: 1, _IM: 0}
"""CAM also authenticates the chip; GM is what every chip must offer (§4.4)."""


@dataclass(frozen=True, slots=True)
class PaceInfo:
    """PACEInfo (ICAO 9303-11 §9.2.1)."""

    protocol: PaceProtocol
    version: int
    parameter_id: int | None


@dataclass(frozen=True, slots=True)
class PaceDomainParameterInfo:
    """PACEDomainParameterInfo (§9.2.2); the AlgorithmIdentifier is kept as raw DER."""

    oid: str
    key_agreement: KeyAgreement
    domain_parameter: bytes = field(repr=False)
    parameter_id: int | None


@dataclass(frozen=True, slots=True)
class RawSecurityInfo:
    """A SecurityInfo this module does not interpret: its protocol OID and whole DER."""

    oid: str
    der: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class CardAccess:
    """The SecurityInfos of EF.CardAccess (ICAO 9303-11 §9.2.11), grouped by kind."""

    pace_infos: tuple[PaceInfo, ...]
    domain_parameter_infos: tuple[PaceDomainParameterInfo, ...]
    other: tuple[RawSecurityInfo, ...]

    @property
    def count(self) -> int:
        """How many SecurityInfos the file holds."""
        return len(self.pace_infos) + len(self.domain_parameter_infos) + len(self.other)

    @property
    def parameter_id_required(self) -> bool:
        """Whether MSE:Set AT must name the domain parameters (tag 84, §4.4.4.1)."""
        return len(self.pace_infos) > 1 or bool(self.domain_parameter_infos)


def _parse_pace_info(protocol: PaceProtocol, info: SecurityInfo) -> PaceInfo:
    fields = read_fields(info.elements, _PACE_INFO, f"{protocol.name} PACEInfo")
    return PaceInfo(
        protocol,
        small_integer(fields["version"], protocol.name),
        optional_small_integer(fields.get("parameterId"), protocol.name),
    )


def _parse_domain_parameter_info(info: SecurityInfo) -> PaceDomainParameterInfo:
    what = "PACEDomainParameterInfo"
    fields = read_fields(info.elements, _PACE_DOMAIN_PARAMETER_INFO, what)
    return PaceDomainParameterInfo(
        info.oid,
        PACE_DOMAIN_PARAMETER_PROTOCOLS[info.oid],
        fields["domainParameter"].der,
        optional_small_integer(fields.get("parameterId"), what),
    )


def parse_card_access(data: bytes) -> CardAccess:
    """Parse EF.CardAccess (a DER ``SET OF SecurityInfo``); :class:`ParseError` if malformed.

    Zero bytes after the SET (files padded to a block) are ignored.
    """
    top, trailing = tlv.decode_one(data)
    if top.tag != UniversalTag.SET:
        raise ParseError(f"SecurityInfos must be a SET, found tag {top.tag:X}")
    if trailing.strip(b"\x00"):
        raise ParseError(f"{len(trailing)} bytes after the SecurityInfos")
    pace: list[PaceInfo] = []
    domain: list[PaceDomainParameterInfo] = []
    other: list[RawSecurityInfo] = []
    for info in decode_security_infos(top.value):
        if info.oid in PACE_PROTOCOLS:
            pace.append(_parse_pace_info(PACE_PROTOCOLS[info.oid], info))
        elif info.oid in PACE_DOMAIN_PARAMETER_PROTOCOLS:
            domain.append(_parse_domain_parameter_info(info))
        else:
            other.append(RawSecurityInfo(info.oid, info.der))
    return CardAccess(tuple(pace), tuple(domain), tuple(other))


def domain_parameters(info: PaceInfo) -> DomainParameters:
    """The static domain parameters ``D_IC`` of ``info`` (ICAO 9303-11 §9.5).

    Explicit parameters (PACEDomainParameterInfo) are not used: §9.2.2 forbids them unless
    known to be secure, so they raise :class:`UnsupportedProtocolError`, as do reserved IDs,
    a DH group for an ECDH protocol (or the reverse) and the Integrated Mapping on curves
    it is not defined for.
    """
    if info.parameter_id is None:
        raise UnsupportedProtocolError("PACEInfo without a standardized domain parameter ID")
    params = standardized_domain_parameters(info.parameter_id)
    expected = Curve if info.protocol.key_agreement is KeyAgreement.ECDH else DhGroup
    if not isinstance(params, expected):
        raise UnsupportedProtocolError(
            f"{info.protocol.name} cannot use domain parameters {info.parameter_id}"
        )
    if (
        isinstance(params, Curve)
        and info.protocol.mapping is PaceMapping.INTEGRATED
        and params.p % 4 != 3
    ):
        raise UnsupportedProtocolError(f"the Integrated Mapping is not defined on {params.name}")
    return params


def _is_supported(info: PaceInfo) -> bool:
    if info.version != PACE_VERSION:
        return False
    try:
        domain_parameters(info)
    except UnsupportedProtocolError:
        return False
    return True


def _preference(info: PaceInfo) -> tuple[int, int, int]:
    protocol = info.protocol
    return (
        _MAPPING_PREFERENCE[protocol.mapping],
        protocol.key_agreement is KeyAgreement.ECDH,
        protocol.key_algorithm.key_length,
    )


def select_pace_info(card_access: CardAccess) -> PaceInfo:
    """The best PACEInfo this library supports: CAM over GM over IM, ECDH over DH, then
    the longest key; the chip's order breaks ties. :class:`UnsupportedProtocolError` if none.
    """
    supported = [info for info in card_access.pace_infos if _is_supported(info)]
    if not supported:
        raise UnsupportedProtocolError("EF.CardAccess offers no supported PACE protocol")
    best = max(supported, key=_preference)
    _log.debug("selected %s with parameters %s", best.protocol.name, best.parameter_id)
    return best
