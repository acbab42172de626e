"""Elliptic-curve arithmetic over prime fields (short Weierstrass, BSI TR-03111 §2.3).

PACE needs curves with arbitrary generators: the Generic Mapping computes
``Ĝ = s·G + H`` and the Integrated Mapping encodes a field element as a point
(ICAO 9303-11 §4.4.3.3), and the key agreement then runs over ``Ĝ``. ``cryptography``
only exposes named curves with their standard base point and no point addition, so scalar
multiplication on the standardized curves (``native``: prime order, cofactor 1, ICAO
9303-11 table 12) runs in fastecdsa's compiled code, 0.33 ms against 1.5 ms in Python on
brainpoolP256r1 (issue #16). fastecdsa reduces the scalar modulo ``n``, which is exact only
for points of a group of order ``n``: curves from certificates (explicit parameters, any
cofactor, an order nobody vouches for) keep the arithmetic here.

Neither path is **constant-time**. That is acceptable here because the terminal only ever
multiplies with *ephemeral* scalars that live for one PACE run and are never reused, so a
timing side channel on one run leaks nothing that outlives it; the password never enters a
scalar multiplication. The chip simulator uses the same code for test purposes only.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from fastecdsa.curve import CURVES as NATIVE_CURVES
from fastecdsa.rust import Curve as NativeCurve
from fastecdsa.rust import Point as NativePoint

from cardreader.errors import ParseError

UNCOMPRESSED_POINT = 0x04
"""First octet of an uncompressed point encoding (BSI TR-03111 §3.2.1)."""


@dataclass(frozen=True, slots=True)
class Point:
    """An affine point ``(x, y)``; the point at infinity is represented by ``None``."""

    x: int
    y: int


_Jacobian = tuple[int, int, int]
"""A point in Jacobian coordinates ``(X, Y, Z)`` with ``x = X/Z²``, ``y = Y/Z³``; Z = 0 is ∞."""

_INFINITY: _Jacobian = (1, 1, 0)


@dataclass(frozen=True, slots=True)
class Curve:
    """The curve ``y² = x³ + a·x + b`` over GF(p) with base point ``g`` of order ``n``."""

    name: str
    p: int
    a: int
    b: int
    g: Point
    n: int
    h: int = 1
    native: bool = dataclasses.field(default=False, compare=False)
    """A standardized curve of prime order ``n``: multiplied by fastecdsa (see above); not
    part of equality, so explicit parameters still match the standardized curve's."""

    @property
    def field_bytes(self) -> int:
        """Length of a field element in octets (FE2OS, BSI TR-03111 §3.1.3)."""
        return (self.p.bit_length() + 7) // 8

    def with_generator(self, generator: Point) -> Curve:
        """The same curve with another base point (the mapped generator of PACE)."""
        if not self.contains(generator):
            raise ValueError("the generator is not on the curve")
        return dataclasses.replace(self, g=generator)

    def contains(self, point: Point) -> bool:
        """Whether ``point`` lies on the curve with coordinates in [0, p)."""
        if not (0 <= point.x < self.p and 0 <= point.y < self.p):
            return False
        return (point.y * point.y - (point.x**3 + self.a * point.x + self.b)) % self.p == 0

    # -- group law -------------------------------------------------------------------

    def add(self, left: Point | None, right: Point | None) -> Point | None:
        """``left + right`` (``None`` is the point at infinity)."""
        if left is None:
            return right
        if right is None:
            return left
        return self._to_affine(self._add_mixed((left.x, left.y, 1), right))

    def negate(self, point: Point) -> Point:
        return Point(point.x, (-point.y) % self.p)

    def multiply(self, scalar: int, point: Point) -> Point | None:
        """``scalar · point`` by left-to-right double-and-add (not constant-time)."""
        if scalar < 0:
            raise ValueError("negative scalar")
        if self.native:
            curve = _native_curve(self.p, self.a, self.b, self.n)
            product = scalar * NativePoint(point.x, point.y, curve)
            return Point(product.x, product.y) if product.z else None
        acc = _INFINITY
        for bit in bin(scalar)[2:]:
            acc = self._double(acc)
            if bit == "1":
                acc = self._add_mixed(acc, point)
        return self._to_affine(acc)

    def _double(self, pt: _Jacobian) -> _Jacobian:
        x, y, z = pt
        p = self.p
        if z == 0 or y == 0:
            return _INFINITY
        yy = y * y % p
        s = 4 * x * yy % p
        m = (3 * x * x + self.a * pow(z, 4, p)) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * yy * yy) % p
        return x3, y3, 2 * y * z % p

    def _add_mixed(self, pt: _Jacobian, other: Point) -> _Jacobian:
        x1, y1, z1 = pt
        p = self.p
        if z1 == 0:
            return other.x, other.y, 1
        zz = z1 * z1 % p
        u2 = other.x * zz % p
        s2 = other.y * z1 * zz % p
        h = (u2 - x1) % p
        r = (s2 - y1) % p
        if h == 0:
            return self._double(pt) if r == 0 else _INFINITY
        hh = h * h % p
        hhh = h * hh % p
        v = x1 * hh % p
        x3 = (r * r - hhh - 2 * v) % p
        y3 = (r * (v - x3) - y1 * hhh) % p
        return x3, y3, z1 * h % p

    def _to_affine(self, pt: _Jacobian) -> Point | None:
        x, y, z = pt
        if z == 0:
            return None
        z_inv = pow(z, -1, self.p)
        z_inv2 = z_inv * z_inv % self.p
        return Point(x * z_inv2 % self.p, y * z_inv2 * z_inv % self.p)

    # -- encodings ---------------------------------------------------------------------

    def encode_point(self, point: Point) -> bytes:
        """Uncompressed encoding ``04 || x || y`` (BSI TR-03111 §3.2.1)."""
        size = self.field_bytes
        return (
            bytes((UNCOMPRESSED_POINT,))
            + point.x.to_bytes(size, "big")
            + point.y.to_bytes(size, "big")
        )

    def decode_point(self, data: bytes) -> Point:
        """Decode and validate an uncompressed point (BSI TR-03111 §3.2.1, §4.3.2.2).

        Raises :class:`ParseError` unless ``data`` is a well-formed encoding of a
        finite point on this curve (the curves in use have cofactor 1, so that point
        also lies in the group generated by ``g``).
        """
        size = self.field_bytes
        if len(data) != 1 + 2 * size or data[0] != UNCOMPRESSED_POINT:
            raise ParseError(f"not an uncompressed point of {self.name}")
        point = Point(
            int.from_bytes(data[1 : 1 + size], "big"), int.from_bytes(data[1 + size :], "big")
        )
        if not self.contains(point):
            raise ParseError(f"point is not on {self.name}")
        return point

    def encode_field_element(self, value: int) -> bytes:
        """FE2OS: a field element as ``field_bytes`` octets (BSI TR-03111 §3.1.3)."""
        return value.to_bytes(self.field_bytes, "big")


@functools.cache
def _native_curve(p: int, a: int, b: int, n: int) -> NativeCurve:
    """fastecdsa's curve with these parameters (its base point plays no part in ours)."""
    for curve in NATIVE_CURVES:
        if (curve.p, curve.a, curve.b, curve.q) == (p, a, b, n):
            return curve
    raise ValueError("not a standardized curve")
