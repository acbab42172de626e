"""No personal data in logs or in the SQLite files (docs/domain.md §4.6, docs/architecture.md §4).

Lookups and check-ins of the card simulator's personas through both registrars, with the
usual failures (gateway down, garbled, refusing tokens; HIS down, AE, 422, lost answers),
every logger at DEBUG into one captured handler; then the log text and the bytes of the
store (main file, -wal, -shm, open and after close) are searched for each persona's name,
ID number, address and date of birth in several encodings, and for the gateway secrets.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hospital_adapter.config import GatewaySettings
from hospital_adapter.deadline import Deadline
from hospital_adapter.gateway import GatewayClient
from hospital_adapter.his import FhirRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.identity import BirthDate, PatientIdentity, Sex
from hospital_adapter.outbox import OutboxWorker, RetrySchedule
from hospital_adapter.service import CheckInService
from hospital_adapter.store import Store
from hospital_adapter.visit import Priority, VisitKind, VisitRequest
from simulators import his as his_sim
from simulators.bhxh_gateway import (
    DEFAULT_ACCOUNTS,
    EXPIRED,
    INSURED,
    MILITARY,
    NEW_CARD_OLD_VALID,
    UNLINKED,
    Dataset,
    control,
    find_persona_seed,
    serve,
)
from simulators.his import HisFault
from simulators.persona import Persona, ascii_name, make_persona

from .conftest import ACCOUNT, STAFF_ID, STAFF_NAME
from .helpers import KEY

SCENARIOS = (INSURED, UNLINKED, EXPIRED, NEW_CARD_OLD_VALID, MILITARY)


def _identity(persona: Persona) -> PatientIdentity:
    return PatientIdentity(
        persona.id_number,
        persona.full_name,
        BirthDate.of(persona.date_of_birth),
        Sex(persona.sex.value),
        address=persona.place_of_residence,
    )


def _forms(text: str) -> set[str]:
    """``text`` as it could leak: NFC, NFD, without diacritics, upper case, JSON-escaped."""
    nfc = unicodedata.normalize("NFC", text)
    folded = ascii_name(nfc)
    return {nfc, unicodedata.normalize("NFD", nfc), folded, folded.title(), json.dumps(nfc)[1:-1]}


def _secrets(persona: Persona) -> set[str]:
    birth = persona.date_of_birth
    return (
        _forms(persona.full_name)
        | _forms(persona.place_of_residence)
        | {persona.id_number, f"{birth:%d/%m/%Y}", birth.isoformat()}
    )


def _hits(haystack: bytes, needles: set[str]) -> list[str]:
    return sorted(n for n in needles if n.encode("utf-8") in haystack)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every logger of the process at DEBUG into one handler, tracebacks included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_no_personal_data_in_logs_or_store_files(tmp_path: Path, debug_log: io.StringIO) -> None:
    personas = [make_persona(find_persona_seed(s)) for s in SCENARIOS]
    fresh = [make_persona(find_persona_seed(INSURED, start=20 + i)) for i in range(4)]
    path = tmp_path / "kiosk.sqlite3"
    store = Store(path, KEY)
    settings = GatewaySettings(timeout_s=0.5, attempts=2, backoff_s=0.01, breaker_threshold=100)
    with serve(Dataset.for_personas(range(30))) as gateway, his_sim.serve() as his:
        settings = GatewaySettings(**{**settings.__dict__, "url": gateway.url})
        client = GatewayClient(settings, ACCOUNT)
        mllp = MllpRegistrar(*his.mllp.address, MessageHeader(), timeout_s=0.3)
        fhir = FhirRegistrar(his.fhir.url, timeout_s=0.3)
        now = RetrySchedule(base=timedelta(0))
        workers = [OutboxWorker(store, r, schedule=now) for r in (mllp, fhir)]
        services = [  # the same people check in again and again: as new visits
            CheckInService(client, r, store, outbox=w, repeat_window=timedelta(0))
            for r, w in zip((mllp, fhir), workers, strict=True)
        ]

        def check_in(
            persona: Persona, kind: VisitKind = VisitKind.INSURED, service: int = 0
        ) -> None:
            request = VisitRequest(_identity(persona), "K01", kind, Priority.ELDERLY)
            services[service].check_in(request, Deadline.after(5))

        for persona in personas:  # lookups for the choice screen, then check-ins both ways
            services[0].lookup_insurance(_identity(persona), Deadline.after(5))
            check_in(persona, service=0)
            check_in(persona, VisitKind.SELF_PAY, service=1)
        first = personas[0]
        control(gateway.url, {"down": True})  # degraded: gateway unreachable
        check_in(fresh[0])  # (not cached yet)
        control(gateway.url, {"down": False, "inject": "garbage"})
        check_in(fresh[1])
        control(gateway.url, {"inject": "401", "count": 2})  # token refused twice
        check_in(fresh[2])
        control(gateway.url, {"inject": "101", "count": 2})
        check_in(fresh[3])
        his.state.inject(HisFault.ERROR)  # AE
        check_in(first, VisitKind.SELF_PAY, service=0)
        his.state.inject(HisFault.ERROR)  # 422 with an OperationOutcome
        check_in(first, VisitKind.SELF_PAY, service=1)
        his.state.hang_s = 0.6
        his.state.inject(HisFault.HANG)  # answer lost, sent again by the worker
        check_in(personas[1], VisitKind.SELF_PAY, service=1)
        his.state.down = True
        for service in (0, 1):
            check_in(personas[2], VisitKind.SELF_PAY, service=service)
            workers[service].deliver_due()
        his.state.down = False
        retap = CheckInService(client, mllp, store, outbox=workers[0])  # a re-tap comes back
        request = VisitRequest(_identity(first), "K01", VisitKind.SELF_PAY, Priority.NONE)
        assert retap.check_in(request, Deadline.after(5)).repeated
        for worker in workers:
            worker.deliver_due()
        assert store.outbox_counts()["pending"] == 0
        assert store.verify_audit() > 0
        store.checkins()
        open_files = sorted(tmp_path.glob("kiosk.sqlite3*"))
        store_files_open = b"".join(p.read_bytes() for p in open_files)
        wal_bytes = (tmp_path / "kiosk.sqlite3-wal").stat().st_size
        client.close()
        fhir.close()
    store.close()
    store_files_closed = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("kiosk.sqlite3*")))
    log_text = debug_log.getvalue()

    # The capture worked: DEBUG lines of the libraries and the adapter's own are there.
    for expected in ("httpcore.connection DEBUG connect_tcp.started", "HIS accepted message",
                     "FHIR server accepted check-in", "gateway lookup answered from cache",
                     "degraded check-in", "not delivered: HisRejectedError AE",
                     "not delivered: HisRejectedError 422", "check-in recorded",
                     "repeat check-in, the earlier one returned"):  # fmt: skip
        assert expected in log_text
    assert [p.name for p in open_files] == [
        "kiosk.sqlite3",
        "kiosk.sqlite3-shm",
        "kiosk.sqlite3-wal",
    ]
    assert wal_bytes > 0  # recent writes were in the WAL when it was searched
    assert b"K01" in store_files_open  # the files are readable where they should be

    personal = set().union(*(_secrets(p) for p in personas + fresh))
    personal |= _forms(STAFF_NAME) | {STAFF_ID}  # the staff member is a person too
    assert _hits(log_text.encode("utf-8"), personal) == []
    assert _hits(store_files_open, personal) == []
    assert _hits(store_files_closed, personal) == []
    # Gateway secrets: the MD5 password (taken as the password itself) and the tokens.
    md5 = hashlib.md5(DEFAULT_ACCOUNTS["kiosk"].encode()).hexdigest()
    assert md5 not in log_text
    assert re.findall(r"(?:token|password)=(?!REDACTED)[^&\s\"]+", log_text) == []
    assert "token=REDACTED&id_token=REDACTED&username=kiosk&password=REDACTED" in log_text
