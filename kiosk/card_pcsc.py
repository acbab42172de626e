"""The card backend ``pcsc``: any PC/SC reader, through cardreader's verified read.

:class:`PcscCardReader` opens the card, reads and verifies the identity files, reports
the identity (:func:`identity_read`: straight into the hospital's record), then reads the
photo in the same session (``cardreader.verified_read``). :class:`PcscCardWatcher` reports
cards arriving and leaving from a background thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cardreader import (
    IDENTITY_FILES,
    CardDate,
    CardError,
    CardWaiter,
    CheckStatus,
    CitizenIdentity,
    Credentials,
    Ef,
    ParseError,
    PcscTransport,
    PhotoResult,
    TransportError,
    TrustStore,
    Verdict,
    VerificationReport,
    VerifiedReader,
    decode_face,
    list_readers,
)
from cardreader import (
    Sex as CardSex,
)
from hospital_adapter import (
    BirthDate,
    ConfigurationError,
    InvalidInputError,
    PatientIdentity,
    Problem,
    Sex,
)
from kiosk.card import CardEvents, CardInvalidError, IdentityRead, Trust

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

_log = logging.getLogger(__name__)

PROGRESS_SCALE = 1000
_TRUST = {Verdict.VERIFIED: Trust.VERIFIED, Verdict.UNTRUSTED: Trust.UNTRUSTED}
_SEX = {CardSex.MALE: Sex.MALE, CardSex.FEMALE: Sex.FEMALE}
RETRY_S = 2.0


def trust_of(report: VerificationReport) -> tuple[Trust, str]:
    """The kiosk's trust and a reason for staff: the checks that did not pass."""
    trust = _TRUST.get(report.verdict, Trust.INVALID)
    failed = [c for c in report.checks if c.status is CheckStatus.FAILED]
    unknown = [c for c in report.checks if c.status is CheckStatus.UNKNOWN]
    shown = failed if trust is Trust.INVALID else unknown
    return trust, "; ".join(f"{check.title}: {check.status.value}" for check in shown)


def _birth(identity: CitizenIdentity) -> BirthDate:
    born: CardDate | None = identity.date_of_birth.value if identity.date_of_birth else None
    if born is not None and born.value is not None:
        return BirthDate.of(born.value)
    if identity.birth_year is not None:
        return BirthDate(identity.birth_year.value)
    raise ParseError("the card gives no date of birth")


def identity_read(identity: CitizenIdentity, trust: Trust, detail: str = "") -> IdentityRead:
    """The chip's parse result as the hospital's :class:`PatientIdentity` (its trust level
    the verdict's), with the card's expiry beside it: the one conversion from the card to
    the hospital. Raises :class:`ParseError` if a field the hospital needs is missing, and
    :class:`hospital_adapter.InvalidInputError` if the fields contradict each other (the ID
    number's birth year or sex digit, docs/domain.md §2.6), unless the chip failed
    verification: then :class:`CardInvalidError`, the verdict first."""
    try:
        patient = _patient(identity, trust)
    except (ParseError, InvalidInputError) as exc:
        if trust is Trust.INVALID:
            raise CardInvalidError(f"verification failed and {exc}") from exc
        raise
    expiry = identity.date_of_expiry.value.value if identity.date_of_expiry else None
    return IdentityRead(patient, trust, detail, date_of_expiry=expiry)


def _patient(identity: CitizenIdentity, trust: Trust) -> PatientIdentity:
    if identity.id_number is None or identity.full_name is None or identity.sex is None:
        raise ParseError("the card lacks the ID number, the name or the sex")
    residence = identity.place_of_residence
    return PatientIdentity(
        id_number=identity.id_number.value,
        full_name=identity.full_name.value,
        date_of_birth=_birth(identity),
        sex=_SEX[identity.sex.value],
        address=residence.value if residence is not None else "",
        trust=trust.identity_trust,
    )


class _Progress:
    """Identity files read so far, as one fraction (the photo is read after the identity)."""

    def __init__(self, events: CardEvents) -> None:
        self._events = events
        self._files: list[Ef] = []

    def __call__(self, ef: Ef, done: int, total: int) -> None:
        if ef not in self._files:
            self._files.append(ef)
        count = len(IDENTITY_FILES) + 2  # EF.SOD, and DG14 on most cards
        finished = len(self._files) - 1 + (done / total if total else 1.0)
        self._events.progress(
            min(PROGRESS_SCALE, round(finished / count * PROGRESS_SCALE)), PROGRESS_SCALE
        )


class PcscCardReader:
    """A :class:`kiosk.card.CardReaderPort` on a PC/SC reader (``reader`` empty: the first)."""

    def __init__(self, reader: str, trust: TrustStore, *, transmit_timeout_s: float = 10.0) -> None:
        self.reader = reader
        self.trust = trust
        self.transmit_timeout_s = transmit_timeout_s

    def reader_name(self) -> str:
        if self.reader:
            return self.reader
        readers = list_readers()
        if not readers:
            raise TransportError("no card reader is connected")
        return readers[0]

    def read(self, credentials: Credentials, events: CardEvents) -> None:
        with PcscTransport.connect(
            self.reader_name(), transmit_timeout=self.transmit_timeout_s
        ) as transport:
            verified = VerifiedReader(transport, credentials, self.trust)
            progress = _Progress(events)
            result = verified.read_identity(progress)
            events.identity(identity_read(result.identity, *trust_of(result.report)))
            photo = verified.read_photo()
            photo_trust, _ = trust_of(photo.report)
            events.photo(displayable(photo), photo_trust)


def displayable(photo: PhotoResult) -> bytes | None:
    """The read face decoded for display (an image file Qt loads), None when there is none
    or it does not decode (logged, without the image)."""
    problem = photo.problem
    if photo.face is not None:
        try:
            return decode_face(photo.face.data).display
        except ParseError as exc:
            problem = f"the face image cannot be shown: {exc}"
    _log.info("no photo: %s", problem)
    return None


class PcscCardWatcher:
    """Calls ``on_present`` / ``on_absent`` when a card arrives in or leaves the reader."""

    def __init__(
        self,
        reader: PcscCardReader,
        on_present: Callable[[], None],
        on_absent: Callable[[], None],
        *,
        poll_s: float = 0.5,
    ) -> None:
        self._reader = reader
        self._on_present = on_present
        self._on_absent = on_absent
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error = ""

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="card-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._poll_s + RETRY_S + 1.0)
            self._thread = None

    def _run(self) -> None:
        present = False
        while not self._stop.is_set():
            try:
                name = self._reader.reader_name()
                with CardWaiter() as waiter:
                    self.last_error = ""
                    while not self._stop.is_set():
                        if not present and waiter.wait_for_card(name, self._poll_s) is not None:
                            present = True
                            self._on_present()
                        elif present and waiter.wait_for_removal(name, self._poll_s):
                            present = False
                            self._on_absent()
            except CardError as exc:
                self.last_error = str(exc)
                _log.warning("card watcher: %s", exc)
                if present:
                    present = False
                    self._on_absent()
                self._stop.wait(RETRY_S)


def pcsc_backend(
    config: KioskConfig, on_present: Callable[[], None], on_absent: Callable[[], None]
) -> tuple[PcscCardReader, PcscCardWatcher]:
    """The ``pcsc`` card backend (:data:`kiosk.inputs.CardBackend`): the reader named in
    ``[card]`` with the configured trust anchors, and its watcher."""
    card = config.card
    try:
        trust = TrustStore.load(
            csca=[Path(p) for p in card.csca],
            master_lists=[Path(p) for p in card.master_lists],
            crls=[Path(p) for p in card.crls],
        )
    except (OSError, CardError) as exc:  # the file's name is in the first line
        reason = f"a trust anchor cannot be loaded: {str(exc).splitlines()[0]}"
        raise ConfigurationError(Problem("card", reason)) from None
    if not trust.anchors:
        _log.warning("no CSCA configured: every card will be UNTRUSTED")
    reader = PcscCardReader(card.reader, trust, transmit_timeout_s=card.transmit_timeout_s)
    watcher = PcscCardWatcher(reader, on_present, on_absent, poll_s=card.poll_s)
    return reader, watcher
