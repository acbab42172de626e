"""SecurityInfos as an issuer writes them: EF.CardAccess and DG14 (ICAO 9303-11 §9.2,
BSI TR-03110-3 §A.1), and DG15's SubjectPublicKeyInfo (ICAO 9303-10 §4.7.15)."""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cardreader.asn1 import UniversalTag
from cardreader.iso7816.tlv import encode, encode_oid

BSI_DE = "0.4.0.127.0.7"
ID_PK_DH = f"{BSI_DE}.2.2.1.1"
ID_PK_ECDH = f"{BSI_DE}.2.2.1.2"
ID_TA = f"{BSI_DE}.2.2.2"
ID_CA = f"{BSI_DE}.2.2.3"
ID_PACE = f"{BSI_DE}.2.2.4"
STANDARDIZED_DOMAIN_PARAMETERS = f"{BSI_DE}.1.2"
ID_AA = "2.23.136.1.1.5"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"


class Cipher(enum.IntEnum):
    """Last arc of the id-CA-* and id-PACE-* OIDs."""

    TDES = 1
    AES_128 = 2
    AES_192 = 3
    AES_256 = 4


class PaceFamily(enum.IntEnum):
    """Second-to-last arc of id-PACE-* (TR-03110-3 table A.2)."""

    DH_GM = 1
    ECDH_GM = 2
    DH_IM = 3
    ECDH_IM = 4
    ECDH_CAM = 6


def pace_oid(family: PaceFamily, cipher: Cipher) -> str:
    return f"{ID_PACE}.{int(family)}.{int(cipher)}"


def ca_oid(ecdh: bool, cipher: Cipher) -> str:
    return f"{ID_CA}.{2 if ecdh else 1}.{int(cipher)}"


def _integer(value: int) -> bytes:
    return encode(UniversalTag.INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    return encode(UniversalTag.OBJECT_IDENTIFIER, encode_oid(dotted))


def _sequence(*items: bytes) -> bytes:
    return encode(UniversalTag.SEQUENCE, b"".join(items))


def pace_info(oid: str, parameter_id: int) -> bytes:
    """PACEInfo version 2 with a standardized domain parameter ID (§9.2.1)."""
    return _sequence(_oid(oid), _integer(2), _integer(parameter_id))


def terminal_authentication_info() -> bytes:
    return _sequence(_oid(ID_TA), _integer(1))


def chip_authentication_info(oid: str, key_id: int | None = None) -> bytes:
    """ChipAuthenticationInfo version 1 (§9.2.5)."""
    return _sequence(_oid(oid), _integer(1), b"" if key_id is None else _integer(key_id))


def chip_authentication_public_key_info(
    ecdh: bool, parameter_id: int, public_key: bytes, key_id: int | None = None
) -> bytes:
    """ChipAuthenticationPublicKeyInfo with standardized domain parameters (§9.2.6)."""
    algorithm = _sequence(_oid(STANDARDIZED_DOMAIN_PARAMETERS), _integer(parameter_id))
    key = public_key if ecdh else _integer(int.from_bytes(public_key, "big"))
    spki = _sequence(algorithm, encode(UniversalTag.BIT_STRING, b"\x00" + key))
    tail = b"" if key_id is None else _integer(key_id)
    return _sequence(_oid(ID_PK_ECDH if ecdh else ID_PK_DH), spki, tail)


def active_authentication_info(signature_algorithm: str = ECDSA_WITH_SHA256) -> bytes:
    """ActiveAuthenticationInfo (§9.2.8), needed for ECDSA Active Authentication."""
    return _sequence(_oid(ID_AA), _integer(1), _oid(signature_algorithm))


def security_infos(*infos: bytes) -> bytes:
    """``SecurityInfos ::= SET OF SecurityInfo`` (EF.CardAccess's whole content)."""
    return encode(UniversalTag.SET, b"".join(infos))


def dg14(*infos: bytes) -> bytes:
    return encode(0x6E, security_infos(*infos))


def dg15(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    """DG15: the Active Authentication SubjectPublicKeyInfo."""
    return encode(0x6F, public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
