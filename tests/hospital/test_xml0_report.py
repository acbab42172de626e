"""Each check-in with a confirmed BHYT card is reported to the simulated gateway as a signed
XML0, through the store's XML0 outbox, exactly once: through an outage, a lost answer and
a refused token; the receipt is kept. The simulator checks the signature with xmlsec1 and
the field rules, and refuses with the answer's usual fields (docs/domain.md §3.7). The
reporter is the one an ``[xml0]`` table naming the SoftHSM2 token makes
(``configured_reporter``), signing on the token."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hospital_adapter import CheckInService, Deadline, InsuranceStatus, VisitKind
from hospital_adapter.config import ENV_XML0_TOKEN_PIN, HospitalSettings, Settings, Xml0Settings
from hospital_adapter.errors import Xml0RejectedError
from hospital_adapter.gateway import GatewayClient
from hospital_adapter.his import InMemoryHis
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.store import OutboxStatus, Queue, Store
from hospital_adapter.xml0 import Xml0Facility, build_xml0
from hospital_adapter.xml0_report import configured_reporter
from hospital_adapter.xmldsig import FacilityKey, sign_xml0
from simulators.bhxh_gateway import Dataset, Fault, RunningGateway

from .conftest import ClientFactory
from .facility_pki import TOKEN_LABEL, USER_PIN, FacilityPki, make_facility
from .helpers import KEY, request_for, sample_visit

FACILITY = Xml0Facility("79024", "02.1896", "Khám Nội")
PROVINCE = "79"


class Clock:
    """The worker's wall clock: real time plus ``ahead``, moved by hand past retry delays."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@dataclass
class Setup:
    store: Store
    service: CheckInService
    worker: OutboxWorker
    client: GatewayClient
    clock: Clock


@pytest.fixture
def setup(
    tmp_path: Path,
    gateway: RunningGateway,
    make_client: ClientFactory,
    facility: FacilityPki,
    softhsm_token: str,
) -> Iterator[Setup]:
    gateway.simulator.register_facility("79024", facility.certificate_pem.read_bytes())
    store = Store(tmp_path / "kiosk.sqlite3", KEY)
    client = make_client(attempts=1, breaker_threshold=100, cache_ttl_s=0)
    xml0 = Xml0Settings(
        enabled=True,
        province=PROVINCE,
        service_code=FACILITY.exam_service_code,
        service_name=FACILITY.exam_service_name,
        pkcs11_module=softhsm_token,
        token=TOKEN_LABEL,
    )
    settings = Settings(hospital=HospitalSettings(FACILITY.facility_code), xml0=xml0)
    reporter = configured_reporter(settings, client, {ENV_XML0_TOKEN_PIN: USER_PIN})
    clock = Clock()
    worker = OutboxWorker(store, reporter, queue=Queue.XML0, clock=clock, send_timeout_s=5.0)
    service = CheckInService(client, InMemoryHis(), store)
    yield Setup(store, service, worker, client, clock)
    store.close()


def _check_in(setup: Setup, dataset: Dataset, outcome: str = "000") -> str:
    result = setup.service.check_in(request_for(dataset.with_outcome(outcome)), Deadline.after(5))
    return result.checkin_id


def test_a_check_in_is_reported_once_with_its_receipt(
    setup: Setup, dataset: Dataset, gateway: RunningGateway
) -> None:
    checkin_id = _check_in(setup, dataset)
    report = setup.store.xml0_report(checkin_id)
    assert report is not None and (report.status, report.receipt) == (OutboxStatus.PENDING, None)
    assert setup.worker.deliver_due().delivered == 1
    ((key, (receipt, record)),) = gateway.simulator.reports.items()
    assert key == ("79024", checkin_id)
    stored = setup.store.xml0_report(checkin_id)
    assert stored is not None and stored.status is OutboxStatus.DELIVERED
    assert stored.receipt is not None
    assert stored.receipt.transaction_id == receipt.transaction_id
    assert stored.receipt.received_at == receipt.received_at.replace(microsecond=0)
    person = dataset.with_outcome("000")
    assert (record["MA_LK"], record["SO_CCCD"], record["MA_THE_BHYT"]) == (
        checkin_id,
        person.person.id_number,
        person.card_number,
    )
    assert (record["MA_LOAI_KCB"], record["MA_DICH_VU"], record["MA_CSKCB"]) == (
        "01",
        "02.1896",
        "79024",
    )
    assert setup.worker.deliver_due().delivered == 0  # nothing left to send
    assert gateway.simulator.stats.submissions == 1
    audit = [entry.action for entry in setup.store.audit_entries()]
    assert audit.count("xml0_outbox.delivered") == 1


def test_through_an_outage_and_a_lost_answer_the_report_is_made_once(
    setup: Setup, dataset: Dataset, gateway: RunningGateway
) -> None:
    checkin_id = _check_in(setup, dataset)
    gateway.simulator.down = True
    assert setup.worker.deliver_due().retrying == 1
    report = setup.store.xml0_report(checkin_id)
    assert report is not None and report.status is OutboxStatus.PENDING
    assert report.last_error.startswith("GatewayUnavailableError: cannot reach")
    assert setup.worker.deliver_due().retrying == 0  # not due yet: backing off
    gateway.simulator.down = False
    gateway.simulator.inject(Fault.LOST_ANSWER)  # recorded by the gateway, answer lost
    setup.clock.ahead += timedelta(minutes=10)
    assert setup.worker.deliver_due().retrying == 1
    assert len(gateway.simulator.reports) == 1
    setup.clock.ahead += timedelta(minutes=10)
    assert setup.worker.deliver_due().delivered == 1
    assert len(gateway.simulator.reports) == 1
    assert gateway.simulator.stats.submissions == 2  # the lost one and its resend
    ((receipt, _),) = gateway.simulator.reports.values()
    stored = setup.store.xml0_report(checkin_id)
    assert stored is not None and stored.receipt is not None
    assert stored.receipt.transaction_id == receipt.transaction_id


def test_a_refused_token_inside_http_200_is_taken_again(
    setup: Setup, dataset: Dataset, gateway: RunningGateway
) -> None:
    _check_in(setup, dataset)
    gateway.simulator.expire_tokens()
    assert setup.worker.deliver_due().delivered == 1
    assert gateway.simulator.stats.submissions == 2
    assert gateway.simulator.stats.token_takes == 2  # the lookup's, then one after the 401


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [("010", VisitKind.INSURED), ("000", VisitKind.SELF_PAY)],
)
def test_no_report_without_a_confirmed_card(
    outcome: str, kind: VisitKind, setup: Setup, dataset: Dataset
) -> None:
    request = replace(request_for(dataset.with_outcome(outcome)), visit_kind=kind)
    result = setup.service.check_in(request, Deadline.after(5))
    assert result.insurance is not InsuranceStatus.VERIFIED
    assert setup.store.xml0_report(result.checkin_id) is None


def test_an_unregistered_facility_is_refused_for_good(
    setup: Setup, dataset: Dataset, gateway: RunningGateway
) -> None:
    checkin_id = _check_in(setup, dataset)
    gateway.simulator.facility_certificates.clear()
    assert setup.worker.deliver_due().rejected == 1
    report = setup.store.xml0_report(checkin_id)
    assert report is not None and report.status is OutboxStatus.REJECTED
    assert report.last_error == "Xml0RejectedError 403"


def _submit_raw(url: str, form: dict[str, str], headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/api/qd130/checkInKcbQd3176",
        data=urllib.parse.urlencode(form).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        answer: dict[str, object] = json.loads(response.read())
    return answer


def test_refusals_have_the_answers_usual_fields(gateway: RunningGateway) -> None:
    answer = _submit_raw(
        gateway.url,
        {"username": "kiosk", "loaiHoSo": "0", "maTinh": "79", "maCSKCB": "79024"},
        {"accessToken": "x", "tokenId": "y", "passwordHash": "z"},
    )
    assert set(answer) == {"maKetQua", "maGiaoDich", "thoiGianTiepNhan", "thongDiep"}
    assert (answer["maKetQua"], answer["maGiaoDich"], answer["thongDiep"]) == (
        "401",
        None,
        "Lỗi xác thực",
    )
    assert len(str(answer["thoiGianTiepNhan"])) == 14


def _signed(facility: FacilityPki, **fields: str) -> bytes:
    """The sample visit's XML0 with ``fields`` changed, then signed."""
    root = ET.fromstring(build_xml0(sample_visit(), FACILITY))
    for name, value in fields.items():
        found = root.find(f"DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB/{name}")
        assert found is not None
        found.text = value
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return sign_xml0(xml, FacilityKey(facility.key, facility.certificate))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"NGAY_VAO": "2025-03-10"}, "NGAY_VAO không đúng định dạng yyyyMMddHHmm"),
        ({"NGAY_YL": "202513100802"}, "NGAY_YL không đúng định dạng yyyyMMddHHmm"),
        ({"MA_THE_BHYT": ""}, "Thiếu MA_THE_BHYT"),
        ({"MA_DICH_VU": ""}, "Thiếu MA_DICH_VU, MA_THUOC hoặc MA_VAT_TU"),
        ({"MA_LOAI_KCB": "11"}, "MA_LOAI_KCB không hợp lệ tại ngày vào"),  # QĐ 1804: 08/2026
        ({"MA_DOITUONG_KCB": "1.18"}, "MA_DOITUONG_KCB không hợp lệ tại ngày vào"),
        ({"MA_CSKCB": "79025"}, "MA_CSKCB khác mã cơ sở gửi"),
        ({"GIOI_TINH": "4"}, "GIOI_TINH không hợp lệ"),
    ],
)
def test_field_rules_refuse_with_205(
    fields: dict[str, str],
    message: str,
    facility: FacilityPki,
    gateway: RunningGateway,
    make_client: ClientFactory,
) -> None:
    gateway.simulator.register_facility("79024", facility.certificate_pem.read_bytes())
    client = make_client(attempts=1)
    with pytest.raises(Xml0RejectedError) as info:
        client.submit_xml0(_signed(facility, **fields), PROVINCE, "79024")
    assert (info.value.code, info.value.detail, info.value.retryable) == ("205", message, False)
    assert str(info.value) == "gateway refused the XML0 record (205)"  # no record text
    assert gateway.simulator.reports == {}


def test_a_tampered_or_foreign_signature_is_refused_with_403(
    facility: FacilityPki, gateway: RunningGateway, make_client: ClientFactory, tmp_path: Path
) -> None:
    gateway.simulator.register_facility("79024", facility.certificate_pem.read_bytes())
    client = make_client(attempts=1)
    signed = _signed(facility)
    tampered = signed.replace(b"<STT>1</STT>", b"<STT>2</STT>")
    other = make_facility(tmp_path, "Benh vien Khac")
    foreign = sign_xml0(
        build_xml0(sample_visit(), FACILITY), FacilityKey(other.key, other.certificate)
    )
    for xml, detail in ((tampered, "Chữ ký số không hợp lệ"), (foreign, "Chữ ký số không hợp lệ")):
        with pytest.raises(Xml0RejectedError) as info:
            client.submit_xml0(xml, PROVINCE, "79024")
        assert (info.value.code, info.value.detail) == ("403", detail)
    receipt = client.submit_xml0(signed, PROVINCE, "79024")
    assert receipt == client.submit_xml0(signed, PROVINCE, "79024")  # the same record again
    assert len(gateway.simulator.reports) == 1


def test_purge_keeps_a_check_in_until_its_report_is_settled(setup: Setup, dataset: Dataset) -> None:
    checkin_id = _check_in(setup, dataset)
    later = datetime.now(UTC) + timedelta(days=3)
    assert setup.store.registration_status(checkin_id) == "delivered"  # the HIS has it
    assert setup.store.purge(1, now=later) == 0  # the XML0 report is still pending
    assert setup.worker.deliver_due().delivered == 1
    assert setup.store.purge(1, now=later) == 1
    assert setup.store.xml0_report(checkin_id) is None
