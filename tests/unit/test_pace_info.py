"""EF.CardAccess parsing and PACE protocol selection (ICAO 9303-11 §9.2).

The CCCD's EF.CardAccess (docs/domain.md §2) is built here by DER-encoding its three
SecurityInfos: TerminalAuthenticationInfo, ChipAuthenticationInfo
(id-CA-ECDH-AES-CBC-CMAC-128) and PACEInfo (id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2,
brainpoolP256r1).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cardreader.access.pace_info import (
    PACE_PROTOCOLS,
    CardAccess,
    KeyAgreement,
    PaceInfo,
    PaceMapping,
    domain_parameters,
    parse_card_access,
    select_pace_info,
)
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv

ID_TA = "0.4.0.127.0.7.2.2.2"
ID_CA_ECDH_AES_CBC_CMAC_128 = "0.4.0.127.0.7.2.2.3.2.2"
ID_PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
ID_PACE_ECDH_GM = "0.4.0.127.0.7.2.2.4.2"
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"


def integer(value: int) -> bytes:
    return tlv.encode(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big"))


def oid(dotted: str) -> bytes:
    return tlv.encode(0x06, tlv.encode_oid(dotted))


def sequence(*items: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(items))


def security_infos(*items: bytes) -> bytes:
    return tlv.encode(0x31, b"".join(items))


def pace_info(protocol: str, version: int = 2, parameter_id: int | None = 13) -> bytes:
    optional = b"" if parameter_id is None else integer(parameter_id)
    return sequence(oid(protocol), integer(version), optional)


TA_INFO = sequence(oid(ID_TA), integer(1))
CA_INFO = sequence(oid(ID_CA_ECDH_AES_CBC_CMAC_128), integer(1))
CCCD_PACE_INFO = pace_info(ID_PACE_ECDH_GM_AES_128)
CCCD_CARD_ACCESS = security_infos(TA_INFO, CA_INFO, CCCD_PACE_INFO)


def test_cccd_card_access_bytes() -> None:
    assert CCCD_CARD_ACCESS.hex().upper() == (
        "3134"
        "300D060804007F0007020202020101"
        "300F060A04007F00070202030202020101"
        "3012060A04007F0007020204020202010202010D"
    )


def test_cccd_card_access() -> None:
    card_access = parse_card_access(CCCD_CARD_ACCESS)
    (info,) = card_access.pace_infos
    assert info.protocol.name == "id-PACE-ECDH-GM-AES-CBC-CMAC-128"
    assert info.protocol.key_agreement is KeyAgreement.ECDH
    assert info.protocol.mapping is PaceMapping.GENERIC
    assert info.protocol.key_algorithm is KeyAlgorithm.AES_128
    assert (info.version, info.parameter_id) == (2, 13)
    assert card_access.domain_parameter_infos == ()
    assert [(raw.oid, raw.der) for raw in card_access.other] == [
        (ID_TA, TA_INFO),
        (ID_CA_ECDH_AES_CBC_CMAC_128, CA_INFO),
    ]
    assert not card_access.parameter_id_required
    assert select_pace_info(card_access) == info
    curve = domain_parameters(info)
    assert isinstance(curve, Curve)
    assert curve.name == "brainpoolP256r1"


def test_padding_zeros_after_the_set_are_ignored() -> None:
    assert parse_card_access(CCCD_CARD_ACCESS + bytes(6)).pace_infos


PROTOCOL_TABLE = [
    ("1.1", "DH", "GM", KeyAlgorithm.TDES),
    ("1.2", "DH", "GM", KeyAlgorithm.AES_128),
    ("1.3", "DH", "GM", KeyAlgorithm.AES_192),
    ("1.4", "DH", "GM", KeyAlgorithm.AES_256),
    ("2.1", "ECDH", "GM", KeyAlgorithm.TDES),
    ("2.2", "ECDH", "GM", KeyAlgorithm.AES_128),
    ("2.3", "ECDH", "GM", KeyAlgorithm.AES_192),
    ("2.4", "ECDH", "GM", KeyAlgorithm.AES_256),
    ("3.1", "DH", "IM", KeyAlgorithm.TDES),
    ("3.2", "DH", "IM", KeyAlgorithm.AES_128),
    ("3.3", "DH", "IM", KeyAlgorithm.AES_192),
    ("3.4", "DH", "IM", KeyAlgorithm.AES_256),
    ("4.1", "ECDH", "IM", KeyAlgorithm.TDES),
    ("4.2", "ECDH", "IM", KeyAlgorithm.AES_128),
    ("4.3", "ECDH", "IM", KeyAlgorithm.AES_192),
    ("4.4", "ECDH", "IM", KeyAlgorithm.AES_256),
    ("6.2", "ECDH", "CAM", KeyAlgorithm.AES_128),
    ("6.3", "ECDH", "CAM", KeyAlgorithm.AES_192),
    ("6.4", "ECDH", "CAM", KeyAlgorithm.AES_256),
]


@pytest.mark.parametrize(("arcs", "agreement", "mapping", "algorithm"), PROTOCOL_TABLE)
def test_every_pace_oid(arcs: str, agreement: str, mapping: str, algorithm: KeyAlgorithm) -> None:
    """ICAO 9303-11 §9.2.3 and tables 2-3."""
    protocol = PACE_PROTOCOLS[f"0.4.0.127.0.7.2.2.4.{arcs}"]
    assert protocol.key_agreement.value == agreement
    assert protocol.mapping.value == mapping
    assert protocol.key_algorithm is algorithm
    assert protocol.name.startswith(f"id-PACE-{agreement}-{mapping}-")
    parameter_id = 13 if agreement == "ECDH" else 2
    parsed = parse_card_access(security_infos(pace_info(protocol.oid, parameter_id=parameter_id)))
    assert parsed.pace_infos[0].protocol is protocol


def test_the_table_has_exactly_the_19_protocols() -> None:
    assert len(PACE_PROTOCOLS) == len(PROTOCOL_TABLE)


def test_unknown_pace_like_oids_are_kept_raw() -> None:
    ghost = sequence(oid("0.4.0.127.0.7.2.2.4.6.1"), integer(2), integer(13))  # no CAM-3DES
    parsed = parse_card_access(security_infos(ghost, CCCD_PACE_INFO))
    assert [raw.oid for raw in parsed.other] == ["0.4.0.127.0.7.2.2.4.6.1"]
    assert len(parsed.pace_infos) == 1


def test_domain_parameter_info_is_parsed_but_explicit_parameters_are_unsupported() -> None:
    algorithm_identifier = sequence(oid(ID_EC_PUBLIC_KEY), sequence(integer(1)))
    domain_info = sequence(oid(ID_PACE_ECDH_GM), algorithm_identifier, integer(32))
    parsed = parse_card_access(
        security_infos(pace_info(ID_PACE_ECDH_GM_AES_128, parameter_id=32), domain_info)
    )
    (domain,) = parsed.domain_parameter_infos
    assert (domain.oid, domain.key_agreement, domain.parameter_id) == (
        ID_PACE_ECDH_GM,
        KeyAgreement.ECDH,
        32,
    )
    assert domain.domain_parameter == algorithm_identifier
    assert parsed.parameter_id_required
    with pytest.raises(UnsupportedProtocolError):
        domain_parameters(parsed.pace_infos[0])
    with pytest.raises(UnsupportedProtocolError, match="no supported PACE protocol"):
        select_pace_info(parsed)


def _info(arcs: str, parameter_id: int | None, version: int = 2) -> PaceInfo:
    return PaceInfo(PACE_PROTOCOLS[f"0.4.0.127.0.7.2.2.4.{arcs}"], version, parameter_id)


def _select(*infos: PaceInfo) -> PaceInfo:
    return select_pace_info(CardAccess(infos, (), ()))


def test_selection_prefers_cam_then_gm_then_im() -> None:
    gm, im, cam = _info("2.2", 13), _info("4.2", 13), _info("6.2", 13)
    assert _select(im, gm, cam) is cam
    assert _select(im, gm) is gm
    assert _select(im) is im


def test_selection_prefers_ecdh_and_longer_keys_then_the_chips_order() -> None:
    dh, ecdh = _info("1.4", 2), _info("2.2", 12)
    assert _select(dh, ecdh) is ecdh
    aes128, aes256, tdes = _info("2.2", 13), _info("2.4", 13), _info("2.1", 13)
    assert _select(aes128, tdes, aes256) is aes256
    first, second = _info("2.2", 13), _info("2.2", 12)
    assert _select(first, second) is first


def test_selection_skips_what_is_not_supported() -> None:
    usable = _info("2.2", 13)
    candidates = [
        _info("6.2", 5),  # reserved domain parameter ID
        _info("6.2", 0),  # DH group for an ECDH protocol
        _info("1.2", 13),  # curve for a DH protocol
        _info("4.2", 10),  # IM on secp224r1 (table 12 footnote)
        _info("6.2", 13, version=1),  # PACE v1 tokens differ
        _info("6.2", None),  # explicit parameters
    ]
    assert _select(*candidates, usable) is usable
    with pytest.raises(UnsupportedProtocolError):
        _select(*candidates)
    with pytest.raises(UnsupportedProtocolError):
        _select()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        sequence(CCCD_PACE_INFO),  # SEQUENCE instead of SET
        security_infos(integer(2)),  # SecurityInfo not a SEQUENCE
        security_infos(sequence(integer(1), integer(2))),  # no OID first
        security_infos(sequence()),
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128))),  # no version
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128), oid(ID_TA))),  # version not INTEGER
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128), tlv.encode(0x02, b""))),
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128), tlv.encode(0x02, b"\xff"))),
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128), tlv.encode(0x02, bytes(5)))),
        security_infos(sequence(oid(ID_PACE_ECDH_GM_AES_128), integer(2), integer(13), integer(1))),
        security_infos(sequence(oid(ID_PACE_ECDH_GM), integer(1))),  # no AlgorithmIdentifier
        security_infos(sequence(tlv.encode(0x06, b"\x80"))),  # malformed OID
        CCCD_CARD_ACCESS + b"\x30\x00",  # trailing data
        CCCD_CARD_ACCESS[:-1],  # truncated
    ],
)
def test_malformed_card_access_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_card_access(data)


def _parse_and_select(data: bytes) -> None:
    try:
        card_access = parse_card_access(data)
        select_pace_info(card_access)
    except (ParseError, UnsupportedProtocolError):
        pass


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_documented_errors(data: bytes) -> None:
    _parse_and_select(data)


@given(
    st.lists(
        st.tuples(st.integers(0, len(CCCD_CARD_ACCESS) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, len(CCCD_CARD_ACCESS)),
)
def test_mutated_card_access_raises_only_documented_errors(
    mutations: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(CCCD_CARD_ACCESS)
    for position, value in mutations:
        data[position] = value
    _parse_and_select(bytes(data[:cut]) if cut else bytes(data))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(PACE_PROTOCOLS)),
            st.integers(0, 3),
            st.one_of(st.none(), st.integers(0, 40)),
        ),
        max_size=5,
    )
)
def test_any_well_formed_pace_infos_parse_and_select_or_are_unsupported(
    entries: list[tuple[str, int, int | None]],
) -> None:
    data = security_infos(
        *(pace_info(protocol, version, pid) for protocol, version, pid in entries)
    )
    card_access = parse_card_access(data)
    assert len(card_access.pace_infos) == len(entries)
    try:
        chosen = select_pace_info(card_access)
    except UnsupportedProtocolError:
        return
    assert chosen in card_access.pace_infos
    assert chosen.version == 2
    domain_parameters(chosen)
