"""ASN.1 shared by every parser: the universal tags, named once, and strict, bounded loading
of the layouts the modules declare with asn1crypto's classes (ITU-T X.680, X.690).

asn1crypto decodes lazily, on access, and forgives what DER forbids: elements after the
last declared field of a SEQUENCE, empty or padded INTEGERs, malformed OBJECT IDENTIFIERs.
:func:`load` decodes the whole value at once inside :func:`asn1_parse_errors` and refuses
those (X.690 §8.3.2, §8.19), so malformed input raises :class:`ParseError` there and
nowhere later. Inputs are bounded by their callers (files of known maximum size) and the
nesting by :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from asn1crypto import core

from cardreader.errors import ParseError
from cardreader.iso7816 import tlv

_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)
"""What asn1crypto raises on malformed input."""
MAX_DEPTH = 16
"""Nesting deeper than this is refused (the layouts here nest at most eight levels)."""

T = TypeVar("T", bound=core.Asn1Value)


class UniversalTag(enum.IntEnum):
    """Identifier octets of the universal types these files use (X.680 §8.6, X.690 §8.1.2)."""

    BOOLEAN = 0x01
    INTEGER = 0x02
    BIT_STRING = 0x03
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    UTF8_STRING = 0x0C
    NUMERIC_STRING = 0x12
    PRINTABLE_STRING = 0x13
    TELETEX_STRING = 0x14
    IA5_STRING = 0x16
    VISIBLE_STRING = 0x1A
    UNIVERSAL_STRING = 0x1C
    BMP_STRING = 0x1E
    SEQUENCE = 0x30
    """SEQUENCE and SEQUENCE OF, constructed."""
    SET = 0x31
    """SET and SET OF, constructed."""


@contextmanager
def asn1_parse_errors(what: str) -> Iterator[None]:
    """Turn asn1crypto's exceptions inside the block into :class:`ParseError`."""
    try:
        yield
    except ParseError:
        raise
    except _ASN1_ERRORS as exc:
        raise ParseError(f"malformed {what}: {exc}") from exc
    except RecursionError as exc:
        raise ParseError(f"{what} nested too deeply") from exc


def load(spec: type[T], data: bytes, what: str) -> T:
    """Decode ``data`` as exactly one ``spec`` value, every part of it, or raise ParseError."""
    with asn1_parse_errors(what):
        value: T = spec.load(data, strict=True)
        _ = value.native  # decodes every nested value now
        _check(value, what, 0)
        return value


def _check(value: core.Asn1Value, what: str, depth: int) -> None:
    """Refuse what asn1crypto forgives but DER forbids, in ``value`` and below it."""
    if depth > MAX_DEPTH:
        raise ParseError(f"{what} nested deeper than {MAX_DEPTH}")
    if isinstance(value, core.Choice):
        _check(value.chosen, what, depth + 1)
    elif isinstance(value, core.Sequence):
        extra = len(value) - len(value._fields)
        if extra > 0:
            raise ParseError(f"{what}: {extra} element(s) after the last field of a SEQUENCE")
        for name, _, _ in value._fields:
            _check(value[name], what, depth + 1)
    elif isinstance(value, core.SequenceOf | core.SetOf):
        for child in value:
            _check(child, what, depth + 1)
    elif isinstance(value, core.Integer):
        contents = value.contents or b""
        if not contents:
            raise ParseError(f"{what}: an empty INTEGER")
        if len(contents) > 1 and (contents[0], contents[1] >> 7) in ((0x00, 0), (0xFF, 1)):
            raise ParseError(f"{what}: an INTEGER with redundant leading octets")
    elif isinstance(value, core.ObjectIdentifier):
        try:
            tlv.decode_oid(value.contents or b"")
        except ParseError as exc:
            raise ParseError(f"{what}: {exc}") from exc
