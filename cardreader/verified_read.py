"""Read a CCCD and prove it, in two steps: the identity first, the photo after.

The identity files are read and verified first — access control, Chip Authentication (or
PACE-CAM) or Active Authentication, passive authentication — so a kiosk can show who the
patient is at once; the large DG2 follows (ICAO 9303-11 §5-6, issue #3). Nothing is
reported verified that was not proven.

Only what a proof or the identity needs is read (issue #16): EF.SOD first, whose hashes
list the data groups present (ICAO 9303-10 §4.6.2.2, so EF.COM is not read); DG14 when the
Chip Authentication key is not in EF.CardSecurity; DG15 only when Active Authentication
must run (no Chip Authentication or PACE-CAM key, or it did not pass); DG1 under the new
keys right after Chip Authentication, whose answer is the proof (§6.2).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from cardreader.access.active_auth import perform_active_authentication
from cardreader.access.chip_auth import (
    check_pace_chip_authentication,
    confirm_by_select,
    perform_chip_authentication,
)
from cardreader.access.chip_auth_info import ChipSecurityInfos, parse_dg14
from cardreader.access.credentials import Credentials
from cardreader.access.pace_info import PaceMapping
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.access.strategy import AccessMethod, AccessReport, CardSession, open_session
from cardreader.crypto.active_auth import parse_dg15
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.errors import (
    FileNotFoundOnCardError,
    ParseError,
    SecurityStatusError,
    UnsupportedProtocolError,
)
from cardreader.files.ids import Ef
from cardreader.files.reader import BlockSizePolicy, FileReader
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.dg2 import parse_dg2
from cardreader.lds.dg13 import parse_dg13
from cardreader.lds.identity import CitizenIdentity, merge_identity
from cardreader.lds.image import FaceImage, inspect_face
from cardreader.log import get_logger
from cardreader.mrz import Mrz
from cardreader.qr import CccdQr
from cardreader.transport.base import Transport
from cardreader.verify.card_security import parse_card_security
from cardreader.verify.passive import (
    CARD_SECURITY_FILE,
    DATA_GROUPS,
    PassiveResult,
    data_group_hash_check,
    passive_authentication,
)
from cardreader.verify.report import Check, CheckKind, CheckStatus, VerificationReport
from cardreader.verify.sod import (
    LdsSecurityObject,
    parse_lds_security_object,
    parse_sod_signed_data,
)
from cardreader.verify.trust import TrustStore

_log = get_logger(__name__)

IDENTITY_FILES = (Ef.DG1, Ef.DG13)
"""The identity itself; the files that prove it are read as the proofs need them."""
PHOTO_FILE = Ef.DG2
_PHOTO_NUMBER = next(number for number, ef in DATA_GROUPS.items() if ef is PHOTO_FILE)

FileProgress = Callable[[Ef, int, int], None]


def access_check(access: AccessReport) -> Check:
    """The report entry for access control; a PACE → BAC downgrade is never PASSED."""
    if access.downgraded:
        reason = f"downgraded to BAC although the chip offers PACE: {access.fallback_reason}"
        return Check(CheckKind.ACCESS, CheckStatus.UNKNOWN, reason, access.method.value)
    reason = f"opened with {access.protocol} ({access.password})"
    if access.method is AccessMethod.BAC:
        reason += f"; {access.fallback_reason}"
    return Check(CheckKind.ACCESS, CheckStatus.PASSED, reason, access.method.value)


@dataclass(frozen=True, slots=True)
class IdentityResult:
    """Who the card says the holder is, and what was proven about it so far."""

    identity: CitizenIdentity
    report: VerificationReport
    access: AccessReport


@dataclass(frozen=True, slots=True)
class PhotoResult:
    """The first face as the chip holds it, its header read (None when it could not be read;
    :func:`cardreader.lds.image.decode_face` decodes it for display) and the full report."""

    face: FaceImage | None = field(repr=False)
    report: VerificationReport
    problem: str | None = None


class VerifiedReader:
    """One card session that reads and verifies a CCCD: :meth:`read_identity`, then
    :meth:`read_photo`. The transport must stay connected between the two calls.

    ``run_both`` runs Active Authentication even when Chip Authentication passed;
    ``block_size`` fixes the READ BINARY size instead of the adaptive one (benchmarks).
    """

    def __init__(
        self,
        transport: Transport,
        credentials: Credentials,
        trust: TrustStore,
        *,
        at: datetime | None = None,
        expected_id_number: str | None = None,
        qr: CccdQr | None = None,
        allow_bac: bool = True,
        run_both: bool = False,
        block_size: int | None = None,
        rng: RandomSource = secrets,
    ) -> None:
        self._transport = transport
        self._block_size = block_size
        self._credentials = credentials
        self._trust = trust
        self._at = at
        self._expected_id = expected_id_number
        self._qr = qr
        self._allow_bac = allow_bac
        self._run_both = run_both
        self._rng = rng
        self._files: dict[Ef, bytes] = {}
        self._absent: set[Ef] = set()
        self._genuineness: list[Check] = []
        self._access: Check | None = None
        self._reader: FileReader | None = None
        self._mrz: Mrz | None = None
        self._security_object: LdsSecurityObject | None = None
        self._passive: PassiveResult | None = None
        self._channel_lost = False

    @property
    def files(self) -> Mapping[Ef, bytes]:
        """The raw files read so far (for saving when the user asks)."""
        return MappingProxyType(self._files)

    def _read(self, efs: Iterable[Ef], progress: FileProgress | None) -> None:
        assert self._reader is not None
        for ef in efs:
            callback = (lambda done, total, ef=ef: progress(ef, done, total)) if progress else None
            try:
                self._files[ef] = self._reader.read(ef, progress=callback)
            except FileNotFoundOnCardError as exc:
                self._absent.add(ef)
                _log.debug("%s not on the chip: %s", ef.file_name, exc)
            except SecurityStatusError as exc:
                _log.debug("%s not read: %s", ef.file_name, exc)

    def _read_sod(self, progress: FileProgress | None) -> None:
        """EF.SOD, and its security object when it parses (passive authentication reports
        it when it does not)."""
        self._read((Ef.SOD,), progress)
        sod = self._files.get(Ef.SOD)
        if sod is None:
            return
        try:
            signed = parse_sod_signed_data(sod)
            self._security_object = signed.decoded_content(parse_lds_security_object)
        except (ParseError, UnsupportedProtocolError) as exc:
            _log.debug("EF.SOD does not list its data groups: %s", exc)

    def _listed(self, efs: Iterable[Ef]) -> tuple[Ef, ...]:
        """Those of ``efs`` not read yet that EF.SOD lists (all of them when its security
        object is unusable)."""
        efs = tuple(ef for ef in efs if ef not in self._files and ef not in self._absent)
        if self._security_object is None:
            return efs
        listed = {DATA_GROUPS.get(number) for number in self._security_object.hashes}
        return tuple(ef for ef in efs if ef in listed)

    def _card_security_infos(self) -> ChipSecurityInfos | None:
        """The SecurityInfos of EF.CardSecurity when read and well formed (passive
        authentication reports a malformed one as failed)."""
        data = self._files.get(Ef.CARD_SECURITY)
        if data is None:
            return None
        try:
            return parse_card_security(data).security_infos
        except (ParseError, UnsupportedProtocolError) as exc:
            _log.info("EF.CardSecurity not usable: %s", exc)
            return None

    def _prove_genuine(self, session: CardSession, progress: FileProgress | None) -> None:
        """The identity files, with Chip Authentication (or PACE-CAM) and then Active
        Authentication if still needed.

        The static key comes from EF.CardSecurity when the chip gave one with a key there,
        else from DG14 (ICAO 9303-11 §4.4.3.5, §6.2; BSI TR-03110-3 §A.1.2.5). The last
        identity file is read as the first command under the Chip Authentication keys, so
        its answer proves them (a SELECT when there is none left).
        """
        identity = self._listed(IDENTITY_FILES)
        card_security = self._card_security_infos()
        dg14_needed = card_security is None or not card_security.chip_authentication_keys
        dg14 = self._dg14(progress) if dg14_needed else None
        proving, source = (
            (dg14, Ef.DG14.name) if dg14_needed else (card_security, CARD_SECURITY_FILE)
        )
        pace = session.pace
        if proving is None or not proving.chip_authentication_keys:
            self._read(identity, progress)
        elif pace is not None and pace.mapping is PaceMapping.CHIP_AUTHENTICATION:
            self._read(identity, progress)
            self._genuineness.append(check_pace_chip_authentication(pace, proving, source))
        else:
            self._read(identity[:-1], progress)
            assert self._reader is not None
            policy = self._reader.policy

            def confirm(channel: SecureMessagingTransport) -> None:
                if not identity:
                    confirm_by_select(channel)
                    return
                self._reader = FileReader(channel, policy)
                self._read(identity[-1:], progress)

            result = perform_chip_authentication(
                session.transport, proving, rng=self._rng, source=source, confirm=confirm
            )
            self._genuineness.append(result.check())
            if result.transport is not None:
                self._reader = FileReader(result.transport, policy)
            elif result.status is CheckStatus.FAILED:
                self._channel_lost = True  # the chip and the terminal no longer share keys
                return
            else:
                self._read(identity[-1:], progress)
        ca_passed = any(check.status is CheckStatus.PASSED for check in self._genuineness)
        if ca_passed and not self._run_both:
            if self._listed((Ef.DG15,)):
                reason = "not run: Chip Authentication already proved the chip genuine"
                self._genuineness.append(
                    Check(CheckKind.ACTIVE_AUTHENTICATION, CheckStatus.NOT_SUPPORTED, reason)
                )
            return
        if not dg14_needed:  # its ActiveAuthenticationInfo names the signature algorithm
            dg14 = self._dg14(progress)
        self._read(self._listed((Ef.DG15,)), progress)
        if Ef.DG15 not in self._files:
            return
        try:
            key_info = parse_dg15(self._files[Ef.DG15])
        except ParseError as exc:
            reason = f"DG15 is malformed: {exc}"
            self._genuineness.append(
                Check(CheckKind.ACTIVE_AUTHENTICATION, CheckStatus.FAILED, reason)
            )
            return
        assert self._reader is not None
        aa_info = dg14.active_authentication if dg14 is not None else None
        active = perform_active_authentication(
            self._reader.transport, key_info, aa_info, rng=self._rng
        )
        self._genuineness.append(active.check())

    def _dg14(self, progress: FileProgress | None) -> ChipSecurityInfos | None:
        """DG14's SecurityInfos when EF.SOD lists it; a malformed DG14 is a failed Chip
        Authentication check."""
        self._read(self._listed((Ef.DG14,)), progress)
        data = self._files.get(Ef.DG14)
        if data is None:
            return None
        try:
            return parse_dg14(data)
        except ParseError as exc:
            reason = f"DG14 is malformed: {exc}"
            self._genuineness.append(
                Check(CheckKind.CHIP_AUTHENTICATION, CheckStatus.FAILED, reason)
            )
            return None

    def _report(self) -> VerificationReport:
        """The report on what was read: passive authentication in full the first time (at
        the identity); after the photo only DG2's hash is checked, against the security
        object whose signature was verified then."""
        assert self._access is not None
        lso, passive = self._security_object, self._passive
        if passive is None or lso is None or _PHOTO_NUMBER not in lso.hashes:
            state = self._mrz.issuing_state if self._mrz is not None else None
            passive = passive_authentication(
                self._files, self._trust, self._at, state, self._absent
            )
        else:
            photo = self._files.get(PHOTO_FILE)
            fresh = data_group_hash_check(lso, _PHOTO_NUMBER, photo, PHOTO_FILE in self._absent)
            checks = tuple(
                fresh if (check.kind, check.subject) == (fresh.kind, fresh.subject) else check
                for check in passive.checks
            )
            passive = dataclasses.replace(passive, checks=checks)
        self._passive = passive
        return VerificationReport(
            (self._access, *self._genuineness, *passive.checks), findings=passive.findings
        )

    def read_identity(self, progress: FileProgress | None = None) -> IdentityResult:
        """Open the chip, read and verify the identity files, merge the identity."""
        session = open_session(
            self._transport, self._credentials, allow_bac=self._allow_bac, rng=self._rng
        )
        self._access = access_check(session.access)
        self._reader = session.reader
        if self._block_size is not None:
            self._reader = FileReader(session.transport, BlockSizePolicy.fixed(self._block_size))
        if session.card_access is not None:
            self._files[Ef.CARD_ACCESS] = session.card_access
        if session.card_security is not None:
            self._files[Ef.CARD_SECURITY] = session.card_security
        self._read_sod(progress)
        self._prove_genuine(session, progress)
        dg1 = self._files.get(Ef.DG1)
        dg13 = self._files.get(Ef.DG13)
        self._mrz = parse_dg1(dg1) if dg1 is not None else None
        identity = merge_identity(
            dg1=self._mrz,
            dg13=parse_dg13(dg13) if dg13 is not None else None,
            expected_id_number=self._expected_id,
            qr=self._qr,
        )
        return IdentityResult(identity, self._report(), session.access)

    def read_photo(self, progress: FileProgress | None = None) -> PhotoResult:
        """Read DG2 in the same session, check its hash, read the first face's header."""
        if self._reader is None:
            raise RuntimeError("read_identity must come first")
        if self._channel_lost:
            reason = "not read: after the failed Chip Authentication the card shares no keys"
            return PhotoResult(None, self._report(), reason)
        self._read((PHOTO_FILE,), progress)
        report = self._report()
        data = self._files.get(PHOTO_FILE)
        if data is None:
            return PhotoResult(None, report, "the chip has no readable DG2")
        try:
            faces = parse_dg2(data).faces
            if not faces:
                return PhotoResult(None, report, "DG2 holds no face image")
            return PhotoResult(inspect_face(faces[0].image), report)
        except ParseError as exc:
            return PhotoResult(None, report, f"the face image cannot be shown: {exc}")


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    """Everything one read proved: identity, face (as in :class:`PhotoResult`), report, and
    the raw files."""

    identity: CitizenIdentity
    face: FaceImage | None = field(repr=False)
    report: VerificationReport
    access: AccessReport
    files: Mapping[Ef, bytes] = field(repr=False)
    photo_problem: str | None = None


def read_and_verify(
    transport: Transport,
    credentials: Credentials,
    trust: TrustStore,
    *,
    at: datetime | None = None,
    allow_bac: bool = True,
    progress: FileProgress | None = None,
    rng: RandomSource = secrets,
) -> VerifiedCard:
    """Both steps of :class:`VerifiedReader` in one call."""
    reader = VerifiedReader(transport, credentials, trust, at=at, allow_bac=allow_bac, rng=rng)
    identity = reader.read_identity(progress)
    photo = reader.read_photo(progress)
    return VerifiedCard(
        identity.identity, photo.face, photo.report, identity.access, reader.files, photo.problem
    )
