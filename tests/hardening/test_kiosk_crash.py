"""SIGKILL of the real kiosk process during check-ins, then restart (issue #7, item 6).

tests/hardening/test_adapter_crash.py kills a process that runs the adapter the way the
kiosk does. Here the killed process is the kiosk itself: ``python -m kiosk --autopilot``
(offscreen), configured for the simulated hospital this test runs (the session's pcscd
with a virtual card slot, the simulated BHXH gateway and HIS on sockets, the QR scanner and
the ticket printer on ptys). The test plays the patients: it scans a QR code, places the
card and waits for the printed ticket; the kiosk's autopilot presses every button. Each
round starts a kiosk, lets it finish 0–2 check-ins, then kills it with SIGKILL during the
next one at a seeded point: at a random moment after the card is placed; after the patient
confirmed, while the HIS has registered the visit but not yet acknowledged it (it is told
to hang for a second: the store still holds the message as pending); or just after the
ticket screen came (the ticket being printed).

Afterwards: the SQLite store is whole (``integrity_check``), its audit chain verifies,
every check-in has exactly one outbox message and the ticket numbers have no gap or
repeat; every ticket that came out of the printer is the rendering of a check-in in the
store (the page's ESC/POS bytes are compared byte for byte with
:func:`kiosk.devices.ticket_escpos.ticket_job` of that check-in, and the QR payload the
printer decoded from its GS ( k command is that check-in id): nothing a patient holds a
ticket for is lost. Then the outbox is drained (as a kiosk started later would: the leases of the
messages in flight at a kill have run out) and the HIS holds every check-in exactly once,
having counted the resends of the registrations it had taken before a kill.

The printer is a fresh one at each restart: a job cut mid-raster leaves a real ESC/POS
printer waiting for the rest of its image (there is no standard command that aborts it),
so staff would tear the half ticket off and switch the printer off and on.
"""

from __future__ import annotations

import contextlib
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from cardreader.transport.pcsc import CardWaiter
from hospital_adapter.config import StoreSettings, load_store_key
from hospital_adapter.his import configured_registrar
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.store import Store
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus, Priority, VisitKind, utc_now
from kiosk.autopilot import Autopilot
from kiosk.config import KioskConfig, load_config
from kiosk.devices.ticket_escpos import PrinterProfile, ticket_job
from kiosk.flow import CheckInFlow
from kiosk.ticket import Ticket
from kiosk.view import Step
from simulators.devices import VirtualPrinter
from simulators.devices.printer import Page
from simulators.his import HisFault
from simulators.hospital import SimulatedHospital
from simulators.patients import PATIENTS as HOSPITAL_PATIENTS
from simulators.pcscd import PcscDaemon
from tests.kiosk.fakes import FakeCard, FakeHospital, FakePrinter, ManualRunner

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
KILL_POINTS = ("random", "registered", "printing") * 3
HIS_HANG_S = 1.0
"""How long the HIS waits before acknowledging a registration at the ``registered`` kills."""
PATIENTS = (*(p.seed for p in HOSPITAL_PATIENTS if p.note != "BHYT expired"), *range(300, 400))
"""Each check-in is a new patient (the hospital's insured ones first, then personas BHXH does
not know: self-pay), so that no one checks in twice."""
LINE_TIMEOUT_S = 30.0
PLACE_CARD = "-> place_card"
CHECK_IN_TIMEOUT_S = 30.0


# --- the kiosk process -------------------------------------------------------------------


class KioskProcess:
    """``python -m kiosk --autopilot``; its log lines (stderr) arrive on a queue."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "--config", str(config), "--windowed", "--autopilot"],
            cwd=ROOT,
            env={**env, "QT_QPA_PLATFORM": "offscreen"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, *texts: str, timeout: float = LINE_TIMEOUT_S) -> str:
        """Until a log line contains one of ``texts``; returns that one."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"none of {texts} from the kiosk in {timeout} s; it said: {self.log[-20:]}"
                ) from None
            assert line is not None, f"the kiosk exited with {self.process.poll()}: {self.log}"
            self.log.append(line)
            for text in texts:
                if text in line:
                    return text

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL
        self._reader.join(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Run:
    """The simulated hospital as the kiosk processes see it, round after round."""

    hospital: SimulatedHospital
    folder: Path
    rng: random.Random
    waiter: CardWaiter
    reader: str
    printers: list[VirtualPrinter] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    patients: int = 0

    def start_kiosk(self) -> KioskProcess:
        """A kiosk on a fresh printer, once its first screen is up."""
        printer = VirtualPrinter(
            self.folder / f"tickets-{len(self.printers) + 1}",
            baudrate=self.hospital.printer_baudrate,
        )
        self.printers.append(printer)
        text = self.hospital.config_path.read_text(encoding="utf-8")
        config = self.folder / f"kiosk-{len(self.printers)}.toml"
        config.write_text(text.replace(self.hospital.printer.port, printer.port), "utf-8")
        kiosk = KioskProcess(config, self.hospital.env)
        try:
            kiosk.wait_for("kiosk started")
        except BaseException:
            kiosk.stop()  # the caller's clean-up does not know of it yet
            raise
        return kiosk

    def arrive(self, kiosk: KioskProcess) -> None:
        """The next patient scans their QR and places their card."""
        seed = PATIENTS[self.patients]
        self.patients += 1
        # The kiosk may not have heard of the last card's removal yet: its read then finds
        # no card, and it asks for the card as it does when the reader is empty.
        self.hospital.scan(seed)
        kiosk.wait_for(PLACE_CARD)
        self.hospital.tap(seed)

    def check_in(self, kiosk: KioskProcess) -> None:
        """One whole check-in: the ticket printed, the kiosk back at its start screen."""
        printer = self.printers[-1]
        pages = len(printer.pages)
        self.arrive(kiosk)
        kiosk.wait_for("step ticket -> idle", timeout=CHECK_IN_TIMEOUT_S)
        assert printer.wait_for_pages(pages + 1, 5.0)
        self.remove_card()

    def kill_during_check_in(self, kiosk: KioskProcess, point: str) -> None:
        if point == "registered":  # the HIS registers the visit, then is slow to say so
            self.hospital.his.state.hang_s = HIS_HANG_S
            self.hospital.his.state.inject(HisFault.HANG)
        self.arrive(kiosk)
        if point == "registered":
            kiosk.wait_for("step confirm -> registering", timeout=CHECK_IN_TIMEOUT_S)
            time.sleep(self.rng.uniform(0.1, HIS_HANG_S / 2))
        elif point == "printing":
            kiosk.wait_for("step registering -> ticket", timeout=CHECK_IN_TIMEOUT_S)
            time.sleep(self.rng.uniform(0.0, 0.02))
        else:
            time.sleep(self.rng.uniform(0.0, 1.5))
        kiosk.kill()
        self.kills.append(point)
        self.remove_card()

    def remove_card(self) -> None:
        self.hospital.remove()
        assert self.waiter.wait_for_removal(self.reader, 5.0), "pcscd did not see the removal"


# --- checks ------------------------------------------------------------------------------


def _jobs(store: Store, config: KioskConfig) -> dict[bytes, str]:
    """ESC/POS job of the ticket → check-in id, for every stored check-in; the ticket's
    time is the minute of arrival or the next one (it is taken just after)."""
    code_table = config.printer.vietnamese_code_table
    profile = PrinterProfile(
        config.printer.width_dots,
        config.printer.native_qr,
        None if code_table < 0 else code_table,
    )
    out: dict[bytes, str] = {}
    for summary in store.checkins():
        visit = store.visit(summary.checkin_id)
        department = config.department(visit.department)
        arrived = visit.arrived_at.astimezone(VIETNAM_TIME)
        for minute in (0, 1):
            ticket = Ticket(
                number=visit.ticket,
                department_code=department.code,
                department_vi=department.name_vi,
                department_en=department.name_en,
                room=department.room,
                issued_at=arrived + timedelta(minutes=minute),
                checkin_id=visit.checkin_id,
                insured=visit.visit_kind is VisitKind.INSURED,
                verify_insurance_at=(
                    config.counters.insurance
                    if visit.insurance_status is InsuranceStatus.TO_VERIFY_AT_COUNTER
                    else None
                ),
                priority=visit.priority is not Priority.NONE,
            )
            out[ticket_job(ticket, profile, config.kiosk.hospital_name)] = visit.checkin_id
    return out


def _printed_check_ins(pages: list[Page], jobs: dict[bytes, str]) -> list[str]:
    """The check-in of each printed page: its bytes are one stored check-in's ticket, and
    the QR code the printer decoded holds that check-in's id."""
    found = []
    for number, page in enumerate(pages):
        assert page.data in jobs, f"printed page {number} is no stored check-in's ticket"
        assert page.qr_codes == (jobs[page.data].encode(),)
        found.append(jobs[page.data])
    return found


def _check_store(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_checkin = db.execute(
            "SELECT count(*) FROM checkins c WHERE (SELECT count(*) FROM outbox o"
            " WHERE o.checkin_id = c.id) != 1"
        ).fetchone()
        orphans = db.execute(
            "SELECT count(*) FROM outbox o LEFT JOIN checkins c ON c.id = o.checkin_id"
            " WHERE c.id IS NULL"
        ).fetchone()
    assert (per_checkin, orphans) == ((0,), (0,))


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture
def hospital(pcscd: PcscDaemon, tmp_path: Path) -> Iterator[SimulatedHospital]:
    with SimulatedHospital(tmp_path / "hospital", pcscd=pcscd) as running:
        yield running


def test_sigkill_of_the_kiosk_loses_no_printed_ticket_and_no_registration(
    hospital: SimulatedHospital, tmp_path: Path, waiter: CardWaiter, reader: str
) -> None:
    run = Run(hospital, tmp_path, random.Random(SEED), waiter, reader)
    completed = 0
    try:
        for point in KILL_POINTS:
            kiosk = run.start_kiosk()
            try:
                for _ in range(run.rng.randint(0, 2)):
                    run.check_in(kiosk)
                    completed += 1
                run.kill_during_check_in(kiosk, point)
            finally:
                kiosk.stop()
            _check_store(hospital.workdir / "kiosk-store.sqlite3")
        kiosk = run.start_kiosk()  # after every crash, the next patient is served
        try:
            run.check_in(kiosk)
            completed += 1
        finally:
            kiosk.stop()
        pages = [page for printer in run.printers for page in printer.printed]
    finally:
        for printer in run.printers:
            printer.close()

    config = load_config(hospital.config_path)
    path = hospital.workdir / "kiosk-store.sqlite3"
    _check_store(path)
    store = Store(path, load_store_key(StoreSettings(), hospital.env))
    try:
        store.verify_audit()
        stored = store.checkins()
        for department in {s.department for s in stored}:
            numbers = sorted(s.ticket for s in stored if s.department == department)
            assert numbers == list(range(1, len(numbers) + 1))
        printed = _printed_check_ins(pages, _jobs(store, config))
        assert len(set(printed)) == len(pages) >= completed  # one ticket per check-in
        # A kiosk started later drains the outbox: the leases of messages in flight at a
        # kill (60 s) and their holds (deadline + 5 s) are over by then.
        worker = OutboxWorker(
            store, configured_registrar(config), clock=lambda: utc_now() + timedelta(minutes=10)
        )
        report = worker.deliver_due(limit=1000)
        counts = store.outbox_counts()
        keys = {store.visit(s.checkin_id).message_id for s in stored}
    finally:
        store.close()
    assert report.retrying == report.rejected == 0
    assert counts == {"pending": 0, "delivered": len(stored), "rejected": 0}
    assert hospital.his.state.registrations.keys() == keys  # each once, none extra
    assert hospital.his.state.duplicates > 0  # registered before a kill, sent again later
    print(
        f"{len(run.kills)} kills ({', '.join(run.kills)}); {len(stored)} check-ins stored,"
        f" {len(pages)} tickets printed, {len(stored) - len(pages)} stored without a ticket;"
        f" {report.delivered} registrations delivered after the last kill;"
        f" HIS resends absorbed {hospital.his.state.duplicates}"
    )


def test_the_autopilot_answers_every_screen() -> None:
    """The plain flow with fakes: the autopilot alone goes from the card to the next patient."""
    config = load_config(env={})
    runner = ManualRunner()
    printer = FakePrinter()
    flow = CheckInFlow(config, FakeCard(), FakeHospital(), runner, printer=printer)
    steps: list[Step] = []
    flow.subscribe(lambda view: steps.append(view.step))
    Autopilot(flow, runner, "K01")
    flow.card_present()
    flow.submit_digits("012345")  # the keypad is the patient's: the autopilot waits there
    runner.finish_all()
    assert list(dict.fromkeys(steps)) == [
        Step.ENTER_DIGITS,
        Step.READING,
        Step.IDENTITY,
        Step.INSURANCE,
        Step.CHOOSE_KIND,
        Step.CHOOSE_PRIORITY,
        Step.CHOOSE_DEPARTMENT,
        Step.CONFIRM,
        Step.REGISTERING,
        Step.TICKET,
        Step.IDLE,
    ]
    (ticket,) = printer.printed
    assert (ticket.department_code, ticket.insured) == ("K01", True)
