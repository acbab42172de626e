"""Reading the sample chip through the real stack: pcscd + vpcd + pyscard (issue 2)."""

from __future__ import annotations

import pytest

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.access.strategy import AccessMethod
from cardreader.errors import CardRemovedError
from cardreader.files.ids import Ef
from cardreader.read import read_card
from cardreader.transport.pcsc import CardWaiter, PcscTransport
from simulators.chip.sample import SampleCard, sample_chip, sample_files
from simulators.vpcd import VirtualReaderSlot

pytestmark = pytest.mark.pcsc

CARD = SampleCard()
FILES = sample_files(CARD)
MRZ_KEY = MrzKey(CARD.document_number, CARD.date_of_birth, CARD.date_of_expiry)
READ = (Ef.COM, Ef.DG1, Ef.DG2)
TIMEOUT = 5.0


def _insert(slot: VirtualReaderSlot, waiter: CardWaiter, reader: str, **kwargs: object) -> None:
    pace = bool(kwargs.pop("pace", True))
    slot.insert(sample_chip(CARD, pace=pace), **kwargs)  # type: ignore[arg-type]
    assert waiter.wait_for_card(reader, TIMEOUT) is not None


def test_pace_can_session_reads_files_through_secure_messaging(
    slot: VirtualReaderSlot, waiter: CardWaiter, reader: str
) -> None:
    _insert(slot, waiter, reader)
    with PcscTransport.connect(reader) as transport:
        result = read_card(transport, Credentials(can=CARD.can), READ)
    assert result.access.method is AccessMethod.PACE
    assert result.access.password == "CAN"
    assert result.files[Ef.DG1] == FILES[0x0101]
    assert result.files[Ef.DG2] == FILES[0x0102]


def test_bac_session_on_a_chip_without_pace(
    slot: VirtualReaderSlot, waiter: CardWaiter, reader: str
) -> None:
    _insert(slot, waiter, reader, pace=False)
    with PcscTransport.connect(reader) as transport:
        result = read_card(transport, Credentials(mrz_keys=(MRZ_KEY,)), READ)
    assert result.access.method is AccessMethod.BAC
    assert not result.access.downgraded
    assert dict(result.files) == {
        Ef.COM: FILES[0x011E],
        Ef.DG1: FILES[0x0101],
        Ef.DG2: FILES[0x0102],
    }


def test_card_pulled_mid_read_raises_card_removed_and_the_next_tap_works(
    slot: VirtualReaderSlot, waiter: CardWaiter, reader: str
) -> None:
    # EF.CardAccess 1 APDU, PACE 5, SELECT 1, EF.COM 1: the 9th reads DG1 (by its SFI).
    _insert(slot, waiter, reader, remove_at_apdu=9)
    with pytest.raises(CardRemovedError), PcscTransport.connect(reader) as transport:
        read_card(transport, Credentials(can=CARD.can), READ)
    assert waiter.wait_for_removal(reader, TIMEOUT)
    _insert(slot, waiter, reader)
    with PcscTransport.connect(reader) as transport:
        result = read_card(transport, Credentials(can=CARD.can), READ)
    assert result.files[Ef.DG2] == FILES[0x0102]
