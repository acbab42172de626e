"""The HIS over TLS and with authentication, as configured (issue #13 items 3 and 5): MLLP
over TLS and HTTPS FHIR against the simulated HIS with a CA made for the test, a bearer
token, OAuth2 client credentials from the simulator's token endpoint, MSH-3/MSH-4."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hospital_adapter.config import HisSettings, HospitalSettings, Settings
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisRejectedError, HisUnavailableError
from hospital_adapter.his import configured_registrar
from hospital_adapter.his.mllp import frame, read_frame
from simulators.his import FhirAuth, RunningHis, serve
from simulators.tls import TlsFiles, make_test_ca

from .helpers import sample_visit

SECRET = "client-secret-ß"
TOKEN = "static-token-0123"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_his(ca: TlsFiles) -> Iterator[tuple[RunningHis, FhirAuth]]:
    auth = FhirAuth(client_id="kiosk-1", client_secret=SECRET, expires_in=3600)
    with serve(tls=ca.server_context(), fhir_auth=auth) as his:
        yield his, auth


def _mllp(his: RunningHis, **his_settings: object) -> Settings:
    return Settings(his=HisSettings(port=his.mllp.address[1], **his_settings))  # type: ignore[arg-type]


def test_mllp_over_tls_verified_with_the_configured_ca(
    tls_his: tuple[RunningHis, FhirAuth], ca: TlsFiles
) -> None:
    his, _ = tls_his
    visit = sample_visit()
    configured_registrar(_mllp(his, tls=True, ca_file=str(ca.ca_file))).register(
        visit, Deadline.after(5)
    )
    assert list(his.state.registrations) == [visit.message_id]


def test_mllp_over_tls_refuses_an_unknown_ca_and_plain_mllp_fails(
    tls_his: tuple[RunningHis, FhirAuth],
) -> None:
    his, _ = tls_his
    with pytest.raises(HisUnavailableError) as untrusted:
        configured_registrar(_mllp(his, tls=True)).register(sample_visit(), Deadline.after(5))
    assert str(untrusted.value) == "cannot reach the HIS: SSLCertVerificationError"
    with pytest.raises(HisUnavailableError) as plain:
        configured_registrar(_mllp(his, timeout_s=1.0)).register(sample_visit(), Deadline.after(5))
    assert str(plain.value) in {  # the server hangs up at once, or resets: a race
        "cannot reach the HIS: ConnectionError",
        "cannot reach the HIS: ConnectionResetError",
    }
    assert his.state.registrations == {}


def _fhir(his: RunningHis, ca: TlsFiles, **his_settings: object) -> Settings:
    return Settings(
        his=HisSettings(kind="fhir", url=his.fhir.url, ca_file=str(ca.ca_file), **his_settings)  # type: ignore[arg-type]
    )


def test_fhir_oauth2_client_credentials_over_https(
    tls_his: tuple[RunningHis, FhirAuth], ca: TlsFiles
) -> None:
    his, auth = tls_his
    settings = _fhir(
        his, ca, auth="client_credentials", token_url=his.fhir.token_url, client_id="kiosk-1"
    )
    registrar = configured_registrar(settings, {"CCCD_HIS_CLIENT_SECRET": SECRET})
    first, second, third = (replace(sample_visit(), checkin_id=f"{n:032x}") for n in (1, 2, 3))
    registrar.register(first, Deadline.after(5))
    registrar.register(second, Deadline.after(5))
    assert (auth.issued, auth.refused) == (1, 0), "the token is kept while it is valid"
    auth.revoke_all()
    registrar.register(third, Deadline.after(5))
    assert (auth.issued, auth.refused) == (2, 1), "a 401 drops the token, a new one is taken"
    assert sorted(his.state.registrations) == [v.checkin_id for v in (first, second, third)]


def test_fhir_wrong_client_secret_is_retried_later(
    tls_his: tuple[RunningHis, FhirAuth], ca: TlsFiles
) -> None:
    his, auth = tls_his
    settings = _fhir(
        his, ca, auth="client_credentials", token_url=his.fhir.token_url, client_id="kiosk-1"
    )
    registrar = configured_registrar(settings, {"CCCD_HIS_CLIENT_SECRET": "wrong"})
    with pytest.raises(HisUnavailableError) as refused:
        registrar.register(sample_visit(), Deadline.after(5))
    assert str(refused.value) == "the token endpoint answered HTTP 401"
    assert (auth.issued, his.state.registrations) == (0, {})


def test_fhir_bearer_token(ca: TlsFiles) -> None:
    auth = FhirAuth(token=TOKEN)
    with serve(tls=ca.server_context(), fhir_auth=auth) as his:
        settings = _fhir(his, ca, auth="bearer")
        visit = sample_visit()
        configured_registrar(settings, {"CCCD_HIS_TOKEN": TOKEN}).register(visit, Deadline.after(5))
        assert list(his.state.registrations) == [visit.checkin_id]
        with pytest.raises(HisRejectedError) as refused:
            configured_registrar(settings, {"CCCD_HIS_TOKEN": "other"}).register(
                replace(visit, checkin_id="f" * 32), Deadline.after(5)
            )
        assert (refused.value.status, refused.value.retryable) == ("401", True)
        assert auth.refused == 2  # the first try and the one retry


class _Capture(socketserver.BaseRequestHandler):
    """Keeps the MLLP frame it receives and acknowledges it (AA)."""

    frames: list[str]

    def handle(self) -> None:
        message = read_frame(self.request).decode()
        self.frames.append(message)
        control_id = message.split("\r")[0].split("|")[9]
        self.request.sendall(
            frame(f"MSH|^~\\&|HIS||KIOSK||20250310||ACK|A1|P|2.5\rMSA|AA|{control_id}\r")
        )


@pytest.mark.parametrize(
    ("his_settings", "msh_3_to_6"),
    [
        ({}, ["KIOSK", "79024", "HIS", "79024"]),
        (
            {"sending_application": "KIOSK-2", "sending_facility": "CAMPUS-B"},
            ["KIOSK-2", "CAMPUS-B", "HIS", "79024"],
        ),
    ],
)
def test_sending_facility_fills_msh_4(
    tmp_path: Path, his_settings: dict[str, str], msh_3_to_6: list[str]
) -> None:
    frames: list[str] = []
    handler = type("Handler", (_Capture,), {"frames": frames})
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.handle_request)
        thread.start()
        settings = Settings(
            his=HisSettings(port=server.server_address[1], **his_settings),
            hospital=HospitalSettings(facility_code="79024"),
        )
        configured_registrar(settings).register(sample_visit(), Deadline.after(5))
        thread.join(5)
    assert frames[0].split("\r")[0].split("|")[2:6] == msh_3_to_6
