"""HTTP transport of the FHIR R4 registrar (the only HIS module that imports httpx)."""

from __future__ import annotations

import logging

import httpx

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisUnavailableError
from hospital_adapter.his.fhir import build_transaction, check_transaction_response
from hospital_adapter.visit import Visit

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class FhirRegistrar:
    """POSTs the transaction Bundle to the FHIR base URL (FHIR R4 http.html#transaction)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, transport=transport)
        self._timeout = timeout_s

    def close(self) -> None:
        self._http.close()

    def register(self, visit: Visit, deadline: Deadline) -> None:
        bundle = build_transaction(visit)
        timeout = deadline.cap(self._timeout)
        if timeout <= 0:
            raise HisUnavailableError("deadline passed before sending to the HIS")
        try:
            response = self._http.post(
                "",
                json=bundle,
                headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
                timeout=timeout,
            )
        except httpx.TimeoutException:
            raise HisUnavailableError("the FHIR server did not answer in time") from None
        except httpx.TransportError as exc:
            raise HisUnavailableError(
                f"cannot reach the FHIR server: {type(exc).__name__}"
            ) from None
        if response.status_code >= 500:
            raise HisUnavailableError(f"FHIR server HTTP {response.status_code}")
        check_transaction_response(response.status_code, response.content, len(bundle["entry"]))
        log.info("FHIR server accepted check-in %s", visit.message_id)
