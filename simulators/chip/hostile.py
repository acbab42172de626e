"""A hostile card (issue 7): a virtual chip that answers like a broken or malicious one.

Each :class:`Hostility` is chosen by name, with an optional number (``name[=N]``, as
:mod:`simulators.faults`). Two kinds:

- content: the issued files are changed before the chip is built (a data group with a
  malformed inner TLV, a header that claims more than the file holds or more than any
  reader should read, a 1 MiB file, a data group EF.SOD lists but the chip lacks, a
  Document Signer certificate with a huge RSA key or a giant explicit curve);
- wire: READ BINARY under secure messaging is answered wrongly (64 KB whatever Le asked,
  a DO87 longer than the response, endless ``61xx`` or ``6Cxx``, a bad MAC, an answer
  MACed for an old send sequence counter, an earlier answer replayed). Access control,
  Chip and Active Authentication run as on an honest chip, so the hostility meets the
  reader's file layer and secure messaging.

Only for tests: the point is that the reader rejects every mode in bounded time and
memory with one of its own errors or a verdict other than VERIFIED.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from asn1crypto import cms, keys

from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import (
    StandardizedDomainParameter,
    standardized_domain_parameters,
)
from cardreader.crypto.ec import Curve, Point
from cardreader.crypto.pace_mapping import RandomSource
from cardreader.iso7816 import tlv
from cardreader.iso7816.apdu import CommandApdu
from simulators.chip.card import EmrtdChip, Sw
from simulators.faults import parse_named
from simulators.issuance import lds
from simulators.issuance.card import FID, SOD_FID, IssuedCard, build_chip, sim_pki
from simulators.pki import explicit_curve_key, with_public_key

INS_READ_BINARY = frozenset({0xB0, 0xB1})
INS_GET_RESPONSE = 0xC0
SW1_BYTES_AVAILABLE = 0x61
SW1_WRONG_LE = 0x6C
MAX_EXTENDED_NE = 65536
RSA_EXPONENT = 65537
HUGE_LENGTH = 0x7FFFFFFF
"""What a malformed inner TLV claims to hold (2 GiB)."""
OVERLONG_EXTRA = 4096
"""How many bytes an overlong header claims beyond the file."""
OVERSIZED_LENGTH = 16 << 20
"""What an oversized file claims: far over the 1 MiB a reader should ever read."""
GIANT_FILE_SIZE = 1 << 20
"""A giant DG2: exactly the reader's file bound, header included."""
SM_OVERLONG_HEADER = bytes((0x87, 0x82, 0xFF, 0xFF))
"""A DO87 header claiming 65535 bytes."""
_SEED = 7007


class Hostility(enum.Enum):
    """What the hostile card does; ``N`` in a docstring is the optional number."""

    MALFORMED_TLV = "malformed-tlv"
    """DG N (default 1): the first inner object claims 2 GiB; EF.SOD is signed over it."""
    OVERLONG_LENGTH = "overlong-length"
    """DG N (default 1): the header claims 4 KiB more than the file holds."""
    OVERSIZED_FILE = "oversized-file"
    """DG N (default 2): the header claims 16 MiB."""
    GIANT_FILE = "giant-file"
    """DG2 is 1 MiB of filler (the reader's bound), read in 64 KB answers."""
    HUGE_RESPONSE = "huge-response"
    """READ BINARY answers 64 KB (65536 bytes) whatever Le asked."""
    SM_OVERLONG_OBJECT = "sm-overlong-object"
    """The DO87 of a READ BINARY answer claims more bytes than the answer holds."""
    ENDLESS_61XX = "endless-61xx"
    """READ BINARY answers 61FF (more data) and GET RESPONSE does so forever."""
    ENDLESS_6CXX = "endless-6cxx"
    """READ BINARY answers 6Cxx with xx one less than Le asked, forever (6C00 after 1)."""
    BAD_MAC = "bad-mac"
    """One bit of the response MAC of READ BINARY flipped."""
    STALE_SSC = "stale-ssc"
    """READ BINARY answered under the send sequence counter of two messages before."""
    REPLAYED_RESPONSE = "replayed-response"
    """Every READ BINARY after the first gets the first one's protected answer again."""
    SOD_LISTS_ABSENT_DG = "sod-lists-absent-dg"
    """DG N (default 13) is in EF.COM and EF.SOD but not on the chip (6A82)."""
    HUGE_RSA_KEY = "huge-rsa-key"
    """The Document Signer certificate holds an N-bit RSA key (default 16384)."""
    GIANT_CURVE = "giant-curve"
    """The DS key is on an explicit curve over an N-bit prime (1024 default, or 2048)."""


_DEFAULTS: Mapping[Hostility, int] = MappingProxyType(
    {
        Hostility.MALFORMED_TLV: 1,
        Hostility.OVERLONG_LENGTH: 1,
        Hostility.OVERSIZED_FILE: 2,
        Hostility.SOD_LISTS_ABSENT_DG: 13,
        Hostility.HUGE_RSA_KEY: 16384,
        Hostility.GIANT_CURVE: 1024,
    }
)
_CURVE_PRIMES: Mapping[int, StandardizedDomainParameter] = MappingProxyType(
    {
        1024: StandardizedDomainParameter.MODP_1024_160,
        2048: StandardizedDomainParameter.MODP_2048_224,
    }
)
"""Field sizes of the giant curve → a standardized DH group whose prime it borrows."""


@dataclass(frozen=True)
class HostileSpec:
    """A hostility and its number (the data group or the key size)."""

    hostility: Hostility
    value: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostileSpec:
        """``bad-mac``, ``malformed-tlv=13``, ``huge-rsa-key=32768``; ValueError otherwise."""
        hostility, value = parse_named(text, Hostility, "hostility")
        if value is not None and hostility not in _DEFAULTS:
            raise ValueError(f"{hostility.value} takes no number")
        return cls(hostility, value)

    @property
    def number(self) -> int:
        """The value, or the hostility's default."""
        return self.value if self.value is not None else _DEFAULTS[self.hostility]

    def __str__(self) -> str:
        name = self.hostility.value
        return name if self.value is None else f"{name}={self.value}"


# --- content ------------------------------------------------------------------------------


def _data_group(files: Mapping[int, bytes], number: int) -> tuple[int, bytes]:
    if number not in FID or FID[number] not in files:
        raise ValueError(f"the card has no DG{number}")
    return FID[number], files[FID[number]]


def _with_length(data: bytes, length: int) -> bytes:
    """``data``'s outer tag with a header claiming ``length`` bytes, then its value."""
    outer = tlv.decode_single(data)
    return tlv.encode_tag(outer.tag) + tlv.encode_length(length) + outer.value


def _malformed(data: bytes) -> bytes:
    """The first inner object's length replaced by 2 GiB; the outer header stays right."""
    outer = tlv.decode_single(data)
    first, _ = tlv.decode_one(outer.value)
    broken = tlv.encode_tag(first.tag) + tlv.encode_length(HUGE_LENGTH) + first.value
    return tlv.encode(outer.tag, broken)


def _signed_sod(files: Mapping[int, bytes]) -> bytes:
    """EF.SOD signed by the simulator's Document Signer over the card's data groups."""
    pki = sim_pki()
    groups = {number: files[fid] for number, fid in FID.items() if fid in files}
    return pki.pki.sod(pki.signer, groups)


def _replace_signer(sod: bytes, certificate: bytes, algorithm: str, signature: bytes) -> bytes:
    """EF.SOD with another DS certificate, signature algorithm and signature value."""
    info = cms.ContentInfo.load(tlv.decode_single(sod).value)
    signed = info["content"]
    signed["certificates"] = [cms.CertificateChoices.load(certificate)]
    signer = signed["signer_infos"][0]
    signer["signature_algorithm"] = {"algorithm": algorithm}
    signer["signature"] = signature
    return tlv.encode(lds.LdsTag.SOD, info.dump(force=True))


def _huge_rsa_signer(sod: bytes, bits: int, rng: random.Random) -> bytes:
    """A DS certificate whose key is an arbitrary ``bits``-bit RSA modulus (no private key:
    the SOD signature is random bytes of the modulus length)."""
    modulus = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
    key = keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "rsa"},
            "public_key": keys.RSAPublicKey({"modulus": modulus, "public_exponent": RSA_EXPONENT}),
        }
    )
    pki = sim_pki()
    certificate = with_public_key(pki.signer.der, key, pki.csca)
    signature = rng.getrandbits(bits - 1).to_bytes(bits // 8, "big")
    return _replace_signer(sod, certificate, "sha256_rsa", signature)


def _giant_curve_signer(sod: bytes, bits: int, rng: random.Random) -> bytes:
    """A DS key on an explicit curve over a ``bits``-bit prime with a base point of our
    choosing (b follows from it) and a claimed order nobody can check cheaply."""
    if bits not in _CURVE_PRIMES:
        raise ValueError(f"giant-curve takes {sorted(_CURVE_PRIMES)} bits")
    group = standardized_domain_parameters(_CURVE_PRIMES[bits])
    assert isinstance(group, DhGroup)
    p = group.p
    a = p - 3
    base = Point(rng.randrange(2, p), rng.randrange(2, p))
    b = (base.y * base.y - base.x**3 - a * base.x) % p
    curve = Curve(f"explicit {bits}-bit", p, a, b, base, p - 1)
    public = curve.add(base, base)
    assert public is not None
    pki = sim_pki()
    key = explicit_curve_key(curve, curve.encode_point(public))
    certificate = with_public_key(pki.signer.der, key, pki.csca)
    r, s = rng.randrange(1, p - 1), rng.randrange(1, p - 1)
    signature = tlv.encode(0x30, _der_integer(r) + _der_integer(s))
    return _replace_signer(sod, certificate, "sha256_ecdsa", signature)


def _der_integer(value: int) -> bytes:
    return tlv.encode(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def hostile_files(card: IssuedCard, spec: HostileSpec) -> Mapping[int, bytes]:
    """The card's files as the content hostilities change them (others: unchanged)."""
    files = dict(card.files)
    rng = random.Random(f"{_SEED}-{spec}")
    hostility = spec.hostility
    if hostility is Hostility.MALFORMED_TLV:
        fid, data = _data_group(files, spec.number)
        files[fid] = _malformed(data)
        files[SOD_FID] = _signed_sod(files)
    elif hostility is Hostility.OVERLONG_LENGTH:
        fid, data = _data_group(files, spec.number)
        files[fid] = _with_length(data, len(tlv.decode_single(data).value) + OVERLONG_EXTRA)
    elif hostility is Hostility.OVERSIZED_FILE:
        fid, data = _data_group(files, spec.number)
        files[fid] = _with_length(data, OVERSIZED_LENGTH)
    elif hostility is Hostility.GIANT_FILE:
        fid, data = _data_group(files, 2)
        header = len(tlv.encode(lds.LdsTag.DG2, bytes(GIANT_FILE_SIZE)))
        filler = rng.randbytes(GIANT_FILE_SIZE - (header - GIANT_FILE_SIZE))
        files[fid] = tlv.encode(lds.LdsTag.DG2, filler)
    elif hostility is Hostility.SOD_LISTS_ABSENT_DG:
        fid, _ = _data_group(files, spec.number)
        del files[fid]
    elif hostility is Hostility.HUGE_RSA_KEY:
        files[SOD_FID] = _huge_rsa_signer(files[SOD_FID], spec.number, rng)
    elif hostility is Hostility.GIANT_CURVE:
        files[SOD_FID] = _giant_curve_signer(files[SOD_FID], spec.number, rng)
    return MappingProxyType(files)


# --- wire ---------------------------------------------------------------------------------


class HostileChip:
    """An :class:`EmrtdChip` behind a hostile answering layer (the vpcd ``CardModel`` shape).

    ``hostile_answers`` counts the READ BINARY (and GET RESPONSE) commands answered
    hostilely.
    """

    def __init__(self, chip: EmrtdChip, spec: HostileSpec) -> None:
        self.chip = chip
        self.spec = spec
        self.atr = chip.atr
        self.hostile_answers = 0
        self._first_answer: bytes | None = None

    def reset(self) -> None:
        self.chip.reset()
        self._first_answer = None

    def process(self, apdu: bytes) -> bytes:
        hostility = self.spec.hostility
        ins = apdu[1] if len(apdu) > 1 else None
        if hostility is Hostility.ENDLESS_61XX and ins == INS_GET_RESPONSE:
            self.hostile_answers += 1
            return bytes(0xFF) + bytes((SW1_BYTES_AVAILABLE, 0xFF))
        if self.chip.sm is None or ins not in INS_READ_BINARY or hostility not in _WIRE:
            return self.chip.process(apdu)
        self.hostile_answers += 1
        return _WIRE[hostility](self, apdu)

    def _answer(self, apdu: bytes, ssc_back: int = 0, ne: int | None = None) -> bytes:
        """Answer under secure messaging as the chip does, optionally with another Le, or
        wrapped under the counter ``ssc_back`` messages back."""
        session = self.chip.sm
        assert session is not None
        command = session.unwrap(CommandApdu.decode(apdu))
        if ne is not None:
            command = dataclasses.replace(command, ne=ne)
        data, sw = self.chip.handlers()[command.ins](command)
        if ne is not None:
            data, sw = data.ljust(ne, b"\x00"), Sw.OK
        session.ssc = (session.ssc - ssc_back) % (1 << (8 * session.alg.cipher.block_size))
        return session.wrap(data, sw, odd_ins=bool(command.ins & 1))

    def _huge(self, apdu: bytes) -> bytes:
        return self._answer(apdu, ne=MAX_EXTENDED_NE)

    def _stale(self, apdu: bytes) -> bytes:
        return self._answer(apdu, ssc_back=2)

    def _sm_overlong(self, apdu: bytes) -> bytes:
        answer = self.chip.process(apdu)
        if answer[:1] != b"\x87":
            return answer
        _, header, _ = tlv.decode_header(answer)
        return SM_OVERLONG_HEADER + answer[header:]

    def _more_data(self, apdu: bytes) -> bytes:
        session = self.chip.sm
        assert session is not None
        session.unwrap(CommandApdu.decode(apdu))
        return session.wrap(b"", (SW1_BYTES_AVAILABLE << 8) | 0xFF)

    def _wrong_le(self, apdu: bytes) -> bytes:
        session = self.chip.sm
        assert session is not None
        command = session.unwrap(CommandApdu.decode(apdu))
        named = ((command.ne or 256) - 1) & 0xFF  # one less than asked; 00 (256) after 1
        return session.wrap(b"", (SW1_WRONG_LE << 8) | named)

    def _bad_mac(self, apdu: bytes) -> bytes:
        answer = bytearray(self.chip.process(apdu))
        answer[-3] ^= 0x01  # the last MAC byte, before SW1 SW2
        return bytes(answer)

    def _replayed(self, apdu: bytes) -> bytes:
        answer = self.chip.process(apdu)
        if self._first_answer is None:
            self._first_answer = answer
        return self._first_answer


_WIRE = {
    Hostility.HUGE_RESPONSE: HostileChip._huge,
    Hostility.SM_OVERLONG_OBJECT: HostileChip._sm_overlong,
    Hostility.ENDLESS_61XX: HostileChip._more_data,
    Hostility.ENDLESS_6CXX: HostileChip._wrong_le,
    Hostility.BAD_MAC: HostileChip._bad_mac,
    Hostility.STALE_SSC: HostileChip._stale,
    Hostility.REPLAYED_RESPONSE: HostileChip._replayed,
}


def build_hostile_chip(
    card: IssuedCard, spec: HostileSpec, rng: RandomSource = secrets
) -> HostileChip:
    """The virtual chip of ``card`` with ``spec``'s content and wire hostility applied."""
    changed = dataclasses.replace(card, files=hostile_files(card, spec))
    return HostileChip(build_chip(changed, rng), spec)
