"""Visit history (``Lskcb2025``, docs/domain.md §3.4): form body, token in the query string,
``maKetQua`` 401 inside HTTP 200, bounded parsing; the simulator refuses a JSON body."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime

import pytest

from hospital_adapter.errors import GatewayProtocolError
from hospital_adapter.gateway import LookupQuery, ResultCode
from hospital_adapter.gateway.history import parse_history_response
from hospital_adapter.identity import BirthDate
from simulators.bhxh_gateway import Dataset, RunningGateway

from .conftest import ClientFactory, query_for


def _with_history(dataset: Dataset, visits: bool) -> LookupQuery:
    record = next(r for r in dataset.records if bool(r.history) is visits and r.scenario.linked)
    return query_for(record)


def test_history_is_typed_and_keeps_the_diagnosis_out_of_repr(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    record = next(r for r in dataset.records if r.history and r.scenario.linked)
    result = make_client().history(query_for(record))
    assert (result.raw_code, result.code) == ("000", ResultCode.VALID)
    assert [(v.record_id, v.facility, v.admitted_at, v.discharged_at, v.diagnosis)
            for v in result.visits] == [
        (h.record_id, h.facility, h.admitted_at, h.discharged_at, h.diagnosis)
        for h in record.history
    ]  # fmt: skip
    assert all(v.diagnosis not in repr(result) for v in result.visits)
    assert gateway.simulator.stats.histories == 1


def test_no_visit_is_an_empty_history(dataset: Dataset, make_client: ClientFactory) -> None:
    result = make_client().history(_with_history(dataset, visits=False))
    assert (result.raw_code, result.visits) == ("000", ())


def test_unknown_person_answers_its_code(dataset: Dataset, make_client: ClientFactory) -> None:
    query = LookupQuery("001300999999", "Nguyễn Văn A", BirthDate(2000))
    assert make_client().history(query).raw_code == "050"


def test_refused_token_inside_http_200_is_taken_again(
    dataset: Dataset, gateway: RunningGateway, make_client: ClientFactory
) -> None:
    client = make_client()
    query = _with_history(dataset, visits=True)
    client.history(query)
    gateway.simulator.expire_tokens()
    assert client.history(query).raw_code == "000"
    assert (gateway.simulator.stats.token_takes, gateway.simulator.stats.histories) == (2, 3)


def test_simulator_refuses_a_json_body(dataset: Dataset, gateway: RunningGateway) -> None:
    person = dataset.with_outcome("000").person
    body = json.dumps({"maThe": person.id_number, "hoTen": person.full_name}).encode()
    request = urllib.request.Request(
        gateway.url + "/api/egw/Lskcb2025?" + urllib.parse.urlencode({"token": "x"}),
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer == {"maKetQua": "205", "ghiChu": "Lỗi tham số", "dsLichSuKCB2025": None}


ENTRY = {
    "maHoSo": "01929202500001",
    "maCSKCB": "01929",
    "ngayVao": "202503101030",
    "ngayRa": "202503101430",
    "tenBenh": "Viêm dạ dày",
    "tinhTrang": "4",
    "kqDieuTri": "1",
    "lyDoVV": "1",
}


def test_parser_reads_an_entry_and_a_null_list() -> None:
    body = json.dumps({"maKetQua": "000", "ghiChu": None, "dsLichSuKCB2025": [ENTRY]})
    (visit,) = parse_history_response(body.encode()).visits
    assert (visit.admitted_at, visit.discharged_at) == (
        datetime(2025, 3, 10, 10, 30),
        datetime(2025, 3, 10, 14, 30),
    )
    assert (visit.discharge_status, visit.treatment_result, visit.visit_reason) == ("4", "1", "1")
    empty = parse_history_response(b'{"maKetQua": "000", "dsLichSuKCB2025": null}')
    assert empty.visits == ()


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ({"a": 1}, "is not a list"),
        ([{}] * 4001, "more than 4000 entries"),
        ([ENTRY] * 6000, "longer than 1048576 bytes"),
        (["x"], "is not an object"),
        ([{**ENTRY, "ngayVao": "10/03/2025"}], "ngayVao is not yyyyMMddHHmm"),
        ([{**ENTRY, "tenBenh": "x" * 1001}], "tenBenh longer than 1000"),
    ],
)
def test_parser_is_bounded_and_strict(entries: object, reason: str) -> None:
    body = json.dumps({"maKetQua": "000", "dsLichSuKCB2025": entries}).encode()
    with pytest.raises(GatewayProtocolError, match=reason):
        parse_history_response(body)
