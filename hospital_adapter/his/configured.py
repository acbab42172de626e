"""The HIS registrar the configuration describes (``[his]``), for the CLI and the kiosk."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from hospital_adapter.config import HisSettings, Settings, his_secret
from hospital_adapter.his.base import HisRegistrar
from hospital_adapter.his.fhir_client import BearerToken, ClientCredentials, FhirAuth, FhirRegistrar
from hospital_adapter.his.hl7v2 import MessageHeader
from hospital_adapter.his.mllp import MllpRegistrar


def tls_context(his: HisSettings) -> ssl.SSLContext:
    """A client context verifying servers against ``ca_file``, else the system's CAs."""
    return ssl.create_default_context(cafile=his.ca_file or None)


def fhir_auth(his: HisSettings, env: Mapping[str, str] = os.environ) -> FhirAuth | None:
    """``[his] auth``: nothing, a bearer token, or OAuth2 client credentials."""
    if his.auth == "bearer":
        return BearerToken(his_secret(his, env))
    if his.auth == "client_credentials":
        return ClientCredentials(his.token_url, his.client_id, his_secret(his, env), his.scope)
    return None


def configured_registrar(settings: Settings, env: Mapping[str, str] = os.environ) -> HisRegistrar:
    """MLLP (over TLS with ``tls``) or FHIR per ``[his] kind``. MSH-4 (sending facility)
    is ``[his] sending_facility``, else the facility code; MSH-6 is the facility code."""
    his, facility = settings.his, settings.hospital.facility_code
    if his.kind == "fhir":
        return FhirRegistrar(
            his.url,
            timeout_s=his.timeout_s,
            ssl_context=tls_context(his),
            auth=fhir_auth(his, env),
        )
    header = MessageHeader(
        his.sending_application,
        his.sending_facility or facility,
        his.receiving_application,
        facility,
    )
    tls = tls_context(his) if his.tls else None
    return MllpRegistrar(his.host, his.port, header, timeout_s=his.timeout_s, tls=tls)
