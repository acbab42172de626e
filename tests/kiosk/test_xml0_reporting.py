"""The kiosk reports each insured check-in to BHXH as a signed XML0 (issue #12), end to end:
a virtual card behind the session's real pcscd, the kiosk's XML0 worker signing with the
simulated hospital's PKCS#12 key, the simulated gateway checking the signature with
xmlsec1 against the certificate the facility registered. No mocks. And a key the kiosk
cannot open stops it at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from hospital_adapter.config import StoreSettings, Xml0Settings
from hospital_adapter.errors import ConfigurationError, Problem
from kiosk.app import build_services
from kiosk.config import AdminSettings, KioskConfig
from kiosk.pin import hash_pin
from kiosk.qt.app import KioskApp
from kiosk.view import Step, View
from simulators.facility_pki import make_facility
from simulators.hospital import SimulatedHospital
from simulators.kiosk_config import FACILITY_CODE, GATEWAY_ACCOUNT
from simulators.patients import patient
from simulators.scripted import scripted_check_in, xml0_receipt
from tests.kiosk.test_e2e import hospital, kiosk  # noqa: F401 (fixtures)

INSURED = patient("insured").seed
DELIVERED_ONCE = {"delivered": 1, "pending": 0, "rejected": 0}
QUIET_S = 2.0
"""Four passes of the XML0 worker (simulators.kiosk_config.XML0_INTERVAL_S): time to send twice."""


def _assert_reported_once(running: SimulatedHospital, app: KioskApp, checkin_id: str) -> None:
    """The gateway holds one accepted (so signature-checked) record, this check-in's; the
    kiosk's store holds the same receipt; nothing is sent again."""
    receipt = xml0_receipt(app, checkin_id)
    assert not app.wait_until(lambda: False, QUIET_S)
    simulator = running.gateway.simulator
    ((key, (accepted, record)),) = simulator.reports.items()
    assert key == (FACILITY_CODE, checkin_id)
    assert simulator.stats.submissions == 1
    assert (receipt.transaction_id, f"{receipt.received_at:%Y%m%d%H%M%S}") == (
        accepted.transaction_id,
        f"{accepted.received_at:%Y%m%d%H%M%S}",
    )
    (registration,) = running.his.state.registrations.values()
    assert (record["MA_LK"], record["MA_CSKCB"], record["MA_THE_BHYT"]) == (
        checkin_id,
        FACILITY_CODE,
        registration.card_number,
    )
    assert (record["MA_DICH_VU"], record["TEN_DICH_VU"]) == ("02.1896", "Khám bệnh")
    assert app.services.status().xml0 == DELIVERED_ONCE


@pytest.mark.pcsc
def test_insured_check_in_is_reported_once_as_signed_xml0(
    hospital: SimulatedHospital,  # noqa: F811
    kiosk: KioskApp,  # noqa: F811
) -> None:
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03")
    assert (result.problem, result.ticket_label) == ("", "001")
    _assert_reported_once(hospital, kiosk, result.checkin_id)


@pytest.mark.pcsc
def test_report_waits_out_a_gateway_outage(
    hospital: SimulatedHospital,  # noqa: F811
    kiosk: KioskApp,  # noqa: F811
) -> None:
    """The gateway answers the lookup, then goes down before the patient confirms: the
    report waits in the queue and is delivered once when the gateway is back."""
    outage: list[bool] = []

    def down_after_lookup(view: View) -> None:
        if view.step is Step.CHOOSE_KIND and not outage:
            outage.append(True)
            hospital.gateway_down()

    kiosk.flow.subscribe(down_after_lookup)
    result = scripted_check_in(kiosk, hospital, INSURED, department="K03")
    assert (result.problem, outage) == ("", [True])
    ticket = kiosk.flow.view.ticket
    assert ticket is not None and ticket.ticket.insured
    assert ticket.ticket.verify_insurance_at is None, "the lookup was answered"
    store = kiosk.services.store

    def failed_once() -> bool:
        report = store.xml0_report(result.checkin_id)
        return report is not None and report.last_error != ""

    assert kiosk.wait_until(failed_once, 10)
    report = store.xml0_report(result.checkin_id)
    assert report is not None
    assert (report.status.value, report.receipt) == ("pending", None)
    assert report.last_error.startswith("GatewayUnavailableError: ")
    assert hospital.gateway.simulator.reports == {}
    assert kiosk.services.status().xml0 == {"delivered": 0, "pending": 1, "rejected": 0}
    hospital.gateway_down(False)
    _assert_reported_once(hospital, kiosk, result.checkin_id)


def test_a_wrong_p12_password_stops_the_kiosk_before_it_opens_anything(tmp_path: Path) -> None:
    facility = make_facility(tmp_path / "facility")
    store = tmp_path / "store.sqlite3"
    config = KioskConfig(
        store=StoreSettings(path=str(store)),
        xml0=Xml0Settings(
            enabled=True,
            province="79",
            service_code="02.1896",
            service_name="Khám bệnh",
            p12=str(facility.p12),
        ),
        admin=AdminSettings(pin_hash=hash_pin("8642")),
    )
    env = {
        **GATEWAY_ACCOUNT,
        "CCCD_HOSPITAL_KEY": "ab" * 32,
        "CCCD_XML0_P12_PASSWORD": "not-the-password",
    }
    with pytest.raises(ConfigurationError) as refused:
        build_services(config, env)
    assert refused.value.problems == (
        Problem("xml0.p12", f"{facility.p12} is not PKCS#12 or the password is wrong"),
    )
    assert not store.exists(), "refused before the store is opened"
