"""READ BINARY with the adaptive block size against the simulated chip over BAC."""

from __future__ import annotations

import pytest

from cardreader.access.bac import BacKeys, perform_bac
from cardreader.access.secure_messaging import SecureMessagingTransport
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import CardRemovedError, SecurityStatusError
from cardreader.files.ids import Ef
from cardreader.files.reader import BlockSizePolicy, FileReader, select_application
from cardreader.iso7816 import tlv
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.inprocess import InProcessTransport

MRZ_INFO = "L898902C<369080619406236"


def _file(tag: int, size: int) -> bytes:
    """A TLV-encoded EF of exactly ``size`` bytes."""
    header = len(tlv.encode(tag, bytes(size))) - size
    value = bytes((i * 7 + 3) % 256 for i in range(size - header))
    encoded = tlv.encode(tag, value)
    assert len(encoded) == size
    return encoded


DG2 = _file(0x75, 15000)
BIG = _file(0x75, 40000)
DG1 = _file(0x61, 93)
CARD_ACCESS = _file(0x31, 300)


def _open(
    config: ChipConfig, remove_at: int | None = None
) -> tuple[SecureMessagingTransport, InProcessTransport]:
    link = InProcessTransport(EmrtdChip(config), config.extended_length, remove_at)
    select_application(link)
    bac = perform_bac(link, BacKeys.from_mrz_information(MRZ_INFO))
    return SecureMessagingTransport(link, KeyAlgorithm.TDES, bac.ks_enc, bac.ks_mac, bac.ssc), link


def _config(**kwargs: object) -> ChipConfig:
    files = {Ef.DG1.fid: DG1, Ef.DG2.fid: DG2, Ef.DG3.fid: _file(0x63, 300), 0x0110: BIG}
    files[Ef.CARD_ACCESS.fid] = CARD_ACCESS
    return ChipConfig(files=files, mrz_information=MRZ_INFO, **kwargs)  # type: ignore[arg-type]


def test_extended_length_reads_15k_in_one_read_after_the_header() -> None:
    channel, _ = _open(_config())
    reader = FileReader(channel)
    assert reader.read(Ef.DG2) == DG2
    assert reader.stats.apdus == 1  # one READ BINARY by short EF identifier, Le 0xFF00
    assert reader.policy.size == 0xFF00


def test_card_without_extended_length_is_read_in_223_byte_blocks() -> None:
    channel, _ = _open(_config(extended_length=False))
    reader = FileReader(channel)
    assert reader.read(Ef.DG2) == DG2
    assert reader.policy.size == 0xDF
    assert reader.stats.apdus == -(-15000 // 0xDF)


def test_card_limiting_le_steps_down_and_remembers() -> None:
    channel, _ = _open(_config(max_le=1024))
    reader = FileReader(channel)
    assert reader.read(Ef.DG2) == DG2
    first_file_apdus = reader.stats.apdus
    assert reader.policy.size == 0x400
    assert first_file_apdus == 2 + 15  # two refusals, 15 reads of 1 KiB
    assert reader.read(Ef.DG1) == DG1
    assert reader.stats.apdus == first_file_apdus + 1


def test_offsets_beyond_32767_use_odd_read_binary() -> None:
    channel, _ = _open(_config(max_le=4096))
    reader = FileReader(channel)
    assert reader.read(Ef.DG16) == BIG


def test_a_file_is_read_by_its_short_ef_identifier_without_select() -> None:
    """ISO/IEC 7816-4 §7.2.2: READ BINARY with P1 = 80 | SFI, P2 = offset 0 (in plain:
    EF.CardAccess, short EF identifier 1C)."""
    chip = EmrtdChip(_config())
    commands: list[bytes] = []

    class Recorder:
        def process(self, apdu: bytes) -> bytes:
            commands.append(apdu)
            return chip.process(apdu)

    reader = FileReader(InProcessTransport(Recorder()))
    assert reader.read(Ef.CARD_ACCESS) == CARD_ACCESS
    assert reader.stats.apdus == 1
    assert commands == [bytes.fromhex("00B09C0000FF00")]


def test_a_card_that_refused_extended_length_is_not_probed_again() -> None:
    link = InProcessTransport(EmrtdChip(_config(extended_length=False)), extended=True)
    plain = FileReader(link)
    assert plain.read(Ef.CARD_ACCESS) == CARD_ACCESS
    assert plain.stats.apdus == 3 + 2  # Le 0xFF00, 0x1000, 0x0400 refused, then 256 + 44
    assert not plain.policy.extended
    select_application(link)
    bac = perform_bac(link, BacKeys.from_mrz_information(MRZ_INFO))
    channel = SecureMessagingTransport(link, KeyAlgorithm.TDES, bac.ks_enc, bac.ks_mac, bac.ssc)
    secure = FileReader(channel, extended=plain.policy.extended)
    assert secure.read(Ef.DG2) == DG2
    assert secure.stats.apdus == -(-15000 // 0xDF)


def test_fixed_policy_for_benchmarks() -> None:
    channel, _ = _open(_config())
    reader = FileReader(channel, BlockSizePolicy.fixed(160))
    assert reader.read(Ef.DG2) == DG2
    assert reader.stats.apdus == -(-15000 // 160)


def test_dg3_needs_terminal_authentication() -> None:
    channel, _ = _open(_config())
    with pytest.raises(SecurityStatusError) as info:
        FileReader(channel).read(Ef.DG3)
    assert info.value.sw == 0x6982


def test_card_removed_mid_read_raises_and_returns_nothing() -> None:
    channel, link = _open(_config(extended_length=False), remove_at=20)
    reader = FileReader(channel)
    with pytest.raises(CardRemovedError):
        reader.read(Ef.DG2)
    assert reader.stats.bytes_read == 0
    assert link.sent == 20
