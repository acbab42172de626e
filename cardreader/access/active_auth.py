"""Active Authentication, the terminal side (ICAO 9303-11 §6.1).

The terminal sends a fresh 8-byte random challenge ``RND.IFD`` with INTERNAL AUTHENTICATE
(``00 88 00 00``); the chip signs it with the private key matching DG15. A clone that
copied the chip's data cannot sign a challenge it has never seen. DG15 is only
trustworthy once passive authentication has verified it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from cardreader.access.chip_auth_info import ActiveAuthenticationInfo
from cardreader.crypto.active_auth import ActiveAuthenticationPublicKeyInfo, verify_signature
from cardreader.crypto.keys import RsaPublicKey
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.errors import StatusWordError, UnsupportedProtocolError
from cardreader.iso7816.apdu import EXTENDED_MAX_NE, SHORT_MAX_NE, Cla, CommandApdu, Ins, send
from cardreader.iso7816.status import describe
from cardreader.log import get_logger
from cardreader.transport.base import Transport
from cardreader.verify.report import Check, CheckKind, CheckStatus

_log = get_logger(__name__)

CHALLENGE_LENGTH = 8
"""``RND.IFD`` has 8 bytes (ICAO 9303-11 §6.1.2)."""
SUBJECT = "DG15"
"""The subject of the report's Active Authentication check."""


@dataclass(frozen=True, slots=True)
class ActiveAuthenticationResult:
    """The outcome of one Active Authentication run; ``mechanism`` names what was verified."""

    status: CheckStatus
    reason: str
    challenge: bytes = field(repr=False)
    mechanism: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is CheckStatus.PASSED

    def check(self) -> Check:
        """The report entry for this run."""
        return Check(CheckKind.ACTIVE_AUTHENTICATION, self.status, self.reason, SUBJECT)


def _expected_length(key_info: ActiveAuthenticationPublicKeyInfo) -> int:
    """Ne for INTERNAL AUTHENTICATE: short unless an RSA signature exceeds 256 bytes."""
    key = key_info.public_key
    if isinstance(key, RsaPublicKey) and (key.bits + 7) // 8 > SHORT_MAX_NE:
        return EXTENDED_MAX_NE
    return SHORT_MAX_NE


def perform_active_authentication(
    transport: Transport,
    key_info: ActiveAuthenticationPublicKeyInfo,
    aa_info: ActiveAuthenticationInfo | None = None,
    *,
    rng: RandomSource = secrets,
) -> ActiveAuthenticationResult:
    """Challenge the chip and verify its signature with the DG15 key.

    ``aa_info`` (from DG14) names the ECDSA hash; RSA signatures name theirs in the ISO/IEC
    9796-2 trailer. PASSED when the signature covers this run's challenge; FAILED when the
    chip refuses or the signature does not verify; NOT_SUPPORTED for an algorithm this
    library lacks. Secure-messaging and link failures raise their :class:`CardError`.
    """
    challenge = rng.token_bytes(CHALLENGE_LENGTH)
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError(f"the random source returned {len(challenge)} bytes, not 8")
    command = CommandApdu(
        Cla.PLAIN, Ins.INTERNAL_AUTHENTICATE, 0, 0, challenge, _expected_length(key_info)
    )
    try:
        response = send(transport, command)
    except StatusWordError as exc:
        reason = f"the chip refused INTERNAL AUTHENTICATE with {exc.sw:04X} ({describe(exc.sw)})"
        return ActiveAuthenticationResult(CheckStatus.FAILED, reason, challenge)
    algorithm = aa_info.signature_algorithm if aa_info is not None else None
    try:
        verification = verify_signature(key_info.public_key, challenge, response.data, algorithm)
    except UnsupportedProtocolError as exc:
        return ActiveAuthenticationResult(CheckStatus.NOT_SUPPORTED, str(exc), challenge)
    _log.debug("Active Authentication: %s, valid=%s", verification.mechanism, verification.valid)
    if verification.valid:
        reason = f"the chip signed a fresh challenge with the DG15 key ({verification.mechanism})"
        return ActiveAuthenticationResult(
            CheckStatus.PASSED, reason, challenge, verification.mechanism
        )
    reason = f"the chip's signature does not verify with the DG15 key: {verification.reason}"
    return ActiveAuthenticationResult(CheckStatus.FAILED, reason, challenge, verification.mechanism)
