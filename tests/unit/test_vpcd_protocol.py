"""vpcd wire protocol: framing over a socketpair, and the slot against a scripted vpcd.

The scripted vpcd behaves like vsmartcard's driver (docs/pcsc.md): it listens, the card
connects, and it writes the 2-byte length and the body in two separate writes.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.vpcd import (
    MAX_FRAME_BODY,
    CardModel,
    ControlCode,
    FrameDecoder,
    VirtualReaderSlot,
    VpcdConnectionError,
    decode_message,
    encode_frame,
    recv_frame,
)

TIMEOUT = 5.0


@dataclass
class EchoCard:
    atr: bytes = bytes.fromhex("3B80800101")
    resets: int = 0
    seen: list[bytes] = field(default_factory=list)

    def process(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        return apdu[::-1] + b"\x90\x00"

    def reset(self) -> None:
        self.resets += 1


class BrokenCard(EchoCard):
    def process(self, apdu: bytes) -> bytes:
        raise RuntimeError("bug in the card model")


# --- framing -------------------------------------------------------------------------


def test_encode_frame_prefixes_the_big_endian_length() -> None:
    assert encode_frame(b"\x90\x00") == b"\x00\x02\x90\x00"
    assert encode_frame(b"") == b"\x00\x00"
    assert encode_frame(bytes(300))[:2] == b"\x01\x2c"


def test_encode_frame_rejects_bodies_a_length_prefix_cannot_carry() -> None:
    assert len(encode_frame(bytes(MAX_FRAME_BODY))) == MAX_FRAME_BODY + 2
    with pytest.raises(ValueError, match="too long"):
        encode_frame(bytes(MAX_FRAME_BODY + 1))


def test_decode_message_tells_control_codes_from_apdus() -> None:
    assert decode_message(b"\x00") is ControlCode.POWER_OFF
    assert decode_message(b"\x01") is ControlCode.POWER_ON
    assert decode_message(b"\x02") is ControlCode.RESET
    assert decode_message(b"\x04") is ControlCode.GET_ATR
    assert decode_message(b"\x03") == 3  # unknown control code, passed on as int
    assert decode_message(b"\x00\xa4") == b"\x00\xa4"  # two bytes: an APDU


@given(
    bodies=st.lists(st.binary(max_size=600), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=10),
)
def test_frame_decoder_reassembles_frames_however_the_stream_is_cut(
    bodies: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(encode_frame(body) for body in bodies)
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    decoder = FrameDecoder()
    frames: list[bytes] = []
    for start, end in itertools.pairwise(points):
        frames += decoder.feed(stream[start:end])
    assert frames == bodies
    assert decoder.pending == 0


def test_frame_decoder_keeps_an_incomplete_frame() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\x03\x01") == []
    assert decoder.pending == 3
    assert decoder.feed(b"\x02\x03\x00") == [b"\x01\x02\x03"]
    assert decoder.pending == 1


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.settimeout(TIMEOUT)
    right.settimeout(TIMEOUT)
    with left, right:
        yield left, right


def test_recv_frame_reads_header_and_body_sent_in_two_writes(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    vpcd, card = pair
    vpcd.sendall(b"\x00\x05")
    vpcd.sendall(b"\x00\xa4\x04\x00\x00")
    vpcd.sendall(encode_frame(b"\x04"))
    assert recv_frame(card) == b"\x00\xa4\x04\x00\x00"
    assert recv_frame(card) == b"\x04"


def test_recv_frame_returns_none_at_a_clean_end_of_stream(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    vpcd, card = pair
    vpcd.shutdown(socket.SHUT_WR)
    assert recv_frame(card) is None


def test_recv_frame_raises_when_the_stream_ends_inside_a_frame(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    vpcd, card = pair
    vpcd.sendall(b"\x00\x05\x00\xa4")
    vpcd.shutdown(socket.SHUT_WR)
    with pytest.raises(EOFError, match="5-byte frame"):
        recv_frame(card)


# --- the slot against a scripted vpcd ------------------------------------------------


class ScriptedVpcd:
    """The listening side, as vpcd 0.8 does it: length and body in two writes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(TIMEOUT)
        self.port: int = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        conn, _ = self.server.accept()
        conn.settimeout(TIMEOUT)
        self.conn = conn
        return conn

    def send(self, body: bytes) -> None:
        assert self.conn is not None
        frame = encode_frame(body)
        self.conn.sendall(frame[:2])
        self.conn.sendall(frame[2:])

    def ask(self, body: bytes) -> bytes | None:
        self.send(body)
        assert self.conn is not None
        return recv_frame(self.conn)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd() -> Iterator[ScriptedVpcd]:
    scripted = ScriptedVpcd()
    yield scripted
    scripted.close()


@pytest.fixture
def slot(vpcd: ScriptedVpcd) -> Iterator[VirtualReaderSlot]:
    with VirtualReaderSlot(vpcd.port, min_absence=0.0) as vpcd_slot:
        yield vpcd_slot


def test_echo_card_is_a_card_model() -> None:
    assert isinstance(EchoCard(), CardModel)


def test_slot_answers_atr_requests_and_apdus(vpcd: ScriptedVpcd, slot: VirtualReaderSlot) -> None:
    card = EchoCard()
    slot.insert(card)
    vpcd.accept()
    assert slot.inserted
    for _ in range(3):  # pcscd's presence polls
        assert vpcd.ask(b"\x04") == card.atr
    assert vpcd.ask(b"\x00\xa4\x04\x0c") == b"\x0c\x04\xa4\x00\x90\x00"
    assert card.seen == [b"\x00\xa4\x04\x0c"]
    assert slot.apdu_count == 1


def test_slot_resets_the_card_on_power_on_and_reset_without_answering(
    vpcd: ScriptedVpcd, slot: VirtualReaderSlot
) -> None:
    card = EchoCard()
    slot.insert(card)
    vpcd.accept()
    vpcd.send(b"\x00")  # power off: nothing to do
    vpcd.send(b"\x01")  # power on
    vpcd.send(b"\x02")  # reset
    vpcd.send(b"\x03")  # unknown: ignored
    # Had the card answered any of those, this reply would be out of step.
    assert vpcd.ask(b"\x04") == card.atr
    assert card.resets == 2


def test_slot_answers_6f00_when_the_card_model_raises(
    vpcd: ScriptedVpcd, slot: VirtualReaderSlot
) -> None:
    slot.insert(BrokenCard())
    vpcd.accept()
    assert vpcd.ask(b"\x00\xb0\x00\x00\x10") == b"\x6f\x00"
    assert slot.inserted


def test_remove_closes_the_connection(vpcd: ScriptedVpcd, slot: VirtualReaderSlot) -> None:
    slot.insert(EchoCard())
    conn = vpcd.accept()
    assert vpcd.ask(b"\x04") is not None
    slot.remove()
    assert not slot.inserted
    assert slot.card is None
    assert conn.recv(1) == b""  # vpcd sees the end of the stream: card removed


def test_fault_pulls_the_card_at_the_nth_apdu_without_answering(
    vpcd: ScriptedVpcd, slot: VirtualReaderSlot
) -> None:
    removed = threading.Event()
    card = EchoCard()
    slot.insert(card, remove_at_apdu=2, on_removed=removed.set)
    vpcd.accept()
    assert vpcd.ask(b"\x04") == card.atr  # control codes do not count
    assert vpcd.ask(b"\x00\x01") == b"\x01\x00\x90\x00"
    assert vpcd.ask(b"\x00\x02") is None  # connection closed instead of an answer
    assert removed.wait(TIMEOUT)
    assert slot.wait_removed(TIMEOUT)
    assert card.seen == [b"\x00\x01"]
    assert slot.apdu_count == 2


def test_slot_is_reusable_after_a_removal(vpcd: ScriptedVpcd, slot: VirtualReaderSlot) -> None:
    slot.insert(EchoCard())
    vpcd.accept()
    slot.remove()
    second = EchoCard(atr=bytes.fromhex("3B8180018080"))
    slot.insert(second)
    vpcd.accept()
    assert vpcd.ask(b"\x04") == second.atr


def test_removal_by_vpcd_frees_the_slot(vpcd: ScriptedVpcd, slot: VirtualReaderSlot) -> None:
    slot.insert(EchoCard())
    conn = vpcd.accept()
    conn.close()
    assert slot.wait_removed(TIMEOUT)


def test_a_second_card_in_a_busy_slot_is_refused(
    vpcd: ScriptedVpcd, slot: VirtualReaderSlot
) -> None:
    slot.insert(EchoCard())
    vpcd.accept()
    with pytest.raises(RuntimeError, match="already inserted"):
        slot.insert(EchoCard())


def test_insert_without_vpcd_says_what_is_missing() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # nothing listens on ``port`` any more
    with pytest.raises(VpcdConnectionError, match="Is pcscd running"):
        VirtualReaderSlot(port, connect_timeout=1.0).insert(EchoCard())


def test_remove_at_apdu_counts_from_one() -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        VirtualReaderSlot(1).insert(EchoCard(), remove_at_apdu=0)


def test_min_absence_keeps_the_slot_empty_after_a_removal(vpcd: ScriptedVpcd) -> None:
    with VirtualReaderSlot(vpcd.port, min_absence=0.3) as slot:
        slot.insert(EchoCard())
        vpcd.accept()
        slot.remove()
        start = time.monotonic()
        slot.insert(EchoCard())
        assert time.monotonic() - start >= 0.25
        vpcd.accept()
