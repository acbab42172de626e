"""PcscTransport without pcscd: the error table, the watchdog and logging, with pyscard's
``smartcard.scard`` calls (the module the transport calls through) replaced by fakes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from smartcard import scard

from cardreader.errors import (
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ReaderNotFoundError,
    ServiceUnavailableError,
    TransportError,
)
from cardreader.log import TRAFFIC
from cardreader.transport import pcsc
from cardreader.transport.base import Transport
from cardreader.transport.pcsc import PcscResult, PcscTransport, _Worker, error_for

READER = "Fake Reader 00 00"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (PcscResult.NO_SERVICE, ServiceUnavailableError),
        (PcscResult.SERVICE_STOPPED, ServiceUnavailableError),
        (PcscResult.REMOVED_CARD, CardRemovedError),
        (PcscResult.NOT_TRANSACTED, CardRemovedError),
        (PcscResult.RESET_CARD, CardRemovedError),
        (PcscResult.NO_SMARTCARD, NoCardError),
        (PcscResult.UNKNOWN_READER, ReaderNotFoundError),
        (PcscResult.READER_UNAVAILABLE, ReaderNotFoundError),
        (PcscResult.TIMEOUT, CardTimeoutError),
        (PcscResult.SHARING_VIOLATION, TransportError),
        (0x80100099, TransportError),
    ],
)
def test_error_table(code: int, expected: type[TransportError]) -> None:
    error = error_for(code, "sending a command", reader=READER)
    assert type(error) is expected
    assert f"0x{code:08X}" in str(error)


def test_negative_result_codes_from_pyscard_are_normalised() -> None:
    signed = PcscResult.NO_SERVICE - (1 << 32)
    assert isinstance(error_for(signed, "listing the readers"), ServiceUnavailableError)


def test_a_vanished_reader_during_a_session_means_the_card_is_gone() -> None:
    error = error_for(PcscResult.READER_UNAVAILABLE, "x", reader=READER, in_session=True)
    assert isinstance(error, CardRemovedError)


def test_messages_say_what_to_do() -> None:
    assert "pcscd" in str(error_for(PcscResult.NO_SERVICE, "listing the readers"))
    assert "insert" in str(error_for(PcscResult.NO_SMARTCARD, "connecting", reader=READER))


class FakeScard:
    """Stands in for the few ``smartcard.scard`` calls a session makes."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, list[int]]] = []
        self.block = threading.Event()
        self.block.set()
        self.disconnected = threading.Event()
        self.released = threading.Event()

    def transmit(self, card: int, pci: int, apdu: list[int]) -> tuple[int, list[int]]:
        self.block.wait(10)
        return self.responses.pop(0)

    def disconnect(self, card: int, disposition: int) -> int:
        self.disconnected.set()
        return 0

    def release(self, context: int) -> int:
        self.released.set()
        return 0


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeScard:
    fake_scard = FakeScard()
    monkeypatch.setattr(scard, "SCardTransmit", fake_scard.transmit)
    monkeypatch.setattr(scard, "SCardDisconnect", fake_scard.disconnect)
    monkeypatch.setattr(scard, "SCardReleaseContext", fake_scard.release)
    return fake_scard


@pytest.fixture
def transport(fake: FakeScard) -> Iterator[PcscTransport]:
    session = PcscTransport(
        reader=READER,
        context=1,
        card=2,
        protocol=scard.SCARD_PROTOCOL_T1,
        atr=bytes.fromhex("3B80800101"),
        worker=_Worker("test"),
        transmit_timeout=0.3,
        disposition="reset",
    )
    yield session
    fake.block.set()
    session.close()


def test_transport_satisfies_the_port(transport: PcscTransport) -> None:
    assert isinstance(transport, Transport)
    assert transport.supports_extended_length
    assert transport.protocol == "T1"


def test_transmit_returns_the_response_bytes(fake: FakeScard, transport: PcscTransport) -> None:
    fake.responses.append((0, [0x01, 0x02, 0x90, 0x00]))
    assert transport.transmit(b"\x00\xb0\x00\x00\x02") == b"\x01\x02\x90\x00"


def test_empty_response_means_the_card_left(fake: FakeScard, transport: PcscTransport) -> None:
    fake.responses += [(0, [0x90, 0x00]), (0, [])]
    assert transport.transmit(b"\x00\xa4\x00\x00") == b"\x90\x00"
    with pytest.raises(CardRemovedError, match="probably removed"):
        transport.transmit(b"\x00\xa4\x00\x00")
    with pytest.raises(CardRemovedError, match="cannot be used again"):
        transport.transmit(b"\x00\xa4\x00\x00")


def test_removed_card_result_ends_the_session(fake: FakeScard, transport: PcscTransport) -> None:
    fake.responses += [(0, [0x90, 0x00]), (PcscResult.REMOVED_CARD, [])]
    assert transport.transmit(b"\x00\xa4\x00\x00") == b"\x90\x00"
    with pytest.raises(CardRemovedError, match="removed"):
        transport.transmit(b"\x00\xa4\x00\x00")
    with pytest.raises(CardRemovedError):
        transport.transmit(b"\x00\xa4\x00\x00")


@pytest.mark.parametrize(
    "response", [(PcscResult.NOT_TRANSACTED, []), (PcscResult.REMOVED_CARD, []), (0, [])]
)
def test_card_gone_before_the_first_answer_is_no_card(
    fake: FakeScard, transport: PcscTransport, response: tuple[int, list[int]]
) -> None:
    """pcscd connects to a card it has not yet noticed leaving (docs/pcsc.md)."""
    fake.responses.append(response)
    with pytest.raises(NoCardError, match="left before answering the first command") as excinfo:
        transport.transmit(b"\x00\xa4\x00\x00")
    assert isinstance(excinfo.value.__cause__, CardRemovedError)
    with pytest.raises(NoCardError, match="cannot be used again"):
        transport.transmit(b"\x00\xa4\x00\x00")


def test_watchdog_raises_timeout_and_close_does_not_block(
    fake: FakeScard, transport: PcscTransport
) -> None:
    fake.block.clear()
    fake.responses.append((0, [0x90, 0x00]))
    with pytest.raises(CardTimeoutError, match=r"did not answer within 0\.3 s"):
        transport.transmit(b"\x00\xa4\x00\x00")
    with pytest.raises(CardTimeoutError, match="cannot be used again"):
        transport.transmit(b"\x00\xa4\x00\x00")
    transport.close()  # returns at once: the clean-up waits behind the stuck call
    assert not fake.disconnected.is_set()
    fake.block.set()  # the card finally answers; the queued clean-up runs
    assert fake.disconnected.wait(5)
    assert fake.released.wait(5)


def test_close_disconnects_once_and_blocks_later_use(
    fake: FakeScard, transport: PcscTransport
) -> None:
    with transport:
        pass
    assert fake.disconnected.is_set()
    assert fake.released.is_set()
    assert transport.closed
    transport.close()
    with pytest.raises(TransportError, match="closed"):
        transport.transmit(b"\x00\xa4\x00\x00")


def test_apdus_are_logged_only_at_traffic_level(
    fake: FakeScard, transport: PcscTransport, caplog: pytest.LogCaptureFixture
) -> None:
    fake.responses += [(0, [0xAB, 0x90, 0x00]), (0, [0xAB, 0x90, 0x00])]
    with caplog.at_level(logging.DEBUG, logger=pcsc.__name__):
        transport.transmit(b"\x00\xb0\x00\x00\x01")
    assert "ab9000" not in caplog.text
    assert "00b0000001" not in caplog.text
    with caplog.at_level(TRAFFIC, logger=pcsc.__name__):
        transport.transmit(b"\x00\xb0\x00\x00\x01")
    assert "00b0000001" in caplog.text
    assert "ab9000" in caplog.text
