"""``make run`` (``python -m simulators hospital``): the simulated hospital and its kiosk.

With a display, the kiosk window beside the control window
(:mod:`simulators.control_window`); without one, a scripted check-in offscreen
(:mod:`simulators.scripted`) with its screens, ticket, XML0 receipt and screenshots, then
one check-in per way in (:data:`WAYS_IN`), one line each, and what the voice said.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.control_window import control_window, place_beside
from simulators.his import known_patient
from simulators.hospital import SimulatedHospital, running_kiosk
from simulators.kiosk_config import STAFF_PIN
from simulators.patients import Patient, patient
from simulators.pcscd import PcscDaemon
from simulators.persona import Sex
from simulators.scripted import ScriptError, WayIn, scripted_check_in, xml0_receipt
from simulators.speech import RecordingSpeechDispatcher, rms
from simulators.speech import available as speech_available

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp

WAYS_IN = (
    (WayIn.CHIP, "aged 75 and over"),
    (WayIn.QR_ONLY, "QR only"),
    (WayIn.QR_ONLY, "child under 6"),
    (WayIn.VSSID, "VssID only"),
    (WayIn.TYPED, "typed number"),
)
"""The headless ``make run``'s check-ins after the first: one per way in, by patient. The
typed number's patient is a returning one (:func:`_returning`): the HIS knows their name and
date of birth, so BHYT is looked up with them."""


def _returning(hospital: SimulatedHospital, person: Patient) -> None:
    """Preload the simulated HIS with ``person`` as registered on an earlier visit."""
    persona = hospital.persona(person.seed)
    sex = "M" if persona.sex is Sex.MALE else "F"
    birth = persona.date_of_birth.strftime("%Y%m%d")
    record = known_patient(persona.id_number, persona.full_name, birth, sex)
    hospital.his.state.preload(record)


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
    _returning(hospital, patient("typed number"))
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
        if way is WayIn.TYPED:
            queries = hospital.his.state.queries
            bhyt += f" (name and birth date from the HIS: {queries} demographics query)"
        echo(
            f"  {way.value:<8} ({note}): ticket {result.ticket_label}, K01{priority}, {bhyt},"
            f" identity {registration.identity} to the HIS"
        )
