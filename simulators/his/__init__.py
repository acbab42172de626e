"""A simulated hospital information system: an MLLP listener and a FHIR R4 endpoint
sharing one registry, with faults. Run it with ``python -m simulators.his``."""

from __future__ import annotations

import ssl

from simulators.his.fhir_server import FhirAuth, FhirEndpoint
from simulators.his.mllp_server import MllpListener
from simulators.his.state import HisFault, HisState, Registration, known_patient
from simulators.server_thread import Service


class RunningHis(Service):
    """Both listeners of the simulated HIS; use as a context manager. With ``tls`` (a
    server context) both speak TLS; with ``fhir_auth`` the FHIR side asks for tokens."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        mllp_port: int = 0,
        fhir_port: int = 0,
        *,
        tls: ssl.SSLContext | None = None,
        fhir_auth: FhirAuth | None = None,
    ) -> None:
        self.state = HisState()
        self.mllp = MllpListener(self.state, host, mllp_port, tls)
        self.fhir = FhirEndpoint(self.state, host, fhir_port, tls, fhir_auth)

    def start(self) -> RunningHis:
        self.mllp.start()
        self.fhir.start()
        return self

    def stop(self) -> None:
        self.mllp.stop()
        self.fhir.stop()


def serve(
    host: str = "127.0.0.1",
    mllp_port: int = 0,
    fhir_port: int = 0,
    *,
    tls: ssl.SSLContext | None = None,
    fhir_auth: FhirAuth | None = None,
) -> RunningHis:
    """Start the simulated HIS (port 0: free ports) and return it running."""
    return RunningHis(host, mllp_port, fhir_port, tls=tls, fhir_auth=fhir_auth).start()


__all__ = [
    "FhirAuth",
    "FhirEndpoint",
    "HisFault",
    "HisState",
    "MllpListener",
    "Registration",
    "RunningHis",
    "known_patient",
    "serve",
]
