"""Standardized domain parameters (ICAO 9303-11 §9.5.1 table 12) and the group arithmetic.

Each constant is checked structurally (primes, generator on the curve and of order n or
q) and, where ``cryptography`` knows the curve, against its scalar multiplication.
"""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as pyca_ec

from cardreader.crypto.dh import DhGroup
from cardreader.crypto.domain_params import (
    CURVE_NAMES,
    NAMED_CURVES,
    STANDARDIZED_DOMAIN_PARAMETERS,
    StandardizedDomainParameter,
    standardized_domain_parameters,
)
from cardreader.crypto.ec import Curve, Point
from cardreader.crypto.pace_mapping import DhPaceGroup, EcPaceGroup, ec_point_encoding
from cardreader.errors import ParseError, UnsupportedProtocolError

Id = StandardizedDomainParameter

SIZES = {
    Id.MODP_1024_160: (1024, 160),
    Id.MODP_2048_224: (2048, 224),
    Id.MODP_2048_256: (2048, 256),
    Id.SECP192R1: (192, 192),
    Id.BRAINPOOL_P192R1: (192, 192),
    Id.SECP224R1: (224, 224),
    Id.BRAINPOOL_P224R1: (224, 224),
    Id.SECP256R1: (256, 256),
    Id.BRAINPOOL_P256R1: (256, 256),
    Id.BRAINPOOL_P320R1: (320, 320),
    Id.SECP384R1: (384, 384),
    Id.BRAINPOOL_P384R1: (384, 384),
    Id.BRAINPOOL_P512R1: (512, 512),
    Id.SECP521R1: (521, 521),
}
"""Bit lengths of (p, order) from table 12."""

PYCA_CURVES: dict[Id, pyca_ec.EllipticCurve] = {
    Id.SECP192R1: pyca_ec.SECP192R1(),
    Id.SECP224R1: pyca_ec.SECP224R1(),
    Id.SECP256R1: pyca_ec.SECP256R1(),
    Id.BRAINPOOL_P256R1: pyca_ec.BrainpoolP256R1(),
    Id.SECP384R1: pyca_ec.SECP384R1(),
    Id.BRAINPOOL_P384R1: pyca_ec.BrainpoolP384R1(),
    Id.BRAINPOOL_P512R1: pyca_ec.BrainpoolP512R1(),
    Id.SECP521R1: pyca_ec.SECP521R1(),
}

CURVE_IDS = [i for i in Id if isinstance(STANDARDIZED_DOMAIN_PARAMETERS[i], Curve)]
DH_IDS = [i for i in Id if isinstance(STANDARDIZED_DOMAIN_PARAMETERS[i], DhGroup)]


def _is_probable_prime(n: int) -> bool:
    """Miller-Rabin with 32 fixed small-prime bases (error below 2^-64)."""
    bases = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    bases += [73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131]
    if n < 2 or any(n % b == 0 for b in bases if b < n):
        return n in bases
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for base in bases:
        x = pow(base, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _curve(parameter_id: int) -> Curve:
    curve = standardized_domain_parameters(parameter_id)
    assert isinstance(curve, Curve)
    return curve


def _group(parameter_id: int) -> DhGroup:
    group = standardized_domain_parameters(parameter_id)
    assert isinstance(group, DhGroup)
    return group


def test_table_covers_ids_0_to_2_and_8_to_18() -> None:
    assert sorted(STANDARDIZED_DOMAIN_PARAMETERS) == [0, 1, 2, *range(8, 19)]


@pytest.mark.parametrize("parameter_id", [3, 4, 5, 6, 7, 19, 31, 32, -1])
def test_reserved_ids_are_unsupported(parameter_id: int) -> None:
    with pytest.raises(UnsupportedProtocolError):
        standardized_domain_parameters(parameter_id)


@pytest.mark.parametrize("parameter_id", CURVE_IDS, ids=lambda i: i.name)
def test_curve_constants(parameter_id: Id) -> None:
    curve = _curve(parameter_id)
    p_bits, n_bits = SIZES[parameter_id]
    assert curve.p.bit_length() == p_bits
    assert curve.n.bit_length() == n_bits
    assert curve.h == 1
    assert _is_probable_prime(curve.p)
    assert _is_probable_prime(curve.n)
    assert (4 * curve.a**3 + 27 * curve.b**2) % curve.p != 0
    assert curve.contains(curve.g)
    assert curve.multiply(curve.n, curve.g) is None
    assert curve.multiply(curve.n - 1, curve.g) == curve.negate(curve.g)


@pytest.mark.parametrize("parameter_id", list(PYCA_CURVES), ids=lambda i: i.name)
def test_curve_arithmetic_agrees_with_cryptography(parameter_id: Id) -> None:
    curve = _curve(parameter_id)
    for scalar in (1, 2, 3, curve.n - 1, secrets.randbelow(curve.n - 1) + 1):
        public = pyca_ec.derive_private_key(scalar, PYCA_CURVES[parameter_id]).public_key()
        numbers = public.public_numbers()
        assert curve.multiply(scalar, curve.g) == Point(numbers.x, numbers.y)


def test_one_named_curve_table_for_every_curve() -> None:
    """Each table 12 curve once, with its OID, and cryptography's class where it has one."""
    assert sorted(CURVE_NAMES) == CURVE_IDS
    assert len(NAMED_CURVES) == len(CURVE_IDS)
    assert {c.parameter: c.backend for c in NAMED_CURVES.values() if c.backend} == {
        parameter: type(curve) for parameter, curve in PYCA_CURVES.items()
    }
    assert NAMED_CURVES["1.3.36.3.3.2.8.1.1.7"].curve is _curve(Id.BRAINPOOL_P256R1)
    assert NAMED_CURVES["1.3.132.0.35"].parameter is Id.SECP521R1


@pytest.mark.parametrize("parameter_id", DH_IDS, ids=lambda i: i.name)
def test_modp_group_constants(parameter_id: Id) -> None:
    group = _group(parameter_id)
    p_bits, q_bits = SIZES[parameter_id]
    assert group.p.bit_length() == p_bits
    assert group.q.bit_length() == q_bits
    assert _is_probable_prime(group.p)
    assert _is_probable_prime(group.q)
    assert (group.p - 1) % group.q == 0
    assert group.g != 1
    assert pow(group.g, group.q, group.p) == 1


def test_rfc5114_first_words() -> None:
    """Spot check against the hex printed in RFC 5114 §2.1-2.3."""
    assert f"{_group(0).p:X}".startswith("B10B8F96A080E01DDE92DE5EAE5D54EC")
    assert f"{_group(1).p:X}".startswith("AD107E1E9123A9D0D660FAA79559C51F")
    assert f"{_group(2).p:X}".startswith("87A8E61DB4B6663CFFBBD19C65195999")
    assert f"{_group(2).q:X}" == "8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"


# -- point and public value encodings ---------------------------------------------------


def test_point_encoding_roundtrip_and_rejections() -> None:
    curve = _curve(Id.BRAINPOOL_P256R1)
    encoded = curve.encode_point(curve.g)
    assert len(encoded) == 65
    assert encoded[0] == 0x04
    assert curve.decode_point(encoded) == curve.g
    off_curve = encoded[:-1] + bytes([encoded[-1] ^ 1])
    for bad in (b"", encoded[:-1], b"\x02" + encoded[1:33], b"\x03" + encoded[1:], off_curve):
        with pytest.raises(ParseError):
            curve.decode_point(bad)


def test_group_law_identities() -> None:
    curve = _curve(Id.SECP256R1)
    g = curve.g
    assert curve.add(None, g) == g
    assert curve.add(g, None) == g
    assert curve.add(g, curve.negate(g)) is None
    assert curve.add(g, g) == curve.multiply(2, g)
    assert curve.add(curve.multiply(2, g), g) == curve.multiply(3, g)
    assert curve.multiply(0, g) is None
    with pytest.raises(ValueError):
        curve.multiply(-1, g)
    with pytest.raises(ValueError):
        curve.with_generator(Point(1, 1))


def test_dh_public_values_are_minimal_and_validated() -> None:
    group = _group(Id.MODP_1024_160)
    assert group.encode_public(0x01FF) == b"\x01\xff"
    y = group.power(group.g, 12345)
    assert group.decode_public(group.encode_public(y)) == y
    for bad in (b"", b"\x00", b"\x01", (group.p - 1).to_bytes(128, "big"), b"\x02", bytes(129)):
        with pytest.raises(ParseError):
            group.decode_public(bad)
    assert len(group.encode_shared_secret(5)) == 128


def test_invalid_peer_keys_are_parse_errors() -> None:
    ec_group = EcPaceGroup(_curve(Id.BRAINPOOL_P256R1))
    with pytest.raises(ParseError):
        ec_group.shared_secret(5, b"\x04" + bytes(64))
    dh_group = DhPaceGroup(_group(Id.MODP_1024_160))
    with pytest.raises(ParseError):
        dh_group.shared_secret(5, b"\x01")


# -- Integrated Mapping point encoding (Appendix B) -------------------------------------


@pytest.mark.parametrize("parameter_id", CURVE_IDS, ids=lambda i: i.name)
def test_point_encoding_lands_on_the_curve(parameter_id: Id) -> None:
    curve = _curve(parameter_id)
    if curve.p % 4 != 3:
        assert parameter_id is Id.SECP224R1  # table 12: "cannot be used with the IM"
        with pytest.raises(UnsupportedProtocolError):
            ec_point_encoding(curve, 5)
        return
    for t in (2, curve.p - 2, secrets.randbelow(curve.p - 3) + 2):
        point = ec_point_encoding(curve, t)
        assert curve.contains(point)
    for exceptional in (0, 1, curve.p - 1):
        with pytest.raises(ValueError):
            ec_point_encoding(curve, exceptional)
