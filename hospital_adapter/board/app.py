"""The queue board: a read-only web page for the big screen of a hospital hall.

For each room the number it calls now, large; for each department the next numbers
waiting. Nothing personal is shown or served: the data (:class:`QueueEntry`) holds
department, number, room, a priority flag and times only, and the page shows numbers,
rooms and department names.

Routes of :func:`create_board`:

- ``GET /``: the page (``static/board.html``: inline CSS and JS, nothing from elsewhere);
- ``GET /api/queue``: the snapshot as JSON (:func:`snapshot`), 503 while the source fails;
- ``GET /events``: Server-Sent Events, the snapshot each time it changes (``message``),
  ``unavailable`` while the source fails, a comment every 15 s to keep proxies open.
  At most ``max_clients`` streams at once (more get 503: the page then polls
  ``/api/queue``).

The source (``Store.queue`` in production) is called off the event loop, at most once per
``poll_s`` however many screens watch: every stream and API call share one cached result.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from datetime import date, datetime
from importlib import resources
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hospital_adapter.store.queue import QueueEntry, QueueStatus
from hospital_adapter.visit import VIETNAM_TIME

log = logging.getLogger(__name__)

DEFAULT_TITLE = "Bảng gọi số khám bệnh"
WAITING_SHOWN = 8
"""How many waiting numbers per department the snapshot lists (the counts give the rest)."""
MAX_CLIENTS = 64
KEEP_ALIVE_S = 15.0
RETRY_MS = 2000
"""How soon a browser reconnects a dropped stream (the SSE ``retry`` field)."""

QueueSource = Callable[[], Sequence[QueueEntry]]

_SECURITY_HEADERS = {
    # Nothing but this server: no CDN, no font, no frame, no form.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SourceUnavailableError(Exception):
    """The queue source failed (the store is down); the board keeps the last numbers."""


def vietnam_today() -> date:
    return datetime.now(VIETNAM_TIME).date()


def _room_order(room: str) -> tuple[int, int, str]:
    """Rooms in natural order: 9 before 10, then names."""
    return (0, int(room), room) if room.isdigit() else (1, 0, room)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM_TIME)
    return moment.isoformat()


def snapshot(
    entries: Sequence[QueueEntry],
    departments: Mapping[str, str],
    today: date,
    *,
    waiting_shown: int = WAITING_SHOWN,
) -> dict[str, Any]:
    """What the board shows, from the source's entries (waiting ones in call order).

    Only ``today``'s entries count. ``rooms``: one per room, its latest call (the latest
    ``called_at``; the later entry on a tie), rooms in natural order. ``waiting``: per
    department the first ``waiting_shown`` tickets in the source's order (the call order).
    ``departments``: code → name, the configured ones in their order, then any other code
    seen today (named by its code). ``counts``: per department, tickets per status.
    """
    todays = [entry for entry in entries if entry.service_date == today]
    names = dict(departments)
    for code in sorted({entry.department for entry in todays} - names.keys()):
        names[code] = code

    latest: dict[str, tuple[int, QueueEntry]] = {}
    for index, entry in enumerate(todays):
        if entry.status is not QueueStatus.CALLED or not entry.room:
            continue
        current = latest.get(entry.room)
        if current is None or _call_key(index, entry) >= _call_key(*current):
            latest[entry.room] = (index, entry)
    rooms = [
        {
            "room": room,
            "department": entry.department,
            "ticket": entry.ticket,
            "called_at": _iso(entry.called_at),
        }
        for room, (_, entry) in sorted(latest.items(), key=lambda item: _room_order(item[0]))
    ]

    waiting: dict[str, list[int]] = {code: [] for code in names}
    counts: dict[str, dict[str, int]] = {
        code: {status.value: 0 for status in QueueStatus} for code in names
    }
    for entry in todays:
        counts[entry.department][entry.status.value] += 1
        shown = waiting[entry.department]
        if entry.status is QueueStatus.WAITING and len(shown) < waiting_shown:
            shown.append(entry.ticket)
    return {
        "date": today.isoformat(),
        "departments": names,
        "rooms": rooms,
        "waiting": waiting,
        "counts": counts,
    }


def _call_key(index: int, entry: QueueEntry) -> tuple[float, int]:
    called = entry.called_at.timestamp() if entry.called_at is not None else float("-inf")
    return (called, index)


class _Feed:
    """The source's latest snapshot, shared by every stream and API call.

    The source runs in a worker thread, one call at a time, at most once per ``max_age``
    seconds: many screens cost the store no more than one.
    """

    def __init__(
        self,
        source: QueueSource,
        departments: Mapping[str, str],
        today: Callable[[], date],
        max_age: float,
        waiting_shown: int,
    ) -> None:
        self._source = source
        self._departments = dict(departments)
        self._today = today
        self._max_age = max_age
        self._waiting_shown = waiting_shown
        self._lock: anyio.Lock | None = None
        self._fetched_at = float("-inf")
        self._result: str | SourceUnavailableError = SourceUnavailableError("not read yet")

    def _read(self) -> str:
        try:
            entries = list(self._source())
            data = snapshot(
                entries, self._departments, self._today(), waiting_shown=self._waiting_shown
            )
        except Exception as exc:
            # The type only: a store error's text may name a file, never a patient, but
            # the board has no need of either.
            log.warning("queue board: the queue source failed (%s)", type(exc).__name__)
            raise SourceUnavailableError(type(exc).__name__) from exc
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def latest(self) -> str:
        """The snapshot as JSON; :class:`SourceUnavailableError` while the source fails."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if time.monotonic() - self._fetched_at >= self._max_age:
                try:
                    self._result = await anyio.to_thread.run_sync(self._read)
                except SourceUnavailableError as exc:
                    self._result = exc
                self._fetched_at = time.monotonic()
            result = self._result
        if isinstance(result, SourceUnavailableError):
            raise result
        return result


class Board:
    """The state behind one board app (``app.state.board``): its feed, its streams."""

    def __init__(self, feed: _Feed, poll_s: float, max_clients: int) -> None:
        self.feed = feed
        self.poll_s = poll_s
        self.max_clients = max_clients
        self._clients = 0
        self._clients_lock = threading.Lock()
        self._closing = threading.Event()

    @property
    def clients(self) -> int:
        """Event streams open now."""
        return self._clients

    def close(self) -> None:
        """End every event stream at its next tick (the server is stopping)."""
        self._closing.set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def _admit(self) -> bool:
        with self._clients_lock:
            if self._clients >= self.max_clients or self.closing:
                return False
            self._clients += 1
            return True

    def _leave(self) -> None:
        with self._clients_lock:
            self._clients -= 1

    async def _pause(self) -> None:
        """Sleep ``poll_s``, waking early (within 0.25 s) when the board closes."""
        deadline = time.monotonic() + self.poll_s
        while not self.closing:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await anyio.sleep(min(left, 0.25))

    async def events(self) -> AsyncGenerator[bytes, None]:
        """The event stream of one screen: each change of the snapshot, once."""
        yield f"retry: {RETRY_MS}\n\n".encode()
        last_sent = time.monotonic()
        shown: str | None = None
        available: bool | None = None
        while not self.closing:
            try:
                current = await self.feed.latest()
            except SourceUnavailableError:
                if available is not False:
                    available = False
                    last_sent = time.monotonic()
                    yield b'event: unavailable\ndata: {"error":"queue unavailable"}\n\n'
            else:
                if current != shown or available is not True:
                    shown, available = current, True
                    last_sent = time.monotonic()
                    yield f"data: {current}\n\n".encode()
            if time.monotonic() - last_sent >= KEEP_ALIVE_S:
                last_sent = time.monotonic()
                yield b": keep-alive\n\n"
            await self._pause()


class _EventStream(StreamingResponse):
    """A stream that gives its client slot back however it ends (end, disconnect, cancel)."""

    def __init__(self, board: Board) -> None:
        self._events = board.events()
        super().__init__(
            self._events,
            media_type="text/event-stream",
            headers={**_SECURITY_HEADERS, "X-Accel-Buffering": "no"},
        )
        self._board = board

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._board._leave()
            await self._events.aclose()


def _page(title: str) -> str:
    text = (
        resources.files("hospital_adapter.board").joinpath("static/board.html").read_text("utf-8")
    )
    return text.replace("{{title}}", html.escape(title))


class _RequestLog:
    """Logs method, path and status of each request: no query, no client address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                log.info("%s %s %d", scope["method"], scope["path"], message["status"])
            await send(message)

        await self.app(scope, receive, logging_send)


def create_board(
    source: QueueSource,
    departments: Mapping[str, str],
    *,
    poll_s: float = 0.5,
    title: str = DEFAULT_TITLE,
    max_clients: int = MAX_CLIENTS,
    waiting_shown: int = WAITING_SHOWN,
    today: Callable[[], date] = vietnam_today,
) -> Starlette:
    """The board's web app. ``source`` gives the queue (``Store.queue``), ``departments``
    maps each department code to its Vietnamese name (the order shown), ``today`` the
    service date shown (Vietnam's date by default)."""
    if poll_s <= 0:
        raise ValueError("poll_s must be positive")
    board = Board(
        _Feed(source, departments, today, poll_s * 0.8, waiting_shown), poll_s, max_clients
    )
    page = _page(title)

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=_SECURITY_HEADERS)

    async def queue(request: Request) -> Response:
        try:
            current = await board.feed.latest()
        except SourceUnavailableError:
            return JSONResponse(
                {"error": "queue unavailable", "detail": "the queue store cannot be read now"},
                status_code=503,
                headers={**_SECURITY_HEADERS, "Retry-After": "2"},
            )
        return Response(current, media_type="application/json", headers=_SECURITY_HEADERS)

    async def events(request: Request) -> Response:
        if not board._admit():
            return JSONResponse(
                {"error": "too many screens", "detail": f"at most {board.max_clients} streams"},
                status_code=503,
                headers={**_SECURITY_HEADERS, "Retry-After": "30"},
            )
        return _EventStream(board)

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/queue", queue, methods=["GET"]),
            Route("/events", events, methods=["GET"]),
        ]
    )
    app.add_middleware(_RequestLog)
    app.state.board = board
    return app
