"""The whole simulated hospital around one kiosk, for ``make run``, the tests and the bench.

A private pcscd with a virtual card slot, the simulated BHXH gateway and HIS on real
sockets, a QR scanner and a ticket printer on pseudo-terminals, the simulator CSCA, the
facility's XML0 signing key (its certificate registered with the gateway), and a kiosk
configuration pointing at all of them, XML0 reporting on. Personas are "tapped" onto the reader as
issued cards (with faults when asked); their front QR codes are "scanned".

:func:`scripted_check_in` drives a kiosk (``kiosk.qt.app.KioskApp``) through one check-in
by pressing its buttons, as a person would, and saves a screenshot of every screen.
:func:`run` is ``make run``; with a display it opens the control window
(:mod:`simulators.control_window`). The screenshots of docs/screenshots come from
:mod:`simulators.screenshots`.
"""

from __future__ import annotations

import contextlib
import enum
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cardreader.transport.pcsc import wait_for_removal
from hospital_adapter.gateway.submission import Xml0Receipt
from kiosk.pin import hash_pin
from simulators.bhxh_gateway import Dataset, Person, RunningGateway, Scenario
from simulators.bhxh_gateway import serve as serve_gateway
from simulators.control_window import control_window, place_beside
from simulators.devices import VirtualPrinter, VirtualQrScanner
from simulators.facility_pki import P12_PASSWORD, FacilityPki, make_facility
from simulators.faults import FaultSpec
from simulators.his import RunningHis
from simulators.his import serve as serve_his
from simulators.issuance.card import build_chip, issue_card, sim_pki
from simulators.pcscd import PcscDaemon
from simulators.persona import Persona, Sex, make_persona, qr_payload
from simulators.speech import NO_SPEECHD, RecordingSpeechDispatcher, rms
from simulators.speech import available as speech_available
from simulators.timing import TimedCard, TimingModel
from simulators.vpcd import VirtualReaderSlot

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp

READER_SETTLE_S = 5.0
"""How long pcscd may take to notice that the hospital's card left (it polls every 0.4 s)."""
STAFF_PIN = "1357"
"""The simulated hospital's staff PIN (the kiosk refuses its shipped default, 2468)."""
GATEWAY_ACCOUNT = {
    "BHXH_USERNAME": "kiosk",
    "BHXH_PASSWORD": "kiosk-password",
    "BHXH_STAFF_NAME": "Trần Thị Bình",
    "BHXH_STAFF_ID": "079190000001",
}
FACILITY_CODE = "79024"
"""The simulated hospital's ``MA_CSKCB``."""
XML0_INTERVAL_S = 0.5
"""How often the kiosk's XML0 worker looks at its queue (a real kiosk: seconds)."""


@dataclass(frozen=True)
class Patient:
    """A persona and what the gateway answers for them (``None``: no BHYT record);
    ``born`` makes the persona younger than the personas' range (1935–2011)."""

    seed: int
    outcome: str | None
    note: str
    born: date | None = None

    @property
    def persona(self) -> Persona:
        persona = make_persona(self.seed)
        if self.born is None:
            return persona
        century_digit = 2 * ((self.born.year - 1900) // 100) + (0 if persona.sex is Sex.MALE else 1)
        id_number = f"{persona.id_number[:3]}{century_digit}{self.born.year % 100:02d}"
        return replace(
            persona,
            date_of_birth=self.born,
            id_number=id_number + persona.id_number[6:],
            old_id_number=None,
        )


PATIENTS = (
    Patient(3, "000", "insured"),
    Patient(5, None, "no BHYT record"),
    Patient(7, "010", "BHYT expired"),
    Patient(51, "000", "ID card expired"),
    Patient(8, "000", "insured"),
    Patient(23, "000", "aged 75 and over"),
    Patient(12, "000", "QR only"),
    Patient(13, "000", "VssID only"),
    Patient(14, "000", "typed number"),
    Patient(15, "130", "child under 6", born=date(2022, 4, 9)),
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
facility_type = "{facility_type}"

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
facility_code = "{facility_code}"

[xml0]
enabled = true
province = "79"
service_code = "02.1896"
service_name = "Khám bệnh"
p12 = "{p12}"
timeout_s = 5
interval_s = {xml0_interval_s}

[admin]
pin_hash = "{pin_hash}"
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
    facility_type: str = "state"
    speechd_address: str = ""
    """``SPEECHD_ADDRESS`` for its kiosks. Empty: the environment's, and without one an
    address where nothing listens. The simulated hospital never lets a kiosk autospawn the
    machine's speech-dispatcher (:data:`simulators.speech.NO_SPEECHD`): that daemon would
    outlive the run."""
    """ "non_state": the kiosk asks consent before reading the chip."""
    slot: VirtualReaderSlot = field(init=False)
    gateway: RunningGateway = field(init=False)
    his: RunningHis = field(init=False)
    printer: VirtualPrinter = field(init=False)
    scanner: VirtualQrScanner = field(init=False)
    facility: FacilityPki = field(init=False)
    """The facility's XML0 signing key (PKCS#12) and the certificate the gateway knows."""
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
        self.facility = make_facility(self.workdir / "facility")
        self.gateway.simulator.register_facility(
            FACILITY_CODE, self.facility.certificate_pem.read_bytes()
        )
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
                facility_type=self.facility_type,
                pin_hash=hash_pin(STAFF_PIN),
                facility_code=FACILITY_CODE,
                p12=self.facility.p12,
                xml0_interval_s=XML0_INTERVAL_S,
            ),
            encoding="utf-8",
        )
        self.env = {
            **os.environ,
            **self.pcscd.client_env(),
            **GATEWAY_ACCOUNT,
            "CCCD_HOSPITAL_KEY": secrets.token_hex(32),
            "CCCD_XML0_P12_PASSWORD": P12_PASSWORD,
            **{key: os.environ.get(key, value) for key, value in NO_SPEECHD.items()},
        }
        if self.speechd_address:
            self.env["SPEECHD_ADDRESS"] = self.speechd_address

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
        chip = build_chip(issue_card(self.persona(seed), faults=faults))
        card = (
            chip if self.card_timing is None else TimedCard(chip, self.card_timing, realtime=True)
        )
        self.slot.insert(card, remove_at_apdu=remove_at)

    def remove(self) -> None:
        self.slot.remove()

    def persona(self, seed: int) -> Persona:
        """``seed``'s persona as this hospital's patients have it (a child made younger)."""
        return next((p.persona for p in self.patients if p.seed == seed), make_persona(seed))

    def scan(self, seed: int) -> None:
        """Present ``seed``'s front QR to the scanner."""
        self.scanner.scan(qr_payload(self.persona(seed)))

    def scan_insurance_card(self, seed: int) -> None:
        """Present ``seed``'s BHYT card QR, as the VssID app shows it (docs/domain.md §3.2)."""
        record = self.gateway.simulator.dataset.by_id(self.persona(seed).id_number)
        if record is None:
            raise ValueError(f"persona {seed} has no BHYT record")
        person = record.person
        fields = (
            record.card_number,
            person.full_name.encode().hex(),
            person.date_of_birth.strftime("%d/%m/%Y"),
            "1" if person.sex == "Nam" else "2",
            record.address.encode().hex(),
            record.facility,
            record.valid_from.strftime("%d/%m/%Y"),
            record.valid_to.strftime("%d/%m/%Y"),
        )
        self.scanner.scan("|".join(fields) + "$")

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


class WayIn(enum.Enum):
    """How a scripted patient identifies at the kiosk (docs/kiosk.md, "Ways in")."""

    CHIP = "chip"
    """The card on the reader, opened with its QR or the 6 digits typed (``use_qr``)."""
    QR_ONLY = "qr_only"
    """The front QR, then "use the QR only": the chip is never read."""
    VSSID = "vssid"
    """The BHYT card's QR from VssID, then the ID number typed."""
    TYPED = "typed"
    """The 12-digit ID number typed on the start screen's keypad."""


WAYS_IN = (
    (WayIn.CHIP, "aged 75 and over"),
    (WayIn.QR_ONLY, "QR only"),
    (WayIn.QR_ONLY, "child under 6"),
    (WayIn.VSSID, "VssID only"),
    (WayIn.TYPED, "typed number"),
)
"""The headless ``make run``'s check-ins after the first: one per way in, by patient."""


@dataclass
class ScriptResult:
    """What one scripted check-in produced."""

    steps: list[str] = field(default_factory=list)
    ticket_label: str = ""
    checkin_id: str = ""
    """The store's id of the check-in (the XML0 record's ``MA_LK``)."""
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
    way: WayIn = WayIn.CHIP,
) -> ScriptResult:
    """Scan the QR (or type the digits), tap the card, press the buttons to a ticket; or
    come in another ``way`` without the chip."""
    from kiosk.qt.screens import (
        ConfirmScreen,
        ConsentScreen,
        DepartmentScreen,
        DigitsScreen,
        IdentityScreen,
        IdleScreen,
        KindScreen,
        PlaceCardScreen,
        PriorityScreen,
    )
    from kiosk.view import PrintState, Step

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
    persona = hospital.persona(seed)
    if way in (WayIn.TYPED, WayIn.VSSID):
        started = time.perf_counter()
        if way is WayIn.TYPED:
            idle = window.screens[Step.IDLE]
            assert isinstance(idle, IdleScreen)
            idle.number.click()
        else:
            hospital.scan_insurance_card(seed)
            _wait(kiosk, "the BHYT QR to be read", lambda: flow.step is Step.ENTER_NUMBER)
        keypad = window.screens[Step.ENTER_NUMBER]
        assert isinstance(keypad, DigitsScreen)
        for key in persona.id_number:
            keypad.keys[key].click()
        shot("enter-number")
        keypad.ok.click()
    elif use_qr:
        hospital.scan(seed)
        _wait(kiosk, "the QR to be read", lambda: flow.step is Step.PLACE_CARD)
        shot("place-card")
        started = time.perf_counter()
        if way is WayIn.QR_ONLY:
            place_card = window.screens[Step.PLACE_CARD]
            assert isinstance(place_card, PlaceCardScreen)
            place_card.qr_only.click()
        else:
            hospital.tap(seed, faults)
            _wait(kiosk, "the card to be seen", lambda: flow.step is not Step.PLACE_CARD)
            started = time.perf_counter()  # from the kiosk seeing the card, as a real one would
    else:
        hospital.tap(seed, faults)
        _wait(kiosk, "the keypad", lambda: flow.step is Step.ENTER_DIGITS)
        started = time.perf_counter()  # the kiosk has seen the card
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

    def card_read() -> None:
        _wait(
            kiosk,
            "the card to be read",
            lambda: not at(Step.READING, Step.PLACE_CARD, Step.ENTER_DIGITS),
        )

    card_read()
    if at(Step.CONSENT):
        shot("consent")
        consent = window.screens[Step.CONSENT]
        assert isinstance(consent, ConsentScreen)
        consent.yes.click()
        card_read()
    if at(Step.PROBLEM):
        shot("problem")
        result.problem = flow.view.problem.value if flow.view.problem else ""
        return result
    _wait(
        kiosk,
        "the photo",
        lambda: (
            flow.view.patient is None
            or flow.view.patient.photo is not None
            or not flow.view.patient.trust.from_chip
        ),
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
    priority = window.screens[Step.CHOOSE_PRIORITY]
    assert isinstance(priority, PriorityScreen)
    while at(Step.CHOOSE_PRIORITY):
        question = flow.view.question
        shot(f"choose-priority-{question.value}" if question else "choose-priority")
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
    result.checkin_id = ticket.ticket.checkin_id
    if ticket.printing is PrintState.PRINTED:
        hospital.printer.wait_for_pages(pages_before + 1, 5.0)
        if hospital.printer.saved:
            result.ticket_png = hospital.printer.saved[-1]
    return result


def xml0_receipt(kiosk: KioskApp, checkin_id: str, timeout: float = 15.0) -> Xml0Receipt:
    """The gateway's receipt for the check-in's XML0 report, once the kiosk's XML0 worker
    has it in its store."""
    store = kiosk.services.store

    def report_received() -> bool:
        report = store.xml0_report(checkin_id)
        return report is not None and report.receipt is not None

    _wait(kiosk, "the XML0 receipt", report_received, timeout)
    report = store.xml0_report(checkin_id)
    assert report is not None and report.receipt is not None
    return report.receipt


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
    with contextlib.ExitStack() as stack:
        daemon = stack.enter_context(PcscDaemon())
        os.environ.update(daemon.client_env())  # before the first PC/SC call
        voice = _demo_speechd(stack, headless)
        hospital = stack.enter_context(
            SimulatedHospital(
                out_dir / "hospital", pcscd=daemon, speechd_address=voice.address if voice else ""
            )
        )
        echo(f"pcscd (PID {daemon.pid}), reader {daemon.reader_names[0]!r}")
        echo(f"BHXH gateway {hospital.gateway.url}, HIS MLLP port {hospital.his.mllp.address[1]}")
        echo(f"QR scanner {hospital.scanner.port}, printer {hospital.printer.port}")
        echo(f"kiosk configuration {hospital.config_path}, staff PIN {STAFF_PIN}")
        with running_kiosk(hospital) as kiosk:
            if headless:
                _scripted_demo(kiosk, hospital, out_dir, echo)
                if voice is not None:
                    audio = voice.audio()
                    echo(
                        f"voice: {len(audio) // 1024} KiB of speech recorded by a private "
                        f"speech-dispatcher (RMS loudness {rms(audio):.0f})"
                    )
                return 0
            kiosk.show(fullscreen=False)
            control = control_window(hospital)
            control.show()  # type: ignore[attr-defined]
            place_beside(control, kiosk.window)
            ready = "kiosk and control windows open; Ctrl-C stops everything"
            return kiosk.exec(on_running=lambda: echo(ready))


def _demo_speechd(stack: contextlib.ExitStack, headless: bool) -> RecordingSpeechDispatcher | None:
    """Offscreen, a private speech-dispatcher that records what the kiosk says (stopped by
    PID with the demo); with a display, the desktop's own, as a kiosk install has."""
    if not headless or not speech_available():
        return None
    return stack.enter_context(RecordingSpeechDispatcher())


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
    receipt = xml0_receipt(kiosk, result.checkin_id)
    echo(
        f"  XML0 signed by the facility and reported to BHXH: maGiaoDich"
        f" {receipt.transaction_id}, received {receipt.received_at:%H:%M:%S}"
    )
    echo(f"  printed ticket: {result.ticket_png}")
    for path in result.screenshots:
        echo(f"  screenshot: {path}")
    _each_way_in(kiosk, hospital, echo)


def _each_way_in(kiosk: KioskApp, hospital: SimulatedHospital, echo: Callable[[str], None]) -> None:
    """One check-in per way in (:data:`WAYS_IN`), one line each with its ticket."""
    flow = kiosk.flow
    echo("one check-in per way in:")
    for way, note in WAYS_IN:
        flow.dismiss()
        hospital.remove()
        kiosk.wait_until(lambda: not flow.card_on_reader, 5)
        result = scripted_check_in(kiosk, hospital, patient(note).seed, department="K01", way=way)
        if result.problem:
            raise ScriptError(f"{way.value}: the check-in ended on problem {result.problem}")
        ticket = flow.view.ticket
        assert ticket is not None
        registration = list(hospital.his.state.registrations.values())[-1]
        bhyt = (
            f"BHYT checked at counter {ticket.ticket.verify_insurance_at}"
            if ticket.ticket.verify_insurance_at
            else "BHYT verified"
        )
        priority = ", priority" if ticket.ticket.priority else ""
        echo(
            f"  {way.value:<8} ({note}): ticket {result.ticket_label}, K01{priority}, {bhyt},"
            f" identity {registration.identity} to the HIS"
        )
