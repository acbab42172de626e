"""``make run FLEET=N`` headless: kiosk processes on one private PostgreSQL, the queue board.

The demo runs as ``python -m simulators hospital --fleet 2 --headless``, as ``make run``
starts it. Its output must have one line per check-in with numbers no other kiosk printed,
the HIS one registration per check-in, two calls, and the board's screenshot (a PNG) when
chromium is installed. Afterwards no process it started survives: every one of them
(kiosks and their speech processes, pcscd, PostgreSQL and its backends, chromium) runs in
the session of the demo, of a kiosk, of a pcscd or of the postmaster, all named by PID in
its output. SIGTERM in the middle of the check-ins stops all of them too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulators.demo_fleet import PATIENTS_PER_KIOSK
from simulators.postgres import PostgresUnavailableError, find_binaries
from simulators.procfs import processes

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
KIOSKS = 2
CHECK_INS = KIOSKS * PATIENTS_PER_KIOSK
RUN_TIMEOUT_S = 80.0
GONE_TIMEOUT_S = 5.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    try:
        find_binaries()
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))


def _command(out: Path) -> list[str]:
    fleet = ["--fleet", str(KIOSKS), "--headless", "--out", str(out)]
    return [sys.executable, "-m", "simulators", "hospital", *fleet]


def _env() -> dict[str, str]:
    """This environment without a display or the tests' pcscd: the demo starts its own."""
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "PCSCLITE_CSOCK_NAME", "QT_QPA_PLATFORM"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def _sessions_of(lines: list[str], demo: int) -> set[int]:
    """The demo's PID and every PID its output names (the session leaders it started)."""
    pids = {demo}
    for line in lines:
        if match := re.match(r"PostgreSQL \(PID (\d+)\) at .*; pcscd PIDs ([\d, ]+)$", line):
            pids.add(int(match[1]))
            pids |= {int(pid) for pid in match[2].split(", ")}
        elif match := re.match(r"kiosk-\d+ \(PID (\d+)\): ", line):
            pids.add(int(match[1]))
    return pids


def _survivors(sessions: set[int]) -> list[str]:
    """Live processes in one of ``sessions`` (zombies count as gone)."""
    return [
        f"{process.pid} ({process.command})"
        for process in processes()
        if process.session in sessions and process.alive
    ]


def _assert_all_gone(sessions: set[int]) -> None:
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while (left := _survivors(sessions)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes left behind: {left}"


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    """The headless fleet demo in a session of its own, its output in one text stream."""
    return subprocess.Popen(
        _command(tmp_path),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_fleet_of_kiosks_on_one_postgres(tmp_path: Path) -> None:
    demo = _start(tmp_path)
    try:
        output, _ = demo.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    lines = output.splitlines()
    assert demo.returncode == 0, output
    sessions = _sessions_of(lines, demo.pid)
    assert len(sessions) == 1 + 1 + 1 + KIOSKS, output  # demo, postmaster, pcscd, kiosks

    # Only the lines of the demo itself: the kiosks log to their own files.
    head = [
        r"PostgreSQL \(PID \d+\) at postgresql://cccd@127\.0\.0\.1:\d+/cccd; pcscd PIDs \d+",
        r"BHXH gateway http://127\.0\.0\.1:\d+, HIS MLLP port \d+",
        *(
            rf"kiosk-{k} \(PID \d+\): reader 'Virtual PCD 00 0{k - 1}', scanner \S+, printer \S+"
            for k in range(1, KIOSKS + 1)
        ),
        r"queue board http://127\.0\.0\.1:\d+/",
        rf"check-ins, {PATIENTS_PER_KIOSK} patients at each kiosk in turn \(autopilot\):",
    ]
    for pattern, line in zip(head, lines, strict=False):
        assert re.fullmatch(pattern, line), (pattern, output)
    check_ins = lines[len(head) : len(head) + CHECK_INS]
    printed: list[tuple[str, str]] = []
    for index, line in enumerate(check_ins):
        match = re.fullmatch(
            r"  (kiosk-\d+): ticket K01-(\d{3}), room 101, \d+\.\d s tap to ticket", line
        )
        assert match, output
        assert match[1] == f"kiosk-{index % KIOSKS + 1}", output  # interleaved
        printed.append((match[1], match[2]))
    numbers = sorted(number for _kiosk, number in printed)
    assert len(set(numbers)) == CHECK_INS, f"a number printed twice: {output}"
    for kiosk in {k for k, _ in printed}:  # each kiosk its own leased block
        others = {n for k, n in printed if k != kiosk}
        assert not {n for k, n in printed if k == kiosk} & others

    tail = lines[len(head) + CHECK_INS :]
    assert tail[0] == (
        f"numbers: {CHECK_INS} check-ins at {KIOSKS} kiosks, {CHECK_INS} different numbers"
        f" in K01 ({', '.join(numbers)}): none printed twice"
    ), output
    assert tail[1] == f"HIS: {CHECK_INS} registrations for {CHECK_INS} check-ins", output
    calls = [
        re.fullmatch(r"call: room 101 calls K01-(\d{3}) \(the longest waiting\)", line)
        for line in tail[2:4]
    ]
    assert all(calls), output
    called = [match[1] for match in calls if match]
    assert len(set(called)) == 2 and set(called) <= set(numbers), output
    board = re.fullmatch(
        rf"queue board http://127\.0\.0\.1:\d+/: {CHECK_INS - 2} waiting, 1 called, 1 served; "
        r"screenshot (\S+)",  # CI installs chromium: no run without the board's picture
        tail[4],
    )
    assert board and len(tail) == 5, output
    shot = Path(board[1])
    assert shot.parent == tmp_path / "fleet" and shot.read_bytes()[:8] == PNG_MAGIC
    _assert_all_gone(sessions)


def test_sigterm_during_the_check_ins_stops_everything(tmp_path: Path) -> None:
    demo = _start(tmp_path)
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("check-ins,"):
                demo.send_signal(signal.SIGTERM)
                break
        rest, _ = demo.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    lines += rest.splitlines()
    assert demo.returncode == 128 + signal.SIGTERM, lines
    assert lines[-1].startswith("stopped by SIGTERM"), lines
    _assert_all_gone(_sessions_of(lines, demo.pid))
