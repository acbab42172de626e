"""PcscDaemon's checks and helpers that need neither root nor a real pcscd."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from simulators import pcscd as pcscd_module
from simulators.pcscd import PcscDaemon, PcscDaemonError, PcscDaemonPermissionError


@pytest.fixture
def fake_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend the vpcd driver is installed and /run/pcscd does not exist."""
    driver = tmp_path / "libifdvpcd.so"
    driver.write_bytes(b"")
    monkeypatch.setattr(pcscd_module, "DRIVER_PATH", driver)
    monkeypatch.setattr(pcscd_module, "SYSTEM_RUN_DIR", tmp_path / "run-pcscd")
    return tmp_path


def test_not_root_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, fake_install: Path
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(PcscDaemonPermissionError, match="must run as root") as excinfo:
        PcscDaemon(pcscd_path="/bin/true").start()
    assert "PID file" in str(excinfo.value)
    assert "install -d" in str(excinfo.value)


def test_not_root_with_a_prepared_run_directory_may_start(
    monkeypatch: pytest.MonkeyPatch, fake_install: Path
) -> None:
    (fake_install / "run-pcscd").mkdir()
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    daemon = PcscDaemon(pcscd_path="/bin/false", isolated=True, workdir=fake_install / "w")
    with pytest.raises(PcscDaemonError, match="exited with status 1 while starting"):
        daemon.start()  # got past the permission check; /bin/false is no pcscd


def test_a_pcscd_that_dies_at_start_is_reported_with_its_log(
    monkeypatch: pytest.MonkeyPatch, fake_install: Path
) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    workdir = fake_install / "w"
    daemon = PcscDaemon(pcscd_path="/bin/false", isolated=True, workdir=workdir)
    with pytest.raises(PcscDaemonError, match="its log"):
        daemon.start()
    assert daemon.pid is None
    assert not (workdir / "pcscd.comm").exists()  # the private socket is cleaned up
    conf = (workdir / "reader.conf").read_text()
    port = daemon.vpcd_ports[0]
    assert f"DEVICENAME   /dev/null:0x{port:X}\n" in conf
    assert daemon.vpcd_ports == (port, port + 1)


def test_attributes_need_a_started_daemon() -> None:
    with pytest.raises(PcscDaemonError, match="once pcscd has been started"):
        _ = PcscDaemon().vpcd_ports


def test_reader_names_follow_the_friendly_name() -> None:
    assert PcscDaemon(friendly_name="Kiosk").reader_names == ("Kiosk 00 00", "Kiosk 00 01")
    with pytest.raises(ValueError, match="quotes"):
        PcscDaemon(friendly_name='a "b"')


def test_free_port_pair_gives_two_bindable_consecutive_ports() -> None:
    port = pcscd_module._free_port_pair()
    with socket.socket() as first, socket.socket() as second:
        first.bind(("0.0.0.0", port))
        second.bind(("0.0.0.0", port + 1))


def test_listening_ports_are_read_without_connecting() -> None:
    with socket.create_server(("0.0.0.0", 0)) as server:
        port = server.getsockname()[1]
        assert port in pcscd_module._listening_tcp_ports()
    assert port not in pcscd_module._listening_tcp_ports()
