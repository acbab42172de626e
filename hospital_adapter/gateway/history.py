"""Visit history at the BHXH gateway: ``POST /api/egw/Lskcb2025`` (docs/domain.md §3.4).

Since CV 2746/BHXH-CNTT the card check no longer returns the history; this endpoint does.
It takes the lookup's five fields form URL-encoded (a JSON body is refused) and the token
in the query string, and answers ``{"maKetQua": "000", "dsLichSuKCB2025": [...]}``, the
list ``null`` or empty when there is no visit. Parsed bounded into frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hospital_adapter.errors import GatewayProtocolError
from hospital_adapter.gateway.codes import ResultCode
from hospital_adapter.gateway.wire import load_object, result_code, text_field

HISTORY_PATH = "/api/egw/Lskcb2025"
HISTORY_LIST = "dsLichSuKCB2025"
MAX_HISTORY_BYTES = 1024 * 1024
"""A long history (a chronic patient seen weekly for years) outgrows the card check's
64 KiB: an entry is about 250 bytes."""
MAX_VISITS = 4000
"""More entries than this is not a visit history but a broken answer."""
_TIME_FORMAT = "%Y%m%d%H%M"


@dataclass(frozen=True)
class PastVisit:
    """One entry of ``dsLichSuKCB2025``; the diagnosis is personal data (kept out of repr)."""

    record_id: str
    """``maHoSo``: the visit file's number at BHXH."""
    facility: str
    """``maCSKCB``."""
    admitted_at: datetime | None
    """``ngayVao`` (``yyyyMMddHHmm``, hospital time, no zone)."""
    discharged_at: datetime | None
    """``ngayRa``."""
    diagnosis: str = field(repr=False)
    """``tenBenh``."""
    discharge_status: str
    """``tinhTrang``, a code."""
    treatment_result: str
    """``kqDieuTri``, a code."""
    visit_reason: str
    """``lyDoVV``, a code."""


@dataclass(frozen=True)
class VisitHistory:
    """A typed ``Lskcb2025`` answer: ``visits`` is empty unless ``raw_code`` is ``000``."""

    raw_code: str
    code: ResultCode | None
    note: str = field(repr=False)
    visits: tuple[PastVisit, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (times ISO 8601)."""

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "code": self.raw_code,
            "note": self.note,
            "visits": [
                {
                    "record_id": v.record_id,
                    "facility": v.facility,
                    "admitted_at": iso(v.admitted_at),
                    "discharged_at": iso(v.discharged_at),
                    "diagnosis": v.diagnosis,
                    "discharge_status": v.discharge_status,
                    "treatment_result": v.treatment_result,
                    "visit_reason": v.visit_reason,
                }
                for v in self.visits
            ],
        }


def _time(entry: dict[str, object], key: str) -> datetime | None:
    text = text_field(entry, key)
    if not text:
        return None
    try:
        return datetime.strptime(text, _TIME_FORMAT)
    except ValueError:
        raise GatewayProtocolError(f"{key} is not yyyyMMddHHmm") from None


def _visit(entry: object) -> PastVisit:
    if not isinstance(entry, dict):
        raise GatewayProtocolError(f"an entry of {HISTORY_LIST} is not an object")
    return PastVisit(
        record_id=text_field(entry, "maHoSo"),
        facility=text_field(entry, "maCSKCB"),
        admitted_at=_time(entry, "ngayVao"),
        discharged_at=_time(entry, "ngayRa"),
        diagnosis=text_field(entry, "tenBenh"),
        discharge_status=text_field(entry, "tinhTrang"),
        treatment_result=text_field(entry, "kqDieuTri"),
        visit_reason=text_field(entry, "lyDoVV"),
    )


def parse_history_response(body: bytes) -> VisitHistory:
    """Type an ``Lskcb2025`` answer; :class:`GatewayProtocolError` if it is not one."""
    data = load_object(body, MAX_HISTORY_BYTES)
    raw = result_code(data)
    entries = data.get(HISTORY_LIST)
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise GatewayProtocolError(f"{HISTORY_LIST} is not a list")
    if len(entries) > MAX_VISITS:
        raise GatewayProtocolError(f"{HISTORY_LIST} has more than {MAX_VISITS} entries")
    return VisitHistory(
        raw_code=raw,
        code=ResultCode.lookup(raw),
        note=text_field(data, "ghiChu"),
        visits=tuple(_visit(entry) for entry in entries),
    )
