"""Deterministic chip keys from a seed (test cards only: ``random.Random`` is not a CSPRNG)."""

from __future__ import annotations

import math
import random

from cryptography.hazmat.primitives.asymmetric import ec, rsa

PUBLIC_EXPONENT = 65537
_MILLER_RABIN_ROUNDS = 40
_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _probably_prime(candidate: int, rng: random.Random) -> bool:
    """Miller-Rabin (FIPS 186-5 §B.3.1) after trial division by small primes."""
    if any(candidate % p == 0 for p in _SMALL_PRIMES):
        return candidate in _SMALL_PRIMES
    d, r = candidate - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(_MILLER_RABIN_ROUNDS):
        x = pow(rng.randrange(2, candidate - 1), d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, candidate)
            if x == candidate - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (0b11 << (bits - 2)) | 1
        if math.gcd(candidate - 1, PUBLIC_EXPONENT) == 1 and _probably_prime(candidate, rng):
            return candidate


def rsa_key(rng: random.Random, bits: int = 1024) -> rsa.RSAPrivateKey:
    """An RSA key whose primes come from ``rng`` (same seed, same key)."""
    p = _prime(rng, bits // 2)
    q = _prime(rng, bits // 2)
    while q == p:
        q = _prime(rng, bits // 2)
    d = pow(PUBLIC_EXPONENT, -1, math.lcm(p - 1, q - 1))
    public = rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public)
    return numbers.private_key()


def ec_key(rng: random.Random, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    """An EC key whose scalar comes from ``rng``."""
    return ec.derive_private_key(rng.getrandbits(curve.key_size - 1) | 1, curve)
