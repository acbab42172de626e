"""MLLP framing (HL7 v2.5 Appendix C, Minimal Lower Layer Protocol) and the HL7 registrar,
which also finds known patients with IHE PDQ (ITI TF-2 §3.21, ITI-21).

A frame is ``<VT> message <FS><CR>``. Reads are bounded by :data:`MAX_FRAME_BYTES` and by
the caller's deadline.
"""

from __future__ import annotations

import logging
import socket
import ssl
import uuid
from collections.abc import Callable
from datetime import datetime

from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import HisProtocolError, HisRejectedError, HisUnavailableError
from hospital_adapter.his.base import KnownPatient, PatientKey
from hospital_adapter.his.hl7v2 import (
    AckCode,
    MessageHeader,
    build_adt_a04,
    build_pdq_query,
    parse_ack,
    parse_pdq_response,
)
from hospital_adapter.visit import Visit, utc_now

log = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"
MAX_FRAME_BYTES = 1024 * 1024


def frame(message: str) -> bytes:
    """Wrap a message, encoded as UTF-8 (MSH-18 ``UNICODE UTF-8``), in an MLLP block."""
    return START_BLOCK + message.encode("utf-8") + END_BLOCK


def read_frame(
    sock: socket.socket, limit: int = MAX_FRAME_BYTES, *, deadline: Deadline | None = None
) -> bytes:
    """Read one MLLP block from ``sock`` and return its content (without the framing).

    Raises :class:`HisProtocolError` for bytes before the start block or an oversized
    frame, :class:`ConnectionError` if the peer closes first; socket timeouts propagate.
    With a ``deadline``, the whole read ends by it (a peer trickling bytes cannot extend
    it) with :class:`TimeoutError`.
    """
    buffer = b""
    while END_BLOCK not in buffer:
        if deadline is not None:
            if deadline.expired:
                raise TimeoutError("MLLP frame not complete by the deadline")
            sock.settimeout(deadline.remaining())
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the end of the MLLP frame")
        buffer += chunk
        if not buffer.startswith(START_BLOCK):
            raise HisProtocolError("data before the MLLP start block")
        if len(buffer) > limit + len(START_BLOCK) + len(END_BLOCK):
            raise HisProtocolError(f"MLLP frame longer than {limit} bytes")
    return buffer[1 : buffer.index(END_BLOCK)]


class MllpRegistrar:
    """Registers visits as ADT^A04 over MLLP, one connection per message.

    AA: registered. AE (the message is wrong): :class:`HisRejectedError`, not retryable.
    AR (the receiver cannot take it now): :class:`HisRejectedError`, retryable. With
    ``tls`` (a client context) the connection is TLS, the server verified as ``host``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        header: MessageHeader,
        *,
        timeout_s: float = 5.0,
        clock: Callable[[], datetime] = utc_now,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._address = (host, port)
        self._header = header
        self._timeout = timeout_s
        self._clock = clock
        self._tls = tls

    def _connect(self, budget: Deadline) -> socket.socket:
        """A connection to the HIS, TLS if configured (the handshake within ``budget``)."""
        sock = socket.create_connection(self._address, timeout=budget.remaining())
        if self._tls is None:
            return sock
        try:
            return self._tls.wrap_socket(sock, server_hostname=self._address[0])
        except BaseException:
            sock.close()
            raise

    def _exchange(self, message: str, deadline: Deadline, what: str) -> str:
        """Send ``message`` and return the answer's text, within ``timeout_s`` and by
        ``deadline``; :class:`HisUnavailableError` when the HIS cannot be reached in time."""
        budget = deadline.within(self._timeout)
        if budget.expired:
            raise HisUnavailableError(f"deadline passed before sending {what} to the HIS")
        try:
            with self._connect(budget) as sock:
                sock.settimeout(budget.remaining() or 0.001)
                sock.sendall(frame(message))
                raw = read_frame(sock, deadline=budget)
        except TimeoutError:
            raise HisUnavailableError(f"the HIS did not answer {what} in time") from None
        except OSError as exc:
            raise HisUnavailableError(f"cannot reach the HIS: {type(exc).__name__}") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HisProtocolError(f"the answer to {what} is not UTF-8") from None

    def register(self, visit: Visit, deadline: Deadline) -> None:
        message = build_adt_a04(visit, self._header, self._clock())
        ack = parse_ack(self._exchange(message, deadline, "the registration"))
        if ack.control_id != visit.message_id:
            raise HisProtocolError("acknowledgement is for another message")
        if ack.code is AckCode.ERROR:
            raise HisRejectedError(ack.code.value, ack.text, retryable=False)
        if ack.code is AckCode.REJECT:
            raise HisRejectedError(ack.code.value, ack.text, retryable=True)
        log.info("HIS accepted message %s", visit.message_id)

    def find_patient(self, number: str, deadline: Deadline) -> KnownPatient | None:
        """IHE PDQ (ITI-21): ``QBP^Q22`` by the ID or BHXH ``number``, ``RSP^K22`` parsed."""
        key = PatientKey.of(number)
        control_id = uuid.uuid4().hex[:20]
        message = build_pdq_query(number, self._header, self._clock(), control_id)
        found = parse_pdq_response(self._exchange(message, deadline, "the query"), control_id)
        log.info("HIS demographics query by %s: %s", key.value, "found" if found else "none")
        return found
