"""simulators.procfs: the processes /proc shows, as the simulators and tests read them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from simulators.procfs import alive, children_of, descendants, proc_stat

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


def test_this_process_as_proc_shows_it() -> None:
    me = proc_stat(os.getpid())
    assert me is not None
    assert (me.pid, me.ppid, me.session, me.state, me.alive) == (
        os.getpid(),
        os.getppid(),
        os.getsid(0),
        "R",
        True,
    )
    assert me.command == Path(f"/proc/{os.getpid()}/comm").read_text().strip()


def test_a_child_then_its_zombie_then_nothing() -> None:
    child = subprocess.Popen(SLEEPER)
    try:
        found = proc_stat(child.pid)
        assert found is not None and found.ppid == os.getpid()
        assert child.pid in {p.pid for p in children_of(os.getpid())}
        assert child.pid in descendants(os.getpid())
        assert alive(child.pid)
        started = found.start_time
        child.kill()
        deadline = time.monotonic() + 10
        while (now := proc_stat(child.pid)) is not None and now.alive:
            assert time.monotonic() < deadline, "the killed child still runs"
            time.sleep(0.01)
        assert now is not None and (now.state, now.start_time) == ("Z", started)
        assert not alive(child.pid), "a zombie counts as gone"
    finally:
        child.kill()
        child.wait()
    assert proc_stat(child.pid) is None


def test_a_grandchild_is_a_descendant_not_a_child() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess; subprocess.run({SLEEPER!r})"]
    )
    try:
        deadline = time.monotonic() + 10
        while not (grandchildren := children_of(parent.pid)):
            assert time.monotonic() < deadline, "the grandchild never started"
            time.sleep(0.01)
        (grandchild,) = grandchildren
        assert grandchild.pid not in {p.pid for p in children_of(os.getpid())}
        assert {parent.pid, grandchild.pid} <= descendants(os.getpid())
    finally:
        for process in children_of(parent.pid):
            os.kill(process.pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
