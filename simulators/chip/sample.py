"""A sample CCCD chip for demos and end-to-end tests until full personas exist.

A fictional person; EF.CardAccess as on 2021 cards (PACE-GM, AES-128, brainpoolP256r1;
docs/domain.md §2); a TD1 MRZ laid out as on the CCCD; DG2 of card-like size.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cardreader.crypto.pace_mapping import RandomSource
from cardreader.iso7816 import tlv
from cardreader.mrz import check_digit
from simulators.chip.card import ChipConfig, EmrtdChip
from simulators.chip.pace import ChipPace, Offer

PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
BRAINPOOL_P256R1 = 13


@dataclass(frozen=True)
class SampleCard:
    """What a tester types to open the sample card."""

    id_number: str = "079185012345"
    date_of_birth: str = "850315"
    date_of_expiry: str = "250315"
    sex: str = "F"
    surname: str = "NGUYEN"
    given_names: str = "THI HOA"

    @property
    def can(self) -> str:
        return self.id_number[-6:]

    @property
    def document_number(self) -> str:
        return self.id_number[-9:]

    @property
    def mrz_information(self) -> str:
        doc, dob, doe = self.document_number, self.date_of_birth, self.date_of_expiry
        return "".join(f"{f}{check_digit(f)}" for f in (doc, dob, doe))

    def td1(self) -> str:
        """The three MRZ lines (ICAO 9303-5 §4.2, CCCD layout of docs/domain.md §2)."""
        doc = self.document_number
        line1 = f"IDVNM{doc}{check_digit(doc)}{self.id_number}<<{check_digit(self.id_number)}"
        dob = f"{self.date_of_birth}{check_digit(self.date_of_birth)}"
        doe = f"{self.date_of_expiry}{check_digit(self.date_of_expiry)}"
        head = f"{dob}{self.sex}{doe}VNM".ljust(29, "<")
        composite = check_digit(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
        name = f"{self.surname}<<{self.given_names.replace(' ', '<')}".ljust(30, "<")
        return "\n".join((line1, head + composite, name))


def card_access() -> bytes:
    """SecurityInfos with one PACEInfo (ICAO 9303-11 §9.2.1)."""
    info = (
        tlv.encode(0x06, tlv.encode_oid(PACE_ECDH_GM_AES_128))
        + tlv.encode(0x02, b"\x02")
        + tlv.encode(0x02, bytes((BRAINPOOL_P256R1,)))
    )
    return tlv.encode(0x31, tlv.encode(0x30, info))


def sample_files(card: SampleCard) -> dict[int, bytes]:
    """EF.CardAccess, EF.COM, DG1 and a 12 KB DG2 stand-in."""
    mrz = card.td1().replace("\n", "").encode("ascii")
    com = tlv.encode(
        0x60,
        tlv.encode(0x5F01, b"0107") + tlv.encode(0x5F36, b"040000") + tlv.encode(0x5C, b"\x61\x75"),
    )
    face = bytes((i * 31 + 7) % 256 for i in range(12_000))
    return {
        0x011C: card_access(),
        0x011E: com,
        0x0101: tlv.encode(0x61, tlv.encode(0x5F1F, mrz)),
        0x0102: tlv.encode(
            0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + tlv.encode(0x5F2E, face))
        ),
    }


def sample_chip(
    card: SampleCard | None = None, *, pace: bool = True, rng: RandomSource = secrets
) -> EmrtdChip:
    """The sample chip, with PACE (CAN and MRZ) and BAC, or BAC only."""
    card = card or SampleCard()
    files = sample_files(card)
    responder = None
    if pace:
        offer = Offer(PACE_ECDH_GM_AES_128, BRAINPOOL_P256R1)
        responder = ChipPace([offer], mrz_information=card.mrz_information, can=card.can, rng=rng)
    else:
        del files[0x011C]
    return EmrtdChip(ChipConfig(files=files, mrz_information=card.mrz_information), pace=responder)
