"""SIGINT and SIGTERM stop the kiosk and the ``make run`` demo, and everything they started.

Both run as real processes, offscreen: ``python -m kiosk`` on the simulated hospital of
this test, and ``python -m simulators hospital`` (its windowed mode, which waits in Qt's
event loop like a kiosk with a display: ``DISPLAY`` is set, Qt draws offscreen). Each is
signalled once its loop runs; it must exit with 128 + the signal, and every process it
started (its private pcscd, the speech process) must be gone.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.hospital import SimulatedHospital
from simulators.pcscd import PcscDaemon
from simulators.procfs import alive, descendants

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
"""A hang detector, not a figure: the stop takes 1–2 s (docs/kiosk.md)."""
SIGNALS = [signal.SIGINT, signal.SIGTERM]


class Process:
    """A child process whose output lines (stdout and stderr merged) arrive on a queue."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**env, "QT_QPA_PLATFORM": "offscreen"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text: str) -> None:
        end = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in {START_TIMEOUT_S} s: {self.output}") from None
            assert line is not None, f"exited with {self.process.poll()}: {self.output}"
            self.output.append(line)
            if text in line:
                return

    def stop_by(self, signum: signal.Signals) -> tuple[int, set[int]]:
        """Send ``signum``; the exit code and the descendants it had."""
        started = descendants(self.process.pid)
        self.process.send_signal(signum)
        return self.process.wait(STOP_TIMEOUT_S), started

    def kill(self) -> None:
        for pid in descendants(self.process.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        process.kill()


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_stops_the_kiosk(
    pcscd: PcscDaemon, tmp_path: Path, processes: list[Process], signum: signal.Signals
) -> None:
    with SimulatedHospital(tmp_path / "hospital", pcscd=pcscd) as hospital:
        kiosk = Process(
            [sys.executable, "-m", "kiosk", "--config", str(hospital.config_path), "--windowed"],
            hospital.env,
        )
        processes.append(kiosk)
        kiosk.wait_for("kiosk started")
        code, started = kiosk.stop_by(signum)
    assert code == 128 + signum, kiosk.output
    assert [pid for pid in started if alive(pid)] == []


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_stops_the_demo_and_its_pcscd(
    tmp_path: Path, processes: list[Process], signum: signal.Signals
) -> None:
    env = {**os.environ, "DISPLAY": ":99"}  # the windowed demo; Qt draws offscreen
    env.pop("PCSCLITE_CSOCK_NAME", None)  # the demo starts its own pcscd
    demo = Process([sys.executable, "-m", "simulators", "hospital", "--out", str(tmp_path)], env)
    processes.append(demo)
    demo.wait_for("Ctrl-C stops everything")
    pcscd = int(demo.output[0].split("PID ")[1].split(")")[0])
    assert alive(pcscd)
    code, started = demo.stop_by(signum)
    assert code == 128 + signum, demo.output
    assert pcscd in started
    assert [pid for pid in started if alive(pid)] == []
