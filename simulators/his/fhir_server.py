"""A simulated FHIR R4 endpoint taking transaction Bundles (FHIR R4 http.html#transaction).

Honours conditional creates (``ifNoneExist`` = ``identifier=system|value``): an existing
match answers ``200 OK`` and creates nothing. Checks references inside the Bundle resolve,
and answers 422 with an OperationOutcome for what it cannot accept.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulators.his.state import HisFault, HisState, Registration
from simulators.server_thread import ServerThread

MAX_BODY = 1024 * 1024
"""How often the serving thread looks for a stop request (``stop()`` waits that long)."""


class _Unprocessable(Exception):  # noqa: N818 - an HTTP status name
    pass


def _identifier(resource: dict[str, Any]) -> tuple[str, str]:
    ids = resource.get("identifier")
    if not isinstance(ids, list) or not ids or not isinstance(ids[0], dict):
        raise _Unprocessable(f"{resource.get('resourceType')} without identifier")
    return str(ids[0].get("system", "")), str(ids[0].get("value", ""))


class FhirStore:
    """Resources by (type, identifier system, value): enough for conditional creates."""

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def count(self, resource_type: str) -> int:
        """How many resources of ``resource_type`` were created."""
        with self.lock:
            return sum(1 for key in self.resources if key[0] == resource_type)

    def transaction(self, bundle: object, state: HisState) -> dict[str, Any]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise _Unprocessable("not a Bundle")
        if bundle.get("type") != "transaction":
            raise _Unprocessable("Bundle.type must be transaction")
        entries = bundle.get("entry")
        if not isinstance(entries, list) or not entries:
            raise _Unprocessable("empty Bundle")
        full_urls = {e.get("fullUrl"): e.get("resource") for e in entries if isinstance(e, dict)}
        plan = [self._check(entry, full_urls) for entry in entries]
        responses = []
        with self.lock:
            for key, resource in plan:
                if key in self.resources:
                    responses.append({"response": {"status": "200 OK"}})
                    if key[0] == "Encounter":
                        state.duplicates += 1
                    continue
                self.resources[key] = resource
                responses.append({"response": {"status": "201 Created"}})
                if key[0] == "Encounter":
                    state.register(_registration(resource, full_urls, key[2]))
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}

    @staticmethod
    def _check(
        entry: object, full_urls: dict[Any, Any]
    ) -> tuple[tuple[str, str, str], dict[str, Any]]:
        if not isinstance(entry, dict):
            raise _Unprocessable("entry is not an object")
        resource, request = entry.get("resource"), entry.get("request")
        if not isinstance(resource, dict) or not isinstance(request, dict):
            raise _Unprocessable("entry without resource or request")
        kind = resource.get("resourceType")
        if request.get("method") != "POST" or request.get("url") != kind:
            raise _Unprocessable(f"{kind}: expected POST {kind}")
        system, value = _identifier(resource)
        if request.get("ifNoneExist") != f"identifier={system}|{value}":
            raise _Unprocessable(f"{kind}: ifNoneExist must match the identifier")
        for field in ("subject", "beneficiary"):
            if field in resource:
                ref = (
                    resource[field].get("reference") if isinstance(resource[field], dict) else None
                )
                if ref not in full_urls:
                    raise _Unprocessable(f"{kind}.{field} does not resolve in the Bundle")
        if kind == "Patient" and not (value.isdigit() and len(value) == 12):
            raise _Unprocessable("Patient identifier must be a 12-digit ID number")
        if kind == "Patient" and resource.get("gender") not in ("male", "female"):
            raise _Unprocessable("Patient.gender missing")
        if kind not in ("Patient", "Coverage", "Encounter"):
            raise _Unprocessable(f"unexpected resource {kind}")
        return (str(kind), system, value), resource


def _registration(encounter: dict[str, Any], full_urls: dict[Any, Any], key: str) -> Registration:
    patient = full_urls[encounter["subject"]["reference"]]
    coverage = next(
        (
            r
            for r in full_urls.values()
            if isinstance(r, dict) and r.get("resourceType") == "Coverage"
        ),
        None,
    )
    name = patient.get("name", [{}])[0]
    return Registration(
        key=key,
        id_number=_identifier(patient)[1],
        family_name=str(name.get("family", "")),
        given_name=" ".join(name.get("given", [])),
        birth_date=str(patient.get("birthDate", "")),
        sex="M" if patient.get("gender") == "male" else "F",
        department=str(encounter.get("serviceType", {}).get("coding", [{}])[0].get("code", "")),
        insured=coverage is not None,
        card_number="" if coverage is None else _identifier(coverage)[1],
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: bundles carry personal data."""

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _outcome("too large"))
            return
        raw = self.rfile.read(length)
        fault = state.next_fault()
        if fault is HisFault.CLOSE:
            self.close_connection = True
            return
        if fault is HisFault.ERROR:
            self._send(422, _outcome("simulated fault"))
            return
        if fault is HisFault.REJECT:
            self._send(503, _outcome("simulated overload"))
            return
        if fault is HisFault.GARBAGE:
            self._send(200, {"resourceType": "Bundle", "type": "searchset"})
            return
        try:
            answer = self.server.store.transaction(json.loads(raw), state)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._send(400, _outcome("body is not JSON"))
            return
        except _Unprocessable as exc:
            self._send(422, _outcome(str(exc)))
            return
        if fault is HisFault.HANG:
            time.sleep(state.hang_s)
        self._send(200, answer)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: HisState) -> None:
        self.state = state
        self.store = FhirStore()
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: clients hanging up are part of the simulation."""


class FhirEndpoint(ServerThread):
    """The FHIR side of the simulated HIS, serving on a background thread."""

    def __init__(self, state: HisState, host: str = "127.0.0.1", port: int = 0) -> None:
        self._fhir = _Server((host, port), state)
        super().__init__(self._fhir, "his-fhir-sim")

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/fhir"

    @property
    def store(self) -> FhirStore:
        """The resources created so far (conditional creates make retries create nothing)."""
        return self._fhir.store
