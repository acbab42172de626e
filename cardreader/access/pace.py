"""PACE, the terminal side (ICAO 9303-11 §4.4, BSI TR-03110-2 §3.2).

MSE:Set AT selects the protocol and password (§4.4.4.1); four chained GENERAL AUTHENTICATE
commands then carry the encrypted nonce, the mapping data, the ephemeral public keys and
the authentication tokens (§4.4.4.2, §4.4.5, table 4). The session keys go to
:class:`cardreader.access.secure_messaging.SecureMessagingTransport` with SSC 0.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import secrets
from dataclasses import dataclass, field

from cardreader.access.credentials import MrzKey
from cardreader.access.pace_info import PaceInfo, PaceMapping, PaceProtocol, domain_parameters
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.cipher import decrypt_cbc
from cardreader.crypto.domain_params import DomainParameters
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.crypto.pace_mapping import (
    PaceGroup,
    RandomSource,
    authentication_token,
    decrypt_chip_authentication_data,
    nonce_length,
    pace_group,
    tokens_equal,
    verify_chip_authentication_data,
)
from cardreader.errors import (
    AccessDeniedError,
    ParseError,
    StatusWordError,
    UnsupportedProtocolError,
    WrongPasswordError,
)
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import (
    EXTENDED_MAX_NE,
    SHORT_MAX_LC,
    SHORT_MAX_NE,
    Cla,
    CommandApdu,
    Ins,
    send,
)
from cardreader.log import get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)

METHOD = "PACE"
"""The ``method`` of :class:`AccessDeniedError` raised here."""

MSE_SET_AT_P1 = 0xC1
"""MSE P1: set, for internal and external authentication (mutual authentication)."""
MSE_SET_AT_P2 = 0xA4
"""MSE P2: authentication template (AT)."""

_DAD_OVERHEAD = 8
"""Upper bound of the 7C and inner tag/length octets around a public key."""
PASSWORD_REFUSED = frozenset({0x6300, *range(0x63C0, 0x63D0)})
"""Answers to the terminal's token that mean the password was wrong: authentication failed,
or failed with x tries left (ICAO 9303-11 §4.4.4.2, ISO/IEC 7816-4 §5.6 table 5)."""


class PasswordReference(enum.IntEnum):
    """The password named in MSE:Set AT, data object 83 (ICAO 9303-11 §4.4.4.1)."""

    MRZ = 0x01
    CAN = 0x02


class MseTag(enum.IntEnum):
    """Data objects of MSE:Set AT for PACE (§4.4.4.1)."""

    CRYPTOGRAPHIC_MECHANISM = 0x80
    PASSWORD_REFERENCE = 0x83
    DOMAIN_PARAMETER_ID = 0x84


class AuthTag(enum.IntEnum):
    """Dynamic authentication data of GENERAL AUTHENTICATE (§4.4.4.2, table 4)."""

    DYNAMIC_AUTHENTICATION_DATA = 0x7C
    ENCRYPTED_NONCE = 0x80
    TERMINAL_MAPPING_DATA = 0x81
    CHIP_MAPPING_DATA = 0x82
    TERMINAL_PUBLIC_KEY = 0x83
    CHIP_PUBLIC_KEY = 0x84
    TERMINAL_TOKEN = 0x85
    CHIP_TOKEN = 0x86
    ENCRYPTED_CHIP_AUTHENTICATION_DATA = 0x8A


@dataclass(frozen=True, slots=True)
class PacePassword:
    """A PACE password as encoded by ``f(π)`` (ICAO 9303-11 §9.7.3, table 14)."""

    reference: PasswordReference
    encoded: bytes = field(repr=False)

    @classmethod
    def from_mrz(cls, key: MrzKey) -> PacePassword:
        """``SHA-1(MRZ information)``: document number, birth and expiry with check digits."""
        digest = hashlib.sha1(key.mrz_information.encode("ascii")).digest()
        return cls(PasswordReference.MRZ, digest)

    @classmethod
    def from_can(cls, can: str) -> PacePassword:
        """The CAN as an ISO/IEC 8859-1 character string."""
        if not can:
            raise ValueError("empty CAN")
        return cls(PasswordReference.CAN, can.encode("latin-1"))

    def key(self, alg: KeyAlgorithm) -> bytes:
        """``K_π = KDF(f(π), 3)`` (§9.7.3)."""
        return derive_key(self.encoded, KdfCounter.PACE_PASSWORD, alg)


@dataclass(frozen=True, slots=True)
class PaceResult:
    """The outcome of a successful PACE run.

    ``chip_public_key``/``terminal_public_key`` are the ephemeral keys of the key agreement
    (needed by Terminal and Chip Authentication). For the Chip Authentication Mapping
    ``chip_authentication_data`` is the decrypted ``CA_IC``: it proves nothing until
    :meth:`verify_chip_authentication` checks it against the chip's static key (§4.4.3.5.2).
    ``chip_authenticated`` is True only when that check already passed during the run
    (``perform_pace(..., chip_static_public_key=...)``).
    """

    protocol: PaceProtocol
    parameter_id: int | None
    domain_parameters: DomainParameters = field(repr=False)
    ks_enc: bytes = field(repr=False)
    ks_mac: bytes = field(repr=False)
    chip_public_key: bytes
    terminal_public_key: bytes
    chip_mapping_public_key: bytes | None = None
    chip_authentication_data: bytes | None = field(default=None, repr=False)
    chip_authenticated: bool = False

    @property
    def key_algorithm(self) -> KeyAlgorithm:
        return self.protocol.key_algorithm

    @property
    def mapping(self) -> PaceMapping:
        return self.protocol.mapping

    def secure_messaging(self, transport: Transport) -> SecureMessagingTransport:
        """Wrap ``transport`` in secure messaging with the session keys (SSC 0, §9.8.2)."""
        return SecureMessagingTransport(transport, self.key_algorithm, self.ks_enc, self.ks_mac)

    def verify_chip_authentication(self, static_public_key: bytes) -> bool:
        """PACE-CAM: check ``PK_Map,IC = CA_IC · PK_IC`` (§4.4.3.5.2).

        ``static_public_key`` is the chip's uncompressed static point from its
        ChipAuthenticationPublicKeyInfo (authenticated by passive authentication).
        """
        if self.chip_authentication_data is None or self.chip_mapping_public_key is None:
            raise UnsupportedProtocolError("PACE ran without the Chip Authentication Mapping")
        if not isinstance(self.domain_parameters, Curve):
            raise UnsupportedProtocolError("the Chip Authentication Mapping needs ECDH")
        return verify_chip_authentication_data(
            self.domain_parameters,
            self.chip_authentication_data,
            static_public_key,
            self.chip_mapping_public_key,
        )


class _Exchange:
    """The chain of GENERAL AUTHENTICATE commands of one PACE run (§4.4.4.2-3)."""

    def __init__(self, transport: Transport, extended: bool, password: PasswordReference) -> None:
        self._transport = transport
        self._extended = extended
        self._password = password

    def step(self, objects: bytes, *, last: bool = False) -> tlv.Tlv:
        command = CommandApdu(
            Cla.PLAIN if last else Cla.COMMAND_CHAINING,
            Ins.GENERAL_AUTHENTICATE,
            0x00,
            0x00,
            tlv.encode(AuthTag.DYNAMIC_AUTHENTICATION_DATA, objects),
            EXTENDED_MAX_NE if self._extended else SHORT_MAX_NE,
        )
        try:
            response = send(self._transport, command, self._extended)
        except StatusWordError as exc:
            if last and exc.sw in PASSWORD_REFUSED:  # the chip checked our token: wrong password
                raise WrongPasswordError(METHOD, self._password.name) from exc
            raise AccessDeniedError(METHOD, f"the chip refused a step with {exc.sw:04X}") from exc
        data = tlv.decode_single(response.data)
        if data.tag != AuthTag.DYNAMIC_AUTHENTICATION_DATA:
            raise ParseError(f"GENERAL AUTHENTICATE answered tag {data.tag:X}, not 7C")
        return data


def _set_authentication_template(
    transport: Transport, info: PaceInfo, password: PacePassword, with_parameter_id: bool
) -> None:
    data = tlv.encode(MseTag.CRYPTOGRAPHIC_MECHANISM, tlv.encode_oid(info.protocol.oid))
    data += tlv.encode(MseTag.PASSWORD_REFERENCE, bytes((password.reference,)))
    if with_parameter_id and info.parameter_id is not None:
        data += tlv.encode(MseTag.DOMAIN_PARAMETER_ID, bytes((info.parameter_id,)))
    try:
        send(transport, CommandApdu(Cla.PLAIN, Ins.MSE, MSE_SET_AT_P1, MSE_SET_AT_P2, data))
    except StatusWordError as exc:
        raise AccessDeniedError(METHOD, f"MSE:Set AT rejected with {exc.sw:04X}") from exc


def _map_nonce(
    exchange: _Exchange, group: PaceGroup, nonce: bytes, info: PaceInfo, rng: RandomSource
) -> tuple[PaceGroup, bytes | None]:
    """Step 2 (§4.4.3.3): the ephemeral group and, for GM/CAM, the chip's mapping key."""
    alg = info.protocol.key_algorithm
    if info.protocol.mapping is PaceMapping.INTEGRATED:
        if len(nonce) != nonce_length(alg):
            raise ParseError(f"a nonce of {len(nonce)} octets does not fit the Integrated Mapping")
        terminal_nonce = rng.token_bytes(alg.key_length)
        exchange.step(tlv.encode(AuthTag.TERMINAL_MAPPING_DATA, terminal_nonce))
        return group.integrated_mapping(nonce, terminal_nonce, alg), None
    private_key = group.generate_private_key(rng)
    public_key = group.public_key(private_key)
    answer = exchange.step(tlv.encode(AuthTag.TERMINAL_MAPPING_DATA, public_key))
    chip_key = answer.require(AuthTag.CHIP_MAPPING_DATA).value
    if chip_key == public_key:
        raise AccessDeniedError(METHOD, "the chip echoed the terminal's mapping key")
    return group.generic_mapping(nonce, private_key, chip_key), chip_key


def perform_pace(
    transport: Transport,
    password: PacePassword,
    info: PaceInfo,
    *,
    parameter_id_in_mse: bool,
    rng: RandomSource = secrets,
    chip_static_public_key: bytes | None = None,
) -> PaceResult:
    """Run PACE with ``password`` over ``info``'s protocol (ICAO 9303-11 §4.4.1).

    ``parameter_id_in_mse`` adds data object 84 (needed when EF.CardAccess lists several
    PACEInfos, see :attr:`CardAccess.parameter_id_required`). Raises
    :class:`AccessDeniedError` when the chip refuses a step or a token does not verify
    (wrong password), :class:`UnsupportedProtocolError` for parameters this library lacks.
    With PACE-CAM and ``chip_static_public_key`` (PK_IC, trusted by passive authentication)
    the chip is authenticated in the same run; a failed check is an :class:`AccessDeniedError`.
    """
    protocol = info.protocol
    alg = protocol.key_algorithm
    params = domain_parameters(info)
    group = pace_group(params)
    extended = group.public_key_size + _DAD_OVERHEAD > SHORT_MAX_LC
    if extended and not transport.supports_extended_length:
        raise UnsupportedProtocolError(f"{protocol.name} needs extended-length APDUs")
    _log.debug(
        "PACE: %s, parameters %s, %s password",
        protocol.name,
        info.parameter_id,
        password.reference.name,
    )

    _set_authentication_template(transport, info, password, parameter_id_in_mse)
    exchange = _Exchange(transport, extended, password.reference)
    encrypted_nonce = exchange.step(b"").require(AuthTag.ENCRYPTED_NONCE).value
    nonce = decrypt_cbc(alg.cipher, password.key(alg), encrypted_nonce)
    _log.debug("PACE: nonce received, mapping (%s)", protocol.mapping.value)
    try:
        mapped, chip_mapping_key = _map_nonce(exchange, group, nonce, info, rng)
        private_key = mapped.generate_private_key(rng)
        public_key = mapped.public_key(private_key)
        answer = exchange.step(tlv.encode(AuthTag.TERMINAL_PUBLIC_KEY, public_key))
        chip_key = answer.require(AuthTag.CHIP_PUBLIC_KEY).value
        if chip_key == public_key:
            raise AccessDeniedError(METHOD, "the chip echoed the terminal's ephemeral key")
        shared = mapped.shared_secret(private_key, chip_key)
    except ParseError as exc:
        raise AccessDeniedError(METHOD, f"invalid key or mapping from the chip: {exc}") from exc
    ks_enc = derive_key(shared, KdfCounter.ENC, alg)
    ks_mac = derive_key(shared, KdfCounter.MAC, alg)
    _log.debug("PACE: key agreement done, exchanging tokens")

    tag = mapped.public_key_tag
    terminal_token = authentication_token(alg, ks_mac, protocol.oid, tag, chip_key)
    answer = exchange.step(tlv.encode(AuthTag.TERMINAL_TOKEN, terminal_token), last=True)
    chip_token = answer.require(AuthTag.CHIP_TOKEN).value
    if not tokens_equal(
        authentication_token(alg, ks_mac, protocol.oid, tag, public_key), chip_token
    ):
        raise AccessDeniedError(METHOD, "the chip's authentication token does not verify")

    chip_authentication_data = None
    if protocol.mapping is PaceMapping.CHIP_AUTHENTICATION:
        encrypted = answer.require(AuthTag.ENCRYPTED_CHIP_AUTHENTICATION_DATA).value
        try:
            chip_authentication_data = decrypt_chip_authentication_data(ks_enc, encrypted)
        except ParseError as exc:
            raise AccessDeniedError(METHOD, "undecryptable chip authentication data") from exc
    _log.debug("PACE: established with %s", protocol.name)
    result = PaceResult(
        protocol=protocol,
        parameter_id=info.parameter_id,
        domain_parameters=params,
        ks_enc=ks_enc,
        ks_mac=ks_mac,
        chip_public_key=chip_key,
        terminal_public_key=public_key,
        chip_mapping_public_key=chip_mapping_key,
        chip_authentication_data=chip_authentication_data,
    )
    if chip_static_public_key is None or chip_authentication_data is None:
        return result
    if not result.verify_chip_authentication(chip_static_public_key):
        raise AccessDeniedError(METHOD, "the chip authentication data does not match PK_IC")
    _log.debug("PACE: chip authenticated by the Chip Authentication Mapping")
    return dataclasses.replace(result, chip_authenticated=True)
