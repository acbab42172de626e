"""Certificate names read by the package's BER-TLV (the usual ASCII names, issue #16) give
the same DistinguishedName as asn1crypto's reading, or the same refusal.

Vector: the 239 distinct issuer and subject names of the German master list's CSCA
certificates (tests/vectors/de-masterlist), 225 of them ASCII DirectoryStrings, and seeded
mutations of them.
"""

from __future__ import annotations

import random

import pytest
from asn1crypto import x509

from cardreader.asn1 import asn1_parse_errors
from cardreader.errors import ParseError
from cardreader.verify.signature import _ascii_rdns, _prepared_name, distinguished_name
from cardreader.verify.trust import parse_master_list
from tests.vectors import DE_MASTER_LIST

NAMES = sorted(
    {
        name.der
        for certificate in parse_master_list(DE_MASTER_LIST.read_bytes()).certificates
        for name in (certificate.issuer, certificate.subject)
    }
)


def _outcome(der: bytes, fast: bool) -> tuple[object, ...]:
    try:
        with asn1_parse_errors("name"):
            name = x509.Name.load(der, strict=True)
            read = distinguished_name(name) if fast else _prepared_name(name, name.dump())
            return (read.der, read.country, read.rdn_types, read.text, read.match_key)
    except ParseError as exc:
        return ("refused", str(exc))


def _mutated(rng: random.Random, der: bytes) -> bytes:
    data = bytearray(der)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if choice < 0.6:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.8:
            del data[rng.randrange(len(data))]
        else:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


def test_the_master_list_names_are_mostly_read_without_asn1crypto() -> None:
    assert (len(NAMES), sum(_ascii_rdns(der) is not None for der in NAMES)) == (239, 225)


@pytest.mark.parametrize("seed", range(4))
def test_both_readings_agree_on_real_and_mutated_names(seed: int) -> None:
    rng = random.Random(seed)
    cases = NAMES if seed == 0 else [_mutated(rng, rng.choice(NAMES)) for _ in range(3000)]
    for der in cases:
        assert _outcome(der, fast=True) == _outcome(der, fast=False), der.hex()
