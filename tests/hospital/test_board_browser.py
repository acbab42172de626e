"""The queue board in a real headless browser (Debian's chromium driven by Playwright).

No browser is downloaded: Playwright's driver (a node process from its wheel) runs
``/usr/bin/chromium``. The page must show a call made while it is open without a reload,
keep the last numbers with a "reconnecting" banner while the store is down, fall back to
polling when refused an event stream, and never show a name or an ID number. The
screenshot of the hall display, docs/screenshots/queue_board.png, is made here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hospital_adapter.board import BoardServer, create_board
from hospital_adapter.errors import StoreError
from hospital_adapter.store import Store
from hospital_adapter.store.queue import QueueEntry, QueueStatus
from hospital_adapter.visit import VIETNAM_TIME, InsuranceStatus
from simulators.bhxh_gateway import Dataset
from simulators.browser import CHROMIUM, CHROMIUM_ARGS
from simulators.procfs import descendants

from .helpers import KEY, request_for, wait_until

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "queue_board.png"
UPDATE_DOCS = "CCCD_UPDATE_SCREENSHOTS"
"""Set to 1 to write the screenshot into docs/ (else it goes to the test's own folder)."""
DEPARTMENTS = {
    "K03": "Khám Nội",
    "K02": "Khám Ngoại",
    "K05": "Khám Tai Mũi Họng",
    "K07": "Khám Nhi",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for the module; it and Playwright's node driver are gone afterwards."""
    before = descendants(os.getpid())
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()

    def left() -> set[int]:
        return descendants(os.getpid()) - before

    assert wait_until(lambda: not left(), 10.0), f"processes left behind: {left()}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1920, "height": 1080}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    try:
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        yield opened
    finally:
        context.close()


class FakeQueue:
    def __init__(self, entries: list[QueueEntry]) -> None:
        self.entries = entries
        self.failing = False

    def __call__(self) -> list[QueueEntry]:
        if self.failing:
            raise StoreError("database is locked")
        return list(self.entries)


def _now() -> datetime:
    return datetime.now(UTC)


def _today_entry(department: str, ticket: int, status: QueueStatus, room: str = "") -> QueueEntry:
    now = _now()
    return QueueEntry(
        now.astimezone(VIETNAM_TIME).date(), department, ticket, status, False, now, room,
        now if room else None,
    )  # fmt: skip


def _number(page: Page, room: str) -> str:
    locator = page.locator(f'[data-room="{room}"] .number')
    return str(locator.text_content(timeout=1000) or "") if locator.count() else ""


def _wait_number(page: Page, room: str, text: str, timeout_s: float = 5.0) -> float:
    """Seconds until room ``room`` shows ``text``; fails after ``timeout_s``."""
    started = time.monotonic()
    page.wait_for_function(
        """([room, text]) => {
            const node = document.querySelector(`[data-room="${room}"] .number`);
            return node !== null && node.textContent === text;
        }""",
        arg=[room, text],
        timeout=timeout_s * 1000,
    )
    return time.monotonic() - started


def test_a_call_shows_without_reload_and_the_store_going_down(page: Page) -> None:
    source = FakeQueue(
        [
            _today_entry("K03", 11, QueueStatus.CALLED, "203"),
            _today_entry("K03", 12, QueueStatus.WAITING),
            _today_entry("K03", 13, QueueStatus.WAITING),
        ]
    )
    with BoardServer(create_board(source, DEPARTMENTS, poll_s=0.25)) as server:
        page.goto(server.url + "/")
        _wait_number(page, "203", "011")
        page.evaluate("window.__notReloaded = true")

        source.entries = [
            _today_entry("K03", 11, QueueStatus.SERVED, "203"),
            _today_entry("K03", 12, QueueStatus.CALLED, "203"),
            _today_entry("K03", 13, QueueStatus.WAITING),
        ]
        latency = _wait_number(page, "203", "012")
        print(f"\nfake source: call to screen {latency * 1000:.0f} ms")
        assert page.evaluate("window.__notReloaded") is True
        room = page.locator('[data-room="203"]')
        assert "flash" in (room.get_attribute("class") or "")
        assert "Phòng 203" in room.inner_text() and "Khám Nội" in room.inner_text()
        latest = page.locator("#latest-vi").inner_text()
        assert latest == "Mời số 012 — Phòng 203"
        chips = page.locator('[data-department="K03"] .chip').all_inner_texts()
        assert chips == ["013"]

        # The store goes down: the numbers stay, a small banner says it reconnects.
        banner = page.locator("#banner")
        assert banner.is_hidden()
        source.failing = True
        banner.wait_for(state="visible", timeout=5000)
        assert "đang kết nối lại" in banner.inner_text().lower()
        assert _number(page, "203") == "012"
        source.failing = False
        banner.wait_for(state="hidden", timeout=5000)
        assert page.evaluate("window.__notReloaded") is True


def test_polls_when_refused_an_event_stream(page: Page) -> None:
    source = FakeQueue([_today_entry("K05", 7, QueueStatus.CALLED, "12")])
    app = create_board(source, DEPARTMENTS, poll_s=0.25, max_clients=0)
    with BoardServer(app) as server:
        page.goto(server.url + "/")
        _wait_number(page, "12", "007")
        source.entries = [_today_entry("K05", 8, QueueStatus.CALLED, "12")]
        latency = _wait_number(page, "12", "008")  # polled every 2 s
        print(f"\npolling fallback: call to screen {latency * 1000:.0f} ms")


def _check_in_many(store: Store, dataset: Dataset) -> list[str]:
    """Check-ins in four departments; the secrets the page must never show."""
    plan = ["K03"] * 14 + ["K02"] * 7 + ["K05"] * 6 + ["K07"] * 9
    records = dataset.records
    for index, department in enumerate(plan):
        record = records[index % len(records)]
        store.check_in(request_for(record, department), InsuranceStatus.VERIFIED)
    secrets = []
    for record in records:
        secrets += [record.person.id_number, record.person.full_name, record.card_number]
        secrets += [record.person.address]
    return [secret for secret in secrets if secret]


def test_real_store_call_shows_on_the_open_page(
    page: Page, tmp_path: Path, dataset: Dataset
) -> None:
    shot = DOCS_SCREENSHOT if os.environ.get(UPDATE_DOCS) == "1" else tmp_path / "board.png"
    store = Store(tmp_path / "store.sqlite3", KEY)
    try:
        secrets = _check_in_many(store, dataset)
        for department, room in [("K03", "201"), ("K03", "202"), ("K02", "105"), ("K05", "310"),
                                 ("K07", "120"), ("K07", "121")]:  # fmt: skip
            assert store.call_next(department, room) is not None
        for department, room in [("K03", "201"), ("K07", "120"), ("K03", "201")]:
            assert store.call_next(department, room) is not None

        with BoardServer(create_board(store.queue, DEPARTMENTS, poll_s=0.5)) as server:
            started = time.monotonic()
            page.goto(server.url + "/")
            _wait_number(page, "201", "004")
            on_screen = time.monotonic() - started
            paint = page.evaluate(
                """() => Object.fromEntries(performance.getEntriesByType("paint")
                    .map(entry => [entry.name, Math.round(entry.startTime)]))"""
            )
            print(f"\nreal store: first paint {paint}, numbers on screen {on_screen * 1000:.0f} ms")
            page.evaluate("window.__notReloaded = true")
            assert _number(page, "203") == ""

            called_at = time.monotonic()
            entry = store.call_next("K03", "203")
            assert entry is not None and entry.ticket == 5
            page.wait_for_function(
                """() => {
                    const node = document.querySelector('[data-room="203"] .number');
                    return node !== null && node.textContent === "005";
                }""",
                timeout=5000,
            )
            latency = time.monotonic() - called_at
            print(f"real store: call to screen {latency * 1000:.0f} ms")
            assert latency < 5.0
            assert page.evaluate("window.__notReloaded") is True
            assert page.locator("#latest-vi").inner_text() == "Mời số 005 — Phòng 203"
            assert _number(page, "201") == "004" and _number(page, "105") == "001"
            waiting = page.locator('[data-department="K03"] .chip:visible').all_inner_texts()
            # The next numbers in call order; fewer than 8 when four departments must fit.
            expected = ["006", "007", "008", "009", "010", "011", "012", "013"]
            assert len(waiting) >= 3 and waiting == expected[: len(waiting)]

            shown = page.inner_text("body") + page.content()
            leaked = [secret for secret in secrets if secret in shown]
            assert not leaked, "personal data on the board"

            page.screenshot(path=str(shot), animations="disabled")
    finally:
        store.close()
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
