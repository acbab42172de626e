"""Privacy audit of the whole kiosk (issue #7, item 7).

Several check-ins run through the real kiosk (offscreen window, the session's pcscd and a
virtual card, the simulated gateway and HIS on sockets, scanner and printer on ptys), along
the paths that log the most: an insured patient, a wrong CAN then a self-pay patient, a
registration the HIS drops (it goes to the outbox), a forged card, the gateway down (a
degraded ticket), a card pulled mid-read and placed again, and an idle timeout on the
confirm screen. Logging runs at DEBUG on the root logger and on every logger the process
knows (TRAFFIC, the raw-APDU level below DEBUG, stays off); one handler keeps every record.

Then everything the run left behind is scanned for each patient's personal data: the log
records (message, arguments, extras, tracebacks), stdout/stderr, the SQLite store with its
``-wal`` and ``-shm`` (while the kiosk runs and after it closed), every file under the
test's temporary directories (work directory, ``tempfile``'s directory and the current
directory are all redirected there), and the session pcscd's directory with its log (at the
level the session started it with, ``info``: pcscd's own ``--apdu`` is its TRAFFIC). The
needles: full name (NFC, NFD, upper case, without diacritics, the MRZ form), ID number, the
9-digit document number, CAN, addresses (the chip's and BHXH's), place of origin, parents,
BHYT card and BHXH numbers, the three MRZ lines, the DG2 image bytes and the decoded PNG
(windows of them, raw and hex), in UTF-8 and UTF-16. Zero hits.

The printed tickets may hold the queue number; each printed page is checked to be exactly
the ESC/POS job of its :class:`~kiosk.ticket.Ticket` (byte for byte), whose fields are
checked too: no name,
no ID number on paper.

Memory (best effort): Python cannot overwrite a ``str`` or ``bytes`` in place, so the kiosk
cannot zero a name or a photo; what it does instead is drop every reference to them (the
flow replaces its session object, the view loses the patient, the window clears its labels
and the photo pixmap) so the garbage collector frees them. The test checks that: after the
idle timeout no widget shows anything personal, the flow's session holds no identity, and
no object reachable from the kiosk (flow, window, services, runner) holds any needle,
except the BHXH gateway client's lookup cache, which keeps answers for ``[gateway]
cache_ttl_s`` on purpose (a patient who retries is not looked up twice at a rate-limited
gateway) and drops them when they expire.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import sqlite3
import sys
import tempfile
import types
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit

from cardreader.files.ids import Ef
from cardreader.lds.dg2 import parse_dg2
from hospital_adapter.gateway.resilience import TtlCache
from kiosk.devices.ticket_escpos import PrinterProfile, ticket_job
from kiosk.qt.app import KioskApp
from kiosk.qt.screens import DigitsScreen, IdentityScreen
from kiosk.ticket import Ticket
from kiosk.view import Problem, Step, View
from simulators.bhxh_gateway.dataset import InsuranceRecord
from simulators.devices.printer import Page
from simulators.faults import FaultSpec
from simulators.his import HisFault
from simulators.hospital import SimulatedHospital, running_kiosk
from simulators.issuance.card import issue_card
from simulators.patients import patient
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona
from simulators.scripted import scripted_check_in

pytestmark = pytest.mark.pcsc

IDLE_S = 5.0
COUNTDOWN_S = 2.0
WINDOW = 32
"""Bytes of each sample of a photo searched for."""
WALK_LIMIT = 500_000
"""Objects visited at most when walking what the kiosk references."""
LONG_NUMBER = 9
"""Digits from which a number is searched for even inside a longer run of digits."""
FOLD = str.maketrans({"đ": "d", "Đ": "D"})


# --- needles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Needle:
    """One piece of personal data, as a bytes pattern (never printed: ``what`` names it)."""

    what: str
    pattern: re.Pattern[bytes]

    def found_in(self, data: bytes) -> bool:
        return self.pattern.search(data) is not None


def _fold(text: str) -> str:
    """Without diacritics: ``Lý Hữu An`` → ``Ly Huu An``."""
    decomposed = unicodedata.normalize("NFD", text.translate(FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text_forms(text: str) -> set[str]:
    forms = {text, _fold(text)}
    forms |= {form.upper() for form in forms}
    return forms | {unicodedata.normalize(nf, form) for form in forms for nf in ("NFC", "NFD")}


def _encodings(form: str) -> Iterator[bytes]:
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        yield form.encode(encoding)
    yield form.encode("utf-8").hex().encode()


def text_needle(what: str, text: str) -> Needle:
    """``text`` in any normal form, case, with or without diacritics, UTF-8/16 or hex."""
    alternatives = sorted(
        {re.escape(raw) for form in _text_forms(text) for raw in _encodings(form)},
        key=len,
        reverse=True,
    )
    return Needle(what, re.compile(b"|".join(alternatives), re.IGNORECASE))


def digits_needle(what: str, digits: str) -> Needle:
    """``digits`` as ASCII or UTF-16. A number shorter than :data:`LONG_NUMBER` only when no
    digit is next to it: timestamps and PIDs are full of 6-digit runs."""
    plain = re.escape(digits.encode())
    if len(digits) < LONG_NUMBER:
        plain = rb"(?<![0-9])" + plain + rb"(?![0-9])"
    return Needle(what, re.compile(plain + b"|" + re.escape(digits.encode("utf-16-le"))))


def bytes_needles(what: str, data: bytes) -> list[Needle]:
    """Samples from the first, middle and last quarter of ``data``, raw and as hex."""
    samples = [data[i : i + WINDOW] for i in (len(data) // 4, len(data) // 2, 3 * len(data) // 4)]
    return [
        Needle(
            f"{what} [{n}]",
            re.compile(re.escape(sample) + b"|" + re.escape(sample.hex().encode()), re.I),
        )
        for n, sample in enumerate(samples)
    ]


def persona_needles(seed: int, record: InsuranceRecord | None) -> list[Needle]:
    """Everything personal the chip (and BHXH's ``record``) hold about persona ``seed``."""
    persona = make_persona(seed)
    card = issue_card(persona)
    who = f"persona {seed}"
    needles = [
        text_needle(f"{who} full name", persona.full_name),
        digits_needle(f"{who} ID number", persona.id_number),
        digits_needle(f"{who} document number", persona.id_number[-9:]),
        digits_needle(f"{who} CAN", persona.can),
        text_needle(f"{who} address", persona.place_of_residence),
        text_needle(f"{who} place of origin", persona.place_of_origin),
        text_needle(f"{who} father", persona.father),
        text_needle(f"{who} mother", persona.mother),
    ]
    lines = [card.mrz[i : i + 30] for i in (0, 30, 60)]
    needles += [text_needle(f"{who} MRZ line {n + 1}", line) for n, line in enumerate(lines)]
    needles.append(text_needle(f"{who} MRZ name", lines[2].rstrip("<")))
    (face,) = parse_dg2(card.files[Ef.DG2.fid]).faces
    needles += bytes_needles(f"{who} DG2 image", face.image)
    if record is not None:
        needles += [
            text_needle(f"{who} BHYT card number", record.card_number),
            digits_needle(f"{who} BHXH number", record.bhxh_number),
            text_needle(f"{who} BHXH address", record.address),
        ]
    return needles


def hits(needles: Iterable[Needle], where: str, data: bytes) -> list[str]:
    """``WHAT in WHERE`` for each needle found in ``data``."""
    return [f"{needle.what} in {where}" for needle in needles if needle.found_in(data)]


def found(what: str, reported: list[str]) -> bool:
    return any(line.startswith(f"{what} in ") for line in reported)


# --- capture -----------------------------------------------------------------------------

_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})))


class _Everything(logging.Handler):
    """Keeps every record as text: formatted message with traceback, arguments, extras."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(threadName)s %(message)s"))
        self.texts: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}
        self.texts.append(f"{self.format(record)} args={record.args!r} extras={extras!r}")
        self.count += 1


@pytest.fixture
def all_logs() -> Iterator[_Everything]:
    """DEBUG on the root logger and every known logger (TRAFFIC stays below); one handler."""
    handler = _Everything()
    root = logging.getLogger()
    saved = [(root, root.level, root.disabled)]
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    private: list[logging.Logger] = []
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            saved.append((logger, logger.level, logger.disabled))
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            if not logger.propagate:
                logger.addHandler(handler)
                private.append(logger)
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    try:
        yield handler
    finally:
        logging.disable(disabled)
        root.removeHandler(handler)
        for logger in private:
            logger.removeHandler(handler)
        for logger, level, was_disabled in saved:
            logger.setLevel(level)
            logger.disabled = was_disabled


# --- the run -----------------------------------------------------------------------------


def _next_patient(kiosk: KioskApp, hospital: SimulatedHospital) -> None:
    kiosk.flow.dismiss()
    hospital.remove()
    assert kiosk.wait_until(lambda: not kiosk.flow.card_on_reader, 5)
    assert kiosk.wait_until(lambda: kiosk.flow.step is Step.IDLE, 5)


def _wrong_digits(kiosk: KioskApp, hospital: SimulatedHospital, seed: int) -> None:
    """Place the card without its QR, type a wrong CAN, give up."""
    flow = kiosk.flow
    hospital.tap(seed)
    assert kiosk.wait_until(lambda: flow.step is Step.ENTER_DIGITS, 10)
    digits = kiosk.window.screens[Step.ENTER_DIGITS]
    assert isinstance(digits, DigitsScreen)
    wrong = "000000" if make_persona(seed).can != "000000" else "111111"
    for key in wrong:
        digits.keys[key].click()
    digits.ok.click()
    assert kiosk.wait_until(lambda: flow.view.digits_rejected, 15)
    flow.cancel()
    _next_patient(kiosk, hospital)


def _pulled_then_confirm(kiosk: KioskApp, hospital: SimulatedHospital, seed: int) -> None:
    """QR, the card pulled mid-read, placed again, every choice made up to the confirm."""
    flow, screens = kiosk.flow, kiosk.window.screens
    hospital.scan(seed)
    assert kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
    hospital.tap(seed, remove_at=12)
    assert kiosk.wait_until(lambda: flow.step is Step.PROBLEM, 15)
    assert flow.view.problem is Problem.CARD_REMOVED
    hospital.tap(seed)
    assert kiosk.wait_until(
        lambda: flow.view.patient is not None and flow.view.patient.photo is not None, 15
    )
    screens[Step.IDENTITY].next.click()  # type: ignore[attr-defined]
    assert kiosk.wait_until(lambda: flow.step is Step.CHOOSE_KIND, 15)
    screens[Step.CHOOSE_KIND].insured.click()  # type: ignore[attr-defined]
    while flow.step is Step.CHOOSE_PRIORITY:  # one question per screen
        screens[Step.CHOOSE_PRIORITY].no.click()  # type: ignore[attr-defined]
    dict(screens[Step.CHOOSE_DEPARTMENT].buttons)["K02"].click()  # type: ignore[attr-defined]
    assert flow.step is Step.CONFIRM


def _check_in(kiosk: KioskApp, hospital: SimulatedHospital, seed: int, **options: object) -> str:
    result = scripted_check_in(kiosk, hospital, seed, **options)  # type: ignore[arg-type]
    _next_patient(kiosk, hospital)
    return result.problem


class _Watcher:
    """Collects the decoded photos (until told to stop) and the tickets the flow shows."""

    def __init__(self) -> None:
        self.photos: list[bytes] = []
        self.tickets: list[Ticket] = []
        self.collect_photos = True

    def __call__(self, view: View) -> None:
        photo = view.patient.photo if view.patient is not None else None
        if self.collect_photos and photo is not None and photo not in self.photos:
            self.photos.append(photo)
        if view.ticket is not None and view.ticket.ticket not in self.tickets:
            self.tickets.append(view.ticket.ticket)


# --- memory ------------------------------------------------------------------------------


def _reachable(roots: list[object], skip: list[object]) -> Iterator[object]:
    """Objects reachable from ``roots`` through references (not into modules or classes)."""
    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    seen = {id(o) for o in skip} | module_dicts
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType):
            continue
        seen.add(id(obj))
        assert len(seen) < WALK_LIMIT, "the kiosk references too many objects to walk"
        yield obj
        stack.extend(gc.get_referents(obj))


def _memory_hits(kiosk: KioskApp, needles: list[Needle]) -> list[str]:
    gc.collect()
    leaks: list[str] = []
    for obj in _reachable([kiosk], skip=[kiosk.services.gateway.cache]):
        if isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
        elif isinstance(obj, bytes | bytearray):
            data = bytes(obj)
        else:
            continue
        leaks += hits(needles, f"a {type(obj).__name__} the kiosk references", data)
    return leaks


def _widget_hits(kiosk: KioskApp, needles: list[Needle]) -> list[str]:
    window = kiosk.window
    texts = [w.text() for w in window.findChildren(QLabel)]
    texts += [w.text() for w in window.findChildren(QLineEdit)]
    texts += [w.text() for w in window.findChildren(QAbstractButton)]
    return hits(needles, "a widget's text", "\n".join(texts).encode())


# --- files -------------------------------------------------------------------------------


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _store_files(store: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in (
            store,
            store.with_name(store.name + "-wal"),
            store.with_name(store.name + "-shm"),
        )
        if path.exists()
    }


def _printed_page_is_the_ticket(page: Page, ticket: Ticket, hospital_name: str) -> None:
    assert page.data == ticket_job(ticket, PrinterProfile(), hospital_name)


# --- the test ------------------------------------------------------------------------------


def test_no_personal_data_in_logs_files_or_kiosk_memory(
    pcscd: PcscDaemon,
    tmp_path: Path,
    all_logs: _Everything,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    watch = _Watcher()
    photos, tickets = watch.photos, watch.tickets

    with SimulatedHospital(
        tmp_path / "hospital", pcscd=pcscd, idle_s=IDLE_S, countdown_s=COUNTDOWN_S
    ) as hospital:
        seeds = [p.seed for p in hospital.patients]
        dataset = hospital.gateway.simulator.dataset
        needles = [
            n
            for seed in seeds
            for n in persona_needles(seed, dataset.by_id(make_persona(seed).id_number))
        ]
        store = tmp_path / "hospital" / "kiosk-store.sqlite3"
        with running_kiosk(hospital) as kiosk:
            kiosk.window.setFixedSize(1280, 800)
            kiosk.window.show()
            flow = kiosk.flow
            flow.subscribe(watch)
            assert _check_in(kiosk, hospital, patient("insured").seed) == ""
            _wrong_digits(kiosk, hospital, patient("no BHYT record").seed)
            assert (
                _check_in(
                    kiosk, hospital, patient("no BHYT record").seed, use_qr=False, insured=False
                )
                == ""
            )
            hospital.his.state.inject(HisFault.CLOSE)  # the registration goes to the outbox
            second = [p.seed for p in hospital.patients if p.note == "insured"][1]
            assert _check_in(kiosk, hospital, second, department="K05") == ""
            forged = (FaultSpec.parse("tampered-dg=13"),)
            problem = _check_in(kiosk, hospital, patient("insured").seed, faults=forged)
            assert problem == Problem.CARD_INVALID.value
            hospital.gateway_down()
            assert _check_in(kiosk, hospital, patient("BHYT expired").seed) == ""
            hospital.gateway_down(False)
            expired_id = patient("ID card expired").seed
            _pulled_then_confirm(kiosk, hospital, expired_id)
            # Before the timeout, the checks below do find the patient (they can fail).
            assert len(photos) == 5 and len(tickets) == 4
            needles += [n for png in photos for n in bytes_needles("decoded photo", png)]
            watch.collect_photos = False  # the test's own copies must not count as the kiosk's
            photos.clear()
            shown, held = _widget_hits(kiosk, needles), _memory_hits(kiosk, needles)
            assert found(f"persona {expired_id} full name", shown)
            for what in ("full name", "ID number", "address"):
                assert found(f"persona {expired_id} {what}", held)
            assert found("decoded photo [1]", held)
            assert kiosk.wait_until(lambda: flow.view.countdown is not None, IDLE_S + 2)
            assert kiosk.wait_until(lambda: flow.step is Step.IDLE, COUNTDOWN_S + 2)
            # The idle timeout wiped the patient: flow, session, widgets, memory.
            assert flow.view == View(Step.IDLE)
            session = flow._session
            assert (session.credentials, session.qr, session.read) == (None, None, None)
            assert (session.identity, session.insurance, session.history) == (None, None, [])
            identity = kiosk.window.screens[Step.IDENTITY]
            assert isinstance(identity, IdentityScreen)
            assert identity.photo.pixmap().isNull()
            assert all(value.text() == "" for _, value in identity.fields.values())
            assert _widget_hits(kiosk, needles) == []
            assert _memory_hits(kiosk, needles) == []
            assert len(kiosk.services.gateway.cache) > 0  # the one exception, above
            while_running = _store_files(store)
            assert set(while_running) >= {store.name, store.name + "-wal"}
            assert kiosk.wait_until(lambda: len(hospital.his.state.registrations) == 4, 30)
        after = _store_files(store)
        printed = hospital.printer.printed
    with contextlib.closing(sqlite3.connect(store)) as db:
        assert db.execute("SELECT count(*) FROM checkins").fetchone() == (4,)

    leaks: list[str] = []
    for name, data in {**{f"{k} (running)": v for k, v in while_running.items()}, **after}.items():
        leaks += hits(needles, name, data)
    for path in [*_files(tmp_path), *_files(pcscd.log_path.parent)]:
        leaks += hits(needles, str(path), path.read_bytes())
    assert pcscd.log_path.stat().st_size > 0
    assert all_logs.count > 200  # DEBUG records from the kiosk, the adapter and the reader
    leaks += hits(needles, "the log records", "\n".join(all_logs.texts).encode())
    out, err = capfd.readouterr()
    leaks += hits(needles, "stdout", out.encode()) + hits(needles, "stderr", err.encode())
    assert leaks == []

    # The printed tickets: the queue number and the ticket's own fields, nothing else.
    assert [t.label for t in tickets] == ["001", "002", "001", "003"]
    assert len(printed) == 4
    for page, ticket in zip(printed, tickets, strict=True):
        fields = " ".join(str(value) for value in vars(ticket).values())
        assert hits(needles, "a ticket", fields.encode()) == []
        _printed_page_is_the_ticket(page, ticket, kiosk.config.kiosk.hospital_name)


def test_the_needles_find_every_form_of_the_data() -> None:
    """The scan can fail: each needle finds its data on the card, in every form searched."""
    persona = make_persona(3)
    card = issue_card(persona)
    needles = persona_needles(3, None)
    reported = [
        *hits(needles, "DG1", card.files[Ef.DG1.fid]),
        *hits(needles, "DG2", card.files[Ef.DG2.fid]),
        *hits(needles, "DG13", card.files[Ef.DG13.fid]),
    ]
    can = "persona 3 CAN"  # inside the ID number on the card: digits on both sides
    assert {line.partition(" in ")[0] for line in reported} == {n.what for n in needles} - {can}
    assert found(can, hits(needles, "a line", f"CAN={persona.can}.".encode()))
    assert hits(needles, "a time", f"0{persona.can}".encode()) == []
    name = persona.full_name
    for form in (
        unicodedata.normalize("NFD", name).encode(),
        _fold(name).upper().encode(),
        name.encode("utf-16-le"),
        name.encode().hex().upper().encode(),
    ):
        assert found("persona 3 full name", hits(needles, "a form", b"x " + form + b" y"))
    assert found("persona 3 ID number", hits(needles, "a run", f"1{persona.id_number}2".encode()))


def test_the_lookup_cache_forgets_expired_answers() -> None:
    """Expired answers leave the cache (and memory) at its next use, whatever the key."""
    now = [0.0]
    cache: TtlCache[str, str] = TtlCache(10.0, clock=lambda: now[0])
    cache.put("patient A", "answer A")
    now[0] = 11.0
    cache.put("patient B", "answer B")
    assert len(cache) == 1 and cache.get("patient A") is None
    now[0] = 22.0
    assert cache.get("patient C") is None
    assert len(cache) == 0
