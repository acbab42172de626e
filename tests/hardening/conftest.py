"""A pcscd of the hardening tests' own, and a PC/SC client process that reads through it.

libpcsclite reads the pcscd socket path once per process, and this process is bound to
the session daemon of tests/conftest.py. The pcscd-restart test needs a daemon it may
stop, so its reads run in a child process (:mod:`tests.hardening.pcsc_client`) with that
daemon's socket; the other card tests through pcscd share the same harness.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.pcscd import PcscDaemon, find_pcscd

ANSWER_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[2]


class PcscClient:
    """The child process of :mod:`tests.hardening.pcsc_client`, one JSON line per request."""

    def __init__(self, reader: str, socket_path: Path) -> None:
        env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(socket_path)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.pcsc_client", reader],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )

    def request(self, op: str, **fields: str) -> dict[str, object]:
        """Send one request and wait (bounded) for its answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT)
        if not ready:
            raise TimeoutError(f"the PC/SC client did not answer {op!r} in {ANSWER_TIMEOUT} s")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the PC/SC client exited with {self.process.wait()}")
        answer: dict[str, object] = json.loads(line)
        return answer

    def read(self, method: str) -> dict[str, object]:
        return self.request("read", method=method)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def require_pcscd() -> None:
    if os.geteuid() != 0 and find_pcscd() is None:
        pytest.skip("pcscd is not installed and this is not root: run `make deps`")


@pytest.fixture(scope="module")
def hardening_pcscd() -> Iterator[PcscDaemon]:
    """A private pcscd with the vpcd driver for one test module."""
    require_pcscd()
    with PcscDaemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def pcsc_client(hardening_pcscd: PcscDaemon) -> Iterator[PcscClient]:
    """A client process reading from slot 0 of :func:`hardening_pcscd`."""
    client = PcscClient(hardening_pcscd.reader_names[0], hardening_pcscd.socket_path)
    yield client
    client.close()
