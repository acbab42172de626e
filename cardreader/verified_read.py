"""Read a CCCD and prove it, in two steps: the identity first, the photo after.

The identity files (EF.COM, DG1, DG13, DG14, DG15, EF.SOD) are read and verified first —
access control, Chip Authentication (or PACE-CAM) or Active Authentication, passive
authentication — so a kiosk can show who the patient is at once; the large DG2 follows
(ICAO 9303-11 §5-6, issue #3). Nothing is reported verified that was not proven.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from cardreader.access.active_auth import perform_active_authentication
from cardreader.access.chip_auth import check_pace_chip_authentication, perform_chip_authentication
from cardreader.access.chip_auth_info import ChipSecurityInfos, parse_dg14
from cardreader.access.credentials import Credentials
from cardreader.access.pace_info import PaceMapping
from cardreader.access.strategy import AccessMethod, AccessReport, CardSession, open_session
from cardreader.crypto.active_auth import parse_dg15
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.errors import FileNotFoundOnCardError, ParseError, SecurityStatusError
from cardreader.files.ids import Ef
from cardreader.files.reader import BlockSizePolicy, FileReader
from cardreader.lds.com import parse_com
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.dg2 import parse_dg2
from cardreader.lds.dg13 import parse_dg13
from cardreader.lds.identity import CitizenIdentity, merge_identity
from cardreader.lds.image import DecodedImage, decode_face
from cardreader.log import get_logger
from cardreader.mrz import Mrz
from cardreader.qr import CccdQr
from cardreader.transport.base import Transport
from cardreader.verify.passive import passive_authentication
from cardreader.verify.report import Check, CheckKind, CheckStatus, VerificationReport
from cardreader.verify.trust import TrustStore

_log = get_logger(__name__)

IDENTITY_FILES = (Ef.DG1, Ef.DG13, Ef.DG14, Ef.DG15, Ef.SOD)
"""Read before the photo, in this order (DG14/DG15 before CA/AA, EF.SOD last)."""
PHOTO_FILE = Ef.DG2

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
    """The decoded face (None when it could not be read or decoded) and the full report."""

    face: DecodedImage | None = field(repr=False)
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

    def _wanted(self) -> tuple[Ef, ...]:
        """Identity files the chip lists in EF.COM (all of them when EF.COM is unusable)."""
        com = self._files.get(Ef.COM)
        if com is None:
            return IDENTITY_FILES
        try:
            listed = set(parse_com(com).data_groups)
        except ParseError:
            return IDENTITY_FILES
        return tuple(ef for ef in IDENTITY_FILES if ef in listed or ef is Ef.SOD)

    def _prove_genuine(self, session: CardSession) -> None:
        """Chip Authentication (or PACE-CAM), then Active Authentication if still needed."""
        infos: ChipSecurityInfos | None = None
        if Ef.DG14 in self._files:
            try:
                infos = parse_dg14(self._files[Ef.DG14])
            except ParseError as exc:
                self._genuineness.append(
                    Check(
                        CheckKind.CHIP_AUTHENTICATION,
                        CheckStatus.FAILED,
                        f"DG14 is malformed: {exc}",
                    )
                )
        if infos is not None and infos.chip_authentication_keys:
            pace = session.pace
            if pace is not None and pace.mapping is PaceMapping.CHIP_AUTHENTICATION:
                self._genuineness.append(check_pace_chip_authentication(pace, infos))
            else:
                result = perform_chip_authentication(session.transport, infos, rng=self._rng)
                self._genuineness.append(result.check())
                if result.transport is not None:
                    assert self._reader is not None
                    self._reader = FileReader(result.transport, self._reader.policy)
                elif not result.passed:
                    self._channel_lost = True  # the chip and the terminal no longer share keys
                    return
        ca_passed = any(check.status is CheckStatus.PASSED for check in self._genuineness)
        if Ef.DG15 not in self._files:
            return
        if ca_passed and not self._run_both:
            reason = "not run: Chip Authentication already proved the chip genuine"
            self._genuineness.append(
                Check(CheckKind.ACTIVE_AUTHENTICATION, CheckStatus.NOT_SUPPORTED, reason)
            )
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
        aa_info = infos.active_authentication if infos is not None else None
        active = perform_active_authentication(
            self._reader.transport, key_info, aa_info, rng=self._rng
        )
        self._genuineness.append(active.check())

    def _report(self) -> VerificationReport:
        assert self._access is not None
        state = self._mrz.issuing_state if self._mrz is not None else None
        passive = passive_authentication(self._files, self._trust, self._at, state, self._absent)
        return VerificationReport((self._access, *self._genuineness, *passive))

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
        self._read((Ef.COM,), progress)
        self._read(self._wanted(), progress)
        self._prove_genuine(session)
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
        """Read DG2 in the same session, check its hash, decode the first face."""
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
            return PhotoResult(decode_face(faces[0].image), report)
        except ParseError as exc:
            return PhotoResult(None, report, f"the face image cannot be shown: {exc}")


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    """Everything one read proved: identity, face, report, and the raw files."""

    identity: CitizenIdentity
    face: DecodedImage | None = field(repr=False)
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
