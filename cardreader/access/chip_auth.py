"""Chip Authentication, the terminal side (ICAO 9303-11 §6.2, BSI TR-03110-1 §3.4).

Inside the secure channel opened by BAC or PACE the terminal sends an ephemeral public key
``PK_PCD`` on the domain parameters of the chip's static key ``PK_IC`` (DG14):

- 3DES: MSE:Set KAT (``41 A6``) with ``91 PK_PCD`` and ``84 keyId`` (§6.2.4.1);
- AES: MSE:Set AT (``41 A4``) with ``80 protocol OID`` and ``84 keyId``, then GENERAL
  AUTHENTICATE with ``7C { 80 PK_PCD }`` (§6.2.4.2).

Both sides compute ``K = KA(SK_PCD, PK_IC)`` (ECDH: the x-coordinate; DH: the whole shared
value) and restart secure messaging with ``KS_enc = KDF(K, 1)``, ``KS_mac = KDF(K, 2)`` of
the CA cipher and SSC 0 (§9.7.1, §9.8). The proof is implicit: only a chip holding
``SK_IC`` can answer the next command under the new keys, so that command is the caller's
next useful one (a reader passes its next READ BINARY as ``confirm``), not an extra SELECT.
``PK_IC`` is only trustworthy once passive authentication has verified DG14.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from cardreader.access.chip_auth_info import (
    ChipAuthenticationChoice,
    ChipAuthenticationProtocol,
    ChipSecurityInfos,
    select_chip_authentication,
)
from cardreader.access.pace import PaceResult
from cardreader.access.pace_info import KeyAgreement, PaceMapping
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.kdf import KdfCounter, KeyAlgorithm, derive_key
from cardreader.crypto.pace_mapping import RandomSource, pace_group
from cardreader.errors import SecureMessagingError, StatusWordError, UnsupportedProtocolError
from cardreader.files.ids import Ef
from cardreader.files.reader import select_file
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import (
    SHORT_MAX_LC,
    SHORT_MAX_NE,
    Cla,
    CommandApdu,
    Ins,
    send,
)
from cardreader.iso7816.status import describe
from cardreader.log import get_logger
from cardreader.verify.report import Check, CheckKind, CheckStatus

_log = get_logger(__name__)

MSE_SET = 0x41
"""MSE P1: set, for computation, decipherment and internal authentication."""
_SM_OVERHEAD = 40
"""Upper bound of what secure messaging adds to a command's data (DO87, DO97, DO8E)."""
SUBJECT = "DG14"
"""The subject of the report's Chip Authentication check."""


class MseTemplate(enum.IntEnum):
    """MSE P2: the control reference template (ISO/IEC 7816-4 §7.5.11)."""

    AUTHENTICATION = 0xA4
    KEY_AGREEMENT = 0xA6


class MseTag(enum.IntEnum):
    """Data objects of MSE:Set KAT and MSE:Set AT for Chip Authentication (§6.2.4)."""

    CRYPTOGRAPHIC_MECHANISM = 0x80
    PRIVATE_KEY_REFERENCE = 0x84
    EPHEMERAL_PUBLIC_KEY = 0x91


class AuthTag(enum.IntEnum):
    """Data objects of GENERAL AUTHENTICATE for Chip Authentication (§6.2.4.2)."""

    DYNAMIC_AUTHENTICATION_DATA = 0x7C
    EPHEMERAL_PUBLIC_KEY = 0x80


@dataclass(frozen=True, slots=True)
class ChipAuthenticationResult:
    """The outcome of one Chip Authentication run.

    ``transport`` is the re-keyed channel when the chip passed; after a failure the chip
    and the terminal disagree on the keys and the card must be opened again.
    """

    status: CheckStatus
    reason: str
    protocol: ChipAuthenticationProtocol | None = None
    key_id: int | None = None
    terminal_public_key: bytes | None = field(default=None, repr=False)
    """``PK_PCD``, kept for Terminal Authentication (BSI TR-03110-1 §3.4)."""
    transport: SecureMessagingTransport | None = field(default=None, repr=False)
    source: str = SUBJECT
    """The file the static key came from: DG14 or EF.CardSecurity."""

    @property
    def passed(self) -> bool:
        return self.status is CheckStatus.PASSED

    def check(self) -> Check:
        """The report entry for this run."""
        return Check(CheckKind.CHIP_AUTHENTICATION, self.status, self.reason, self.source)


def _key_reference(key_id: int | None) -> bytes:
    if key_id is None:
        return b""
    size = max(1, (key_id.bit_length() + 7) // 8)
    return tlv.encode(MseTag.PRIVATE_KEY_REFERENCE, key_id.to_bytes(size, "big"))


def _send_public_key(
    channel: SecureMessagingTransport, choice: ChipAuthenticationChoice, public_key: bytes
) -> None:
    """MSE:Set KAT (3DES) or MSE:Set AT + GENERAL AUTHENTICATE (AES), §6.2.4."""
    reference = _key_reference(choice.key_id)
    if choice.protocol.key_algorithm is KeyAlgorithm.TDES:
        data = tlv.encode(MseTag.EPHEMERAL_PUBLIC_KEY, public_key) + reference
        send(channel, CommandApdu(Cla.PLAIN, Ins.MSE, MSE_SET, MseTemplate.KEY_AGREEMENT, data))
        return
    mechanism = tlv.encode(MseTag.CRYPTOGRAPHIC_MECHANISM, tlv.encode_oid(choice.protocol.oid))
    send(
        channel,
        CommandApdu(Cla.PLAIN, Ins.MSE, MSE_SET, MseTemplate.AUTHENTICATION, mechanism + reference),
    )
    authentication_data = tlv.encode(
        AuthTag.DYNAMIC_AUTHENTICATION_DATA, tlv.encode(AuthTag.EPHEMERAL_PUBLIC_KEY, public_key)
    )
    send(
        channel,
        CommandApdu(Cla.PLAIN, Ins.GENERAL_AUTHENTICATE, 0, 0, authentication_data, SHORT_MAX_NE),
    )


Confirm = Callable[[SecureMessagingTransport], None]
"""Sends the first commands under the new keys; the first answer whose MAC verifies is the
proof, and what fails after it is raised as it is."""


def confirm_by_select(channel: SecureMessagingTransport) -> None:
    """SELECT DG14, for a caller with nothing else to send: any status word is proof, since
    it was unwrapped under the new keys."""
    try:
        select_file(channel, Ef.DG14)
    except StatusWordError as exc:
        _log.debug("Chip Authentication: confirmed with SW %04X", exc.sw)


def perform_chip_authentication(
    channel: SecureMessagingTransport,
    infos: ChipSecurityInfos,
    *,
    rng: RandomSource = secrets,
    confirm: Confirm = confirm_by_select,
    source: str = SUBJECT,
) -> ChipAuthenticationResult:
    """Run Chip Authentication with the best key of ``infos`` (from ``source``: DG14, or
    EF.CardSecurity for Chip Authentication version 2) through ``channel``.

    Returns PASSED with the re-keyed channel when the chip answers ``confirm``'s command
    under the new keys (any status word: a response MAC under the new keys is the proof),
    FAILED with the reason when the chip refuses a step or cannot answer under the new
    keys, NOT_SUPPORTED when DG14 offers nothing usable. A failure of the old channel
    (a tampered response) raises :class:`SecureMessagingError`; link failures raise
    :class:`TransportError`.
    """
    try:
        choice = select_chip_authentication(infos)
    except UnsupportedProtocolError as exc:
        return ChipAuthenticationResult(CheckStatus.NOT_SUPPORTED, str(exc), source=source)
    protocol = choice.protocol
    group = pace_group(choice.key.public_key.domain_parameters)
    if group.public_key_size + _SM_OVERHEAD > SHORT_MAX_LC and not channel.supports_extended_length:
        return ChipAuthenticationResult(
            CheckStatus.NOT_SUPPORTED,
            f"{protocol.name} needs extended-length APDUs, which this reader lacks",
            protocol,
            choice.key_id,
            source=source,
        )
    private_key = group.generate_private_key(rng)
    public_key = group.public_key(private_key)
    shared = group.shared_secret(private_key, choice.key.public_key.encoded)
    _log.debug("Chip Authentication: %s, key id %s", protocol.name, choice.key_id)

    def outcome(
        status: CheckStatus, reason: str, transport: SecureMessagingTransport | None = None
    ) -> ChipAuthenticationResult:
        return ChipAuthenticationResult(
            status, reason, protocol, choice.key_id, public_key, transport, source
        )

    try:
        _send_public_key(channel, choice, public_key)
    except StatusWordError as exc:
        return outcome(
            CheckStatus.FAILED,
            f"the chip refused {protocol.name} with {exc.sw:04X} ({describe(exc.sw)})",
        )
    alg = protocol.key_algorithm
    rekeyed = SecureMessagingTransport(
        channel.inner,
        alg,
        derive_key(shared, KdfCounter.ENC, alg),
        derive_key(shared, KdfCounter.MAC, alg),
    )
    try:
        confirm(rekeyed)
    except SecureMessagingError as exc:
        if rekeyed.answered:  # proven already: a later failure is the caller's to report
            raise
        _log.info("Chip Authentication failed: %s", exc)
        return outcome(
            CheckStatus.FAILED,
            f"the chip cannot answer under the keys agreed with the {source} public key, so it "
            f"does not hold the matching private key: {exc}",
        )
    implied = f" (implied by {source} without ChipAuthenticationInfo)" if choice.implied else ""
    return outcome(
        CheckStatus.PASSED,
        f"the chip proved it holds the {source} private key: {protocol.name}{implied}; "
        f"secure messaging continues under the new {alg.cipher.name} keys",
        rekeyed,
    )


def check_pace_chip_authentication(
    pace: PaceResult, infos: ChipSecurityInfos, source: str = SUBJECT
) -> Check:
    """Chip Authentication by PACE-CAM (ICAO 9303-11 §4.4.3.5): ``CA_IC`` against the static
    key of ``source`` (EF.CardSecurity, or DG14 when the chip has no EF.CardSecurity)."""
    kind = CheckKind.CHIP_AUTHENTICATION
    if pace.mapping is not PaceMapping.CHIP_AUTHENTICATION:
        reason = f"PACE ran with {pace.protocol.name}, without the Chip Authentication Mapping"
        return Check(kind, CheckStatus.NOT_SUPPORTED, reason, source)
    keys = [key for key in infos.chip_authentication_keys if key.key_agreement is KeyAgreement.ECDH]
    if not keys:
        reason = f"{source} lists no ECDH Chip Authentication key for PACE-CAM"
        return Check(kind, CheckStatus.NOT_SUPPORTED, reason, source)
    if any(pace.verify_chip_authentication(key.public_key.encoded) for key in keys):
        reason = f"PACE-CAM: the chip authentication data matches the {source} public key"
        return Check(kind, CheckStatus.PASSED, reason, source)
    reason = f"PACE-CAM: the chip authentication data does not match any {source} public key"
    return Check(kind, CheckStatus.FAILED, reason, source)
