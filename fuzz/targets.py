"""Fuzz targets (issue 7): every parser of untrusted input, with its seeds and allowed errors.

A :class:`Target` takes raw bytes, as they arrive from a card, a scanner or the network,
and feeds them to one parser (and to what the reader applies right after it, e.g. PACE
selection after EF.CardAccess). The only exceptions allowed are the parser's documented
ones: :class:`cardreader.errors.CardError` for the card library, the adapter's own error
type for each hospital parser. Anything else is a finding.

Seeds are valid samples: persona cards of every simulator profile, the BSI TR-03105-5 data
set (tests/vectors), the simulator's PKI, gateway and HIS answers. The hypothesis
tests (tests/hardening/test_fuzz.py) mutate them; the atheris harness (fuzz/atheris_fuzz.py)
uses them as its starting corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType

from cardreader.access.chip_auth_info import parse_dg14, parse_security_infos
from cardreader.access.pace_info import parse_card_access, select_pace_info
from cardreader.access.secure_messaging import SecureMessagingSession, unprotect_response
from cardreader.crypto.active_auth import parse_dg15
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import CardError, ParseError
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu, ResponseApdu
from cardreader.lds.com import parse_com
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.dg2 import parse_dg2
from cardreader.lds.dg13 import parse_dg13
from cardreader.lds.image import decode_face
from cardreader.mrz import parse_mrz
from cardreader.qr import parse_cccd_qr
from cardreader.verify.card_security import parse_card_security
from cardreader.verify.signature import parse_certificate
from cardreader.verify.sod import parse_sod
from cardreader.verify.trust import parse_crl, parse_master_list
from hospital_adapter.bhyt import parse_bhyt_qr
from hospital_adapter.errors import BhytQrError, GatewayProtocolError, HisProtocolError
from hospital_adapter.gateway.wire import (
    parse_lookup_response,
    parse_token_response,
    password_md5,
)
from hospital_adapter.his.hl7v2 import parse_ack
from simulators.bhxh_gateway.dataset import Dataset, Person, generate_people
from simulators.bhxh_gateway.server import DEFAULT_ACCOUNTS, GatewaySimulator
from simulators.chip.sm import ChipSmSession
from simulators.issuance.card import (
    CARD_ACCESS_FID,
    COM_FID,
    FID,
    SOD_FID,
    IssuedCard,
    Profile,
    issue_card,
    sim_pki,
)
from simulators.persona import make_persona, qr_payload

BSI_DATASET = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "bsi-tr03105-5"
SEEDS_PER_PROFILE = (7, 3)
"""Personas whose cards seed the card targets (every profile)."""
SM_KEYS = (bytes(range(16)), bytes(range(16, 32)))
"""Fixed AES session keys of the secure-messaging target (KS_enc, KS_mac)."""
GATEWAY_PEOPLE = 20
"""Gateway answers of this many simulated people cover every result scenario."""


@dataclass(frozen=True)
class Target:
    """One parser: ``run`` raises only ``allowed``; ``seeds`` are valid inputs."""

    name: str
    run: Callable[[bytes], object]
    allowed: tuple[type[Exception], ...]
    seeds: Callable[[], tuple[bytes, ...]]
    max_size: int = 16384
    """Largest random input the harness generates (mutated seeds can be larger)."""
    cost: int = 1
    """How much slower than the cheapest targets one run is: the harness runs
    ``examples // cost`` inputs (at least a minimum)."""


# --- seeds --------------------------------------------------------------------------------


@cache
def _cards() -> tuple[IssuedCard, ...]:
    return tuple(
        issue_card(make_persona(seed), profile) for profile in Profile for seed in SEEDS_PER_PROFILE
    )


def _bsi(name: str) -> tuple[bytes, ...]:
    path = BSI_DATASET / name
    return (path.read_bytes(),) if path.exists() else ()


def _files(fid: int, bsi: str | None = None) -> Callable[[], tuple[bytes, ...]]:
    def seeds() -> tuple[bytes, ...]:
        found = tuple(card.files[fid] for card in _cards() if fid in card.files)
        return found + (_bsi(bsi) if bsi else ())

    return seeds


def _card_securities() -> tuple[bytes, ...]:
    return tuple(card.card_security for card in _cards() if card.card_security is not None)


def _all_files() -> tuple[bytes, ...]:
    return tuple(data for card in _cards()[:2] for data in card.files.values())


def _face_images() -> tuple[bytes, ...]:
    images: list[bytes] = []
    for data in _files(FID[2], "Datagroup2.bin")():
        images.extend(face.image for face in parse_dg2(data).faces)
    return tuple(images)


def _mrzs() -> tuple[bytes, ...]:
    return tuple(parse_dg1(data).text.encode("ascii") for data in _files(FID[1])())


def _qrs() -> tuple[bytes, ...]:
    return tuple(qr_payload(make_persona(seed)).encode() for seed in range(1, 9))


def _certificates() -> tuple[bytes, ...]:
    pki = sim_pki()
    return (pki.csca.der, pki.signer.der, pki.expired_signer.der)


def _crls() -> tuple[bytes, ...]:
    pki = sim_pki()
    return (pki.pki.crl(pki.csca), pki.pki.crl(pki.csca, [pki.signer]))


def _apdus() -> tuple[bytes, ...]:
    """Commands of a CCCD read in every ISO 7816-4 case, short and extended, and answers."""
    return tuple(
        bytes.fromhex(text)
        for text in (
            "00A4040C07A0000002471001",  # SELECT the LDS application (case 3)
            "00B0000000FF00",  # READ BINARY, extended Le (case 2E)
            "00B0000000",  # READ BINARY, short Le (case 2S)
            "0CB000000D970200008E08AABBCCDDEEFF001100",  # protected (case 4S)
            "0022C1A40F800A04007F00070202040202830101",  # MSE:Set AT
            "0084000008",  # GET CHALLENGE
            "6A82",  # file not found
            "01020304059000",  # data and 9000
        )
    )


def _sm_session() -> ChipSmSession:
    return ChipSmSession(KeyAlgorithm.AES_128, *SM_KEYS, 0)


def _protected_responses() -> tuple[bytes, ...]:
    """Answers of the chip's own secure messaging at counter 0, as the reader expects them."""
    return tuple(
        _sm_session().wrap(data, sw, odd_ins=odd)
        for data, sw, odd in (
            (b"", 0x9000, False),
            (bytes(range(40)), 0x9000, False),
            (b"\x53\x03abc", 0x6282, True),
            (b"", 0x6A82, False),
        )
    )


def _gateway_answers() -> tuple[bytes, ...]:
    people = generate_people(GATEWAY_PEOPLE)
    simulator = GatewaySimulator(Dataset.from_people(people, today=date(2025, 6, 1)))
    username, password = next(iter(DEFAULT_ACCOUNTS.items()))
    digest = password_md5(password)
    _, token = simulator.take_token({"username": username, "password": digest})
    key = token["APIKey"]
    params = {
        "token": key["access_token"],
        "id_token": key["id_token"],
        "username": username,
        "password": digest,
    }
    answers = [token, {"maKetQua": "401", "ghiChu": "Sai tài khoản"}]
    answers += [simulator.lookup(params, _lookup_body(person))[1] for person in people]
    return tuple(json.dumps(answer, ensure_ascii=False).encode() for answer in answers)


def _lookup_body(person: Person) -> dict[str, str]:
    return {"maThe": person.id_number, "hoTen": person.full_name, "ngaySinh": "01/01/2000"}


def _acks() -> tuple[bytes, ...]:
    header = "MSH|^~\\&|HIS||KIOSK||20250101120000||ACK^A04^ACK|ACK1|P|2.5|||||||UNICODE UTF-8"
    return tuple(
        f"{header}\rMSA|{code}|MSG0001|{text}\r".encode()
        for code, text in (("AA", ""), ("AE", "Khoa không tồn tại"), ("AR", "busy \\F\\ later"))
    )


def _bhyt_qrs() -> tuple[bytes, ...]:
    def hexed(text: str) -> str:
        return text.encode().hex()

    return tuple(
        f"{card}|{hexed(name)}|{born}|{sex}|{hexed(address)}|79 - 024|01/01/2025|31/12/2025"
        f"|01/01/2025|abc|4$".encode()
        for card, name, born, sex, address in (
            ("HC4797912345678", "Nguyễn Thị Hoa", "07/03/1985", "2", "12 Lê Lợi, Quận 1"),
            ("TE1010112345678", "Trần Văn An", "2020", "1", "Hà Nội"),
        )
    )


# --- runners ------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    """Bytes from a scanner or socket as the application decodes them (bad bytes replaced)."""
    return data.decode("utf-8", errors="replace")


def _tlv(data: bytes) -> object:
    return tlv.walk(data), tlv.decode_all(data)


def _apdu(data: bytes) -> object:
    """The same bytes as a command (the chip's view) and as a response (the reader's)."""
    try:
        command: CommandApdu | None = CommandApdu.decode(data)
    except ParseError:
        command = None
    return command, ResponseApdu.decode(data)


def _secure_messaging(data: bytes) -> object:
    session = SecureMessagingSession(KeyAlgorithm.AES_128, *SM_KEYS, 0)
    return unprotect_response(session, ResponseApdu.decode(data))


def _card_access(data: bytes) -> object:
    access = parse_card_access(data)
    return select_pace_info(access), parse_security_infos(access)


def _dg2_image(data: bytes) -> object:
    return decode_face(data)


def _hl7_ack(data: bytes) -> object:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # the registrar refuses it before parsing
        return None
    return parse_ack(text)


def _gateway(data: bytes) -> object:
    """The same body as a token answer and as a lookup answer."""
    try:
        token: object = parse_token_response(data)
    except GatewayProtocolError:
        token = None
    return token, parse_lookup_response(data)


CARD = (CardError,)

TARGETS: Mapping[str, Target] = MappingProxyType(
    {
        target.name: target
        for target in (
            Target("tlv", _tlv, CARD, _all_files),
            Target("apdu", _apdu, CARD, _apdus, max_size=600),
            Target("secure-messaging", _secure_messaging, CARD, _protected_responses),
            Target("mrz", lambda d: parse_mrz(d.decode("latin-1")), CARD, _mrzs, max_size=200),
            Target("cccd-qr", parse_cccd_qr, CARD, _qrs, max_size=1000),
            Target("dg1", parse_dg1, CARD, _files(FID[1], "Datagroup1.bin")),
            Target("dg2", parse_dg2, CARD, _files(FID[2], "Datagroup2.bin")),
            Target("dg2-image", _dg2_image, CARD, _face_images, cost=5),
            Target("dg13", parse_dg13, CARD, _files(FID[13])),
            Target("dg14", parse_dg14, CARD, _files(FID[14], "Datagroup14.bin")),
            Target("dg15", parse_dg15, CARD, _files(FID[15], "Datagroup15.bin")),
            Target("ef-com", parse_com, CARD, _files(COM_FID, "EF_COM.bin")),
            Target("card-access", _card_access, CARD, _files(CARD_ACCESS_FID)),
            Target("sod", parse_sod, CARD, _files(SOD_FID, "EF_SOD.bin"), cost=4),
            Target("card-security", parse_card_security, CARD, _card_securities, cost=4),
            Target("certificate", parse_certificate, CARD, _certificates, cost=2),
            Target(
                "master-list", parse_master_list, CARD, lambda: (sim_pki().master_list(),), cost=8
            ),
            Target("crl", parse_crl, CARD, _crls),
            Target("gateway-json", _gateway, (GatewayProtocolError,), _gateway_answers),
            Target("hl7-ack", _hl7_ack, (HisProtocolError,), _acks, max_size=2000),
            Target("bhyt-qr", lambda d: parse_bhyt_qr(_text(d)), (BhytQrError,), _bhyt_qrs),
        )
    }
)


def run_one(target: Target, data: bytes) -> bool:
    """Run ``target`` on ``data``: True if it parsed, False if it raised an allowed error.

    Any other exception propagates: that is a finding.
    """
    try:
        target.run(data)
    except target.allowed:
        return False
    return True
