"""Opening the chip: PACE first, BAC as fallback, and a record of what happened.

ICAO 9303-11 §4.2: a terminal must use PACE when EF.CardAccess offers it; BAC is the
fallback for chips without PACE. A fallback from PACE to BAC is a downgrade, and the
:class:`AccessReport` says so and why — a silent downgrade is a known weakness of readers.

After PACE, before the eMRTD application is selected, EF.CardSecurity is read from the
master file when the chip needs it to prove itself: after PACE-CAM (ICAO 9303-11 §4.4.3.5:
its static key is there) or when EF.CardAccess announces Chip Authentication version 2 or
later, whose keys live there (BSI TR-03110-3 §A.1.2.5).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from cardreader.access.bac import BacKeys, perform_bac
from cardreader.access.chip_auth_info import parse_security_infos
from cardreader.access.credentials import Credentials
from cardreader.access.pace import PacePassword, PaceResult, perform_pace
from cardreader.access.pace_info import (
    CardAccess,
    PaceMapping,
    parse_card_access,
    select_pace_info,
)
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.errors import (
    AccessDeniedError,
    FileNotFoundOnCardError,
    ParseError,
    SecureMessagingError,
    SecurityStatusError,
    StatusWordError,
    UnsupportedProtocolError,
    WrongPasswordError,
)
from cardreader.files.ids import Ef
from cardreader.files.reader import FileReader, select_application
from cardreader.log import get_logger
from cardreader.transport.base import Transport

_log = get_logger(__name__)

CA_VERSION_WITH_CARD_SECURITY = 2
"""Chip Authentication from version 2 on takes its keys from EF.CardSecurity (BSI
TR-03110-3 §A.1.1.2, §A.1.2.5)."""


class AccessMethod(enum.Enum):
    """The access control that opened the chip."""

    PACE = "PACE"
    BAC = "BAC"


@dataclass(frozen=True, slots=True)
class AccessReport:
    """How the chip was opened: method, protocol, password kind, and any fallback."""

    method: AccessMethod
    protocol: str
    password: str
    parameter_id: int | None
    pace_offered: bool
    fallback_reason: str | None
    attempts: tuple[str, ...]

    @property
    def downgraded(self) -> bool:
        """BAC was used although the chip offers PACE."""
        return self.method is AccessMethod.BAC and self.pace_offered


@dataclass
class CardSession:
    """An open secure channel to the eMRTD application."""

    transport: SecureMessagingTransport
    access: AccessReport
    card_access: bytes | None
    reader: FileReader
    pace: PaceResult | None = None
    """The PACE outcome (ephemeral keys, CAM data) for Chip Authentication checks."""
    card_security: bytes | None = None
    """EF.CardSecurity, when the chip has it and the reader needed it (see above)."""


def read_card_access(reader: FileReader) -> bytes | None:
    """EF.CardAccess, read in plain before access control; None when the chip has none.

    Its first READ BINARY also learns whether the card takes extended length (``reader``'s
    policy keeps what it learned), once for the session.
    """
    try:
        return reader.read(Ef.CARD_ACCESS)
    except (FileNotFoundOnCardError, StatusWordError) as exc:
        _log.debug("no EF.CardAccess (%s)", exc)
        return None


def _card_security_needed(result: PaceResult, card_access: CardAccess) -> bool:
    """PACE-CAM, or Chip Authentication of version 2 or later announced in EF.CardAccess."""
    if result.mapping is PaceMapping.CHIP_AUTHENTICATION:
        return True
    try:
        infos = parse_security_infos(card_access)
    except (ParseError, UnsupportedProtocolError):
        return False
    return any(info.version >= CA_VERSION_WITH_CARD_SECURITY for info in infos.chip_authentication)


def _read_card_security(reader: FileReader) -> bytes | None:
    """EF.CardSecurity from the master file; None when the chip has none or refuses it."""
    try:
        return reader.read(Ef.CARD_SECURITY)
    except (FileNotFoundOnCardError, SecurityStatusError) as exc:
        _log.debug("no EF.CardSecurity (%s)", exc)
        return None


def _passwords(credentials: Credentials) -> list[tuple[str, PacePassword]]:
    out = []
    if credentials.can is not None:
        out.append(("CAN", PacePassword.from_can(credentials.can)))
    out += [("MRZ", PacePassword.from_mrz(key)) for key in credentials.mrz_keys]
    return out


def _try_pace(
    transport: Transport,
    credentials: Credentials,
    card_access: CardAccess,
    attempts: list[str],
    refused: list[str],
    rng: RandomSource,
    extended: bool,
) -> CardSession | None:
    """PACE with each password in turn; ``refused`` collects those the chip called wrong.
    ``extended``: whether the card took an extended-length READ BINARY in plain."""
    info = select_pace_info(card_access)
    for kind, password in _passwords(credentials):
        try:
            result = perform_pace(
                transport,
                password,
                info,
                parameter_id_in_mse=card_access.parameter_id_required,
                rng=rng,
            )
        except AccessDeniedError as exc:
            attempts.append(f"PACE-{kind}: {exc.reason}")
            if isinstance(exc, WrongPasswordError):
                refused.append(kind)
            _log.info("PACE with the %s was refused", kind)
            continue
        channel = SecureMessagingTransport(
            transport, result.key_algorithm, result.ks_enc, result.ks_mac
        )
        reader = FileReader(channel, extended=extended)
        card_security = (
            _read_card_security(reader) if _card_security_needed(result, card_access) else None
        )
        select_application(channel)
        report = AccessReport(
            method=AccessMethod.PACE,
            protocol=info.protocol.name,
            password=kind,
            parameter_id=info.parameter_id,
            pace_offered=True,
            fallback_reason=None,
            attempts=(*attempts, f"PACE-{kind}: opened"),
        )
        return CardSession(channel, report, None, reader, result, card_security)
    return None


def _try_bac(
    transport: Transport,
    credentials: Credentials,
    attempts: list[str],
    rng: RandomSource,
) -> tuple[SecureMessagingTransport, str] | None:
    if not credentials.mrz_keys:
        attempts.append("BAC: no MRZ data (document number, birth and expiry dates) given")
        return None
    select_application(transport)
    for index, key in enumerate(credentials.mrz_keys, start=1):
        try:
            keys = BacKeys.from_mrz_information(key.mrz_information)
            result = perform_bac(transport, keys, rng.token_bytes)
        except AccessDeniedError as exc:
            attempts.append(f"BAC candidate {index}: {exc.reason}")
            continue
        channel = SecureMessagingTransport(
            transport, KeyAlgorithm.TDES, result.ks_enc, result.ks_mac, result.ssc
        )
        return channel, f"BAC candidate {index}: opened"
    return None


def open_session(
    transport: Transport,
    credentials: Credentials,
    *,
    allow_bac: bool = True,
    rng: RandomSource = secrets,
) -> CardSession:
    """Open the chip with PACE (CAN, then MRZ) and fall back to BAC; raise
    :class:`AccessDeniedError` listing every attempt when nothing works, or
    :class:`WrongPasswordError` when the chip refused every password given as wrong and
    nothing else was left to try."""
    attempts: list[str] = []
    refused: list[str] = []
    plain = FileReader(transport)
    raw = read_card_access(plain)
    extended = plain.policy.extended
    parsed: CardAccess | None = None
    reason: str
    if raw is None:
        reason = "the chip has no EF.CardAccess, so it does not offer PACE"
    else:
        try:
            parsed = parse_card_access(raw)
        except (ParseError, UnsupportedProtocolError) as exc:
            reason = f"EF.CardAccess could not be parsed: {exc}"
    pace_offered = parsed is not None and bool(parsed.pace_infos)
    if parsed is not None:
        if not parsed.pace_infos:
            reason = "EF.CardAccess lists no PACE protocol"
        else:
            try:
                session = _try_pace(
                    transport, credentials, parsed, attempts, refused, rng, extended
                )
            except UnsupportedProtocolError as exc:
                session = None
                attempts.append(f"PACE: {exc}")
            except SecureMessagingError as exc:
                session = None
                attempts.append(f"PACE: the secure channel failed at once ({exc})")
            if session is not None:
                session.card_access = raw
                return session
            reason = "PACE failed: " + "; ".join(attempts)
    all_refused = bool(refused) and len(refused) == len(_passwords(credentials))
    if all_refused and (not allow_bac or not credentials.mrz_keys):
        raise WrongPasswordError("PACE", " and ".join(refused))
    if not allow_bac:
        raise AccessDeniedError("PACE", reason)
    _log.info("falling back to BAC: %s", reason if not pace_offered else "PACE failed")
    opened = _try_bac(transport, credentials, attempts, rng)
    if opened is None:
        raise AccessDeniedError("PACE/BAC", "; ".join([reason, *attempts]))
    channel, outcome = opened
    report = AccessReport(
        method=AccessMethod.BAC,
        protocol="BAC (3DES)",
        password="MRZ",
        parameter_id=None,
        pace_offered=pace_offered,
        fallback_reason=reason,
        attempts=(*attempts, outcome),
    )
    return CardSession(channel, report, raw, FileReader(channel, extended=extended))
