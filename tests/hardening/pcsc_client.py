"""A PC/SC client in its own process, driven by the hardening tests over stdin/stdout.

libpcsclite fixes the pcscd socket path at the first PC/SC call of a process
(``PCSCLITE_CSOCK_NAME``, see :mod:`simulators.pcscd`), and the test process already talks
to the session's pcscd. The hardening tests run their own pcscd, so the reads happen here,
in a child started with that daemon's socket in its environment.

Usage: ``python -m tests.hardening.pcsc_client READER``; one JSON request per line in,
one JSON answer per line out::

    {"op": "read", "method": "PACE-CAN"}  -> {"outcome": "VERIFIED", "identity": true, ...}
    {"op": "wait-removal"}                -> {"outcome": "removed"}

A read waits for a card, connects, runs ``read_identity`` then ``read_photo`` and reports
the verdict, or the error class and whether it is a :class:`TransportError`; ``identity``
says whether ``read_identity`` returned.
"""

from __future__ import annotations

import json
import sys

from cardreader.errors import CardError, TransportError
from cardreader.transport.pcsc import CardWaiter, PcscTransport
from cardreader.verified_read import VerifiedReader
from tests.hardening.cards import Method, credentials, issued, trust

PRESENCE_TIMEOUT = 15.0
"""Generous: a loaded 2-core machine can be slow to start pcscd and see the card."""


def _read(reader: str, method: Method) -> dict[str, object]:
    card = issued(method)
    answer: dict[str, object] = {"identity": False}
    try:
        with CardWaiter() as waiter:
            if waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is None:
                return {**answer, "outcome": "no-card"}
        with PcscTransport.connect(reader) as transport:
            verified = VerifiedReader(transport, credentials(card, method), trust())
            identity = verified.read_identity()
            answer["identity"] = True
            answer["id_ok"] = identity.identity.id_number is not None and (
                identity.identity.id_number.value == card.persona.id_number
            )
            photo = verified.read_photo()
    except CardError as exc:
        return {
            **answer,
            "outcome": "error",
            "error": type(exc).__name__,
            "transport": isinstance(exc, TransportError),
            "message": str(exc),
        }
    return {**answer, "outcome": photo.report.verdict.name, "face": photo.face is not None}


def _wait_removal(reader: str) -> dict[str, object]:
    try:
        with CardWaiter() as waiter:
            removed = waiter.wait_for_removal(reader, PRESENCE_TIMEOUT)
    except CardError as exc:
        return {"outcome": "error", "error": type(exc).__name__}
    return {"outcome": "removed" if removed else "still-present"}


def main() -> None:
    reader = sys.argv[1]
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "read":
            answer = _read(reader, Method(request["method"]))
        elif request["op"] == "wait-removal":
            answer = _wait_removal(reader)
        else:
            answer = {"outcome": "bad-request"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
