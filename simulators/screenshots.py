"""Every screen of the kiosk as a PNG for docs/screenshots, from real simulated sessions:
``python -c "from pathlib import Path; from simulators.screenshots import docs_screenshots;
docs_screenshots(Path('docs/screenshots'))"`` (offscreen, 1280×800)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.faults import FaultSpec
from simulators.hospital import SimulatedHospital, running_kiosk
from simulators.kiosk_config import STAFF_PIN
from simulators.patients import patient
from simulators.pcscd import PcscDaemon
from simulators.persona import make_persona
from simulators.scripted import scripted_check_in
from simulators.timing import TimingModel

if TYPE_CHECKING:
    from kiosk.qt.app import KioskApp


def docs_screenshots(out: Path, echo: Callable[[str], None] = print) -> list[Path]:
    """Every screen of the kiosk, from real sessions, for docs/screenshots (offscreen).

    A slow card and a slow gateway make the progress screens visible.
    """
    from hospital_adapter import VisitKind
    from kiosk.qt.screens import DigitsScreen, PlaceCardScreen
    from kiosk.view import InsuranceState, Step

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
            hospital.remove()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            # Help over the start screen; the ways in without the chip.
            kiosk.window.help.click()
            save(kiosk, "29-help")
            flow.close_help()
            keypad = kiosk.window.screens[Step.ENTER_NUMBER]
            assert isinstance(keypad, DigitsScreen)
            flow.enter_number()
            typed = make_persona(patient("typed number").seed).id_number
            for key in typed[:7]:
                keypad.keys[key].click()
            save(kiosk, "30-enter-number")
            for key in typed[7:]:
                keypad.keys[key].click()
            keypad.ok.click()
            kiosk.wait_until(lambda: flow.view.insurance not in (None, InsuranceState.PENDING), 10)
            save(kiosk, "31-identity-typed")
            flow.cancel()
            hospital.scan(patient("QR only").seed)
            kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
            place_card = kiosk.window.screens[Step.PLACE_CARD]
            assert isinstance(place_card, PlaceCardScreen)
            place_card.qr_only.click()
            kiosk.wait_until(lambda: flow.view.insurance not in (None, InsuranceState.PENDING), 10)
            save(kiosk, "32-identity-qr-only")
            flow.cancel()
            hospital.scan_insurance_card(patient("VssID only").seed)
            kiosk.wait_until(lambda: flow.step is Step.ENTER_NUMBER, 5)
            save(kiosk, "33-enter-number-after-vssid")
            flow.cancel()
            # The BHXH number typed: the HIS knows the first patient from their check-in.
            registrations = hospital.his.state.registrations
            kiosk.wait_until(lambda: any(r.card_number for r in registrations.values()), 10)
            known = next(r for r in registrations.values() if r.card_number)
            flow.enter_number()
            for key in known.card_number[-10:]:
                keypad.keys[key].click()
            save(kiosk, "38-enter-number-bhxh")
            keypad.ok.click()
            kiosk.wait_until(lambda: flow.view.insurance not in (None, InsuranceState.PENDING), 20)
            save(kiosk, "39-identity-bhxh-number")
            flow.cancel()
            # BHYT expired: khám BHYT is not drawn as already chosen; a woman's questions.
            expired = patient("BHYT expired").seed
            hospital.scan(expired)
            kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
            hospital.tap(expired)
            kiosk.wait_until(lambda: flow.view.insurance not in (None, InsuranceState.PENDING), 20)
            flow.next()
            save(kiosk, "34-choose-kind-bhyt-expired")
            flow.choose_kind(VisitKind.SELF_PAY)
            flow.answer_priority(False)
            save(kiosk, "35-choose-priority-pregnant")
            flow.cancel()
            hospital.remove()
            kiosk.wait_until(lambda: not flow.card_on_reader, 5)
            # The staff screen.
            dialog = kiosk.open_admin()
            assert dialog is not None, "the services are built: the staff screen opens"
            for key in STAFF_PIN:
                dialog._typer(key)()
            dialog._submit()
            kiosk.wait_until(lambda: "Outbox" in dialog.status.text(), 10)
            save(kiosk, "28-staff-screen", dialog)
            dialog.accept()
        # A private hospital asks before reading the chip (Luật Căn cước 2023 Đ22 k5).
        with (
            SimulatedHospital(
                Path(tmp) / "private", pcscd=daemon, facility_type="non_state"
            ) as private,
            running_kiosk(private) as kiosk,
        ):
            kiosk.window.setFixedSize(1280, 800)
            kiosk.window.show()
            flow = kiosk.flow
            private.scan(patient("insured").seed)
            kiosk.wait_until(lambda: flow.step is Step.PLACE_CARD, 5)
            private.tap(patient("insured").seed)
            kiosk.wait_until(lambda: flow.step is Step.CONSENT, 10)
            save(kiosk, "36-consent")
            flow.answer_consent(False)
            save(kiosk, "37-problem-consent-declined")
            private.remove()
    for path in saved:
        echo(str(path))
    return saved
