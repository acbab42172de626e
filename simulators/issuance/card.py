"""Issue a virtual card: a persona's data groups, chip keys and a signed EF.SOD, per profile.

Profiles (issue #4): the 2021 CCCD (EF.CardAccess as in docs/domain.md §2: TA, CA ECDH
AES-128, PACE ECDH-GM AES-128 on brainpoolP256r1; BAC; CA; AA with RSA), the 2024 "thẻ căn
cước" (two PACEInfos, GM and CAM, so MSE names the parameters; AA with ECDSA; an
EF.CardSecurity signed by the Document Signer with the Chip Authentication key that PACE-CAM
proves, BSI TR-03110-3 §A.1.2.5), and a generic passport (TD3 MRZ, BAC only, CA with DH and
3DES, AA with RSA/SHA-256).
"""

from __future__ import annotations

import enum
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import ec

from cardreader.crypto.domain_params import standardized_domain_parameters
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.iso7816.tlv import encode
from cardreader.mrz import check_digit
from simulators.chip.active_auth import ActiveAuthentication, EcdsaForm, RsaTrailer, SigningKey
from simulators.chip.active_auth import Fault as AaFault
from simulators.chip.card import DEFAULT_ATR, SHORT_LENGTH_ATR, ChipConfig, EmrtdChip
from simulators.chip.chip_auth import ChipAuthentication, ChipAuthenticationKey
from simulators.chip.chip_auth import Fault as CaFault
from simulators.chip.pace import ChipPace, Offer
from simulators.faults import Fault, FaultSpec, find
from simulators.issuance import lds
from simulators.issuance import security_infos as si
from simulators.issuance.face import draw_face, encode_face
from simulators.issuance.keys import ec_key, rsa_key
from simulators.persona import Persona, ascii_name
from simulators.pki import LDS_SECURITY_OBJECT_OID, Algorithm, Issued, Pki

BRAINPOOL_P256R1 = 13
MODP_2048_224 = 1
PKI_SEED = 2025
FID = {1: 0x0101, 2: 0x0102, 13: 0x010D, 14: 0x010E, 15: 0x010F}
CARD_ACCESS_FID = 0x011C
COM_FID = 0x011E
SOD_FID = 0x011D
ID_DATA = "1.2.840.113549.1.7.1"
"""id-data (RFC 5652 §4), the eContentType of fault ``id-data-sod``."""
REORDERED_ISSUER = (1, 0, 2)
"""Fault ``signer-name-order``: the CSCA's name C, O, CN given as O, C, CN."""


class Profile(enum.Enum):
    CCCD_2021 = "cccd-2021"
    CAN_CUOC_2024 = "can-cuoc-2024"
    PASSPORT = "passport"


@dataclass(frozen=True)
class SimPki:
    """The simulator's issuing PKI: one CSCA (like Vietnam's, brainpoolP512r1) and its signers."""

    pki: Pki = field(repr=False)
    csca: Issued = field(repr=False)
    signer: Issued = field(repr=False)
    expired_signer: Issued = field(repr=False)
    unknown_signer: Issued = field(repr=False)
    """Issued by a CSCA outside the trust store."""

    def master_list(self) -> bytes:
        return self.pki.master_list(self.pki.master_list_signer(self.csca), [self.csca])


@cache
def sim_pki() -> SimPki:
    """The deterministic simulator PKI (same CSCA in every process)."""
    pki = Pki(seed=PKI_SEED)
    csca = pki.csca(Algorithm.ECDSA_BRAINPOOL_P512R1, common_name="CSCA VN simulator")
    signer = pki.document_signer(csca, Algorithm.ECDSA_BRAINPOOL_P256R1)
    expired = pki.document_signer(
        csca,
        Algorithm.ECDSA_BRAINPOOL_P256R1,
        not_before=pki.now.replace(year=pki.now.year - 3),
        not_after=pki.now.replace(year=pki.now.year - 1),
        common_name="Document Signer expired",
    )
    rogue = Pki(seed=PKI_SEED + 1)
    rogue_csca = rogue.csca(Algorithm.ECDSA_BRAINPOOL_P256R1, common_name="CSCA VN simulator")
    unknown = rogue.document_signer(rogue_csca, Algorithm.ECDSA_BRAINPOOL_P256R1)
    return SimPki(pki, csca, signer, expired, unknown)


@dataclass(frozen=True)
class IssuedCard:
    """Everything a virtual chip needs: files by FID, passwords, keys, faults."""

    persona: Persona
    profile: Profile
    files: Mapping[int, bytes] = field(repr=False)
    mrz_information: str = field(repr=False)
    mrz: str = field(repr=False)
    pace_offers: tuple[Offer, ...]
    ca_key: ChipAuthenticationKey = field(repr=False)
    ca_oid: str
    aa_key: SigningKey = field(repr=False)
    aa_trailer: RsaTrailer
    faults: tuple[FaultSpec, ...] = ()
    card_security: bytes | None = field(default=None, repr=False)
    """EF.CardSecurity of the master file (its FID is EF.SOD's, so not in ``files``)."""

    @property
    def can(self) -> str:
        return self.persona.can


def td3_mrz(persona: Persona, document_number: str) -> str:
    """A passport MRZ (ICAO 9303-4 §4.2.2) for the persona."""
    surname, _, given = ascii_name(persona.full_name).partition(" ")
    line1 = f"P<VNM{surname}<<{given.replace(' ', '<')}"[:44].ljust(44, "<")
    number = document_number.ljust(9, "<")
    dob = persona.date_of_birth.strftime("%y%m%d")
    expiry = f"{(persona.date_of_issue.year + 10) % 100:02d}{persona.date_of_issue:%m%d}"
    optional = persona.id_number.ljust(14, "<")
    head = f"{number}{check_digit(number)}VNM{dob}{check_digit(dob)}{persona.sex.mrz}"
    head += f"{expiry}{check_digit(expiry)}{optional}{check_digit(optional)}"
    composite = check_digit(head[0:10] + head[13:20] + head[21:43])
    return line1 + head + composite


def _mrz_information(mrz: str, td1: bool) -> str:
    """Document number, birth and expiry with check digits, read off the MRZ text."""
    if td1:
        return mrz[5:15] + mrz[30:37] + mrz[38:45]
    line2 = mrz[44:]
    return line2[0:10] + line2[13:20] + line2[21:28]


def tamper(data: bytes) -> bytes:
    """Change the last ASCII letter or digit, so the file still parses but its hash differs."""
    for index in range(len(data) - 1, -1, -1):
        byte = data[index]
        if chr(byte).isascii() and chr(byte).isalnum():
            swapped = byte + 1 if chr(byte) not in "9Zz" else byte - 1
            return data[:index] + bytes((swapped,)) + data[index + 1 :]
    raise ValueError("no byte to tamper with")


def _break_signature(sod: bytes) -> bytes:
    """Flip one bit of the SignerInfo signature inside EF.SOD."""
    info = cms.ContentInfo.load(sod[4:] if sod[1] == 0x82 else sod[3:])
    signer = info["content"]["signer_infos"][0]
    value = bytearray(signer["signature"].native)
    value[len(value) // 2] ^= 0x01
    signer["signature"] = bytes(value)
    return encode(lds.LdsTag.SOD, info.dump(force=True))


def issue_card(
    persona: Persona, profile: Profile = Profile.CCCD_2021, faults: tuple[FaultSpec, ...] = ()
) -> IssuedCard:
    """Issue ``persona``'s card for ``profile`` with ``faults``; deterministic from the seed."""
    rng = random.Random(f"card-{persona.seed}-{profile.value}")
    face = draw_face(persona.seed)
    jpeg2000 = profile is not Profile.CCCD_2021
    image = encode_face(face, jpeg2000)
    image_type = lds.ImageType.JPEG2000 if jpeg2000 else lds.ImageType.JPEG
    groups: dict[int, bytes] = {2: lds.dg2(image, image_type, face.width, face.height)}
    if profile is Profile.PASSPORT:
        mrz = td3_mrz(persona, f"C{persona.id_number[-7:]}")
        groups[1] = encode(lds.LdsTag.DG1, encode(0x5F1F, mrz.encode("ascii")))
        ca_params = standardized_domain_parameters(MODP_2048_224)
        ca_oid = si.ca_oid(ecdh=False, cipher=si.Cipher.TDES)
        ca_parameter = MODP_2048_224
    else:
        mrz = lds.td1_mrz(persona)
        groups[1] = lds.dg1(persona)
        groups[13] = lds.dg13(persona)
        ca_params = standardized_domain_parameters(BRAINPOOL_P256R1)
        ca_oid = si.ca_oid(ecdh=True, cipher=si.Cipher.AES_128)
        ca_parameter = BRAINPOOL_P256R1
    ca_key = ChipAuthenticationKey(ca_params, rng.randrange(2, 2**200))
    ecdh = profile is not Profile.PASSPORT
    ca_infos = [
        si.chip_authentication_info(ca_oid),
        si.chip_authentication_public_key_info(ecdh, ca_parameter, ca_key.public_key()),
    ]
    aa_key: SigningKey
    if profile is Profile.CAN_CUOC_2024:
        aa_key = ec_key(rng, ec.SECP256R1())
        ca_infos.append(si.active_authentication_info())
        trailer = RsaTrailer.SHA1_IMPLICIT
    else:
        aa_key = rsa_key(rng)
        trailer = RsaTrailer.SHA256 if profile is Profile.PASSPORT else RsaTrailer.SHA1_IMPLICIT
    groups[14] = si.dg14(*ca_infos)
    groups[15] = si.dg15(aa_key.public_key())
    offers = _pace_offers(profile, faults)
    pki = sim_pki()
    signer = pki.signer
    if find(faults, Fault.EXPIRED_SIGNER):
        signer = pki.expired_signer
    elif find(faults, Fault.UNKNOWN_SIGNER):
        signer = pki.unknown_signer
    sod = pki.pki.sod(
        signer,
        groups,
        content_type=ID_DATA if find(faults, Fault.ID_DATA_SOD) else LDS_SECURITY_OBJECT_OID,
        issuer_rdn_order=REORDERED_ISSUER if find(faults, Fault.SIGNER_NAME_ORDER) else None,
    )
    if find(faults, Fault.BAD_SOD_SIGNATURE):
        sod = _break_signature(sod)
    tampered = find(faults, Fault.TAMPERED_DG)
    if tampered is not None:
        number = tampered.value or 1
        groups[number] = tamper(groups[number])
    files = {FID[n]: data for n, data in groups.items()}
    files[COM_FID] = lds.ef_com(lds.LdsTag[f"DG{n}"] for n in sorted(groups))
    files[SOD_FID] = sod
    card_security = None
    if offers:
        card_access = [si.pace_info(offer.oid, offer.parameter_id) for offer in offers]
        if profile is not Profile.PASSPORT:
            card_access = [si.terminal_authentication_info(), ca_infos[0], *card_access]
        files[CARD_ACCESS_FID] = si.security_infos(*card_access)
        if profile is Profile.CAN_CUOC_2024:
            infos = si.security_infos(*card_access, ca_infos[1])
            card_security = pki.pki.card_security(signer, infos)
    return IssuedCard(
        persona=persona,
        profile=profile,
        files=MappingProxyType(files),
        mrz_information=_mrz_information(mrz, td1=profile is not Profile.PASSPORT),
        mrz=mrz,
        pace_offers=offers,
        ca_key=ca_key,
        ca_oid=ca_oid,
        aa_key=aa_key,
        aa_trailer=trailer,
        faults=faults,
        card_security=card_security,
    )


def _pace_offers(profile: Profile, faults: tuple[FaultSpec, ...]) -> tuple[Offer, ...]:
    if profile is Profile.PASSPORT or find(faults, Fault.NO_PACE):
        return ()
    gm = Offer(si.pace_oid(si.PaceFamily.ECDH_GM, si.Cipher.AES_128), BRAINPOOL_P256R1)
    if profile is Profile.CAN_CUOC_2024:
        cam = Offer(si.pace_oid(si.PaceFamily.ECDH_CAM, si.Cipher.AES_128), BRAINPOOL_P256R1)
        return (gm, cam)
    return (gm,)


def length_capabilities(faults: tuple[FaultSpec, ...]) -> tuple[bool, bytes]:
    """Whether the chip takes extended length under ``faults``, and the ATR it answers with
    (``short-le`` says nothing in its ATR; ``short-le-atr`` declares it)."""
    declared = find(faults, Fault.SHORT_LE_ATR) is not None
    extended = not declared and find(faults, Fault.SHORT_LE) is None
    return extended, SHORT_LENGTH_ATR if declared else DEFAULT_ATR


def build_chip(card: IssuedCard, rng: RandomSource = secrets) -> EmrtdChip:
    """The virtual chip of ``card``; faults that live in the chip are applied here."""
    faults = card.faults
    pace = None
    if card.pace_offers:
        wrong = find(faults, Fault.PACE_FAILS) is not None
        pace = ChipPace(
            card.pace_offers,
            mrz_information=("X" * 24) if wrong else card.mrz_information,
            can="000000" if wrong and card.can != "000000" else card.can,
            chip_authentication_key=card.ca_key.private_key,
            rng=rng,
        )
    extended_length, atr = length_capabilities(faults)
    config = ChipConfig(
        files=card.files,
        card_security=card.card_security,
        mrz_information=card.mrz_information,
        extended_length=extended_length,
        atr=atr,
    )
    ca = ChipAuthentication(
        card.ca_key,
        card.ca_oid,
        fault=CaFault.WRONG_KEY if find(faults, Fault.CA_CLONE) else CaFault.NONE,
        rng=rng,
    )
    aa = ActiveAuthentication(
        card.aa_key,
        rsa_trailer=card.aa_trailer,
        ecdsa_form=EcdsaForm.PLAIN,
        fault=AaFault.WRONG_KEY if find(faults, Fault.AA_CLONE) else AaFault.NONE,
        rng=rng,
    )
    return EmrtdChip(
        config, pace, rng.token_bytes, chip_authentication=ca, active_authentication=aa
    )
