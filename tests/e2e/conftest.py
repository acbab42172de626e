"""Fixtures for tests through the real PC/SC stack.

pyscard -> libpcsclite -> a private pcscd (started once per session) -> vpcd driver ->
TCP -> a Python card in a :class:`~simulators.vpcd.VirtualReaderSlot`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from cardreader.transport.pcsc import CardWaiter
from simulators.pcscd import PcscDaemon, find_pcscd
from simulators.vpcd import VirtualReaderSlot
from tests.conftest import PCSCD_WORKDIR

PRESENCE_TIMEOUT = 3.0
"""pcscd notices insertion and removal within one 400 ms poll; allow plenty of slack."""

SW_OK = b"\x90\x00"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0


@dataclass
class FileCard:
    """A tiny card for transport tests: SELECT answers 9000, READ BINARY reads
    ``content`` (short or extended Le), anything else 6A82. Not a model of the CCCD."""

    content: bytes = bytes(range(256)) * 2
    atr: bytes = bytes.fromhex("3B80800101")  # T=1, no historical bytes (ISO 7816-3 §8)
    resets: int = 0
    commands: list[bytes] = field(default_factory=list)

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        ins = apdu[1]
        if ins == INS_SELECT:
            return SW_OK
        if ins == INS_READ_BINARY:
            offset = int.from_bytes(apdu[2:4], "big")
            if offset > len(self.content):
                return SW_WRONG_P1P2
            if len(apdu) == 5:  # short Le, 00 means 256
                le = apdu[4] or 256
            elif len(apdu) == 7 and apdu[4] == 0:  # extended Le, 0000 means 65536
                le = int.from_bytes(apdu[5:7], "big") or 65536
            else:
                return b"\x67\x00"
            return self.content[offset : offset + le] + SW_OK
        return SW_FILE_NOT_FOUND

    def reset(self) -> None:
        self.resets += 1


@pytest.fixture(scope="session")
def pcscd(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PcscDaemon]:
    """A private pcscd with the vpcd driver for the whole session."""
    if os.geteuid() != 0 and find_pcscd() is None:
        pytest.skip(
            "pcscd is not installed and this is not root: `make deps` (as root or with "
            "sudo) installs pcscd and vsmartcard-vpcd"
        )
    workdir = pytestconfig.stash.get(PCSCD_WORKDIR, None)
    daemon = PcscDaemon(workdir=workdir)
    with daemon:
        expected = os.environ.get("PCSCLITE_CSOCK_NAME")
        if daemon.isolated:
            assert expected == str(daemon.socket_path), (
                "PCSCLITE_CSOCK_NAME must name the session's pcscd before the first PC/SC call"
            )
        else:  # system mode: only works if nothing in this process used PC/SC yet
            os.environ.pop("PCSCLITE_CSOCK_NAME", None)
        yield daemon
    shutil.copy(daemon.log_path, tmp_path_factory.getbasetemp() / "pcscd.log")


@pytest.fixture
def reader(pcscd: PcscDaemon) -> str:
    """Name of the reader of vpcd slot 0."""
    return pcscd.reader_names[0]


@pytest.fixture
def waiter() -> Iterator[CardWaiter]:
    with CardWaiter() as card_waiter:
        yield card_waiter


@pytest.fixture
def slot(pcscd: PcscDaemon, reader: str, waiter: CardWaiter) -> Iterator[VirtualReaderSlot]:
    """vpcd slot 0, empty; emptied again (and seen empty by pcscd) after the test."""
    vpcd_slot = VirtualReaderSlot(pcscd.vpcd_ports[0])
    yield vpcd_slot
    vpcd_slot.remove()
    assert waiter.wait_for_removal(reader, PRESENCE_TIMEOUT), "pcscd did not see the removal"


@pytest.fixture
def card() -> FileCard:
    return FileCard()


@pytest.fixture
def inserted(slot: VirtualReaderSlot, card: FileCard, reader: str, waiter: CardWaiter) -> FileCard:
    """``card`` inserted in slot 0 and seen present by pcscd."""
    slot.insert(card)
    assert waiter.wait_for_card(reader, PRESENCE_TIMEOUT) == card.atr
    return card
