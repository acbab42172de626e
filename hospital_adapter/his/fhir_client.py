"""HTTP transport of the FHIR R4 registrar (the only HIS module that imports httpx).

Authentication, when the server asks for it: a fixed bearer token (RFC 6750), or OAuth2
client credentials (RFC 6749 §4.4) whose token is cached until shortly before it expires
and taken again after a 401. TLS is verified against the system's CAs or a given context.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote_plus

import httpx

from hospital_adapter.bounded_http import DeadlineTransport, HttpAnswer, HttpPeer, post_within
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisProtocolError, HisRejectedError, HisUnavailableError
from hospital_adapter.his.base import KnownPatient, PatientKey
from hospital_adapter.his.fhir import (
    MAX_RESPONSE_BYTES,
    build_transaction,
    check_transaction_response,
    parse_patient_search,
    patient_search,
)
from hospital_adapter.visit import Visit

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
FHIR_SERVER = HttpPeer(
    "the FHIR server",
    MAX_RESPONSE_BYTES,
    timeout_error=HisUnavailableError,
    unreachable_error=HisUnavailableError,
    protocol_error=HisProtocolError,
)
TOKEN_SERVER = HttpPeer(
    "the OAuth2 token endpoint",
    64 * 1024,
    timeout_error=HisUnavailableError,
    unreachable_error=HisUnavailableError,
    protocol_error=HisProtocolError,
)
TOKEN_MARGIN_S = 30.0
"""A token is taken again this long before the server said it expires."""
MAX_TOKEN_CHARS = 8192
MAX_EXPIRES_IN_S = 86400 * 366


class FhirAuth(Protocol):
    """How the registrar proves itself: the ``Authorization`` header value, and what to
    do when the server answered 401 to it."""

    def header(self, http: httpx.Client, deadline: Deadline, timeout_s: float) -> str: ...

    def refused(self) -> None: ...


@dataclass(frozen=True)
class BearerToken:
    """A fixed bearer token (RFC 6750)."""

    token: str = field(repr=False)

    def header(self, http: httpx.Client, deadline: Deadline, timeout_s: float) -> str:
        return f"Bearer {self.token}"

    def refused(self) -> None:
        log.error("the FHIR server refused the configured bearer token")


class ClientCredentials:
    """OAuth2 client credentials grant: POST ``grant_type=client_credentials`` to
    ``token_url`` with the client authenticated by HTTP Basic (RFC 6749 §2.3.1); the
    token is kept until :data:`TOKEN_MARGIN_S` before ``expires_in`` and dropped on a 401.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = token_url
        basic = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
        self._basic = "Basic " + base64.b64encode(basic).decode("ascii")
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"ClientCredentials({self._url!r})"

    def header(self, http: httpx.Client, deadline: Deadline, timeout_s: float) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._token[1]:
                self._token = self._take(http, deadline, timeout_s)
            return f"Bearer {self._token[0]}"

    def refused(self) -> None:
        with self._lock:
            self._token = None

    def _take(self, http: httpx.Client, deadline: Deadline, timeout_s: float) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            **({"scope": self._scope} if self._scope else {}),
        }
        answer = post_within(
            http, TOKEN_SERVER, self._url, deadline, timeout_s, data=form,
            headers={"Authorization": self._basic, "Accept": "application/json"},
        )  # fmt: skip
        if answer.status_code != 200:
            raise HisUnavailableError(f"the token endpoint answered HTTP {answer.status_code}")
        try:
            body = json.loads(answer.content)
            token, kind, expires_in = body["access_token"], body["token_type"], body["expires_in"]
        except (ValueError, TypeError, KeyError):
            raise HisProtocolError("the token endpoint's answer is not a token") from None
        if not (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS and token.isascii()):
            raise HisProtocolError("the token endpoint sent an unusable access_token")
        if not (isinstance(kind, str) and kind.lower() == "bearer"):
            raise HisProtocolError("the token endpoint sent a token that is not a bearer token")
        if type(expires_in) is not int or not 0 < expires_in <= MAX_EXPIRES_IN_S:
            raise HisProtocolError("the token endpoint sent an unusable expires_in")
        log.info("OAuth2 token taken, valid %d s", expires_in)
        return token, self._clock() + max(expires_in - TOKEN_MARGIN_S, 0.0)


class FhirRegistrar:
    """POSTs the transaction Bundle to the FHIR base URL (FHIR R4 http.html#transaction).

    The whole exchange (connect, send, the answer to its last byte) ends by the caller's
    deadline and within ``timeout_s``, however slowly the server answers. With ``auth``
    each request carries its token; a 401 drops the token and the request is sent once
    more with a new one. ``ssl_context`` verifies the server (default: the system's CAs).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        auth: FhirAuth | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, transport=transport or DeadlineTransport(ssl_context)
        )
        self._timeout = timeout_s
        self._auth = auth

    def close(self) -> None:
        self._http.close()

    def register(self, visit: Visit, deadline: Deadline) -> None:
        bundle = build_transaction(visit)
        answer = self._authorised(deadline, "", json=bundle)
        if answer.status_code >= 500:
            raise HisUnavailableError(f"FHIR server HTTP {answer.status_code}")
        check_transaction_response(answer.status_code, answer.content, len(bundle["entry"]))
        log.info("FHIR server accepted check-in %s", visit.message_id)

    def find_patient(self, number: str, deadline: Deadline) -> KnownPatient | None:
        """A Patient search by identifier token (FHIR R4 search.html#token), sent as
        ``POST [base]/Patient/_search`` with a form body (FHIR R4 http.html#search: the
        same search as the GET, and the only method of the deadline-bounded transport)."""
        key = PatientKey.of(number)
        answer = self._authorised(deadline, "Patient/_search", data=patient_search(number))
        if answer.status_code >= 500:
            raise HisUnavailableError(f"FHIR server HTTP {answer.status_code}")
        found = parse_patient_search(answer.status_code, answer.content)
        log.info("FHIR Patient search by %s: %s", key.value, "found" if found else "none")
        return found

    def _authorised(
        self,
        deadline: Deadline,
        url: str,
        *,
        json: object = None,
        data: dict[str, str] | None = None,
    ) -> HttpAnswer:
        """POST with the token; a 401 drops it and tries once more with a new one."""
        answer = self._post(deadline, url, json, data)
        if answer.status_code == 401 and self._auth is not None:
            self._auth.refused()
            answer = self._post(deadline, url, json, data)
        if answer.status_code == 401:
            raise HisRejectedError("401", "authentication refused", retryable=True)
        return answer

    def _post(
        self, deadline: Deadline, url: str, json: object, data: dict[str, str] | None
    ) -> HttpAnswer:
        headers = {"Accept": FHIR_JSON}
        if data is None:
            headers["Content-Type"] = FHIR_JSON
        if self._auth is not None:
            headers["Authorization"] = self._auth.header(self._http, deadline, self._timeout)
        return post_within(
            self._http, FHIR_SERVER, url, deadline, self._timeout, json=json, data=data,
            headers=headers,
        )  # fmt: skip
