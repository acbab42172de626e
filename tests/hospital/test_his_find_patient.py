"""Finding a returning patient at the HIS by ID or BHXH number (issue #15): IHE PDQ
(ITI TF-2 §3.21, ITI-21) over MLLP and a FHIR R4 Patient search, against the simulated HIS
on 127.0.0.1; the messages exact; faults end in the package's errors by the deadline."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    HisProtocolError,
    HisRejectedError,
    HisUnavailableError,
    InvalidInputError,
)
from hospital_adapter.his import (
    FhirRegistrar,
    KnownPatient,
    MessageHeader,
    MllpRegistrar,
    PatientFinder,
)
from hospital_adapter.his.fhir import parse_patient_search, patient_search
from hospital_adapter.his.hl7v2 import build_pdq_query, parse_pdq_response
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from simulators.his import HisFault, RunningHis, known_patient

from .helpers import sample_visit

HEADER = MessageHeader("KIOSK", "79024", "HIS", "79024")
SENT = datetime(2025, 3, 10, 1, 2, 3, tzinfo=UTC)
HOA = KnownPatient("079185001234", "Nguyễn Thị Hoa", BirthDate(1985, 3, 7), Sex.FEMALE,
                   "HC4797912345678")  # fmt: skip
"""As the sample visit registers her."""
BINH = known_patient("079090001111", "Trần Văn Bình", "1990", "M")

EXPECTED_QBP = (
    "MSH|^~\\&|KIOSK|79024|HIS|79024|20250310080203+0700||QBP^Q22^QBP_Q21|q1|P|2.5"
    "|||||VNM|UNICODE UTF-8\r"
    "QPD|IHE PDQ Query|q1|@PID.3.1^079185001234~@PID.3.4^BCA~@PID.3.5^NNVNM\r"
    "RCP|I|2^RD\r"
)


def _rsp(*segments: str, control: str = "q1", ack: str = "AA", status: str = "OK") -> str:
    head = [
        "MSH|^~\\&|HIS||KIOSK||20250310080204||RSP^K22^RSP_K21|r1|P|2.5|||||||UNICODE UTF-8",
        f"MSA|{ack}|{control}",
        f"QAK|{control}|{status}|IHE PDQ Query",
    ]
    return "\r".join([*head, *segments]) + "\r"


HOA_PID = "PID|1||079185001234^^^BCA^NNVNM~HC4797912345678^^^BHXH^HC||Nguyễn^Hoa^Thị||19850307|F"


@pytest.fixture
def mllp(his: RunningHis) -> MllpRegistrar:
    host, port = his.mllp.address
    return MllpRegistrar(host, port, HEADER, timeout_s=1.0)


@pytest.fixture
def fhir(his: RunningHis) -> Iterator[FhirRegistrar]:
    registrar = FhirRegistrar(his.fhir.url, timeout_s=1.0)
    yield registrar
    registrar.close()


# -- the messages --------------------------------------------------------------------------


def test_pdq_query_exact_message() -> None:
    assert build_pdq_query("079185001234", HEADER, SENT, "q1") == EXPECTED_QBP
    by_bhxh = build_pdq_query("7912345678", HEADER, SENT, "q1").split("\r")[1]
    assert by_bhxh == "QPD|IHE PDQ Query|q1|@PID.3.1^7912345678~@PID.3.4^BHXH~@PID.3.5^SS"
    with pytest.raises(InvalidInputError):
        build_pdq_query("12345", HEADER, SENT, "q1")


def test_pdq_answer_parsed_to_the_known_patient() -> None:
    assert parse_pdq_response(_rsp(HOA_PID), "q1") == HOA
    year_only = HOA_PID.replace("19850307", "1985").replace("~HC4797912345678^^^BHXH^HC", "")
    found = parse_pdq_response(_rsp(year_only), "q1")
    assert found is not None and (found.date_of_birth, found.bhyt_number) == (BirthDate(1985), None)
    assert parse_pdq_response(_rsp(status="NF"), "q1") is None
    assert parse_pdq_response(_rsp(HOA_PID, HOA_PID.replace("PID|1", "PID|2")), "q1") is None
    assert parse_pdq_response(_rsp(HOA_PID.replace("Nguyễn^Hoa^Thị", "")), "q1") is None


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_rsp(HOA_PID, control="other"), "PDQ answer is for another query"),
        (_rsp(), "PDQ answer says OK but has no PID segment"),
        (_rsp(HOA_PID.replace("^^^BCA^NNVNM", "")), "PDQ patient has no single ID number in PID-3"),
        (_rsp(HOA_PID.replace("|F", "|X")), "PDQ patient has no sex M or F in PID-8"),
        (
            _rsp(HOA_PID.replace("19850307", "19851307")),
            "PDQ patient has an unusable date of birth",
        ),
        (
            _rsp(HOA_PID.replace("079185001234", "07918500123")),
            "PDQ patient has an unusable ID number",
        ),
        (_rsp(status="XX"), "PDQ answer has unknown codes 'AA'/'XX'"),
        (_rsp(*["NTE|1"] * 40), "PDQ answer has more than 40 segments"),
        ("MSH|^~\\&|" + "x" * 70000, "PDQ answer longer than 65536 characters"),
        ("not hl7", "PDQ answer does not start with MSH"),
        (
            _rsp(HOA_PID).replace("RSP^K22^RSP_K21", "ACK^A04^ACK"),
            "PDQ answer is not an RSP^K22 ('ACK^A04^ACK')",
        ),
    ],
)
def test_malformed_pdq_answers_are_protocol_errors(answer: str, error: str) -> None:
    with pytest.raises(HisProtocolError) as caught:
        parse_pdq_response(answer, "q1")
    assert str(caught.value) == error


def test_pdq_refusal_is_a_rejection() -> None:
    with pytest.raises(HisRejectedError) as caught:
        parse_pdq_response(_rsp(ack="AE", status="AE"), "q1")
    assert (caught.value.status, caught.value.retryable) == ("AE", False)


def test_fhir_search_parameters_and_answer() -> None:
    assert patient_search("079185001234") == {"identifier": "urn:vn:bca:cccd|079185001234"}
    assert patient_search("7912345678") == {"identifier": "urn:vn:bhxh:ma-so-bhxh|7912345678"}
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:vn:bca:cccd", "value": "079185001234"},
            {"system": "urn:vn:bhxh:bhyt", "value": "HC4797912345678"},
        ],
        "name": [{"family": "Nguyễn", "given": ["Thị", "Hoa"]}],
        "gender": "female",
        "birthDate": "1985-03-07",
    }
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": patient}]}
    assert parse_patient_search(200, json.dumps(bundle).encode()) == HOA
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    assert parse_patient_search(200, json.dumps(empty).encode()) is None
    two = {**bundle, "entry": [{"resource": patient}] * 2}
    assert parse_patient_search(200, json.dumps(two).encode()) is None
    for body, error in (
        (b"{", "FHIR answer is not a Bundle"),
        (b'{"resourceType": "Bundle", "type": "transaction-response"}',
         "FHIR answer is not a searchset Bundle"),
        (json.dumps({**bundle, "entry": [{"resource": {**patient, "gender": "x"}}]}).encode(),
         "FHIR Patient has no gender male or female"),
        (json.dumps({**bundle, "entry": [{"resource": {**patient, "birthDate": "85"}}]}).encode(),
         "FHIR Patient has an unusable date of birth"),
    ):  # fmt: skip
        with pytest.raises(HisProtocolError) as caught:
            parse_patient_search(200, body)
        assert str(caught.value) == error
    with pytest.raises(HisRejectedError):
        parse_patient_search(403, b"")


# -- round trips with the simulated HIS ------------------------------------------------------


def test_both_registrars_are_patient_finders(mllp: MllpRegistrar, fhir: FhirRegistrar) -> None:
    assert isinstance(mllp, PatientFinder) and isinstance(fhir, PatientFinder)


@pytest.mark.parametrize("channel", ["mllp", "fhir"])
def test_a_registered_patient_is_found_by_id_and_bhxh_number(
    his: RunningHis, mllp: MllpRegistrar, fhir: FhirRegistrar, channel: str
) -> None:
    finder: MllpRegistrar | FhirRegistrar = mllp if channel == "mllp" else fhir
    assert finder.find_patient("079185001234", Deadline.after(2)) is None, "not yet known"
    finder.register(sample_visit(), Deadline.after(2))
    assert finder.find_patient("079185001234", Deadline.after(2)) == HOA
    assert finder.find_patient("7912345678", Deadline.after(2)) == HOA
    assert finder.find_patient("079185009999", Deadline.after(2)) is None
    assert finder.find_patient("7912345679", Deadline.after(2)) is None
    assert his.state.queries == 5


@pytest.mark.parametrize("channel", ["mllp", "fhir"])
def test_a_preloaded_patient_is_found_and_a_typed_registration_is_not(
    his: RunningHis, mllp: MllpRegistrar, fhir: FhirRegistrar, channel: str
) -> None:
    finder: MllpRegistrar | FhirRegistrar = mllp if channel == "mllp" else fhir
    his.state.preload(BINH)
    found = finder.find_patient("079090001111", Deadline.after(2))
    assert found == KnownPatient("079090001111", "Trần Văn Bình", BirthDate(1990), Sex.MALE)
    typed = sample_visit(insured=False)
    typed = typed.__class__(**{**typed.__dict__, "identity": PatientIdentity.typed("079185001234")})
    finder.register(typed, Deadline.after(2))
    assert len(his.state.registrations) == 1
    assert finder.find_patient("079185001234", Deadline.after(2)) is None, "no name: not known"


def test_fhir_search_by_get_as_well(his: RunningHis) -> None:
    his.state.preload(BINH)
    url = f"{his.fhir.url}/Patient?identifier=urn:vn:bca:cccd%7C079090001111"
    with urllib.request.urlopen(url, timeout=2) as answer:
        bundle = json.load(answer)
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    assert bundle["entry"][0]["resource"]["name"][0]["text"] == "Trần Văn Bình"


@pytest.mark.parametrize("channel", ["mllp", "fhir"])
def test_his_down_slow_or_garbled(
    his: RunningHis, mllp: MllpRegistrar, fhir: FhirRegistrar, channel: str
) -> None:
    finder: MllpRegistrar | FhirRegistrar = mllp if channel == "mllp" else fhir
    his.state.preload(BINH)
    his.state.down = True
    with pytest.raises(HisUnavailableError):
        finder.find_patient("079090001111", Deadline.after(2))
    his.state.down = False
    his.state.inject(HisFault.HANG)
    started = time.monotonic()
    with pytest.raises(HisUnavailableError):
        finder.find_patient("079090001111", Deadline.after(0.5))
    assert time.monotonic() - started < 0.9, "the deadline, not the HIS's 3 s"
    his.state.inject(HisFault.GARBAGE)
    with pytest.raises(HisProtocolError):
        finder.find_patient("079090001111", Deadline.after(2))
    assert finder.find_patient("079090001111", Deadline.after(2)) is not None
