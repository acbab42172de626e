"""The store's watchdog: one thread fires overdue alarms; a disarmed alarm never fires, and
disarming waits for a callback already running (hospital_adapter/store/watchdog.py).

Every wait here is on an event with a generous bound; order is proven by a later alarm
firing, never by sleeping. Deadlines are half a second apart or more, so a stalled test
thread between two calls does not reorder them.
"""

from __future__ import annotations

import logging
import threading

import pytest

from hospital_adapter.store.watchdog import Watchdog

BOUND_S = 10.0


def _threads(name: str) -> int:
    return sum(thread.name == name for thread in threading.enumerate())


def test_alarms_fire_in_deadline_order_on_one_thread() -> None:
    watchdog = Watchdog("test-order")
    fired: list[str] = []
    last = threading.Event()
    alarms = [
        watchdog.arm(1.5, lambda: fired.append("c")),
        watchdog.arm(0.5, lambda: fired.append("a")),
        watchdog.arm(1.0, lambda: fired.append("b")),
        watchdog.arm(2.0, last.set),
    ]
    assert _threads("test-order") == 1
    assert last.wait(BOUND_S)
    assert fired == ["a", "b", "c"]
    assert [watchdog.disarm(alarm) for alarm in alarms] == [True, True, True, True]
    assert watchdog.pending == 0


def test_a_disarmed_alarm_never_fires() -> None:
    watchdog = Watchdog("test-disarm")
    fired: list[str] = []
    later = threading.Event()
    first = watchdog.arm(1.0, lambda: fired.append("disarmed"))
    watchdog.arm(1.5, later.set)
    assert watchdog.pending == 2
    assert watchdog.disarm(first) is False
    assert later.wait(BOUND_S)  # its deadline, after the disarmed one's, has passed
    assert fired == []
    assert watchdog.pending == 0


def test_disarming_waits_for_a_running_callback() -> None:
    watchdog = Watchdog("test-running")
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(BOUND_S)
        finished.set()

    alarm = watchdog.arm(0.0, slow)
    assert started.wait(BOUND_S)
    result: list[bool] = []
    disarming = threading.Thread(target=lambda: result.append(watchdog.disarm(alarm)))
    disarming.start()
    disarming.join(0.2)
    assert disarming.is_alive() and not finished.is_set()  # held until the callback ends
    release.set()
    disarming.join(BOUND_S)
    assert result == [True] and finished.is_set()


def test_a_failing_callback_is_logged_and_the_next_alarm_still_fires(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = Watchdog("test-failing")
    later = threading.Event()

    def broken() -> None:
        raise OSError("socket already gone")

    with caplog.at_level(logging.ERROR, logger="hospital_adapter.store.watchdog"):
        watchdog.arm(0.0, broken)
        watchdog.arm(0.5, later.set)
        assert later.wait(BOUND_S)
    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("watchdog callback failed", True)
    ]
