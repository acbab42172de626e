"""APDU traces: record a session to a file and replay it later without a card.

A trace is JSON Lines, one exchange per line: ``{"c": "<command hex>", "r": "<response
hex>"}``. Traces hold raw APDUs, so they may hold personal data: record only test cards,
or keep traces as carefully as the card itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cardreader.errors import ParseError, TransportError
from cardreader.transport.base import Transport

MAX_TRACE_LINES = 100_000
MAX_LINE_LENGTH = 300_000


@dataclass(frozen=True, slots=True)
class Exchange:
    """One command APDU and the response it got."""

    command: bytes
    response: bytes

    def to_json(self) -> str:
        return json.dumps({"c": self.command.hex().upper(), "r": self.response.hex().upper()})


def parse_trace(lines: Iterable[str]) -> list[Exchange]:
    """Parse a JSON Lines trace; raise :class:`ParseError` naming the bad line."""
    out: list[Exchange] = []
    for number, line in enumerate(lines, start=1):
        if number > MAX_TRACE_LINES:
            raise ParseError(f"trace longer than {MAX_TRACE_LINES} exchanges")
        if not line.strip():
            continue
        if len(line) > MAX_LINE_LENGTH:
            raise ParseError(f"trace line {number} is too long")
        try:
            item = json.loads(line)
            out.append(Exchange(bytes.fromhex(item["c"]), bytes.fromhex(item["r"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ParseError(f"trace line {number} is not a command/response pair: {exc}") from exc
    return out


class RecordingTransport:
    """Passes APDUs to ``inner`` and writes each exchange to ``sink``."""

    def __init__(self, inner: Transport, sink: IO[str]) -> None:
        self.inner = inner
        self.sink = sink

    @property
    def supports_extended_length(self) -> bool:
        return self.inner.supports_extended_length

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        self.sink.write(Exchange(apdu, response).to_json() + "\n")
        self.sink.flush()
        return response


class TraceMismatchError(TransportError):
    """The replayed session sent a command other than the recorded one."""


class ReplayTransport:
    """Answers from a recorded trace; every command must match the recording.

    Random values (nonces, ephemeral keys) must be pinned for a protocol run to replay.
    """

    def __init__(self, exchanges: Iterable[Exchange], extended: bool = True) -> None:
        self._exchanges: Iterator[Exchange] = iter(list(exchanges))
        self.extended = extended
        self.position = 0

    @classmethod
    def from_file(cls, path: Path, extended: bool = True) -> ReplayTransport:
        with path.open(encoding="utf-8") as handle:
            return cls(parse_trace(handle), extended)

    @property
    def supports_extended_length(self) -> bool:
        return self.extended

    def transmit(self, apdu: bytes) -> bytes:
        expected = next(self._exchanges, None)
        self.position += 1
        if expected is None:
            raise TraceMismatchError(f"the trace ended before command {self.position}")
        if expected.command != apdu:
            raise TraceMismatchError(f"command {self.position} differs from the recording")
        return expected.response
