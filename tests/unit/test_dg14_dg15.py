"""DG14 SecurityInfos and DG15 public keys (ICAO 9303-10 §4.7.14-15, 9303-11 §9.2).

Vectors: the BSI TR-03105-5 reference data set (tests/vectors/bsi-tr03105-5), whose
DG14 holds an id-PK-ECDH key with explicit brainpoolP224r1 parameters and DG15 an RSA-1024
key; the folder also holds both keys as separate SubjectPublicKeyInfo files. Other keys
are generated here and encoded by ``cryptography`` or asn1crypto, independently of the
parser under test.
"""

from __future__ import annotations

import contextlib

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.access.chip_auth_info import (
    CA_PROTOCOLS,
    ID_AA,
    ID_TA,
    ActiveAuthenticationInfo,
    ChipSecurityInfos,
    KeyAgreement,
    parse_dg14,
    select_chip_authentication,
)
from cardreader.crypto.active_auth import parse_dg15
from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import STANDARDIZED_DOMAIN_PARAMETERS
from cardreader.crypto.domain_params import StandardizedDomainParameter as Std
from cardreader.crypto.ec import Curve
from cardreader.crypto.kdf import KeyAlgorithm
from cardreader.crypto.keys import (
    DhPublicKey,
    EcPublicKey,
    RsaPublicKey,
    parse_subject_public_key_info,
)
from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from tests.vectors import BSI_DATASET

ID_PK_DH = "0.4.0.127.0.7.2.2.1.1"
ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
ID_CA_ECDH_3DES = "0.4.0.127.0.7.2.2.3.2.1"
ID_CA_ECDH_AES_128 = "0.4.0.127.0.7.2.2.3.2.2"
ID_CA_ECDH_AES_256 = "0.4.0.127.0.7.2.2.3.2.4"
ID_CA_DH_AES_128 = "0.4.0.127.0.7.2.2.3.1.2"
ID_PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
STANDARDIZED_DOMAIN_PARAMETERS_OID = "0.4.0.127.0.7.1.2"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
PARSE_ERRORS = (ParseError, UnsupportedProtocolError)

BSI_DG14 = (BSI_DATASET / "Datagroup14.bin").read_bytes()
BSI_DG15 = (BSI_DATASET / "Datagroup15.bin").read_bytes()
BSI_DG14_PK = (BSI_DATASET / "DG14_pk.bin").read_bytes()
BSI_DG15_PK = (BSI_DATASET / "DG15_pk.bin").read_bytes()


# -- DER encoders (tests only) ------------------------------------------------------------


def integer(value: int) -> bytes:
    return tlv.encode(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def oid(dotted: str) -> bytes:
    return tlv.encode(0x06, tlv.encode_oid(dotted))


def sequence(*items: bytes) -> bytes:
    return tlv.encode(0x30, b"".join(items))


def dg14(*infos: bytes) -> bytes:
    return tlv.encode(0x6E, tlv.encode(0x31, b"".join(infos)))


def ca_info(protocol: str, version: int = 1, key_id: int | None = None) -> bytes:
    return sequence(oid(protocol), integer(version), b"" if key_id is None else integer(key_id))


def pk_info(spki: bytes, *, ecdh: bool = True, key_id: int | None = None) -> bytes:
    tail = b"" if key_id is None else integer(key_id)
    return sequence(oid(ID_PK_ECDH if ecdh else ID_PK_DH), spki, tail)


def aa_info(signature_algorithm: str = ECDSA_WITH_SHA256) -> bytes:
    return sequence(oid(ID_AA), integer(1), oid(signature_algorithm))


def standardized_spki(parameter: int, public_key: bytes) -> bytes:
    """SubjectPublicKeyInfo with standardizedDomainParameters (BSI TR-03110-3 §A.2.1.1)."""
    algorithm = sequence(oid(STANDARDIZED_DOMAIN_PARAMETERS_OID), integer(parameter))
    return sequence(algorithm, tlv.encode(0x03, b"\x00" + public_key))


def curve(parameter: Std) -> Curve:
    params = STANDARDIZED_DOMAIN_PARAMETERS[parameter]
    assert isinstance(params, Curve)
    return params


def dh_group(parameter: Std) -> DhGroup:
    params = STANDARDIZED_DOMAIN_PARAMETERS[parameter]
    assert isinstance(params, DhGroup)
    return params


def explicit_ec_spki(params: Curve, public_point: bytes, *, cofactor: int = 1) -> bytes:
    """id-ecPublicKey with SpecifiedECDomain, encoded by asn1crypto."""
    size = params.field_bytes
    domain = asn1_keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": params.p},
            "curve": {"a": params.a.to_bytes(size, "big"), "b": params.b.to_bytes(size, "big")},
            "base": params.encode_point(params.g),
            "order": params.n,
            "cofactor": cofactor,
        }
    )
    algorithm = {
        "algorithm": "ec",
        "parameters": asn1_keys.ECDomainParameters(name="specified", value=domain),
    }
    return bytes(
        asn1_keys.PublicKeyInfo({"algorithm": algorithm, "public_key": public_point}).dump()
    )


def x942_spki(group: DhGroup, value: int) -> bytes:
    """dhpublicnumber with X9.42 DomainParameters, encoded by asn1crypto."""
    algorithm = {"algorithm": "dh", "parameters": {"p": group.p, "g": group.g, "q": group.q}}
    return bytes(asn1_keys.PublicKeyInfo({"algorithm": algorithm, "public_key": value}).dump())


def named_ec_spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


# -- the BSI data set ---------------------------------------------------------------------


def test_bsi_dg14() -> None:
    infos = parse_dg14(BSI_DG14)
    (ca,) = infos.chip_authentication
    assert (ca.protocol.name, ca.protocol.oid, ca.version, ca.key_id) == (
        "id-CA-ECDH-3DES-CBC-CBC",
        ID_CA_ECDH_3DES,
        1,
        None,
    )
    assert ca.protocol.key_algorithm is KeyAlgorithm.TDES
    (key,) = infos.chip_authentication_keys
    assert key.key_agreement is KeyAgreement.ECDH
    assert key.key_id is None
    assert key.subject_public_key_info == BSI_DG14_PK
    assert isinstance(key.public_key, EcPublicKey)
    assert key.public_key.parameter is Std.BRAINPOOL_P224R1
    assert key.public_key.encoded.hex().upper() == (
        "04A847F020F71DF33D386BE7C9223A354D6AC7727018B26E281C6FFB96"
        "A83B142AAF303C23F2BCF2CDE4706C14E45914A9BE42C15BCB67A01F"
    )
    (ta,) = infos.terminal_authentication
    assert (ta.version, ta.ef_cvca) == (1, None)
    assert infos.active_authentication is None
    assert infos.other == ()
    assert infos.card_access.pace_infos == ()


def test_bsi_dg14_key_matches_the_private_key() -> None:
    """The PKCS #8 file's own public key (read by asn1crypto) is the DG14 point."""
    private = asn1_keys.PrivateKeyInfo.load((BSI_DATASET / "DG14_sk.pkcs8").read_bytes())
    point = private["private_key"].parsed["public_key"].native
    infos = parse_dg14(BSI_DG14)
    assert infos.chip_authentication_keys[0].public_key.encoded == point


def test_bsi_dg14_selection() -> None:
    choice = select_chip_authentication(parse_dg14(BSI_DG14))
    assert choice.protocol.oid == ID_CA_ECDH_3DES
    assert (choice.key_id, choice.implied) == (None, False)


def test_bsi_dg15() -> None:
    dg15 = parse_dg15(BSI_DG15)
    assert dg15.subject_public_key_info == BSI_DG15_PK
    key = dg15.public_key
    assert isinstance(key, RsaPublicKey)
    reference = load_der_public_key(BSI_DG15_PK)
    assert isinstance(reference, rsa.RSAPublicKey)
    assert (key.modulus, key.exponent, key.bits) == (
        reference.public_numbers().n,
        65537,
        1024,
    )


def test_bsi_dg15_public_key_files_parse_alone() -> None:
    assert parse_subject_public_key_info(BSI_DG15_PK) == parse_dg15(BSI_DG15).public_key
    assert (
        parse_subject_public_key_info(BSI_DG14_PK)
        == parse_dg14(BSI_DG14).chip_authentication_keys[0].public_key
    )


def test_zero_padding_after_the_data_group_is_ignored() -> None:
    assert parse_dg14(BSI_DG14 + bytes(5)) == parse_dg14(BSI_DG14)
    assert parse_dg15(BSI_DG15 + bytes(3)) == parse_dg15(BSI_DG15)
    with pytest.raises(ParseError, match="bytes after DG14"):
        parse_dg14(BSI_DG14 + b"\x01")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BSI_DG15, "DG14 must start with tag 6E"),
        (tlv.encode(0x6E, tlv.encode(0x30, b"")), "SecurityInfos must be a SET"),
        (b"", "truncated tag"),
    ],
)
def test_dg14_structure_errors(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_dg14(data)


def test_dg15_structure_errors() -> None:
    with pytest.raises(ParseError, match="DG15 must start with tag 6F"):
        parse_dg15(BSI_DG14)
    group = dh_group(Std.MODP_2048_256)
    dh_key = x942_spki(group, pow(group.g, 5, group.p))
    with pytest.raises(ParseError, match="DH key"):
        parse_dg15(tlv.encode(0x6F, dh_key))
    small = sequence(integer((1 << 511) | 1), integer(65537))
    spki = sequence(
        sequence(oid("1.2.840.113549.1.1.1"), b"\x05\x00"), tlv.encode(0x03, b"\x00" + small)
    )
    with pytest.raises(ParseError, match="at least 1024 bits"):
        parse_dg15(tlv.encode(0x6F, spki))


# -- public keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("curve_type", "parameter"),
    [
        (ec.SECP192R1, Std.SECP192R1),
        (ec.SECP224R1, Std.SECP224R1),
        (ec.SECP256R1, Std.SECP256R1),
        (ec.SECP384R1, Std.SECP384R1),
        (ec.SECP521R1, Std.SECP521R1),
        (ec.BrainpoolP256R1, Std.BRAINPOOL_P256R1),
        (ec.BrainpoolP384R1, Std.BRAINPOOL_P384R1),
        (ec.BrainpoolP512R1, Std.BRAINPOOL_P512R1),
    ],
)
def test_named_curve_keys(curve_type: type[ec.EllipticCurve], parameter: Std) -> None:
    """The named-curve OIDs agree with ``cryptography``'s encoder."""
    key = ec.generate_private_key(curve_type())
    parsed = parse_subject_public_key_info(named_ec_spki(key))
    numbers = key.public_key().public_numbers()
    assert isinstance(parsed, EcPublicKey)
    assert parsed.parameter is parameter
    assert (parsed.point.x, parsed.point.y) == (numbers.x, numbers.y)


@pytest.mark.parametrize(
    "parameter", [p for p, v in STANDARDIZED_DOMAIN_PARAMETERS.items() if isinstance(v, Curve)]
)
def test_explicit_parameters_of_every_standardized_curve(parameter: Std) -> None:
    params = curve(parameter)
    point = params.encode_point(params.multiply(12345, params.g) or params.g)
    parsed = parse_subject_public_key_info(explicit_ec_spki(params, point))
    assert isinstance(parsed, EcPublicKey)
    assert (parsed.parameter, parsed.encoded) == (parameter, point)


def test_explicit_parameters_of_an_unknown_curve_parse_but_no_chip_key_uses_them() -> None:
    """One key parser for certificates and chips; chip keys must be on a table 12 curve."""
    params = curve(Std.BRAINPOOL_P256R1)
    point = params.encode_point(params.g)
    spki = explicit_ec_spki(params, point, cofactor=2)
    parsed = parse_subject_public_key_info(spki)
    assert isinstance(parsed, EcPublicKey)
    assert (parsed.parameter, parsed.curve.h, parsed.encoded) == (None, 2, point)
    with pytest.raises(UnsupportedProtocolError, match="match no standardized curve"):
        parse_dg15(tlv.encode(0x6F, spki))
    infos = parse_dg14(dg14(pk_info(spki)))
    assert infos.chip_authentication_keys == ()
    assert [raw.oid for raw in infos.other] == [ID_PK_ECDH]


def test_standardized_domain_parameter_keys() -> None:
    params = curve(Std.BRAINPOOL_P256R1)
    point = params.encode_point(params.multiply(99, params.g) or params.g)
    parsed = parse_subject_public_key_info(standardized_spki(Std.BRAINPOOL_P256R1, point))
    assert isinstance(parsed, EcPublicKey)
    assert (parsed.parameter, parsed.encoded) == (Std.BRAINPOOL_P256R1, point)
    group = dh_group(Std.MODP_2048_224)
    value = pow(group.g, 99, group.p)
    parsed_dh = parse_subject_public_key_info(standardized_spki(Std.MODP_2048_224, integer(value)))
    assert isinstance(parsed_dh, DhPublicKey)
    assert (parsed_dh.parameter, parsed_dh.value) == (Std.MODP_2048_224, value)
    with pytest.raises(UnsupportedProtocolError, match="reserved"):
        parse_subject_public_key_info(standardized_spki(5, point))


def test_x942_dh_keys() -> None:
    group = dh_group(Std.MODP_2048_256)
    value = pow(group.g, 0xC0FFEE, group.p)
    parsed = parse_subject_public_key_info(x942_spki(group, value))
    assert isinstance(parsed, DhPublicKey)
    assert (parsed.parameter, parsed.value) == (Std.MODP_2048_256, value)
    assert parsed.encoded == value.to_bytes(256, "big").lstrip(b"\x00")
    with pytest.raises(ParseError, match="not an element of order q"):
        parse_subject_public_key_info(x942_spki(group, group.p - 1))


def test_custom_dh_group_is_kept_with_its_parameters() -> None:
    """A DH group outside table 12 (here RFC 5114's 1024-bit p with g squared)."""
    standard = dh_group(Std.MODP_1024_160)
    custom = DhGroup("custom", standard.p, pow(standard.g, 2, standard.p), standard.q)
    value = pow(custom.g, 7, custom.p)
    parsed = parse_subject_public_key_info(x942_spki(custom, value))
    assert isinstance(parsed, DhPublicKey)
    assert parsed.parameter is None
    assert (parsed.group.p, parsed.group.g, parsed.group.q) == (custom.p, custom.g, custom.q)


def test_point_off_the_curve_is_a_parse_error() -> None:
    params = curve(Std.BRAINPOOL_P256R1)
    point = bytearray(params.encode_point(params.g))
    point[-1] ^= 1
    with pytest.raises(ParseError, match="not on brainpoolP256r1"):
        parse_subject_public_key_info(explicit_ec_spki(params, bytes(point)))


def test_unknown_algorithms_are_unsupported() -> None:
    ed = sequence(sequence(oid("1.3.101.112")), tlv.encode(0x03, b"\x00" + bytes(32)))
    with pytest.raises(UnsupportedProtocolError, match=r"1\.3\.101\.112"):
        parse_subject_public_key_info(ed)
    unknown_curve = sequence(
        sequence(oid("1.2.840.10045.2.1"), oid("1.3.132.0.10")), tlv.encode(0x03, b"\x00\x04")
    )
    with pytest.raises(UnsupportedProtocolError, match=r"1\.3\.132\.0\.10"):
        parse_subject_public_key_info(unknown_curve)


# -- SecurityInfos ---------------------------------------------------------------------


def _ec_key(parameter: Std = Std.BRAINPOOL_P256R1, scalar: int = 7) -> bytes:
    params = curve(parameter)
    return standardized_spki(
        parameter, params.encode_point(params.multiply(scalar, params.g) or params.g)
    )


def test_key_ids_and_preference() -> None:
    """CCCD-like DG14 with two keys: AES-256 with key 2 wins over 3DES with key 1."""
    group = dh_group(Std.MODP_2048_256)
    data = dg14(
        sequence(oid(ID_TA), integer(1)),
        ca_info(ID_CA_ECDH_3DES, key_id=1),
        ca_info(ID_CA_ECDH_AES_256, key_id=2),
        ca_info(ID_CA_DH_AES_128, key_id=3),
        pk_info(_ec_key(scalar=5), key_id=1),
        pk_info(_ec_key(scalar=6), key_id=2),
        pk_info(x942_spki(group, pow(group.g, 3, group.p)), ecdh=False, key_id=3),
        aa_info(),
        sequence(oid(ID_PACE_ECDH_GM_AES_128), integer(2), integer(13)),
    )
    infos = parse_dg14(data)
    assert [info.key_id for info in infos.chip_authentication] == [1, 2, 3]
    assert [key.key_id for key in infos.chip_authentication_keys] == [1, 2, 3]
    assert infos.active_authentication == ActiveAuthenticationInfo(1, ECDSA_WITH_SHA256)
    assert len(infos.card_access.pace_infos) == 1
    choice = select_chip_authentication(infos)
    assert choice.protocol.oid == ID_CA_ECDH_AES_256
    assert choice.key_id == 2
    assert choice.key is infos.chip_authentication_keys[1]


def test_key_id_without_matching_key_is_not_selected() -> None:
    infos = parse_dg14(dg14(ca_info(ID_CA_ECDH_AES_128, key_id=9), pk_info(_ec_key(), key_id=1)))
    with pytest.raises(UnsupportedProtocolError, match="no usable Chip Authentication key"):
        select_chip_authentication(infos)


def test_missing_chip_authentication_info_implies_3des() -> None:
    infos = parse_dg14(dg14(pk_info(_ec_key())))
    choice = select_chip_authentication(infos)
    assert (choice.protocol.name, choice.implied) == ("id-CA-ECDH-3DES-CBC-CBC", True)


def test_every_ca_protocol_oid() -> None:
    assert len(CA_PROTOCOLS) == 8
    for protocol in CA_PROTOCOLS.values():
        infos = parse_dg14(dg14(ca_info(protocol.oid, version=2)))
        assert infos.chip_authentication[0].protocol is protocol
    assert CA_PROTOCOLS["0.4.0.127.0.7.2.2.3.1.4"].name == "id-CA-DH-AES-CBC-CMAC-256"


def test_unsupported_keys_and_unknown_infos_are_kept_raw() -> None:
    unknown_curve = sequence(
        sequence(oid("1.2.840.10045.2.1"), oid("1.3.132.0.10")), tlv.encode(0x03, b"\x00\x04")
    )
    other = sequence(oid("0.4.0.127.0.7.2.2.3.2"), sequence(oid("1.2.3")), integer(1))
    infos = parse_dg14(dg14(pk_info(unknown_curve), other))
    assert infos.chip_authentication_keys == ()
    assert [raw.oid for raw in infos.other] == [ID_PK_ECDH, "0.4.0.127.0.7.2.2.3.2"]


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (
            sequence(oid(ID_CA_ECDH_AES_128)),
            rf"^SecurityInfo {ID_CA_ECDH_AES_128} without its required data",
        ),
        (
            sequence(oid(ID_CA_ECDH_AES_128), integer(1), integer(2), integer(3)),
            "^SecurityInfos: 1 element.s. after the last field of a SEQUENCE$",
        ),
        (sequence(oid(ID_PK_ECDH)), rf"^SecurityInfo {ID_PK_ECDH} without its required data"),
        (sequence(oid(ID_TA)), rf"^SecurityInfo {ID_TA} without its required data"),
        (sequence(oid(ID_AA), integer(1)), "^malformed ActiveAuthenticationInfo: Field"),
        (
            sequence(oid(ID_AA), integer(1), integer(1)),
            "^malformed ActiveAuthenticationInfo: .*tag should have been 6, but 2 was found",
        ),
        (
            sequence(oid(ID_CA_ECDH_AES_128), tlv.encode(0x02, b"\xff")),
            "^id-CA-ECDH-AES-CBC-CMAC-128: negative INTEGER",
        ),
        (
            sequence(oid(ID_CA_ECDH_AES_128), integer(1 << 40)),
            "^id-CA-ECDH-AES-CBC-CMAC-128: INTEGER of 6 bytes exceeds 4$",
        ),
    ],
)
def test_malformed_infos(info: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_dg14(dg14(info))


def test_key_of_the_wrong_kind() -> None:
    group = dh_group(Std.MODP_2048_256)
    with pytest.raises(ParseError, match="another kind"):
        parse_dg14(dg14(pk_info(x942_spki(group, pow(group.g, 3, group.p)), ecdh=True)))
    with pytest.raises(ParseError, match="another kind"):
        parse_dg14(dg14(pk_info(BSI_DG15_PK)))


def test_weak_dh_groups_are_unsupported() -> None:
    tiny = DhGroup("tiny", 23, 4, 11)  # g = 4 has order 11 mod 23
    with pytest.raises(UnsupportedProtocolError, match="DH group of 5/4 bits"):
        parse_subject_public_key_info(x942_spki(tiny, 2))


def test_number_of_keys_is_bounded() -> None:
    key = pk_info(_ec_key())
    assert len(parse_dg14(dg14(*[key] * 16)).chip_authentication_keys) == 16
    with pytest.raises(ParseError, match="17 Chip Authentication public keys"):
        parse_dg14(dg14(*[key] * 17))


def test_dh_subgroup_order_is_bounded() -> None:
    group = dh_group(Std.MODP_2048_256)
    oversized = DhGroup("oversized", group.p, group.g, group.p - 1)
    with pytest.raises(ParseError, match=r"^the DH subgroup order of 2048 bits exceeds 512$"):
        parse_subject_public_key_info(x942_spki(oversized, group.g))


def test_two_active_authentication_infos() -> None:
    with pytest.raises(ParseError, match="2 ActiveAuthenticationInfos"):
        parse_dg14(dg14(aa_info(), aa_info()))


# -- properties ------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None)
SAMPLES = (
    BSI_DG14,
    dg14(ca_info(ID_CA_ECDH_AES_128, key_id=1), pk_info(_ec_key(), key_id=1), aa_info()),
)


def _parse_both(data: bytes) -> None:
    with contextlib.suppress(*PARSE_ERRORS):
        parse_dg14(data)
    with contextlib.suppress(*PARSE_ERRORS):
        parse_dg15(data)
    with contextlib.suppress(*PARSE_ERRORS):
        parse_subject_public_key_info(data)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_library_errors(data: bytes) -> None:
    _parse_both(data)
    _parse_both(b"\x6e" + data)
    _parse_both(b"\x6f" + data)


def _mutate(data: bytes, position: int, value: int, mode: str) -> bytes:
    position %= len(data)
    if mode == "flip":
        return data[:position] + bytes((data[position] ^ (value or 1),)) + data[position + 1 :]
    if mode == "truncate":
        return data[:position]
    return data[:position] + bytes((value,)) + data[position:]


@SETTINGS
@given(
    st.sampled_from((*SAMPLES, BSI_DG15)),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=255),
    st.sampled_from(("flip", "truncate", "insert")),
)
def test_mutated_data_groups_raise_only_library_errors(
    sample: bytes, position: int, value: int, mode: str
) -> None:
    mutated = _mutate(sample, position, value, mode)
    for parse in (parse_dg14, parse_dg15):
        try:
            parsed = parse(mutated)
        except PARSE_ERRORS:
            continue
        if isinstance(parsed, ChipSecurityInfos):
            for key in parsed.chip_authentication_keys:  # a parsed key is a valid key
                params = key.public_key.domain_parameters
                if isinstance(key.public_key, EcPublicKey):
                    assert isinstance(params, Curve)
                    assert params.contains(key.public_key.point)


@SETTINGS
@given(st.sampled_from(SAMPLES), st.integers(min_value=0, max_value=400))
def test_every_truncation_of_dg14_fails_cleanly(sample: bytes, cut: int) -> None:
    if cut >= len(sample):
        return
    with pytest.raises(PARSE_ERRORS):
        parse_dg14(sample[:cut])
