"""FHIR R4 registration: a transaction Bundle of Patient, Coverage and Encounter with
conditional creates (``ifNoneExist``, FHIR R4 §3.1.0.8.1 / http.html#ccreate).

Codes come from the Ministry's lists in force on the visit's day
(:mod:`hospital_adapter.codelists`): ``Encounter.type`` is ``MA_LOAI_KCB``,
``Encounter.serviceType`` ``MA_KHOA``, ``Coverage.class`` (plan) the card's benefit level.
``Encounter.priority`` carries the kiosk's priority class: v3 ActPriority ``A`` (as soon as
possible) or ``R`` (routine), with the class itself as a second coding. ``Patient.meta.tag``
says how the kiosk learned the identity (:class:`~hospital_adapter.identity.IdentityTrust`).

The Encounter's identifier is the check-in id, so a retried Bundle finds the Encounter
already there and creates nothing twice. Bundle entry ids are UUIDv5 of the check-in, so
a retry sends the same bytes. Pure: building and parsing only; the transport is
:mod:`hospital_adapter.his.fhir_client`.

A known patient is found with a Patient search by token (FHIR R4 search.html#token,
``identifier=system|value``) answered by a ``searchset`` Bundle (FHIR R4 bundle.html).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from hospital_adapter.codelists import (
    EXAMINATION,
    CodeSystem,
    benefit_level,
    check_department,
    name_of,
)
from hospital_adapter.errors import HisProtocolError, HisRejectedError, InvalidInputError
from hospital_adapter.his.base import KnownPatient, PatientKey
from hospital_adapter.identity import BirthDate, Sex
from hospital_adapter.visit import Priority, Visit, VisitKind

ID_SYSTEM = "urn:vn:bca:cccd"
"""Identifier system of the 12-digit ID number [open: no national FHIR profile yet]."""
BHYT_SYSTEM = "urn:vn:bhxh:bhyt"
BHXH_NUMBER_SYSTEM = "urn:vn:bhxh:ma-so-bhxh"
"""Identifier system of the 10-digit BHXH number [open: no national FHIR profile yet]."""
MAX_SEARCH_ENTRIES = 20
CHECKIN_SYSTEM = "urn:cccd-toolkit:checkin"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
COVERAGE_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/coverage-class"
VISIT_TYPE_SYSTEM = "urn:vn:byt:ma-loai-kcb"
DEPARTMENT_SYSTEM = "urn:vn:byt:ma-khoa"
PRIORITY_CLASS_SYSTEM = "urn:cccd-toolkit:priority-class"
IDENTITY_TRUST_SYSTEM = "urn:cccd-toolkit:identity-trust"
"""Systems of the Ministry's codes and of the kiosk's classes [open: no national profile]."""
MAX_RESPONSE_BYTES = 1024 * 1024
_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")


def _urn(visit: Visit, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{visit.checkin_id}/{kind}')}"


def _birth_date(visit: Visit) -> str:
    birth = visit.identity.date_of_birth
    if birth.month is None or birth.day is None:
        return f"{birth.year:04d}"
    return f"{birth.year:04d}-{birth.month:02d}-{birth.day:02d}"


def _priority(priority: Priority) -> dict[str, Any]:
    if priority is Priority.NONE:
        return {"coding": [{"system": ACT_PRIORITY_SYSTEM, "code": "R", "display": "routine"}]}
    return {
        "coding": [
            {"system": ACT_PRIORITY_SYSTEM, "code": "A", "display": "ASAP"},
            {"system": PRIORITY_CLASS_SYSTEM, "code": priority.value},
        ]
    }


def build_transaction(visit: Visit) -> dict[str, Any]:
    """The transaction Bundle registering ``visit`` (Patient, Coverage if insured, Encounter)."""
    ident = visit.identity
    words = ident.full_name.split()
    patient_ref = _urn(visit, "Patient")
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"tag": [{"system": IDENTITY_TRUST_SYSTEM, "code": ident.trust.value}]},
        "identifier": [{"system": ID_SYSTEM, "value": ident.id_number}],
        "gender": "male" if ident.sex.hl7_code == "M" else "female",
        "birthDate": _birth_date(visit),
    }
    if words:
        patient["name"] = [{"text": ident.full_name, "family": words[0], "given": words[1:]}]
    if ident.address:
        patient["address"] = [{"text": ident.address, "country": "VN"}]
    entries = [_entry(patient_ref, patient, f"identifier={ID_SYSTEM}|{ident.id_number}")]
    cov = visit.coverage
    if visit.visit_kind is VisitKind.INSURED and cov is not None:
        coverage: dict[str, Any] = {
            "resourceType": "Coverage",
            "status": "active",
            "identifier": [{"system": BHYT_SYSTEM, "value": cov.card_number}],
            "beneficiary": {"reference": patient_ref},
            "payor": [{"display": "Bảo hiểm xã hội Việt Nam"}],
        }
        period = {
            key: day.isoformat()
            for key, day in (("start", cov.valid_from), ("end", cov.valid_to))
            if day is not None
        }
        if period:
            coverage["period"] = period
        level = benefit_level(cov.card_number, visit.service_date)
        if level is not None:
            plan = {"coding": [{"system": COVERAGE_CLASS_SYSTEM, "code": "plan"}]}
            coverage["class"] = [{"type": plan, "value": level.code, "name": level.name}]
        entries.append(
            _entry(_urn(visit, "Coverage"), coverage, f"identifier={BHYT_SYSTEM}|{cov.card_number}")
        )
    day = visit.service_date
    department = {"system": DEPARTMENT_SYSTEM, "code": check_department(visit.department, day)}
    encounter = {
        "resourceType": "Encounter",
        "status": "arrived",
        "identifier": [{"system": CHECKIN_SYSTEM, "value": visit.checkin_id}],
        "class": {"system": ACT_CODE_SYSTEM, "code": "AMB"},
        "type": [{"coding": [_visit_type(day)]}],
        "priority": _priority(visit.priority),
        "subject": {"reference": patient_ref},
        "serviceType": {"coding": [department]},
        "period": {"start": visit.arrived_at.isoformat()},
    }
    entries.append(
        _entry(
            _urn(visit, "Encounter"), encounter, f"identifier={CHECKIN_SYSTEM}|{visit.checkin_id}"
        )
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _visit_type(day: date) -> dict[str, str]:
    """``MA_LOAI_KCB`` of an examination as a Coding, named as the list in force names it."""
    name = name_of(CodeSystem.VISIT_TYPE, EXAMINATION, day)
    return {"system": VISIT_TYPE_SYSTEM, "code": EXAMINATION, **({"display": name} if name else {})}


def _entry(full_url: str, resource: dict[str, Any], if_none_exist: str) -> dict[str, Any]:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": if_none_exist,
        },
    }


def _outcome_text(data: object) -> str:
    if isinstance(data, dict) and data.get("resourceType") == "OperationOutcome":
        issues = data.get("issue")
        if isinstance(issues, list):
            texts = [
                str(i.get("diagnostics") or i.get("code") or "")
                for i in issues
                if isinstance(i, dict)
            ]
            return "; ".join(t for t in texts if t)[:300]
    return ""


def _answer_json(body: bytes) -> Any:
    """A FHIR answer's JSON, ``None`` when empty or not JSON; refused when too long."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise HisProtocolError(f"FHIR answer longer than {MAX_RESPONSE_BYTES} bytes")
    try:
        return json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def check_transaction_response(status: int, body: bytes, expected_entries: int) -> None:
    """Raise unless ``body`` is a transaction-response with a 2xx status for every entry.

    4xx answers are :class:`HisRejectedError` (retryable for 408/409/429: conflicts and
    throttling), malformed ones :class:`HisProtocolError`. 5xx is the caller's to map.
    """
    data = _answer_json(body)
    if 400 <= status < 500:
        text = _outcome_text(data) or f"HTTP {status}"
        raise HisRejectedError(str(status), text, retryable=status in (408, 409, 429))
    if not isinstance(data, dict) or data.get("type") != "transaction-response":
        raise HisProtocolError("FHIR answer is not a transaction-response Bundle")
    entries = data.get("entry")
    if not isinstance(entries, list) or len(entries) != expected_entries:
        raise HisProtocolError("FHIR transaction-response has the wrong number of entries")
    for entry in entries:
        response = entry.get("response") if isinstance(entry, dict) else None
        code = response.get("status") if isinstance(response, dict) else None
        if not isinstance(code, str) or not code.startswith("2"):
            raise HisProtocolError(f"FHIR entry not created: {str(code)[:40]}")


def patient_search(number: str) -> dict[str, str]:
    """The Patient search parameters finding the ID (or BHXH) ``number``: ``identifier``
    as a token ``system|value`` (FHIR R4 search.html#token)."""
    system = ID_SYSTEM if PatientKey.of(number) is PatientKey.ID_NUMBER else BHXH_NUMBER_SYSTEM
    return {"identifier": f"{system}|{number}"}


def parse_patient_search(status: int, body: bytes) -> KnownPatient | None:
    """The one Patient of a ``searchset`` Bundle (``None`` for none or several matches).

    4xx: :class:`HisRejectedError`; a body that is not a searchset Bundle of Patients with
    a usable ID number, name, birth date and gender: :class:`HisProtocolError`.
    """
    data = _answer_json(body)
    if 400 <= status < 500:
        raise HisRejectedError(
            str(status), _outcome_text(data) or f"HTTP {status}", retryable=False
        )
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise HisProtocolError("FHIR answer is not a Bundle")
    if data.get("type") != "searchset":
        raise HisProtocolError("FHIR answer is not a searchset Bundle")
    entries = data.get("entry", [])
    if not isinstance(entries, list) or len(entries) > MAX_SEARCH_ENTRIES:
        raise HisProtocolError("FHIR searchset has an unusable entry list")
    patients: list[dict[str, Any]] = [
        e["resource"]
        for e in entries
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Patient"
        and (e.get("search") or {}).get("mode", "match") == "match"
    ]
    if len(patients) != 1:
        return None
    return _known_patient(patients[0])


def _known_patient(patient: dict[str, Any]) -> KnownPatient | None:
    """``None`` for a Patient without a name (registered from a typed number)."""
    identifiers = patient.get("identifier")
    if not isinstance(identifiers, list):
        raise HisProtocolError("FHIR Patient has no identifier")

    def values(system: str) -> list[str]:
        return [
            str(i.get("value", ""))
            for i in identifiers
            if isinstance(i, dict) and i.get("system") == system
        ]

    ids, cards = values(ID_SYSTEM), values(BHYT_SYSTEM)
    if len(ids) != 1:
        raise HisProtocolError("FHIR Patient has no single ID number")
    names = patient.get("name")
    name = names[0] if isinstance(names, list) and names and isinstance(names[0], dict) else {}
    text = name.get("text")
    if not isinstance(text, str):
        given = name.get("given")
        parts = [name.get("family", ""), *(given if isinstance(given, list) else [])]
        text = " ".join(str(part) for part in parts if part)
    if not text.strip():
        return None
    gender = {"male": Sex.MALE, "female": Sex.FEMALE}.get(str(patient.get("gender")))
    if gender is None:
        raise HisProtocolError("FHIR Patient has no gender male or female")
    born = str(patient.get("birthDate", ""))
    try:
        if len(born) == 4:
            birth = BirthDate(int(born))
        elif len(born) == 10 and born[4] == born[7] == "-":
            birth = BirthDate(int(born[:4]), int(born[5:7]), int(born[8:10]))
        else:
            raise InvalidInputError("date of birth", "expected YYYY or YYYY-MM-DD")
        return KnownPatient(ids[0], text, birth, gender, cards[0] if len(cards) == 1 else None)
    except (InvalidInputError, ValueError) as exc:
        field = getattr(exc, "field", "date of birth")
        raise HisProtocolError(f"FHIR Patient has an unusable {field}") from None
