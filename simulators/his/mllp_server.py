"""A simulated HIS listening for HL7 v2.5 ADT^A04 over MLLP (HL7 v2.5 Appendix C).

It parses messages with its own small reader (not the adapter's code), checks what an
HIS would need (MSH-9/12/18, PID-3 national ID, PV1 outpatient with a location, IN1 for an
insured visit) and answers AA, AE with an ERR segment, or the injected fault.

It also answers IHE PDQ queries (ITI TF-2 §3.21, ITI-21): a ``QBP^Q22`` by PID-3 (the ID
number, authority ``BCA``, or the BHXH number, authority ``BHXH``) gets an ``RSP^K22``
with QAK-2 ``OK`` and the PID of each patient it knows with that number, or ``NF``.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import time
from datetime import datetime

from simulators.his.state import HisFault, HisState, Registration
from simulators.server_thread import ServerThread

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
MAX_FRAME = 1024 * 1024
TYPED_IDENTITY = "NHAP"
"""PID-32 of an ID number typed at the kiosk: no name yet, the counter completes it."""
"""How often the serving thread looks for a stop request (``stop()`` waits that long)."""
_UNESCAPE = {"\\F\\": "|", "\\S\\": "^", "\\T\\": "&", "\\R\\": "~", "\\E\\": "\\"}


def _escape(text: str) -> str:
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        out = out.replace(char, code)
    return out


def _unescape(text: str) -> str:
    for code, char in _UNESCAPE.items():
        text = text.replace(code, char)
    return text


class _Message:
    """Segments of a v2 message; ``field("PID", 3)`` is PID-3 (MSH counted per the spec)."""

    def __init__(self, text: str) -> None:
        self.segments: dict[str, list[str]] = {}
        for line in filter(None, text.split("\r")):
            parts = line.split("|")
            if parts[0] == "MSH":
                parts = ["MSH", "|", *parts[1:]]
            self.segments.setdefault(parts[0], parts)

    def field(self, segment: str, n: int) -> str:
        parts = self.segments.get(segment, [])
        return parts[n] if n < len(parts) else ""


class _InvalidMessageError(Exception):
    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.text = text
        super().__init__(text)


def _registration(msg: _Message) -> Registration:
    if msg.field("MSH", 9) not in ("ADT^A04^ADT_A01", "ADT^A04"):
        raise _InvalidMessageError("MSH^1^9", "not an ADT^A04")
    if msg.field("MSH", 12) != "2.5":
        raise _InvalidMessageError("MSH^1^12", "version must be 2.5")
    if msg.field("MSH", 18) != "UNICODE UTF-8":
        raise _InvalidMessageError("MSH^1^18", "character set must be UNICODE UTF-8")
    if not msg.field("MSH", 10):
        raise _InvalidMessageError("MSH^1^10", "message control id missing")
    ids = [rep.split("^") for rep in msg.field("PID", 3).split("~")]
    national = [c[0] for c in ids if len(c) >= 5 and c[4] == "NNVNM"]
    if len(national) != 1 or not (national[0].isdigit() and len(national[0]) == 12):
        raise _InvalidMessageError("PID^1^3", "exactly one 12-digit national ID (NNVNM) required")
    cards = [_unescape(c[0]) for c in ids if len(c) >= 5 and c[4] == "HC"]
    name = msg.field("PID", 5).split("^")
    if not name[0] and msg.field("PID", 32) != TYPED_IDENTITY:
        raise _InvalidMessageError("PID^1^5", "family name missing")
    if msg.field("PID", 8) not in ("M", "F"):
        raise _InvalidMessageError("PID^1^8", "sex must be M or F")
    if msg.field("PV1", 2) != "O":
        raise _InvalidMessageError("PV1^1^2", "patient class must be O (outpatient)")
    department = _unescape(msg.field("PV1", 3).split("^")[0])
    if not department:
        raise _InvalidMessageError("PV1^1^3", "assigned location missing")
    insured = msg.field("PV1", 20) == "BHYT"
    card = _unescape(msg.field("IN1", 36))
    if insured and (len(card) != 15 or card not in cards):
        raise _InvalidMessageError(
            "IN1^1^36", "insured visit needs IN1-36 matching the PID-3 health card"
        )
    return Registration(
        key=msg.field("MSH", 10),
        id_number=national[0],
        family_name=_unescape(name[0]),
        given_name=_unescape(" ".join(reversed(name[1:3])).strip()),
        birth_date=msg.field("PID", 7),
        sex=msg.field("PID", 8),
        department=department,
        insured=insured,
        card_number=card,
        priority=msg.field("PV2", 25),
        identity=msg.field("PID", 32),
    )


def _ack(control_id: str, code: str, text: str = "", where: str = "") -> bytes:
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|HIS||KIOSK||{now}||ACK^A04^ACK|ACK{control_id[:17]}|P|2.5|||||||UNICODE UTF-8",
        f"MSA|{code}|{control_id}|{text.replace('|', '/')}",
    ]
    if where:
        segments.append(f"ERR||{where}|207^Application internal error^HL70357|E")
    return VT + ("\r".join(segments) + "\r").encode("utf-8") + FS + CR


_PDQ_AUTHORITIES = {"BCA": 12, "BHXH": 10}
"""PID-3.4 of a PDQ query, and the length of the number asked with it."""


def _pdq_number(msg: _Message) -> str:
    """The number a ``QBP^Q22`` asks for; :class:`_InvalidMessageError` if it is not one."""
    if msg.field("QPD", 1).split("^")[0] != "IHE PDQ Query":
        raise _InvalidMessageError("QPD^1^1", "QPD-1 must be IHE PDQ Query")
    if not msg.field("QPD", 2):
        raise _InvalidMessageError("QPD^1^2", "query tag missing")
    parameters = dict(p.partition("^")[::2] for p in msg.field("QPD", 3).split("~"))
    number, authority = parameters.get("@PID.3.1", ""), parameters.get("@PID.3.4", "")
    if len(number) != _PDQ_AUTHORITIES.get(authority, -1) or not number.isdigit():
        raise _InvalidMessageError("QPD^1^3", "@PID.3.1 must be a number of @PID.3.4 BCA or BHXH")
    return number


def _pid(index: int, patient: Registration) -> str:
    identifiers = [f"{patient.id_number}^^^BCA^NNVNM"]
    if patient.card_number:
        identifiers.append(f"{_escape(patient.card_number)}^^^BHXH^HC")
    words = patient.given_name.split()
    given, middle = (words[-1], " ".join(words[:-1])) if words else ("", "")
    name = "^".join(_escape(part) for part in (patient.family_name, given, middle))
    fields = ["PID", str(index), "", "~".join(identifiers), "", name.rstrip("^"), ""]
    return "|".join([*fields, patient.birth_digits, patient.sex])


def _pdq_answer(msg: _Message, state: HisState) -> bytes:
    """The ``RSP^K22^RSP_K21`` to a ``QBP^Q22`` (IHE ITI TF-2 §3.21.4.2)."""
    control_id, tag = msg.field("MSH", 10), msg.field("QPD", 2)
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    msh = (
        f"MSH|^~\\&|HIS||KIOSK||{now}||RSP^K22^RSP_K21|RSP{control_id[:17]}|P|2.5"
        "|||||||UNICODE UTF-8"
    )
    try:
        number = _pdq_number(msg)
    except _InvalidMessageError as exc:
        segments = [
            msh,
            f"MSA|AE|{control_id}|{exc.text}",
            f"ERR||{exc.where}|207^Application internal error^HL70357|E",
            f"QAK|{tag}|AE|IHE PDQ Query",
        ]
    else:
        found = state.find(number)
        status = "OK" if found else "NF"
        segments = [
            msh,
            f"MSA|AA|{control_id}",
            f"QAK|{tag}|{status}|IHE PDQ Query|{len(found)}|{len(found)}|0",
            "|".join(["QPD", *msg.segments["QPD"][1:]]),
            *(_pid(i, p) for i, p in enumerate(found, 1)),
        ]
    return VT + ("\r".join(segments) + "\r").encode("utf-8") + FS + CR


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        if self.server.tls is None:
            self._serve(sock)
            return
        sock.settimeout(5.0)
        try:
            secure = self.server.tls.wrap_socket(sock, server_side=True)
        except OSError:  # a client that does not speak TLS, or distrusts us
            return
        with secure:
            secure.settimeout(None)
            self._serve(secure)

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            while FS + CR not in buffer:
                chunk = sock.recv(65536)
                if not chunk or len(buffer) > MAX_FRAME:
                    return
                buffer += chunk
            end = buffer.index(FS + CR)
            frame, buffer = buffer[:end], buffer[end + 2 :]
            if not frame.startswith(VT):
                return
            if not self._answer(sock, frame[1:]):
                return

    def _answer(self, sock: socket.socket, content: bytes) -> bool:
        state = self.server.state
        fault = state.next_fault()
        msg = _Message(content.decode("utf-8", "replace"))
        control_id = msg.field("MSH", 10)
        if fault is HisFault.CLOSE:
            return False
        if fault is HisFault.GARBAGE:
            sock.sendall(VT + b"not an ack" + FS + CR)
            return True
        if fault in (HisFault.ERROR, HisFault.REJECT):
            sock.sendall(_ack(control_id, fault.value, "simulated fault"))
            return True
        if msg.field("MSH", 9).startswith("QBP^Q22"):
            answer = _pdq_answer(msg, state)
            if fault is HisFault.HANG:
                time.sleep(state.hang_s)
            sock.sendall(answer)
            return True
        try:
            state.register(_registration(msg))
        except _InvalidMessageError as exc:
            sock.sendall(_ack(control_id, "AE", exc.text, exc.where))
            return True
        if fault is HisFault.HANG:
            time.sleep(state.hang_s)
        sock.sendall(_ack(control_id, "AA"))
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], state: HisState, tls: ssl.SSLContext | None
    ) -> None:
        self.state = state
        self.tls = tls
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: clients hanging up are part of the simulation."""


class MllpListener(ServerThread):
    """The MLLP side of the simulated HIS, serving on a background thread; with ``tls``
    (a server context, ``simulators.tls``) every connection is TLS first."""

    def __init__(
        self,
        state: HisState,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(_Server((host, port), state, tls), "his-mllp-sim")
