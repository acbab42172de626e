"""A simulated hospital information system: an MLLP listener and a FHIR R4 endpoint
sharing one registry, with faults. Run it with ``python -m simulators.his``."""

from __future__ import annotations

from simulators.his.fhir_server import FhirEndpoint
from simulators.his.mllp_server import MllpListener
from simulators.his.state import HisFault, HisState, Registration
from simulators.server_thread import Service


class RunningHis(Service):
    """Both listeners of the simulated HIS; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", mllp_port: int = 0, fhir_port: int = 0) -> None:
        self.state = HisState()
        self.mllp = MllpListener(self.state, host, mllp_port)
        self.fhir = FhirEndpoint(self.state, host, fhir_port)

    def start(self) -> RunningHis:
        self.mllp.start()
        self.fhir.start()
        return self

    def stop(self) -> None:
        self.mllp.stop()
        self.fhir.stop()


def serve(host: str = "127.0.0.1", mllp_port: int = 0, fhir_port: int = 0) -> RunningHis:
    """Start the simulated HIS (port 0: free ports) and return it running."""
    return RunningHis(host, mllp_port, fhir_port).start()


__all__ = [
    "FhirEndpoint",
    "HisFault",
    "HisState",
    "MllpListener",
    "Registration",
    "RunningHis",
    "serve",
]
