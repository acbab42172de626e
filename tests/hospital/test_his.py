"""HIS registration: HL7 v2.5 ADT^A04 over MLLP and FHIR R4, against the simulated HIS."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    HisProtocolError,
    HisRejectedError,
    HisUnavailableError,
    InvalidInputError,
)
from hospital_adapter.his import FhirRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.his.fhir import (
    ACT_PRIORITY_SYSTEM,
    COVERAGE_CLASS_SYSTEM,
    DEPARTMENT_SYSTEM,
    PRIORITY_CLASS_SYSTEM,
    VISIT_TYPE_SYSTEM,
    build_transaction,
    check_transaction_response,
)
from hospital_adapter.his.hl7v2 import Ack, AckCode, build_adt_a04, escape, parse_ack
from hospital_adapter.his.mllp import frame, read_frame
from hospital_adapter.identity import PatientIdentity
from hospital_adapter.visit import Priority
from simulators.his import HisFault, RunningHis

from .helpers import sample_visit

HEADER = MessageHeader("KIOSK", "79024", "HIS", "79024")
SENT = sample_visit().arrived_at

EXPECTED_A04 = (
    "MSH|^~\\&|KIOSK|79024|HIS|79024|20250310080203+0700||ADT^A04^ADT_A01|0123456789abcdef0123"
    "|P|2.5|||AL|NE|VNM|UNICODE UTF-8\r"
    "EVN|A04|20250310080203+0700||||20250310080203+0700\r"
    "PID|1||079185001234^^^BCA^NNVNM~HC4797912345678^^^BHXH^HC||Nguyễn^Hoa^Thị||19850307|F"
    "|||12 Lê Lợi \\F\\ Q1 \\T\\ P\\S\\2^^^^^VNM|||||||||||||||||||||CHIP\r"
    "PV1|1|O|K01^^^79024|||||||01|||||||||0123456789abcdef0123456789abcdef^^^79024^VN|BHYT"
    "||||||||||||||||||||||||20250310080203+0700\r"
    "PV2|||||||||||||||||||||||||CT\r"
    "IN1|1|BHYT|BHXH^^^BHXH|Bảo hiểm xã hội Việt Nam||||||||20250101|20251231||4"
    "|||||||||||||||||||||HC4797912345678\r"
)


def test_adt_a04_exact_message() -> None:
    message = build_adt_a04(sample_visit(), HEADER, SENT)
    assert message == EXPECTED_A04
    fields = {seg.split("|")[0]: seg.split("|") for seg in message.split("\r") if seg}
    assert (fields["PV1"][20], fields["PV1"][44]) == ("BHYT", "20250310080203+0700")
    assert (fields["PV1"][3], fields["PV1"][10]) == ("K01^^^79024", "01")  # MA_KHOA, MA_LOAI_KCB
    assert fields["PV2"][25] == "CT"  # the kiosk's priority class (aged)
    assert fields["PID"][32] == "CHIP"  # identity reliability: read from the verified chip
    assert (fields["IN1"][12], fields["IN1"][13]) == ("20250101", "20251231")
    assert (fields["IN1"][15], fields["IN1"][36]) == ("4", "HC4797912345678")  # benefit level
    self_pay = build_adt_a04(sample_visit(insured=False, coverage=False), HEADER, SENT)
    assert "IN1|" not in self_pay and "|DV|" in self_pay
    assert "HC4797912345678" not in self_pay


def test_escape_and_framing() -> None:
    assert escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    assert frame("MSH|ễ\r") == b"\x0bMSH|\xe1\xbb\x85\r\x1c\r"


def test_parse_ack_codes_and_errors() -> None:
    assert parse_ack("MSH|^~\\&|HIS\rMSA|AA|X1\r") == Ack(AckCode.ACCEPT, "X1", "")
    ack = parse_ack("MSH|^~\\&|HIS\rMSA|AE|X1|bad \\F\\ PID\rERR||PID^1^3\r")
    assert ack == Ack(AckCode.ERROR, "X1", "bad | PID")
    for bad, reason in [
        ("MSA|AA|X1", "does not start with MSH"),
        ("MSH|^~\\&|HIS\rPID|1\r", "no valid MSA"),
        ("MSH|^~\\&|HIS\rMSA|ZZ|X1\r", "unknown acknowledgement code"),
        ("MSH|" + "x" * 70_000, "longer than"),
    ]:
        with pytest.raises(HisProtocolError, match=reason):
            parse_ack(bad)


def test_read_frame_is_bounded() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"\x0b" + b"x" * 100 + b"\x1c\r")
        with pytest.raises(HisProtocolError, match="longer than 50"):
            read_frame(a, limit=50)
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"junk\x0bMSH\x1c\r")
        with pytest.raises(HisProtocolError, match="before the MLLP start"):
            read_frame(a)


def _mllp(his: RunningHis, timeout_s: float = 2.0) -> MllpRegistrar:
    host, port = his.mllp.address
    return MllpRegistrar(host, port, HEADER, timeout_s=timeout_s)


def test_mllp_registration_is_accepted_once(his: RunningHis) -> None:
    registrar = _mllp(his)
    visit = sample_visit()
    registrar.register(visit, Deadline.after(5))
    registrar.register(visit, Deadline.after(5))  # a retry after a lost ACK
    [registration] = his.state.registrations.values()
    assert registration.key == visit.message_id
    assert (registration.id_number, registration.family_name, registration.given_name) == (
        "079185001234",
        "Nguyễn",
        "Thị Hoa",
    )
    assert (registration.department, registration.insured) == ("K01", True)
    assert registration.card_number == "HC4797912345678"
    assert his.state.duplicates == 1


def test_mllp_ae_from_validation_is_not_retryable(his: RunningHis) -> None:
    visit = replace(sample_visit(), department="")  # no PV1-3 assigned location
    with pytest.raises(HisRejectedError) as info:
        _mllp(his).register(visit, Deadline.after(5))
    assert (info.value.status, info.value.retryable) == ("AE", False)
    assert info.value.detail == "assigned location missing"
    assert his.state.registrations == {}


def test_unverified_insured_visit_is_flagged_without_in1() -> None:
    message = build_adt_a04(sample_visit(coverage=False), HEADER, SENT)
    assert "|CHOXN|" in message and "IN1|" not in message


@pytest.mark.parametrize(("fault", "retryable"), [(HisFault.ERROR, False), (HisFault.REJECT, True)])
def test_mllp_ae_and_ar(his: RunningHis, fault: HisFault, retryable: bool) -> None:
    his.state.inject(fault)
    with pytest.raises(HisRejectedError) as info:
        _mllp(his).register(sample_visit(), Deadline.after(5))
    assert (info.value.status, info.value.retryable) == (fault.value, retryable)
    _mllp(his).register(sample_visit(), Deadline.after(5))
    assert len(his.state.registrations) == 1


def test_mllp_faults_map_to_unavailable_or_protocol(his: RunningHis) -> None:
    his.state.inject(HisFault.CLOSE)
    with pytest.raises(HisUnavailableError, match="cannot reach"):
        _mllp(his).register(sample_visit(), Deadline.after(5))
    his.state.inject(HisFault.GARBAGE)
    with pytest.raises(HisProtocolError, match="does not start with MSH"):
        _mllp(his).register(sample_visit(), Deadline.after(5))
    his.state.inject(HisFault.HANG)
    with pytest.raises(HisUnavailableError, match="in time"):
        _mllp(his, timeout_s=0.3).register(sample_visit(), Deadline.after(5))
    assert his.state.messages == 3


def test_mllp_respects_the_deadline_and_a_closed_port(his: RunningHis) -> None:
    with pytest.raises(HisUnavailableError, match="deadline"):
        _mllp(his).register(sample_visit(), Deadline.after(0))
    host, port = his.mllp.address
    his.mllp.stop()
    with pytest.raises(HisUnavailableError, match="cannot reach"):
        MllpRegistrar(host, port, HEADER).register(sample_visit(), Deadline.after(2))


def test_a_typed_id_number_reaches_the_his_without_a_name_and_marked_typed() -> None:
    visit = replace(sample_visit(insured=False), identity=PatientIdentity.typed("079185001234"))
    pid = next(seg for seg in build_adt_a04(visit, HEADER, SENT).split("\r") if seg[:3] == "PID")
    fields = pid.split("|")
    assert (fields[5], fields[7], fields[8], fields[32]) == ("", "1985", "F", "NHAP")
    patient = build_transaction(visit)["entry"][0]["resource"]
    assert "name" not in patient and patient["birthDate"] == "1985"
    assert patient["meta"]["tag"][0]["code"] == "typed"


def test_fhir_bundle_shape() -> None:
    bundle = build_transaction(sample_visit())
    assert bundle == build_transaction(sample_visit())  # same bytes on retry
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Coverage", "Encounter"]
    patient, coverage, encounter = (e["resource"] for e in bundle["entry"])
    assert patient["identifier"] == [{"system": "urn:vn:bca:cccd", "value": "079185001234"}]
    assert patient["name"] == [
        {"text": "Nguyễn Thị Hoa", "family": "Nguyễn", "given": ["Thị", "Hoa"]}
    ]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1985-03-07")
    assert patient["meta"] == {
        "tag": [{"system": "urn:cccd-toolkit:identity-trust", "code": "chip"}]
    }
    assert coverage["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    assert coverage["beneficiary"]["reference"] == bundle["entry"][0]["fullUrl"]
    assert encounter["class"]["code"] == "AMB"
    assert bundle["entry"][2]["request"] == {
        "method": "POST",
        "url": "Encounter",
        "ifNoneExist": "identifier=urn:cccd-toolkit:checkin|0123456789abcdef0123456789abcdef",
    }
    self_pay = build_transaction(sample_visit(insured=False))
    assert [e["resource"]["resourceType"] for e in self_pay["entry"]] == ["Patient", "Encounter"]


def test_fhir_response_checks() -> None:
    outcome = b'{"resourceType":"OperationOutcome","issue":[{"diagnostics":"bad gender"}]}'
    with pytest.raises(HisRejectedError) as info:
        check_transaction_response(422, outcome, 3)
    assert (info.value.status, info.value.detail, info.value.retryable) == (
        "422",
        "bad gender",
        False,
    )
    with pytest.raises(HisProtocolError, match="wrong number"):
        check_transaction_response(200, b'{"type":"transaction-response","entry":[]}', 3)
    with pytest.raises(HisProtocolError, match="not created"):
        body = b'{"type":"transaction-response","entry":[{"response":{"status":"400"}}]}'
        check_transaction_response(200, body, 1)


def test_fhir_registration_conditional_create_is_idempotent(his: RunningHis) -> None:
    registrar = FhirRegistrar(his.fhir.url, timeout_s=2.0)
    visit = sample_visit()
    registrar.register(visit, Deadline.after(5))
    registrar.register(visit, Deadline.after(5))
    [registration] = his.state.registrations.values()
    assert registration.key == visit.checkin_id
    assert (registration.id_number, registration.card_number) == ("079185001234", "HC4797912345678")
    assert (registration.given_name, registration.birth_date) == ("Thị Hoa", "1985-03-07")
    assert his.state.duplicates == 1
    second = replace(visit, checkin_id="f" * 32)
    registrar.register(second, Deadline.after(5))
    assert len(his.state.registrations) == 2
    registrar.close()


def test_fhir_faults(his: RunningHis) -> None:
    registrar = FhirRegistrar(his.fhir.url, timeout_s=0.5)
    cases: list[tuple[HisFault, type[Exception], str]] = [
        (HisFault.ERROR, HisRejectedError, "simulated fault"),
        (HisFault.REJECT, HisUnavailableError, "HTTP 503"),
        (HisFault.GARBAGE, HisProtocolError, "transaction-response"),
        (HisFault.HANG, HisUnavailableError, "in time"),
        (HisFault.CLOSE, HisUnavailableError, "cannot reach"),
    ]
    for fault, error, text in cases:
        his.state.inject(fault)
        with pytest.raises(error, match=text):
            registrar.register(sample_visit(), Deadline.after(5))
    registrar.close()


def test_read_frame_deadline_bounds_a_trickling_peer() -> None:
    a, b = socket.socketpair()
    done = threading.Event()

    def trickle() -> None:
        b.sendall(b"\x0bMSH")
        while not done.wait(0.02):
            b.sendall(b"x")

    sender = threading.Thread(target=trickle, daemon=True)
    with a, b:
        sender.start()
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            read_frame(a, deadline=Deadline.after(0.3))
        elapsed = time.monotonic() - start
        done.set()
        sender.join()
    assert 0.25 < elapsed < 1.0


def test_a_check_in_stored_under_the_2009_age_class_reads_as_elderly() -> None:
    assert Priority("aged_80_plus") is Priority.ELDERLY


@pytest.mark.parametrize(
    ("priority", "pv2"),
    [
        (Priority.NONE, None),
        (Priority.CHILD_UNDER_6, "TE"),
        (Priority.ELDERLY, "CT"),
        (Priority.DISABILITY, "KT"),
        (Priority.PREGNANT, "MT"),
        (Priority.MERIT, "CC"),
    ],
)
def test_priority_class_reaches_hl7_pv2_25_and_fhir_encounter_priority(
    priority: Priority, pv2: str | None
) -> None:
    visit = replace(sample_visit(), priority=priority)
    segments = {
        s.split("|")[0]: s.split("|") for s in build_adt_a04(visit, HEADER, SENT).split("\r")
    }
    assert (segments["PV2"][25] if "PV2" in segments else None) == pv2
    encounter = build_transaction(visit)["entry"][-1]["resource"]
    codings = encounter["priority"]["coding"]
    if priority is Priority.NONE:
        assert codings == [{"system": ACT_PRIORITY_SYSTEM, "code": "R", "display": "routine"}]
    else:
        assert codings == [
            {"system": ACT_PRIORITY_SYSTEM, "code": "A", "display": "ASAP"},
            {"system": PRIORITY_CLASS_SYSTEM, "code": priority.value},
        ]


def test_fhir_codes_come_from_the_lists_of_the_visits_day() -> None:
    bundle = build_transaction(sample_visit())
    coverage, encounter = bundle["entry"][1]["resource"], bundle["entry"][2]["resource"]
    assert coverage["class"] == [
        {
            "type": {"coding": [{"system": COVERAGE_CLASS_SYSTEM, "code": "plan"}]},
            "value": "4",
            "name": "80%",
        }
    ]
    assert encounter["type"] == [
        {"coding": [{"system": VISIT_TYPE_SYSTEM, "code": "01", "display": "Khám bệnh"}]}
    ]
    assert encounter["serviceType"] == {"coding": [{"system": DEPARTMENT_SYSTEM, "code": "K01"}]}


def test_a_department_not_in_the_list_of_the_day_is_refused() -> None:
    august = replace(
        sample_visit(),
        service_date=date(2026, 8, 3),
        arrived_at=datetime(2026, 8, 3, 2, 0, tzinfo=UTC),
        department="K61",
    )
    for build in (lambda v: build_adt_a04(v, HEADER, SENT), build_transaction):
        with pytest.raises(InvalidInputError) as info:
            build(august)
        assert info.value.field == "MA_KHOA"
    before = replace(august, service_date=date(2026, 7, 31))  # QĐ 1804 not in force yet
    assert "K61^^^79024" in build_adt_a04(before, HEADER, SENT)


@pytest.mark.parametrize(("priority", "pv2"), [(Priority.DISABILITY, "KT"), (Priority.NONE, "")])
def test_priority_reaches_the_simulated_his_both_ways(
    his: RunningHis, priority: Priority, pv2: str
) -> None:
    visit = replace(sample_visit(), priority=priority)
    _mllp(his).register(visit, Deadline.after(5))
    fhir_visit = replace(visit, checkin_id="f" * 32)
    FhirRegistrar(his.fhir.url, timeout_s=2.0).register(fhir_visit, Deadline.after(5))
    by_key = his.state.registrations
    assert by_key[visit.message_id].priority == pv2
    assert by_key["f" * 32].priority == ("" if priority is Priority.NONE else priority.value)
