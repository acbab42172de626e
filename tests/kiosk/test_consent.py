"""Consent before the chip is read (Luật Căn cước 2023 Đ22 k5, docs/domain.md §4.1): on by
default at a non-state facility, configurable, the answer in the store's audit log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hospital_adapter import CheckInService, Deadline, IdentityTrust
from hospital_adapter.gateway import InsuranceLookup, LookupQuery
from hospital_adapter.his.base import InMemoryHis
from hospital_adapter.store import Store
from kiosk.config import Consent, FacilityType, KioskSettings
from kiosk.qt.screens import ConsentScreen
from kiosk.qt.window import KioskWindow
from kiosk.view import Fallback, Problem, Step
from kiosk.voice import Voice
from tests.kiosk.fakes import HOA_QR
from tests.kiosk.test_flow import CONFIG, Rig

PRIVATE = replace(CONFIG, kiosk=replace(CONFIG.kiosk, facility_type=FacilityType.NON_STATE))


class _NoGateway:
    def lookup(self, query: LookupQuery, deadline: Deadline | None = None) -> InsuranceLookup:
        raise AssertionError("recording a consent asks no gateway")


@pytest.mark.parametrize(
    ("facility", "consent", "asked"),
    [
        (FacilityType.NON_STATE, Consent.AUTO, True),
        (FacilityType.STATE, Consent.AUTO, False),
        (FacilityType.STATE, Consent.ALWAYS, True),
        (FacilityType.NON_STATE, Consent.NEVER, False),
    ],
)
def test_when_consent_is_asked(facility: FacilityType, consent: Consent, asked: bool) -> None:
    assert KioskSettings(facility_type=facility, consent=consent).asks_consent is asked
    assert KioskSettings().asks_consent is False, "the shipped kiosk.toml: a state hospital"


def test_consent_given_then_the_chip_is_read() -> None:
    rig = Rig(PRIVATE)
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    assert rig.view.step is Step.CONSENT and rig.card.calls == [], "nothing read yet"
    rig.flow.answer_consent(True)
    assert rig.view.step is Step.READING
    rig.runner.finish()  # the consent, recorded
    assert rig.hospital.consents == [True]
    rig.runner.finish()  # the read
    assert rig.view.step is Step.IDENTITY
    assert rig.view.patient is not None and rig.view.patient.trust is IdentityTrust.CHIP


def test_consent_declined_offers_the_qr_alone() -> None:
    rig = Rig(PRIVATE)
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    rig.flow.answer_consent(False)
    rig.runner.finish()
    assert rig.hospital.consents == [False]
    assert (rig.view.step, rig.view.problem, rig.view.fallback) == (
        Step.PROBLEM,
        Problem.CONSENT_DECLINED,
        Fallback.QR,
    )
    rig.flow.use_qr()
    assert rig.view.patient is not None and rig.view.patient.trust is IdentityTrust.QR
    assert rig.card.calls == []


def test_consent_is_in_the_audit_log_without_personal_data(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db", bytes(range(32)))
    service = CheckInService(_NoGateway(), InMemoryHis(), store)
    service.record_consent(True)
    service.record_consent(False)
    entries = [(e.action, e.subject, e.detail) for e in store.audit_entries()]
    assert entries[-2:] == [("consent", "", "given"), ("consent", "", "declined")]
    store.close()


def test_window_consent_screen(qtbot: QtBot) -> None:
    rig = Rig(PRIVATE)
    window = KioskWindow(rig.flow, PRIVATE, Voice(enabled=False))
    qtbot.addWidget(window)
    window.setFixedSize(1280, 800)
    window.show()
    rig.flow.qr_scanned(HOA_QR)
    rig.flow.card_present()
    screen = window.screens[Step.CONSENT]
    assert isinstance(screen, ConsentScreen)
    assert screen.title.text() == "Xin phép đọc chip trên thẻ căn cước"
    assert screen.subtitle.text().startswith("Máy sẽ đọc trên chip: họ tên, ngày sinh")
    assert screen.yes.main.text() == "Đồng ý" and screen.no.main.text() == "Không đồng ý"
    screen.no.click()
    assert rig.view.problem is Problem.CONSENT_DECLINED
