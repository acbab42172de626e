"""Test-suite wide options and the PC/SC client isolation.

- No kiosk reaches or autospawns the machine's speech-dispatcher
  (:data:`simulators.speech.NO_SPEECHD`), unless a test gives its own address.
- ``--reader NAME`` opts in to the tests marked ``hardware`` (a physical reader through
  the system pcscd); without it they are skipped.
- Without ``--reader``, the whole test process talks PC/SC only to the private pcscd
  that ``tests/e2e/conftest.py`` starts: libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once,
  at the first PC/SC call of the process, so it is set here, before any test runs, to
  the socket path that daemon will use. A stray PC/SC call from a unit test then gets
  "service not available" instead of touching the machine's pcscd and its readers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardreader.transport.pcsc import CardWaiter
from simulators.pcscd import PcscDaemon, find_pcscd
from simulators.speech import NO_SPEECHD
from simulators.vpcd import VirtualReaderSlot
from tests.postgres_fixtures import pg_url, postgres_cluster  # noqa: F401

PCSCD_WORKDIR = pytest.StashKey[Path]()
"""Directory for the session's private pcscd (socket, reader.conf, log)."""

_SOCKET_NAME = "pcscd.comm"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reader",
        metavar="NAME",
        default=None,
        help="run the opt-in hardware tests against the physical PC/SC reader NAME "
        "(through the system pcscd; the simulated pcsc tests are skipped then)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # No kiosk under test (nor a kiosk process a test starts) may autospawn the machine's
    # speech-dispatcher, which would outlive the run: tests that speak bring their own.
    os.environ.update(NO_SPEECHD)
    if config.getoption("--reader"):
        return  # hardware run: use the system pcscd
    # Short path: AF_UNIX socket paths are limited to 107 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="cccd-pcscd-"))
    config.stash[PCSCD_WORKDIR] = workdir
    os.environ["PCSCLITE_CSOCK_NAME"] = str(workdir / _SOCKET_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    workdir = config.stash.get(PCSCD_WORKDIR, None)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reader = config.getoption("--reader")
    if reader:
        skip_pcsc = pytest.mark.skip(
            reason="--reader uses the system pcscd; run the simulated pcsc tests without it"
        )
        for item in items:
            if "pcsc" in item.keywords:
                item.add_marker(skip_pcsc)
        return
    skip_hardware = pytest.mark.skip(reason="needs a physical reader: pass --reader NAME")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip_hardware)


@pytest.fixture(scope="session")
def reader_name(pytestconfig: pytest.Config) -> str:
    """The physical reader given with ``--reader`` (hardware tests only)."""
    name = pytestconfig.getoption("--reader")
    if not name:
        pytest.skip("needs a physical reader: pass --reader NAME")
    return str(name)


PRESENCE_TIMEOUT = 3.0
"""pcscd notices insertion and removal within one 400 ms poll; allow plenty of slack."""


@pytest.fixture(scope="session")
def pcscd(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PcscDaemon]:
    """A private pcscd with the vpcd driver for the whole session."""
    if os.geteuid() != 0 and find_pcscd() is None:
        pytest.skip(
            "pcscd is not installed and this is not root: `make deps` (as root or with "
            "sudo) installs pcscd and vsmartcard-vpcd"
        )
    workdir = pytestconfig.stash.get(PCSCD_WORKDIR, None)
    daemon = PcscDaemon(workdir=workdir)
    with daemon:
        expected = os.environ.get("PCSCLITE_CSOCK_NAME")
        if daemon.isolated:
            assert expected == str(daemon.socket_path), (
                "PCSCLITE_CSOCK_NAME must name the session's pcscd before the first PC/SC call"
            )
        else:  # system mode: only works if nothing in this process used PC/SC yet
            os.environ.pop("PCSCLITE_CSOCK_NAME", None)
        yield daemon
    shutil.copy(daemon.log_path, tmp_path_factory.getbasetemp() / "pcscd.log")


@pytest.fixture
def reader(pcscd: PcscDaemon) -> str:
    """Name of the reader of vpcd slot 0."""
    return pcscd.reader_names[0]


@pytest.fixture
def waiter() -> Iterator[CardWaiter]:
    with CardWaiter() as card_waiter:
        yield card_waiter


@pytest.fixture
def slot(pcscd: PcscDaemon, reader: str, waiter: CardWaiter) -> Iterator[VirtualReaderSlot]:
    """vpcd slot 0, empty; emptied again (and seen empty by pcscd) after the test."""
    vpcd_slot = VirtualReaderSlot(pcscd.vpcd_ports[0])
    yield vpcd_slot
    vpcd_slot.remove()
    assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT), "pcscd did not see the removal"
