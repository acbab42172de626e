"""The whole simulated hospital around one kiosk, for ``make run``, the tests and the bench.

A private pcscd with a virtual card slot, the simulated BHXH gateway and HIS on real
sockets, a QR scanner and a ticket printer on pseudo-terminals, the simulator CSCA, and
a kiosk configuration pointing at all of them. Personas are "tapped" onto the reader as
issued cards (with faults when asked); their front QR codes are "scanned".

:func:`scripted_check_in` drives a kiosk (``kiosk.qt.app.KioskApp``) through one check-in
by pressing its buttons, as a person would, and saves a screenshot of every screen.
:func:`control_window` is the small window of ``make run`` with a display: one button per
persona to tap its card or scan its QR.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardreader.transport.pcsc import wait_for_removal
from simulators.bhxh_gateway import Dataset, Person, RunningGateway, Scenario
from simulators.bhxh_gateway import serve as serve_gateway
from simulators.devices import VirtualPrinter, VirtualQrScanner
from simulators.faults import FaultSpec
from simulators.his import RunningHis
from simulators.his import serve as serve_his
from simulators.issuance.card import build_chip, issue_card, sim_pki
from simulators.pcscd import PcscDaemon
from simulators.persona import Persona, make_persona, qr_payload
from simulators.timing import TimedCard, TimingModel
from simulators.vpcd import VirtualReaderSlot

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp

READER_SETTLE_S = 5.0
"""How long pcscd may take to notice that the hospital's card left (it polls every 0.4 s)."""
GATEWAY_ACCOUNT = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": "kiosk-password",
    "BHXH_STAFF_NAME": "Trần Thị Bình",
    "BHXH_STAFF_ID": "079190000001",
}


@dataclass(frozen=True)
class Patient:
    """A persona and what the gateway answers for them (``None``: no BHYT record)."""

    seed: int
    outcome: str | None
    note: str

    @property
    def persona(self) -> Persona:
        return make_persona(self.seed)


PATIENTS = (
    Patient(3, "000", "insured"),
    Patient(5, None, "no BHYT record"),
    Patient(7, "010", "BHYT expired"),
    Patient(51, "000", "ID card expired"),
    Patient(8, "000", "insured"),
)
"""The simulated hospital's patients (seeds of :func:`simulators.persona.make_persona`)."""


def patient(note: str) -> Patient:
    return next(p for p in PATIENTS if p.note == note)


def _dataset(patients: tuple[Patient, ...]) -> Dataset:
    insured = [p for p in patients if p.outcome is not None]
    people = [
        Person(
            p.persona.id_number, p.persona.full_name, p.persona.date_of_birth, p.persona.sex.value
        )
        for p in insured
    ]
    return Dataset.from_people(people, [Scenario(p.outcome or "000") for p in insured])


KIOSK_TOML = """\
[kiosk]
fullscreen = false
voice = true

[timeouts]
idle_s = {idle_s}
countdown_s = {countdown_s}
ticket_s = 20
problem_s = 40
lookup_s = {lookup_s}
check_in_s = 10

[card]
reader = "{reader}"
csca = ["{csca}"]
poll_s = 0.2

[scanner]
port = "{scanner}"

[printer]
port = "{printer}"
timeout_s = 2

[counters]
help = 1
insurance = 2

{departments}

[gateway]
url = "{gateway}"
timeout_s = 5
attempts = 2
backoff_s = 0.05

[his]
kind = "hl7"
host = "127.0.0.1"
port = {his_port}
timeout_s = 3

[store]
path = "{store}"

[hospital]
facility_code = "79024"
departments = ["K01", "K02", "K03", "K04", "K05", "K06"]
"""


@dataclass
class SimulatedHospital:
    """Start with ``with SimulatedHospital(workdir) as hospital:``; pass ``pcscd`` to share
    a running daemon (the tests' session fixture)."""

    workdir: Path
    pcscd: PcscDaemon | None = None
    patients: tuple[Patient, ...] = PATIENTS
    gateway_latency_s: float = 0.0
    card_timing: TimingModel | None = None
    """With a model, cards answer as slowly as a real chip (``simulators.timing``)."""
    lookup_s: float = 8.0
    idle_s: float = 60.0
    countdown_s: float = 15.0
    slot: VirtualReaderSlot = field(init=False)
    gateway: RunningGateway = field(init=False)
    his: RunningHis = field(init=False)
    printer: VirtualPrinter = field(init=False)
    scanner: VirtualQrScanner = field(init=False)
    config_path: Path = field(init=False)
    env: dict[str, str] = field(init=False)
    _stack: contextlib.ExitStack = field(init=False)

    def __enter__(self) -> SimulatedHospital:
        self._stack = contextlib.ExitStack()
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.pcscd is None:
            self.pcscd = stack.enter_context(PcscDaemon())
        stack.callback(self._wait_reader_empty)  # runs after the slot is closed
        self.slot = stack.enter_context(VirtualReaderSlot(self.pcscd.vpcd_ports[0]))
        self.gateway = stack.enter_context(serve_gateway(_dataset(self.patients)))
        self.gateway.simulator.latency = self.gateway_latency_s
        self.his = stack.enter_context(serve_his())
        self.printer = stack.enter_context(VirtualPrinter(self.workdir / "tickets"))
        self.scanner = stack.enter_context(VirtualQrScanner())
        csca = sim_pki().csca.write_pem(self.workdir / "csca.pem")
        departments = "\n".join(
            f'[[departments]]\ncode = "{code}"\nname_vi = "{vi}"\n'
            f'name_en = "{en}"\nroom = "{room}"\n'
            for code, vi, en, room in DEPARTMENTS
        )
        self.config_path = self.workdir / "kiosk.toml"
        self.config_path.write_text(
            KIOSK_TOML.format(
                reader=self.pcscd.reader_names[0],
                csca=csca,
                scanner=self.scanner.port,
                printer=self.printer.port,
                gateway=self.gateway.url,
                his_port=self.his.mllp.address[1],
                store=self.workdir / "kiosk-store.sqlite3",
                departments=departments,
                lookup_s=self.lookup_s,
                idle_s=self.idle_s,
                countdown_s=self.countdown_s,
            ),
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            **self.pcscd.client_env(),
            **GATEWAY_ACCOUNT,
            "CCCD_HOSPITAL_KEY": secrets.token_hex(32),
        }

    def _wait_reader_empty(self) -> None:
        """Leave the reader empty as pcscd sees it: it notices a removal only at its next
        poll, and until then the next user of the reader (the next test's kiosk) would be
        told of a card that is gone."""
        assert self.pcscd is not None
        reader = self.pcscd.reader_names[0]
        if not wait_for_removal(reader, READER_SETTLE_S):
            raise RuntimeError(f"pcscd still reports a card in {reader!r} after the slot closed")

    def tap(
        self, seed: int, faults: tuple[FaultSpec, ...] = (), remove_at: int | None = None
    ) -> None:
        """Place ``seed``'s card on the reader (removing any card there first)."""
        if self.slot.inserted:
            self.slot.remove()
        chip = build_chip(issue_card(make_persona(seed), faults=faults))
        card = (
            chip if self.card_timing is None else TimedCard(chip, self.card_timing, realtime=True)
        )
        self.slot.insert(card, remove_at_apdu=remove_at)

    def remove(self) -> None:
        self.slot.remove()

    def scan(self, seed: int) -> None:
        """Present ``seed``'s front QR to the scanner."""
        self.scanner.scan(qr_payload(make_persona(seed)))

    def gateway_down(self, down: bool = True) -> None:
        self.gateway.simulator.down = down


DEPARTMENTS = (
    ("K01", "Khám Nội", "Internal medicine", "101"),
    ("K02", "Khám Ngoại", "Surgery", "105"),
    ("K03", "Tai Mũi Họng", "Ear, nose and throat", "203"),
    ("K04", "Răng Hàm Mặt", "Dentistry", "207"),
    ("K05", "Nhi", "Paediatrics", "110"),
    ("K06", "Mắt", "Ophthalmology", "301"),
)


@dataclass
class ScriptResult:
    """What one scripted check-in produced."""

    steps: list[str] = field(default_factory=list)
    ticket_label: str = ""
    ticket_png: Path | None = None
    screenshots: list[Path] = field(default_factory=list)
    tap_to_ticket_s: float = 0.0
    problem: str = ""


class ScriptError(RuntimeError):
    pass


def _wait(kiosk: KioskApp, what: str, condition: object, timeout: float = 15.0) -> None:
    if not kiosk.wait_until(condition, timeout):  # type: ignore[arg-type]
        raise ScriptError(f"timed out waiting for {what} (on {kiosk.flow.step.value})")


def scripted_check_in(
    kiosk: KioskApp,
    hospital: SimulatedHospital,
    seed: int,
    *,
    department: str = "K03",
    insured: bool = True,
    use_qr: bool = True,
    shots: Path | None = None,
    faults: tuple[FaultSpec, ...] = (),
) -> ScriptResult:
    """Scan the QR (or type the digits), tap the card, press the buttons to a ticket."""
    from kiosk.flow import PrintState, Step
    from kiosk.qt.screens import (
        ConfirmScreen,
        DepartmentScreen,
        DigitsScreen,
        IdentityScreen,
        KindScreen,
        PriorityScreen,
    )

    result = ScriptResult()
    flow, window = kiosk.flow, kiosk.window

    def at(*steps: Step) -> bool:
        return flow.step in steps

    pages_before = len(hospital.printer.pages)

    def shot(name: str) -> None:
        result.steps.append(flow.step.value)
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            path = shots / f"{len(result.screenshots) + 1:02d}-{name}.png"
            kiosk.app.processEvents()
            window.grab().save(str(path))
            result.screenshots.append(path)

    _wait(kiosk, "the start screen", lambda: flow.step is Step.IDLE)
    shot("idle")
    persona = make_persona(seed)
    if use_qr:
        hospital.scan(seed)
        _wait(kiosk, "the QR to be read", lambda: flow.step is Step.PLACE_CARD)
        shot("place-card")
        started = time.perf_counter()
        hospital.tap(seed, faults)
    else:
        started = time.perf_counter()
        hospital.tap(seed, faults)
        _wait(kiosk, "the keypad", lambda: flow.step is Step.ENTER_DIGITS)
        digits = window.screens[Step.ENTER_DIGITS]
        assert isinstance(digits, DigitsScreen)
        for key in persona.can:
            digits.keys[key].click()
        shot("enter-digits")
        digits.ok.click()
    if shots is not None and kiosk.wait_until(
        lambda: at(Step.READING) and flow.view.progress > 0.2, 5.0
    ):
        shot("reading")
    _wait(
        kiosk,
        "the card to be read",
        lambda: not at(Step.READING, Step.PLACE_CARD, Step.ENTER_DIGITS),
    )
    if at(Step.PROBLEM):
        shot("problem")
        result.problem = flow.view.problem.value if flow.view.problem else ""
        return result
    _wait(
        kiosk,
        "the photo",
        lambda: flow.view.patient is None or flow.view.patient.photo is not None,
        10.0,
    )
    if at(Step.PROBLEM):
        shot("problem")
        result.problem = flow.view.problem.value if flow.view.problem else ""
        return result
    shot("identity")
    identity = window.screens[Step.IDENTITY]
    assert isinstance(identity, IdentityScreen)
    identity.next.click()
    if at(Step.INSURANCE):
        shot("insurance")
    _wait(kiosk, "the BHYT answer", lambda: flow.step is Step.CHOOSE_KIND, 30.0)
    shot("choose-kind")
    kind = window.screens[Step.CHOOSE_KIND]
    assert isinstance(kind, KindScreen)
    (kind.insured if insured else kind.self_pay).click()
    if at(Step.CHOOSE_PRIORITY):
        shot("choose-priority")
        priority = window.screens[Step.CHOOSE_PRIORITY]
        assert isinstance(priority, PriorityScreen)
        priority.no.click()
    shot("choose-department")
    departments = window.screens[Step.CHOOSE_DEPARTMENT]
    assert isinstance(departments, DepartmentScreen)
    dict(departments.buttons)[department].click()
    shot("confirm")
    confirm = window.screens[Step.CONFIRM]
    assert isinstance(confirm, ConfirmScreen)
    confirm.ok.click()
    if at(Step.REGISTERING):
        shot("registering")
    _wait(kiosk, "the ticket", lambda: flow.step is Step.TICKET)
    _wait(
        kiosk,
        "the printer",
        lambda: (
            flow.view.ticket is not None and flow.view.ticket.printing is not PrintState.PRINTING
        ),
    )
    result.tap_to_ticket_s = time.perf_counter() - started
    shot("ticket")
    ticket = flow.view.ticket
    assert ticket is not None
    result.ticket_label = ticket.ticket.label
    if ticket.printing is PrintState.PRINTED:
        hospital.printer.wait_for_pages(pages_before + 1, 5.0)
        if hospital.printer.saved:
            result.ticket_png = hospital.printer.saved[-1]
    return result


CONTROL_STYLE = (
    "QWidget { font-size: 13px; background: #f4f4f4; color: #111; }"
    "QPushButton { padding: 4px 10px; min-height: 0; border: 1px solid #0b4f9c;"
    " border-radius: 4px; }"
)


def control_window(hospital: SimulatedHospital) -> object:
    """The simulator control window: tap a persona's card, scan its QR, pull the card."""
    from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

    widget = QWidget()
    widget.setWindowTitle("Simulated hospital · control")
    widget.setStyleSheet(CONTROL_STYLE)  # compact: the kiosk's patient-sized style is not for staff
    grid = QGridLayout(widget)
    for row, person in enumerate(hospital.patients):
        persona = person.persona
        grid.addWidget(QLabel(f"{persona.full_name} — {person.note}"), row, 0)
        scan = QPushButton("Scan QR")
        scan.clicked.connect(lambda _=False, s=person.seed: hospital.scan(s))
        tap = QPushButton("Tap card")
        tap.clicked.connect(lambda _=False, s=person.seed: hospital.tap(s))
        forged = QPushButton("Tap forged card")
        forged.clicked.connect(
            lambda _=False, s=person.seed: hospital.tap(s, (FaultSpec.parse("tampered-dg=13"),))
        )
        grid.addWidget(scan, row, 1)
        grid.addWidget(tap, row, 2)
        grid.addWidget(forged, row, 3)
    pull = QPushButton("Remove card")
    pull.clicked.connect(hospital.remove)
    down = QPushButton("Gateway down / up")
    down.clicked.connect(lambda: hospital.gateway_down(not hospital.gateway.simulator.down))
    grid.addWidget(pull, len(hospital.patients), 1)
    grid.addWidget(down, len(hospital.patients), 2)
    return widget


@contextlib.contextmanager
def running_kiosk(hospital: SimulatedHospital, **kwargs: object) -> Iterator[KioskApp]:
    """A :class:`kiosk.qt.app.KioskApp` configured for ``hospital``."""
    from kiosk.config import load_config
    from kiosk.qt.app import KioskApp

    kiosk = KioskApp(load_config(hospital.config_path), hospital.env, **kwargs)  # type: ignore[arg-type]
    try:
        yield kiosk
    finally:
        kiosk.close()


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(
    echo: Callable[[str], None] = print,
    out_dir: Path = Path("run-output"),
    *,
    headless: bool | None = None,
) -> int:
    """``make run``: the simulated hospital and the kiosk; the exit code.

    With a display, the kiosk window and the control window open until they are closed or
    the process gets SIGINT or SIGTERM (128 + the signal). Without one, one scripted
    check-in runs offscreen and its result, ticket and screenshots are printed. SIGTERM
    interrupts like Ctrl-C: what was started (pcscd among it) is stopped on the way out.
    """
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run(echo, out_dir, not _has_display() if headless is None else headless)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(echo: Callable[[str], None], out_dir: Path, headless: bool) -> int:
    for ours in ("hospital", "screenshots"):  # a fresh store, tickets and screenshots
        shutil.rmtree(out_dir / ours, ignore_errors=True)
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    with PcscDaemon() as daemon:
        os.environ.update(daemon.client_env())  # before the first PC/SC call
        with SimulatedHospital(out_dir / "hospital", pcscd=daemon) as hospital:
            echo(f"pcscd (PID {daemon.pid}), reader {daemon.reader_names[0]!r}")
            echo(
                f"BHXH gateway {hospital.gateway.url}, HIS MLLP port {hospital.his.mllp.address[1]}"
            )
            echo(f"QR scanner {hospital.scanner.port}, printer {hospital.printer.port}")
            echo(f"kiosk configuration {hospital.config_path}")
            with running_kiosk(hospital) as kiosk:
                if headless:
                    _scripted_demo(kiosk, hospital, out_dir, echo)
                    return 0
                kiosk.show(fullscreen=False)
                control = control_window(hospital)
                control.show()  # type: ignore[attr-defined]
                _place_beside(control, kiosk.window)
                ready = "kiosk and control windows open; Ctrl-C stops everything"
                return kiosk.exec(on_running=lambda: echo(ready))


def _place_beside(control: Any, window: Any) -> None:
    """Put the control window right of the kiosk, inside the screen (a bare X server
    places every window at 0,0, over the kiosk)."""
    screen = control.screen().availableGeometry()
    width = control.frameGeometry().width()
    x = min(window.frameGeometry().right() + 16, screen.right() - width)
    control.move(max(screen.left(), x), screen.top())


def _scripted_demo(
    kiosk: KioskApp, hospital: SimulatedHospital, out_dir: Path, echo: Callable[[str], None]
) -> None:
    kiosk.window.setFixedSize(1280, 800)
    kiosk.window.show()
    person = patient("insured")
    echo(f"scripted check-in of {person.persona.full_name} ({person.note}), no display:")
    result = scripted_check_in(kiosk, hospital, person.seed, shots=out_dir / "screenshots")
    if result.problem:
        raise ScriptError(f"the check-in ended on problem {result.problem}")
    registration = next(iter(hospital.his.state.registrations.values()))
    echo(f"  screens: {' → '.join(result.steps)}")
    echo(
        f"  ticket {result.ticket_label}, department {registration.department}, "
        f"BHYT {'verified' if registration.insured else 'to check'}, "
        f"registered with the HIS ({len(hospital.his.state.registrations)} visit)"
    )
    echo(f"  tap to ticket: {result.tap_to_ticket_s * 1000:.0f} ms")
    echo(f"  printed ticket: {result.ticket_png}")
    for path in result.screenshots:
        echo(f"  screenshot: {path}")


def docs_screenshots(out: Path, echo: Callable[[str], None] = print) -> list[Path]:
    """Every screen of the kiosk, from real sessions, for docs/screenshots (offscreen).

    A slow card and a slow gateway make the progress screens visible.
    """
    from kiosk.flow import Step
    from kiosk.qt.screens import DigitsScreen

    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def save(kiosk: KioskApp, name: str, widget: object = None) -> None:
        kiosk.app.processEvents()
        path = out / f"{name}.png"
        (widget or kiosk.window).grab().save(str(path))  # type: ignore[attr-defined]
        saved.append(path)

    import tempfile

    with tempfile.TemporaryDirectory(prefix="kiosk-shots-") as tmp, PcscDaemon() as daemon:
        os.environ.update(daemon.client_env())
        with (
            SimulatedHospital(
                Path(tmp),
                pcscd=daemon,
                gateway_latency_s=2.0,
                card_timing=TimingModel(),
                idle_s=8.0,
                countdown_s=6.0,
            ) as hospital,
            running_kiosk(hospital) as kiosk,
        ):
            kiosk.window.setFixedSize(1280, 800)
            kiosk.window.show()
            flow = kiosk.flow
            result = scripted_check_in(kiosk, hospital, patient("insured").seed, shots=out)
            saved += result.screenshots
            if result.ticket_png is not None:
                shutil.copy(result.ticket_png, out / "ticket-printed.png")
                saved.append(out / "ticket-printed.png")
            flow.dismiss()
            hospital.remove()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            # The keypad: a card placed without its QR, and a wrong try.
            hospital.tap(patient("no BHYT record").seed)
            kiosk.wait_until(lambda: flow.step is Step.ENTER_DIGITS, 10)
            digits = kiosk.window.screens[Step.ENTER_DIGITS]
            assert isinstance(digits, DigitsScreen)
            for key in "1234":
                digits.keys[key].click()
            save(kiosk, "20-enter-digits")
            for key in "56":
                digits.keys[key].click()
            digits.ok.click()
            kiosk.wait_until(lambda: flow.view.digits_rejected, 15)
            save(kiosk, "21-enter-digits-rejected")
            for key in make_persona(patient("no BHYT record").seed).can:
                digits.keys[key].click()
            digits.ok.click()
            kiosk.wait_until(lambda: flow.step is Step.IDENTITY, 15)
            kiosk.wait_until(
                lambda: flow.view.insurance is not None and flow.view.insurance.value != "pending",
                10,
            )
            kiosk.window.toggle_language()
            save(kiosk, "22-identity-english")
            kiosk.window.toggle_language()
            flow.next()
            save(kiosk, "23-choose-kind-not-found")
            kiosk.wait_until(lambda: flow.view.countdown is not None, 10)
            save(kiosk, "24-idle-countdown")
            kiosk.wait_until(lambda: flow.step is Step.IDLE, 10)
            hospital.remove()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            # A forged card, and a card pulled away mid-read.
            hospital.scan(patient("insured").seed)
            kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
            hospital.tap(patient("insured").seed, (FaultSpec.parse("tampered-dg=13"),))
            kiosk.wait_until(lambda: flow.step is Step.PROBLEM, 20)
            save(kiosk, "25-problem-forged-card")
            flow.dismiss()
            hospital.remove()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            hospital.scan(patient("insured").seed)
            kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
            hospital.tap(patient("insured").seed, remove_at=12)
            kiosk.wait_until(lambda: flow.step is Step.PROBLEM, 20)
            save(kiosk, "26-problem-card-removed")
            flow.dismiss()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            # The gateway down (another patient: the first one's answer is cached): the ticket
            # sends the patient to the insurance counter.
            hospital.gateway_down()
            other = next(p for p in hospital.patients if p.note == "insured" and p.seed != 3)
            degraded = scripted_check_in(kiosk, hospital, other.seed)
            if degraded.problem == "":
                save(kiosk, "27-ticket-check-bhyt-at-counter")
                if degraded.ticket_png is not None:
                    shutil.copy(degraded.ticket_png, out / "ticket-printed-degraded.png")
                    saved.append(out / "ticket-printed-degraded.png")
            flow.dismiss()
            hospital.gateway_down(False)
            # The staff screen.
            dialog = kiosk.open_admin()
            for key in "2468":
                dialog._typer(key)()
            dialog._submit()
            kiosk.wait_until(lambda: "Outbox" in dialog.status.text(), 10)
            save(kiosk, "28-staff-screen", dialog)
            dialog.accept()
    for path in saved:
        echo(str(path))
    return saved
