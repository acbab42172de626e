"""A simulated FHIR R4 endpoint taking transaction Bundles (FHIR R4 http.html#transaction).

Honours conditional creates (``ifNoneExist`` = ``identifier=system|value``): an existing
match answers ``200 OK`` and creates nothing. Checks references inside the Bundle resolve,
and answers 422 with an OperationOutcome for what it cannot accept. Optionally over TLS,
and asking for a bearer token (:class:`FhirAuth`): a fixed one, or tokens it issues at
``/token`` to an OAuth2 client (client credentials grant, RFC 6749 §4.4).

Patient search by identifier token (FHIR R4 search.html#token), as ``GET [base]/Patient?
identifier=system|value`` or ``POST [base]/Patient/_search`` with a form body (FHIR R4
http.html#search): a ``searchset`` Bundle of the patients the HIS knows with that ID number
(``urn:vn:bca:cccd``) or BHXH number (``urn:vn:bhxh:ma-so-bhxh``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from simulators.his.state import HisFault, HisState, Registration
from simulators.server_thread import ServerThread

MAX_BODY = 1024 * 1024
"""How often the serving thread looks for a stop request (``stop()`` waits that long)."""


class _Unprocessable(Exception):  # noqa: N818 - an HTTP status name
    pass


@dataclasses.dataclass
class FhirAuth:
    """What the server asks of its clients: ``token`` (a fixed bearer token), or tokens
    issued at ``/token`` to ``client_id``/``client_secret`` (HTTP Basic, RFC 6749 §2.3.1),
    each valid ``expires_in`` seconds. ``issued`` counts grants, ``refused`` the 401s."""

    token: str = ""
    client_id: str = ""
    client_secret: str = ""
    expires_in: int = 3600
    issued: int = 0
    refused: int = 0
    _valid: dict[str, float] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def accepts(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._lock:
            if self.token and secrets.compare_digest(token, self.token):
                return True
            return self._valid.get(token, 0.0) > time.monotonic()

    def grant(self, authorization: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer to a client credentials request."""
        scheme, _, encoded = authorization.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user = password = ""
        if scheme.lower() != "basic" or (unquote_plus(user), unquote_plus(password)) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._valid[token] = time.monotonic() + self.expires_in
            self.issued += 1
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}

    def refuse(self) -> None:
        with self._lock:
            self.refused += 1

    def revoke_all(self) -> None:
        """Forget every issued token (the next call with one gets 401)."""
        with self._lock:
            self._valid.clear()


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


_SEARCH_SYSTEMS = {"urn:vn:bca:cccd": 12, "urn:vn:bhxh:ma-so-bhxh": 10}
"""Identifier systems a Patient search may use, and the length of their numbers."""


def _search(query: dict[str, list[str]], state: HisState) -> dict[str, Any]:
    """The searchset Bundle answering ``identifier=system|value`` (422 for anything else)."""
    values = query.get("identifier", [])
    if len(values) != 1:
        raise _Unprocessable("exactly one identifier=system|value expected")
    system, _, number = values[0].partition("|")
    if len(number) != _SEARCH_SYSTEMS.get(system, -1) or not number.isdigit():
        raise _Unprocessable("identifier must be a CCCD or BHXH number with its system")
    found = state.find(number)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [{"resource": _patient(p), "search": {"mode": "match"}} for p in found],
    }


def _patient(patient: Registration) -> dict[str, Any]:
    identifiers = [{"system": "urn:vn:bca:cccd", "value": patient.id_number}]
    if patient.card_number:
        identifiers.append({"system": "urn:vn:bhxh:bhyt", "value": patient.card_number})
    born = patient.birth_digits
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "name": [
            {
                "text": patient.full_name,
                "family": patient.family_name,
                "given": patient.given_name.split(),
            }
        ],
        "gender": "male" if patient.sex == "M" else "female",
        "birthDate": born if len(born) == 4 else f"{born[:4]}-{born[4:6]}-{born[6:8]}",
    }


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
        priority=_priority_class(encounter),
        identity=next(
            (
                str(tag.get("code", ""))
                for tag in patient.get("meta", {}).get("tag", [])
                if isinstance(tag, dict) and tag.get("system") == "urn:cccd-toolkit:identity-trust"
            ),
            "",
        ),
    )


def _priority_class(encounter: dict[str, Any]) -> str:
    """The kiosk's class in ``Encounter.priority`` (its second coding), empty if routine."""
    codings = encounter.get("priority", {}).get("coding", [])
    return next(
        (
            str(c.get("code", ""))
            for c in codings
            if isinstance(c, dict) and c.get("system") == "urn:cccd-toolkit:priority-class"
        ),
        "",
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: bundles carry personal data."""

    def do_POST(self) -> None:
        state, auth = self.server.state, self.server.auth
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _outcome("too large"))
            return
        raw = self.rfile.read(length)
        authorization = self.headers.get("Authorization", "")
        if self.path == "/token" and auth is not None:
            status, answer = auth.grant(authorization, parse_qs(raw.decode("ascii", "replace")))
            self._send(status, answer, "application/json")
            return
        if auth is not None and not auth.accepts(authorization):
            auth.refuse()
            self._send(401, _outcome("bearer token required"))
            return
        if urlsplit(self.path).path.endswith("/Patient/_search"):
            self._answer_search(parse_qs(raw.decode("ascii", "replace")))
            return
        fault = self._fault()
        if fault is None:
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

    def do_GET(self) -> None:
        """``GET [base]/Patient?identifier=system|value``: the Patient search."""
        url = urlsplit(self.path)
        if not url.path.endswith("/Patient"):
            self._send(404, _outcome("only Patient search is served"))
            return
        auth = self.server.auth
        if auth is not None and not auth.accepts(self.headers.get("Authorization", "")):
            auth.refuse()
            self._send(401, _outcome("bearer token required"))
            return
        self._answer_search(parse_qs(url.query))

    def _answer_search(self, query: dict[str, list[str]]) -> None:
        fault = self._fault(garbage={"resourceType": "Patient"})
        if fault is None:
            return
        try:
            answer = _search(query, self.server.state)
        except _Unprocessable as exc:
            self._send(422, _outcome(str(exc)))
            return
        if fault is HisFault.HANG:
            time.sleep(self.server.state.hang_s)
        self._send(200, answer)

    def _fault(self, garbage: dict[str, Any] | None = None) -> HisFault | bool | None:
        """Serve the next injected fault; ``None`` when it was the whole answer, the
        fault to apply after the answer is made (``HANG``) or ``False`` for none."""
        fault = self.server.state.next_fault()
        if fault is HisFault.CLOSE:
            self.close_connection = True
            return None
        if fault is HisFault.ERROR:
            self._send(422, _outcome("simulated fault"))
            return None
        if fault is HisFault.REJECT:
            self._send(503, _outcome("simulated overload"))
            return None
        if fault is HisFault.GARBAGE:
            self._send(200, garbage or {"resourceType": "Bundle", "type": "searchset"})
            return None
        return fault or False

    def _send(
        self, status: int, payload: dict[str, Any], content_type: str = "application/fhir+json"
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
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

    def __init__(
        self,
        address: tuple[str, int],
        state: HisState,
        tls: ssl.SSLContext | None,
        auth: FhirAuth | None,
    ) -> None:
        self.state = state
        self.store = FhirStore()
        self.auth = auth
        super().__init__(address, _Handler)
        if tls is not None:  # the handshake happens in the handler's thread, at first read
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: clients hanging up are part of the simulation."""


class FhirEndpoint(ServerThread):
    """The FHIR side of the simulated HIS, serving on a background thread (HTTPS with a
    ``tls`` server context; asking for tokens with ``auth``)."""

    def __init__(
        self,
        state: HisState,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        auth: FhirAuth | None = None,
    ) -> None:
        self._fhir = _Server((host, port), state, tls, auth)
        self._scheme = "http" if tls is None else "https"
        super().__init__(self._fhir, "his-fhir-sim")

    @property
    def url(self) -> str:
        host, port = self.address
        return f"{self._scheme}://{host}:{port}/fhir"

    @property
    def token_url(self) -> str:
        host, port = self.address
        return f"{self._scheme}://{host}:{port}/token"

    @property
    def store(self) -> FhirStore:
        """The resources created so far (conditional creates make retries create nothing)."""
        return self._fhir.store
