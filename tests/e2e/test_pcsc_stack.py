"""The PC/SC transport through the real stack: pyscard, libpcsclite, pcscd, vpcd, TCP.

Each test starts from an empty slot 0 (fixture ``slot``); slot 1 stays empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cardreader.errors import (
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ReaderNotFoundError,
    ServiceUnavailableError,
)
from cardreader.transport.base import Transport
from cardreader.transport.pcsc import CardWaiter, PcscTransport, list_readers
from simulators.chip.card import SHORT_LENGTH_ATR
from simulators.pcscd import PcscDaemon
from simulators.vpcd import VirtualReaderSlot
from tests.e2e.conftest import PRESENCE_TIMEOUT, SW_FILE_NOT_FOUND, SW_OK, FileCard

pytestmark = pytest.mark.pcsc

SELECT_MF = bytes.fromhex("00A40000023F00")
READ_16 = bytes.fromhex("00B0000010")
APDU_BUDGET_MS = 5.0


def test_list_readers_sees_both_virtual_slots(pcscd: PcscDaemon) -> None:
    readers = list_readers()
    assert set(pcscd.reader_names) <= set(readers)


def test_connect_and_transmit_returns_the_cards_exact_bytes(
    inserted: FileCard, reader: str
) -> None:
    with PcscTransport.connect(reader, protocol="T1") as transport:
        assert isinstance(transport, Transport)
        assert transport.atr == inserted.atr
        assert transport.protocol == "T1"
        assert transport.transmit(SELECT_MF) == SW_OK
        assert transport.transmit(READ_16) == inserted.content[:16] + SW_OK
        assert transport.transmit(bytes.fromhex("0084000008")) == SW_FILE_NOT_FOUND
    # The card saw exactly what the application sent.
    assert inserted.commands == [SELECT_MF, READ_16, bytes.fromhex("0084000008")]


def test_extended_length_apdus_pass_through(inserted: FileCard, reader: str) -> None:
    with PcscTransport.connect(reader) as transport:
        assert transport.supports_extended_length
        response = transport.transmit(bytes.fromhex("00B00000000190"))  # Le = 400
    assert response == inserted.content[:400] + SW_OK


def test_a_card_whose_atr_declares_no_extended_length_is_not_offered_it(
    slot: VirtualReaderSlot, reader: str, waiter: CardWaiter
) -> None:
    """The ATR pcscd hands on is read for the card's capabilities (ISO/IEC 7816-4 §8.1.1)."""
    card = FileCard(atr=SHORT_LENGTH_ATR)
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) == SHORT_LENGTH_ATR
    with PcscTransport.connect(reader) as transport:
        assert transport.atr == SHORT_LENGTH_ATR
        assert not transport.supports_extended_length


def test_per_apdu_round_trip_is_fast(inserted: FileCard, reader: str) -> None:
    """Without TCP_QUICKACK on the card side every APDU waits ~44 ms for a delayed ACK."""
    count = 200
    with PcscTransport.connect(reader) as transport:
        transport.transmit(SELECT_MF)  # warm up
        start = time.perf_counter()
        for _ in range(count):
            assert transport.transmit(READ_16)[-2:] == SW_OK
        elapsed = time.perf_counter() - start
    mean_ms = elapsed / count * 1000
    print(f"\nmean per-APDU time through pcscd + vpcd: {mean_ms:.3f} ms ({count} APDUs)")
    assert mean_ms < APDU_BUDGET_MS


def test_idle_card_survives_presence_polls(inserted: FileCard, reader: str) -> None:
    """pcscd asks an idle card for its ATR every 400 ms; the card must keep answering."""
    time.sleep(1.0)  # deliberately idle across two polls
    with PcscTransport.connect(reader) as transport:
        assert transport.transmit(SELECT_MF) == SW_OK


def test_card_pulled_mid_exchange_raises_card_removed(
    slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter
) -> None:
    slot.insert(card, remove_at_apdu=3)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is not None
    with PcscTransport.connect(reader) as transport:
        assert transport.transmit(SELECT_MF) == SW_OK
        assert transport.transmit(READ_16)[-2:] == SW_OK
        with pytest.raises(CardRemovedError, match="removed"):
            transport.transmit(READ_16)  # the card never answers this one
        with pytest.raises(CardRemovedError, match="cannot be used again"):
            transport.transmit(READ_16)
    assert slot.wait_removed(PRESENCE_TIMEOUT)
    assert len(card.commands) == 2


def test_new_connection_works_after_reinsertion(
    slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter
) -> None:
    slot.insert(card, remove_at_apdu=1)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is not None
    with (
        PcscTransport.connect(reader) as transport,
        pytest.raises(NoCardError, match="left before answering the first command"),
    ):
        transport.transmit(SELECT_MF)
    assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT)
    with pytest.raises(NoCardError, match="no card"):
        PcscTransport.connect(reader)

    resets_before = card.resets
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) == card.atr
    with PcscTransport.connect(reader) as transport:
        assert transport.transmit(READ_16) == card.content[:16] + SW_OK
    assert card.resets > resets_before  # powered on again: session state cleared


def test_card_gone_before_pcscd_noticed_is_no_card(
    slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter
) -> None:
    """pcscd sees a removal only at its next poll; a session opened before that finds no
    card, which is not a card pulled out of a read (docs/pcsc.md)."""
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is not None
    slot.remove()
    with (
        pytest.raises(NoCardError, match="insert the card"),  # from connect or the first send
        PcscTransport.connect(reader) as transport,
    ):
        transport.transmit(SELECT_MF)
    assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT)


def test_wait_for_card_and_removal_see_insert_and_remove(
    slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter
) -> None:
    start = time.monotonic()
    assert waiter.wait_for_card(reader, 0.3) is None  # nothing inserted: times out
    assert 0.25 <= time.monotonic() - start < 2.0
    assert waiter.wait_for_removal(reader, 0.1)  # already empty

    timer = threading.Timer(0.3, slot.insert, args=(card,))
    timer.start()
    try:
        assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) == card.atr
    finally:
        timer.join()
    assert not waiter.wait_for_removal(reader, 0.1)  # still inserted: times out

    timer = threading.Timer(0.3, slot.remove)
    timer.start()
    try:
        assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT)
    finally:
        timer.join()


def test_cancel_ends_a_pending_wait(reader: str, waiter: CardWaiter) -> None:
    threading.Timer(0.2, waiter.cancel).start()
    start = time.monotonic()
    assert waiter.wait_for_card(reader, 10.0) is None
    assert time.monotonic() - start < 5.0


def test_empty_reader_raises_no_card(pcscd: PcscDaemon) -> None:
    with pytest.raises(NoCardError) as excinfo:
        PcscTransport.connect(pcscd.reader_names[1])
    assert "insert the card" in str(excinfo.value)


def test_unknown_reader_raises_reader_not_found(pcscd: PcscDaemon, waiter: CardWaiter) -> None:
    with pytest.raises(ReaderNotFoundError) as excinfo:
        PcscTransport.connect("No Such Reader 00 00")
    message = str(excinfo.value)
    assert "No Such Reader" in message
    assert pcscd.reader_names[0] in message  # lists what is there
    with pytest.raises(ReaderNotFoundError):
        waiter.wait_for_card("No Such Reader 00 00", 0.1)


def test_stalled_card_times_out_and_the_slot_recovers(
    slot: VirtualReaderSlot, reader: str, waiter: CardWaiter
) -> None:
    release = threading.Event()

    class StallingCard(FileCard):
        def process(self, apdu: bytes) -> bytes:
            if apdu[1] == 0xB0:
                release.wait(10.0)
            return super().process(apdu)

    slot.insert(StallingCard())
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is not None
    transport = PcscTransport.connect(reader, transmit_timeout=0.5)
    try:
        assert transport.transmit(SELECT_MF) == SW_OK
        start = time.monotonic()
        with pytest.raises(CardTimeoutError, match="did not answer within"):
            transport.transmit(READ_16)
        assert time.monotonic() - start < 2.0
        with pytest.raises(CardTimeoutError, match="cannot be used again"):
            transport.transmit(SELECT_MF)
    finally:
        transport.close()  # must not block on the pending command
        release.set()
    slot.remove()
    assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT)

    card = FileCard()
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) is not None
    with PcscTransport.connect(reader) as transport:
        assert transport.transmit(READ_16) == card.content[:16] + SW_OK


def test_without_pcscd_the_service_is_unavailable(tmp_path: Path) -> None:
    """libpcsclite caches the socket path per process, so ask in a fresh one."""
    script = textwrap.dedent(
        """
        from cardreader.errors import ServiceUnavailableError
        from cardreader.transport.pcsc import CardWaiter, PcscTransport, list_readers
        for attempt in (list_readers, lambda: PcscTransport.connect("Any"), CardWaiter):
            try:
                attempt()
            except ServiceUnavailableError as exc:
                print("ServiceUnavailableError:", exc)
            else:
                raise SystemExit("no error without pcscd")
        """
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "nobody-listens.comm")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all("pcscd" in line and "not running" in line for line in lines)
    assert ServiceUnavailableError.__name__ in lines[0]
