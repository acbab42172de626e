"""The queue board's web app: JSON snapshot, event stream, limits, page, server, CLI."""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hospital_adapter.board import BoardServer, create_board
from hospital_adapter.errors import StoreError
from hospital_adapter.store import Store
from hospital_adapter.store.queue import QueueEntry, QueueStatus
from hospital_adapter.visit import InsuranceStatus
from simulators.bhxh_gateway import Dataset

from .helpers import KEY, free_port, request_for, wait_until

with warnings.catch_warnings():
    # starlette's TestClient still runs on httpx and says so; nothing to do with the board.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient`:DeprecationWarning"
)

DAY = date(2025, 3, 10)
ROOT = Path(__file__).resolve().parents[2]


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A Vietnam wall-clock time as the store keeps it (UTC)."""
    return datetime(day.year, day.month, day.day, hour - 7, minute, tzinfo=UTC)


def waiting(department: str, ticket: int, minute: int, *, priority: bool = False) -> QueueEntry:
    return QueueEntry(DAY, department, ticket, QueueStatus.WAITING, priority, at(8, minute))


def called(
    department: str,
    ticket: int,
    room: str,
    when: datetime,
    status: QueueStatus = QueueStatus.CALLED,
) -> QueueEntry:
    return QueueEntry(DAY, department, ticket, status, False, at(7), room, when)


class FakeQueue:
    """A source the test changes at will; ``failing`` makes it raise like a store down."""

    def __init__(self, entries: list[QueueEntry] | None = None) -> None:
        self.entries = list(entries or [])
        self.failing = False
        self.calls = 0

    def __call__(self) -> list[QueueEntry]:
        self.calls += 1
        if self.failing:
            raise StoreError("database is locked")
        return list(self.entries)


def board(source: FakeQueue, **options: object) -> Starlette:
    departments = {"K03": "Khám Nội", "K05": "Khám Tai Mũi Họng"}
    return create_board(source, departments, today=lambda: DAY, **options)  # type: ignore[arg-type]


class EventReader:
    """Reads an event stream in a thread so each wait is bounded."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(lines,), daemon=True)
        self._thread.start()

    def _pump(self, lines: Iterator[str]) -> None:
        try:
            for line in lines:
                self._lines.put(line)
        except Exception:  # the stream closed under us: end of events
            pass
        finally:
            self._lines.put(None)

    def next_event(self, timeout_s: float = 5.0) -> tuple[str, str]:
        """The next event's type and data (comments and the retry field skipped)."""
        deadline = time.monotonic() + timeout_s
        kind, data = "message", []
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no event within {timeout_s} s")
            if line is None:
                raise EOFError("the stream ended")
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data.append(line.partition(":")[2].strip())
            elif line == "" and data:
                return kind, "\n".join(data)

    def ended(self, timeout_s: float = 5.0) -> bool:
        """The stream ends within ``timeout_s`` (events before the end are skipped)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self._lines.get(timeout=max(0.0, deadline - time.monotonic())) is None:
                    return True
            except queue.Empty:
                break
        return False


TODAY_ENTRIES = [
    # Yesterday's: never shown.
    QueueEntry(DAY - timedelta(days=1), "K03", 40, QueueStatus.CALLED, False, at(8),
               "203", at(16, 0, DAY - timedelta(days=1))),
    QueueEntry(DAY - timedelta(days=1), "K03", 41, QueueStatus.WAITING, False, at(8)),
    # Waiting, in call order (priority first, then arrival): shown in this order, 8 of them.
    waiting("K03", 21, 30, priority=True),
    *(waiting("K03", ticket, ticket) for ticket in range(13, 21)),
    waiting("K19", 2, 5),
    # Room 203: an earlier call and its latest; the served one is not shown.
    called("K03", 9, "203", at(8, 5), QueueStatus.SERVED),
    called("K03", 12, "203", at(8, 40)),
    called("K03", 11, "203", at(8, 20)),
    called("K05", 4, "12", at(8, 10)),
    called("K05", 5, "9", at(8, 15)),
]  # fmt: skip

EXPECTED = {
    "date": "2025-03-10",
    "departments": {"K03": "Khám Nội", "K05": "Khám Tai Mũi Họng", "K19": "K19"},
    "rooms": [
        {"room": "9", "department": "K05", "ticket": 5,
         "called_at": "2025-03-10T08:15:00+07:00"},
        {"room": "12", "department": "K05", "ticket": 4,
         "called_at": "2025-03-10T08:10:00+07:00"},
        {"room": "203", "department": "K03", "ticket": 12,
         "called_at": "2025-03-10T08:40:00+07:00"},
    ],
    "waiting": {"K03": [21, 13, 14, 15, 16, 17, 18, 19], "K05": [], "K19": [2]},
    "counts": {
        "K03": {"waiting": 9, "called": 2, "served": 1},
        "K05": {"waiting": 0, "called": 2, "served": 0},
        "K19": {"waiting": 1, "called": 0, "served": 0},
    },
}  # fmt: skip


def test_api_queue_snapshot() -> None:
    with TestClient(board(FakeQueue(TODAY_ENTRIES))) as client:
        response = client.get("/api/queue")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == EXPECTED


def test_api_queue_is_503_while_the_source_fails() -> None:
    source = FakeQueue(TODAY_ENTRIES)
    source.failing = True
    with TestClient(board(source, poll_s=0.05)) as client:
        response = client.get("/api/queue")
        assert response.status_code == 503
        assert response.json() == {
            "error": "queue unavailable",
            "detail": "the queue store cannot be read now",
        }
        source.failing = False
        time.sleep(0.06)
        assert client.get("/api/queue").json() == EXPECTED


def test_the_source_is_read_once_per_poll_however_many_ask() -> None:
    source = FakeQueue(TODAY_ENTRIES)
    with TestClient(board(source, poll_s=60)) as client:
        for _ in range(20):
            assert client.get("/api/queue").status_code == 200
    assert source.calls == 1


def test_events_send_the_snapshot_then_each_change() -> None:
    source = FakeQueue([waiting("K03", 13, 1), waiting("K03", 14, 2)])
    app = board(source, poll_s=0.05)
    with TestClient(app) as client, client.stream("GET", "/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = EventReader(response.iter_lines())
        kind, data = events.next_event()
        assert kind == "message"
        first = json.loads(data)
        assert (first["rooms"], first["waiting"]["K03"]) == ([], [13, 14])

        source.entries = [called("K03", 13, "203", at(9)), waiting("K03", 14, 2)]
        kind, data = events.next_event()
        second = json.loads(data)
        assert second["rooms"] == [
            {"room": "203", "department": "K03", "ticket": 13,
             "called_at": "2025-03-10T09:00:00+07:00"},
        ]  # fmt: skip
        assert second["waiting"]["K03"] == [14]

        # The store goes down: one "unavailable" event; back up: the snapshot again.
        source.failing = True
        assert events.next_event()[0] == "unavailable"
        source.failing = False
        kind, data = events.next_event()
        assert (kind, json.loads(data)) == ("message", second)

        # The server stops: the stream ends, and its slot is given back.
        app.state.board.close()
        assert events.ended(2.0)
    assert wait_until(lambda: app.state.board.clients == 0, 2.0)


def test_the_65th_screen_is_refused() -> None:
    app = board(FakeQueue(TODAY_ENTRIES))
    with TestClient(app) as client, ExitStack() as streams:
        for _ in range(64):
            response = streams.enter_context(client.stream("GET", "/events"))
            assert response.status_code == 200
        assert app.state.board.clients == 64
        refused = client.get("/events")
        assert refused.status_code == 503
        assert refused.json()["error"] == "too many screens"
        assert client.get("/api/queue").status_code == 200  # polling still works
        streams.close()
        assert wait_until(lambda: app.state.board.clients == 0, 5.0)
        with client.stream("GET", "/events") as again:
            assert again.status_code == 200


def test_the_page() -> None:
    with TestClient(board(FakeQueue(), title="Bệnh viện <Quận 1> & co")) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert '<html lang="vi">' in page
    assert "<title>Bệnh viện &lt;Quận 1&gt; &amp; co</title>" in page
    assert "{{title}}" not in page
    assert 'EventSource("/events")' in page and "/api/queue" in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE)
    assert not [link for link in links if "http" in link.lower() or link.startswith("//")]
    assert "@import" not in page and "url(" not in page
    assert "innerHTML" not in page and "outerHTML" not in page
    assert '"Noto Sans", sans-serif' in page


def test_the_page_is_shipped_as_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"hospital_adapter.board" = ["static/*"]' in pyproject


def test_request_log_has_path_and_status_only(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="hospital_adapter.board"),
        TestClient(board(FakeQueue())) as client,
    ):
        client.get("/api/queue?ticket=secret-query", headers={"X-Forwarded-For": "10.1.2.3"})
    lines = [record.getMessage() for record in caplog.records]
    assert "GET /api/queue 200" in lines
    assert not [line for line in lines if "secret" in line or "10.1.2.3" in line]


def test_server_stops_quickly_with_screens_connected() -> None:
    source = FakeQueue(TODAY_ENTRIES)
    server = BoardServer(board(source, poll_s=0.2)).start()
    try:
        with httpx.Client(timeout=5.0) as client:
            assert client.get(f"{server.url}/api/queue").json() == EXPECTED
            with ExitStack() as streams:
                readers = []
                for _ in range(3):
                    response = streams.enter_context(client.stream("GET", f"{server.url}/events"))
                    readers.append(EventReader(response.iter_lines()))
                for reader in readers:
                    assert json.loads(reader.next_event()[1]) == EXPECTED
                started = time.monotonic()
                server.stop()
                stopped_in = time.monotonic() - started
                assert all(reader.ended(2.0) for reader in readers)
    finally:
        server.stop()
    assert stopped_in < 5.0
    assert not server._thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/queue", timeout=1.0)


def test_with_the_real_store(tmp_path: Path, dataset: Dataset) -> None:
    store = Store(tmp_path / "store.sqlite3", KEY)
    try:
        for record in dataset.records[:4]:
            store.check_in(request_for(record, "K03"), InsuranceStatus.VERIFIED)
        store.check_in(request_for(dataset.records[4], "K05"), InsuranceStatus.VERIFIED)
        assert store.call_next("K03", "203") is not None
        app = create_board(store.queue, {"K03": "Khám Nội", "K05": "Khám Tai Mũi Họng"})
        with TestClient(app) as client:
            data = client.get("/api/queue").json()
        [room] = data["rooms"]
        assert (room["room"], room["department"], room["ticket"]) == ("203", "K03", 1)
        assert data["waiting"] == {"K03": [2, 3, 4], "K05": [1]}
        assert data["counts"]["K03"] == {"waiting": 3, "called": 1, "served": 0}
        text = json.dumps(data, ensure_ascii=False)
        for record in dataset.records[:5]:
            assert record.person.id_number not in text
            assert record.person.full_name not in text
    finally:
        store.close()


def test_cli_serves_until_sigterm(tmp_path: Path, dataset: Dataset) -> None:
    db = tmp_path / "kiosk.sqlite3"
    store = Store(db, KEY)
    for record in dataset.records[:2]:
        store.check_in(request_for(record, "K03"), InsuranceStatus.VERIFIED)
    store.call_next("K03", "7")
    store.close()
    config = tmp_path / "hospital.toml"
    config.write_text(f'[store]\npath = "{db}"\n', encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hospital_adapter", "--config", str(config), "board",
         "--port", str(port), "--refresh", "0.2"],
        cwd=ROOT,
        env={**os.environ, "CCCD_HOSPITAL_KEY": KEY.hex(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/queue"

        def answers() -> bool:
            try:
                return httpx.get(url, timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(answers, 20.0), "the board did not answer"
        data = httpx.get(url, timeout=2.0).json()
        assert [(r["room"], r["department"], r["ticket"]) for r in data["rooms"]] == [
            ("7", "K03", 1)
        ]
        assert data["departments"] == {"K03": "K03"} and data["waiting"] == {"K03": [2]}
        with httpx.Client(timeout=5.0) as client, client.stream("GET", url[:-10] + "/events"):
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=5.0)
            assert time.monotonic() - started < 5.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5.0)
    assert process.returncode == 0, stderr
    assert f"Queue board on http://127.0.0.1:{port}/" in stdout
