"""Scalar multiplication on the standardized curves in fastecdsa's compiled code (issue #16)
gives the same points as the library's own arithmetic; curves nobody vouches for keep it."""

from __future__ import annotations

import dataclasses
import random

import pytest

from cardreader.crypto.domain_params import STANDARDIZED_DOMAIN_PARAMETERS
from cardreader.crypto.ec import Curve, Point

CURVES = [params for params in STANDARDIZED_DOMAIN_PARAMETERS.values() if isinstance(params, Curve)]


@pytest.mark.parametrize("curve", CURVES, ids=lambda curve: curve.name)
def test_native_multiplication_equals_the_python_arithmetic(curve: Curve) -> None:
    assert curve.native
    python = dataclasses.replace(curve, native=False)
    rng = random.Random(curve.name)
    mapped = python.multiply(rng.randrange(2, curve.n), curve.g)  # a generator as PACE maps it
    assert mapped is not None
    for point in (curve.g, mapped):
        for scalar in (1, 2, curve.n - 1, rng.randrange(curve.n), rng.getrandbits(512)):
            assert curve.multiply(scalar, point) == python.multiply(scalar, point)
        assert curve.multiply(curve.n, point) is None
        assert curve.multiply(0, point) is None


def test_a_curve_with_a_cofactor_keeps_the_python_arithmetic() -> None:
    """y² = x³ + x + 1 over GF(23) has 28 points, a subgroup of order 7 and cofactor 4: a point
    outside the subgroup times 7 is not infinity (fastecdsa would reduce 7 to 0)."""
    toy = Curve("toy", 23, 1, 1, Point(5, 4), 7, 4)
    outside = Point(0, 1)
    assert toy.contains(outside)
    assert not toy.native
    assert toy.multiply(7, outside) == Point(11, 3)
    assert toy.multiply(7, toy.g) is None
