"""HTTP transport of the FHIR R4 registrar (the only HIS module that imports httpx)."""

from __future__ import annotations

import logging

import httpx

from hospital_adapter.bounded_http import DeadlineTransport, HttpPeer, post_within
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisProtocolError, HisUnavailableError
from hospital_adapter.his.fhir import (
    MAX_RESPONSE_BYTES,
    build_transaction,
    check_transaction_response,
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


class FhirRegistrar:
    """POSTs the transaction Bundle to the FHIR base URL (FHIR R4 http.html#transaction).

    The whole exchange (connect, send, the answer to its last byte) ends by the caller's
    deadline and within ``timeout_s``, however slowly the server answers.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, transport=transport or DeadlineTransport())
        self._timeout = timeout_s

    def close(self) -> None:
        self._http.close()

    def register(self, visit: Visit, deadline: Deadline) -> None:
        bundle = build_transaction(visit)
        answer = post_within(
            self._http,
            FHIR_SERVER,
            "",
            deadline,
            self._timeout,
            json=bundle,
            headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        )
        if answer.status_code >= 500:
            raise HisUnavailableError(f"FHIR server HTTP {answer.status_code}")
        check_transaction_response(answer.status_code, answer.content, len(bundle["entry"]))
        log.info("FHIR server accepted check-in %s", visit.message_id)
