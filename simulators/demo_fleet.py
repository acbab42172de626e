"""``make run FLEET=N`` (``python -m simulators hospital --fleet N``): N kiosks of one
hospital on one PostgreSQL store, and the queue board.

One private PostgreSQL (:class:`simulators.postgres.PostgresCluster`), one BHXH gateway
and one HIS simulator; each kiosk its own virtual reader (a pcscd per two kiosks), QR
scanner, ticket printer and journal (:class:`simulators.hospital.SimulatedHospital` with
``shared_with`` the first kiosk's), run as a ``python -m kiosk`` process; the queue board
(:mod:`hospital_adapter.board`) on a free port. Without a display the kiosks run
``--autopilot``: :data:`PATIENTS_PER_KIOSK` patients scan their QR and tap their card at
each kiosk in turn, each ticket is read off its printer, room 101 calls twice, and the
board is photographed in chromium when there is one. With a display the kiosk windows
stay open until Ctrl-C. Whatever it started is stopped by PID on the way out, on
SIGINT/SIGTERM and on failure too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import psycopg

from hospital_adapter.board import BoardServer, create_board
from hospital_adapter.store import Store
from hospital_adapter.store.queue import QueueEntry, QueueStatus
from simulators.browser import CHROMIUM, CHROMIUM_ARGS
from simulators.hospital import SimulatedHospital
from simulators.kiosk_config import DEPARTMENTS
from simulators.patients import Patient
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona
from simulators.postgres import PostgresCluster
from simulators.speech import RecordingSpeechDispatcher
from simulators.speech import available as speech_available

PATIENTS_PER_KIOSK = 3
READERS_PER_DAEMON = 2
"""A pcscd with the vpcd driver serves two virtual readers."""
CALLS = (("K01", "101"), ("K01", "101"))
"""(department, room) of each call once every patient has a ticket."""
START_TIMEOUT_S = 60.0
"""Longest wait for a kiosk process's first screen."""
LEASE_TIMEOUT_S = 20.0
"""Longest wait for every kiosk's first block of numbers from PostgreSQL."""
TICKET_TIMEOUT_S = 30.0
"""Longest wait for a ticket on a kiosk's printer after the tap."""
SYNC_TIMEOUT_S = 20.0
"""Longest wait for the HIS registrations and the hospital's store to have every check-in."""
STOP_TIMEOUT_S = 15.0
"""How long a kiosk may take to hand its journal on after SIGTERM before SIGKILL."""
READER_SETTLE_S = 1.0
"""After a card is taken away, before the next patient's QR: pcscd polls every 0.4 s."""
READY_MARK = "kiosk started: the first screen is up"
BOARD_SHOT = "queue-board.png"


class FleetDemoError(RuntimeError):
    """A kiosk did not start, a ticket did not come, or the numbers do not add up."""


def fleet_patients(count: int, today: date | None = None) -> tuple[Patient, ...]:
    """``count`` insured adults (18 to 74) whose ID cards are valid for a month yet."""
    today = today or date.today()
    found: list[Patient] = []
    seed = 100
    while len(found) < count:
        person = make_persona(seed)
        age = (today - person.date_of_birth).days // 365
        expiry = person.date_of_expiry
        if 18 <= age <= 74 and (expiry is None or expiry > today + timedelta(days=30)):
            found.append(Patient(seed, "000", "insured"))
        seed += 1
    return tuple(found)


@dataclass
class FleetKiosk:
    """One kiosk of the fleet: its simulated devices and its process."""

    name: str
    hospital: SimulatedHospital
    daemon: PcscDaemon
    process: subprocess.Popen[bytes]
    log: Path


@dataclass(frozen=True)
class PrintedTicket:
    """What a kiosk's printer printed for one check-in."""

    kiosk: str
    number: str
    department: str
    room: str
    checkin_id: str
    tap_to_ticket_s: float


class _SignalError(BaseException):
    """SIGINT or SIGTERM: unwind, stopping what was started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(
    echo: Callable[[str], None] = print,
    out_dir: Path = Path("run-output"),
    fleet: int = 3,
    *,
    headless: bool | None = None,
) -> int:
    """``make run FLEET=N``: the exit code (0; 1 on a failure; 128 + the signal after
    SIGINT or SIGTERM, once everything started is stopped)."""
    if fleet < 1:
        raise ValueError("fleet: at least one kiosk")
    interrupted = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if not interrupted:  # a second signal must not cut the clean-up short
            interrupted = True
            raise _SignalError(signum)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(echo, out_dir, fleet, not _has_display() if headless is None else headless)
    except _SignalError as stop:
        echo(f"stopped by {stop}: the kiosks, pcscd, PostgreSQL and the servers are stopped")
        return 128 + stop.signum
    except FleetDemoError as exc:
        echo(f"fleet demo failed: {exc}")
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(echo: Callable[[str], None], out_dir: Path, fleet: int, headless: bool) -> int:
    workdir = out_dir / "fleet"
    shutil.rmtree(workdir, ignore_errors=True)  # fresh journals, tickets and logs
    workdir.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresCluster())
        store_url, password = _without_password(cluster.url)
        daemons = [
            stack.enter_context(PcscDaemon())
            for _ in range(-(-fleet // READERS_PER_DAEMON))  # ceiling
        ]
        echo(
            f"PostgreSQL (PID {cluster.pid}) at {store_url}; pcscd PIDs "
            f"{', '.join(str(d.pid) for d in daemons)}"
        )
        patients = fleet_patients(fleet * PATIENTS_PER_KIOSK)
        # A private speech-dispatcher for the kiosks (stopped by PID), as the one-kiosk demo.
        voice = stack.enter_context(RecordingSpeechDispatcher()) if speech_available() else None
        hospitals: list[SimulatedHospital] = []
        for index in range(fleet):
            hospitals.append(
                stack.enter_context(
                    SimulatedHospital(
                        workdir / f"kiosk-{index + 1}",
                        pcscd=daemons[index // READERS_PER_DAEMON],
                        patients=patients,
                        reader=index % READERS_PER_DAEMON,
                        shared_with=hospitals[0] if hospitals else None,
                        store_url=store_url,
                        kiosk_id=f"kiosk-{index + 1}",
                        speechd_address=voice.address if voice else "",
                    )
                )
            )
        first = hospitals[0]
        echo(f"BHXH gateway {first.gateway.url}, HIS MLLP port {first.his.mllp.address[1]}")
        store = Store(cluster.url, bytes.fromhex(first.env["CCCD_HOSPITAL_KEY"]))
        stack.callback(store.close)
        names = {code: vi for code, vi, _en, _room in DEPARTMENTS}
        board = stack.enter_context(BoardServer(create_board(store.queue, names)))
        kiosks = _start_kiosks(stack, hospitals, daemons, password, headless)
        _wait_for_leases(cluster.url, kiosks)
        for kiosk in kiosks:
            echo(
                f"{kiosk.name} (PID {kiosk.process.pid}): reader "
                f"{kiosk.daemon.reader_names[kiosk.hospital.reader]!r}, scanner "
                f"{kiosk.hospital.scanner.port}, printer {kiosk.hospital.printer.port}"
            )
        echo(f"queue board {board.url}/")
        if not headless:
            echo("kiosk windows open; Ctrl-C stops everything")
            while any(kiosk.process.poll() is None for kiosk in kiosks):
                time.sleep(0.5)
            return 0
        tickets = _check_ins(kiosks, patients, echo)
        _report(tickets, kiosks, store, first, echo)
        last = _calls(store, echo)
        shot = _screenshot(board.url, workdir / BOARD_SHOT, last)
        counts = Counter(entry.status for entry in store.queue())
        echo(
            f"queue board {board.url}/: "
            + ", ".join(f"{counts[status]} {status}" for status in QueueStatus)
            + (f"; screenshot {shot}" if shot else "; no chromium, no screenshot")
        )
        return 0
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the with may swallow)


def _without_password(url: str) -> tuple[str, str]:
    """The URL for ``[store] url`` (no password) and the password for ``PGPASSWORD``."""
    parts = urlsplit(url)
    return f"postgresql://{parts.username}@{parts.hostname}:{parts.port}{parts.path}", (
        parts.password or ""
    )


def _start_kiosks(
    stack: contextlib.ExitStack,
    hospitals: list[SimulatedHospital],
    daemons: list[PcscDaemon],
    password: str,
    headless: bool,
) -> list[FleetKiosk]:
    """Start every kiosk process (stopped by PID with the stack) and wait for each one's
    first screen."""
    kiosks: list[FleetKiosk] = []
    stack.callback(_stop_kiosks, kiosks)
    for index, hospital in enumerate(hospitals):
        env = {**hospital.env, "PGPASSWORD": password}
        argv = [sys.executable, "-m", "kiosk", "--config", str(hospital.config_path)]
        if headless:
            env["QT_QPA_PLATFORM"] = "offscreen"
            argv.append("--autopilot")
        else:
            argv.append("--windowed")
        log = hospital.workdir / "kiosk.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
            )
        kiosks.append(
            FleetKiosk(
                f"kiosk-{index + 1}",
                hospital,
                daemons[index // READERS_PER_DAEMON],
                process,
                log,
            )
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    for kiosk in kiosks:
        while READY_MARK not in kiosk.log.read_text(errors="replace"):
            if kiosk.process.poll() is not None or time.monotonic() > deadline:
                raise FleetDemoError(f"{kiosk.name} did not start:\n{_tail(kiosk.log)}")
            time.sleep(0.1)
    return kiosks


def _wait_for_leases(url: str, kiosks: list[FleetKiosk]) -> None:
    """Wait until every kiosk has leased numbers from PostgreSQL: a kiosk that never
    reached it has none to print and sends its patients to the counter."""

    def leased() -> set[str]:
        with psycopg.connect(url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT DISTINCT kiosk FROM leased_blocks").fetchall()
        return {str(row[0]) for row in rows}

    if not _wait(lambda: {k.name for k in kiosks} <= leased(), LEASE_TIMEOUT_S):
        missing = [k for k in kiosks if k.name not in leased()]
        raise FleetDemoError(
            f"{', '.join(k.name for k in missing)} leased no numbers from PostgreSQL within "
            f"{LEASE_TIMEOUT_S:.0f} s:\n{_tail(missing[0].log)}"
        )


def _stop_kiosks(kiosks: list[FleetKiosk]) -> None:
    """SIGTERM to every kiosk by PID (each hands its journal on and quits), SIGKILL to
    any still running after :data:`STOP_TIMEOUT_S`."""
    for kiosk in kiosks:
        if kiosk.process.poll() is None:
            kiosk.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for kiosk in kiosks:
        try:
            kiosk.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kiosk.process.kill()
            kiosk.process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _check_ins(
    kiosks: list[FleetKiosk], patients: tuple[Patient, ...], echo: Callable[[str], None]
) -> list[PrintedTicket]:
    """Each round, one patient at every kiosk (QR, then the card), then every ticket off
    its printer and the cards taken away."""
    echo(f"check-ins, {PATIENTS_PER_KIOSK} patients at each kiosk in turn (autopilot):")
    tickets: list[PrintedTicket] = []
    queue = iter(patients)
    for _round in range(PATIENTS_PER_KIOSK):
        started: list[tuple[FleetKiosk, int, float]] = []
        for kiosk in kiosks:
            seed = next(queue).seed
            pages = len(kiosk.hospital.printer.printed)
            kiosk.hospital.scan(seed)
            kiosk.hospital.tap(seed)
            started.append((kiosk, pages, time.perf_counter()))
        for kiosk, pages, tapped in started:
            if not kiosk.hospital.printer.wait_for_pages(pages + 1, TICKET_TIMEOUT_S):
                raise FleetDemoError(
                    f"{kiosk.name} printed no ticket within {TICKET_TIMEOUT_S:.0f} s:\n"
                    f"{_tail(kiosk.log)}"
                )
            ticket = _read_ticket(kiosk, pages, time.perf_counter() - tapped)
            kiosk.hospital.remove()
            tickets.append(ticket)
            echo(
                f"  {ticket.kiosk}: ticket {ticket.department}-{ticket.number}, room "
                f"{ticket.room}, {ticket.tap_to_ticket_s:.1f} s tap to ticket"
            )
        time.sleep(READER_SETTLE_S)
    return tickets


def _read_ticket(kiosk: FleetKiosk, index: int, elapsed_s: float) -> PrintedTicket:
    """The number, department, room and check-in id (its QR code) of a printed page."""
    page = kiosk.hospital.printer.printed[index]
    lines = list(page.lines)
    try:
        number = lines[lines.index("QUEUE NUMBER") + 1]
        department = next(code for code, _vi, en, _room in DEPARTMENTS if en in lines)
        room = next(line for line in lines if line.startswith("Room ")).removeprefix("Room ")
        checkin_id = page.qr_codes[0].decode()
    except (ValueError, StopIteration, IndexError) as exc:
        raise FleetDemoError(f"{kiosk.name}: unreadable ticket {lines}") from exc
    return PrintedTicket(kiosk.name, number, department, room, checkin_id, elapsed_s)


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _report(
    tickets: list[PrintedTicket],
    kiosks: list[FleetKiosk],
    store: Store,
    hospital: SimulatedHospital,
    echo: Callable[[str], None],
) -> None:
    """The numbers unique across kiosks, the hospital's store holding every check-in, and
    one HIS registration per check-in."""
    printed = {t.checkin_id: (t.department, t.number) for t in tickets}

    def stored() -> dict[str, tuple[str, str]]:
        return {c.checkin_id: (c.department, f"{c.ticket:03d}") for c in store.checkins()}

    if not _wait(lambda: printed.items() <= stored().items(), SYNC_TIMEOUT_S):
        raise FleetDemoError(
            f"the hospital's store does not have every printed check-in: {stored()}"
        )
    by_department: dict[str, list[str]] = {}
    for ticket in tickets:
        by_department.setdefault(ticket.department, []).append(ticket.number)
    for department, numbers in sorted(by_department.items()):
        if len(set(numbers)) != len(numbers):
            raise FleetDemoError(f"{department}: a number printed twice: {sorted(numbers)}")
        echo(
            f"numbers: {len(numbers)} check-ins at {len(kiosks)} kiosks, {len(set(numbers))} "
            f"different numbers in {department} ({', '.join(sorted(numbers))}): none printed "
            "twice"
        )
    registrations = hospital.his.state.registrations
    if not _wait(lambda: len(registrations) >= len(tickets), SYNC_TIMEOUT_S):
        raise FleetDemoError(f"the HIS has {len(registrations)} of {len(tickets)} registrations")
    echo(f"HIS: {len(registrations)} registrations for {len(tickets)} check-ins")


def _calls(store: Store, echo: Callable[[str], None]) -> QueueEntry:
    """Each room in :data:`CALLS` calls its department's next number; the last call."""
    called: list[QueueEntry] = []
    for department, room in CALLS:
        entry = store.call_next(department, room)
        if entry is None:
            raise FleetDemoError(f"room {room}: nobody waits in {department}")
        echo(f"call: room {room} calls {department}-{entry.ticket:03d} (the longest waiting)")
        called.append(entry)
    return called[-1]


def _screenshot(url: str, path: Path, call: QueueEntry) -> Path | None:
    """The board in Debian's chromium once it shows ``call``; ``None`` without chromium."""
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": 1920, "height": 1080},
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
            )
            page = context.new_page()
            page.goto(url + "/")
            page.wait_for_function(
                """([room, text]) => {
                    const node = document.querySelector(`[data-room="${room}"] .number`);
                    return node !== null && node.textContent === text;
                }""",
                arg=[call.room, f"{call.ticket:03d}"],
                timeout=10_000,
            )
            page.screenshot(path=str(path))
        finally:
            browser.close()
    return path
