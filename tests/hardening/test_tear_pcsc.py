"""Issue 7 item 1 through the real stack: pyscard → libpcsclite → pcscd → vpcd → chip.

- The card pulled at APDU N (the slot's ``remove_at_apdu``: the command never reaches the
  chip) for every third N of a full read (every N with ``HARDENING_FULL=1``).
- The reader unplugged: the vpcd connection dropped from outside while a command is in
  flight (the chip has processed it; its answer never arrives).
- pcscd stopped in the middle of a read and started again.

Each time the read ends with a :class:`TransportError` (``CardRemovedError`` for a pulled
card, ``NoCardError`` when it left before answering the session's first command),
``read_identity`` returns nothing when the failure falls in the identity phase, and the
next tap reads and verifies as VERIFIED.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulators.chip.card import EmrtdChip
from simulators.issuance.card import build_chip
from simulators.pcscd import PcscDaemon
from simulators.vpcd import VirtualReaderSlot
from tests.hardening.cards import FULL, Method, issued
from tests.hardening.conftest import PcscClient, require_pcscd

pytestmark = pytest.mark.pcsc

APDUS = {Method.PACE_CAN: (13, 14), Method.BAC: (10, 11)}
"""(identity, total) APDUs of a full read, as counted in test_tear_inprocess.py."""
HANDOVER_TIMEOUT = 10.0


def _indices(total: int) -> range:
    return range(1, total + 1) if FULL else range(1, total + 1, 3)


def _next_tap(slot: VirtualReaderSlot, client: PcscClient, method: Method) -> None:
    """A fresh card in the same reader reads and verifies; the slot is empty afterwards."""
    assert client.request("wait-removal") == {"outcome": "removed"}
    assert slot.wait_removed(HANDOVER_TIMEOUT)  # the slot's thread may still be closing
    slot.insert(build_chip(issued(method)))
    answer = client.read(method.value)
    assert answer == {"identity": True, "id_ok": True, "outcome": "VERIFIED", "face": True}
    slot.remove()
    assert client.request("wait-removal") == {"outcome": "removed"}


def _assert_torn(answer: dict[str, object], in_identity: bool, error: str | None) -> None:
    assert answer["outcome"] == "error", answer
    assert answer["transport"] is True, answer
    if error is not None:
        assert answer["error"] == error, answer
    assert answer["identity"] is not in_identity, answer


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.value)
def test_card_pulled_at_apdu_n_through_pcscd(
    method: Method, hardening_pcscd: PcscDaemon, pcsc_client: PcscClient
) -> None:
    identity_apdus, total = APDUS[method]
    slot = VirtualReaderSlot(hardening_pcscd.vpcd_ports[0])
    slot.insert(build_chip(issued(method)), remove_at_apdu=total + 1)
    assert pcsc_client.read(method.value)["outcome"] == "VERIFIED"  # same count as in process
    slot.remove()
    for n in _indices(total):
        assert slot.wait_removed(HANDOVER_TIMEOUT)
        slot.insert(build_chip(issued(method)), remove_at_apdu=n)
        answer = pcsc_client.read(method.value)
        removed = "NoCardError" if n == 1 else "CardRemovedError"  # see the module docstring
        _assert_torn(answer, n <= identity_apdus, removed)
        assert slot.apdu_count == n
        _next_tap(slot, pcsc_client, method)


class UnpluggableSlot(VirtualReaderSlot):
    """A vpcd slot whose connection can be dropped at any moment, as by a pulled cable."""

    def unplug(self) -> None:
        self._close_socket()


class DropLinkAt:
    """A chip that runs ``drop`` after processing APDU ``n`` and before answering it: the
    chip's state moved on, the answer never reaches the reader.

    ``seen`` and ``dropped`` belong to the slot's thread, which sets ``dropped`` only once
    ``drop`` has returned: by then the reader may already have failed the read. Check them
    after ``slot.wait_removed()``, when that thread is done with the card.
    """

    def __init__(self, chip: EmrtdChip, n: int, drop: Callable[[], None]) -> None:
        self.chip = chip
        self.atr = chip.atr
        self.n = n
        self.drop = drop
        self.seen = 0
        self.dropped = False

    def reset(self) -> None:
        self.chip.reset()

    def process(self, apdu: bytes) -> bytes:
        self.seen += 1
        response = self.chip.process(apdu)
        if self.seen == self.n:
            self.drop()
            self.dropped = True
        return response


@pytest.mark.parametrize("method", list(Method), ids=lambda m: m.value)
def test_reader_link_dropped_mid_read(
    method: Method, hardening_pcscd: PcscDaemon, pcsc_client: PcscClient
) -> None:
    identity_apdus, total = APDUS[method]
    slot = UnpluggableSlot(hardening_pcscd.vpcd_ports[0])
    for n in (identity_apdus - 3, total - 1):  # in the identity files, in the photo
        card = DropLinkAt(build_chip(issued(method)), n, slot.unplug)
        slot.insert(card)
        answer = pcsc_client.read(method.value)
        _assert_torn(answer, n <= identity_apdus, None)
        assert slot.wait_removed(HANDOVER_TIMEOUT), "the slot thread did not end after the drop"
        assert card.dropped and card.seen == n, (n, card.seen, answer)
        _next_tap(slot, pcsc_client, method)


def test_pcscd_stopped_mid_read_and_started_again(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_pcscd()
    method = Method.PACE_CAN
    workdir = Path(tmp_path_factory.mktemp("pcscd-restart", numbered=True))
    first = PcscDaemon(workdir=workdir).start()
    port = first.vpcd_ports[0]
    client = PcscClient(first.reader_names[0], first.socket_path)
    try:
        slot = VirtualReaderSlot(port)
        card = DropLinkAt(build_chip(issued(method)), 12, first.stop)
        slot.insert(card)
        answer = client.read(method.value)
        assert slot.wait_removed(HANDOVER_TIMEOUT), "slot thread still running after pcscd stopped"
        assert card.dropped and not first.running, (card.seen, answer)
        _assert_torn(answer, True, None)

        with PcscDaemon(workdir=workdir, vpcd_port=port) as second:
            assert second.socket_path == first.socket_path
            slot.insert(build_chip(issued(method)))
            answer = client.read(method.value)
            assert answer["outcome"] == "VERIFIED", answer
            slot.remove()
    finally:
        client.close()
        first.stop()
