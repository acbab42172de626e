"""SecurityInfos read with the strict, bounded BER-TLV of :mod:`cardreader.iso7816.tlv`.

``SecurityInfos ::= SET OF SecurityInfo`` and ``SecurityInfo ::= SEQUENCE { protocol OBJECT
IDENTIFIER, requiredData ANY, optionalData ANY OPTIONAL }`` (BSI TR-03110-3 §A.1.1, ICAO
9303-11 §9.2): EF.CardAccess, DG14 and EF.CardSecurity share the layout. A SEQUENCE is read
against a tuple of :class:`Field`: a field is matched by its tag, an optional field whose
tag does not match is absent, a missing required field and any element after the last
field are refused. OBJECT IDENTIFIERs and INTEGERs must be DER (X.690 §8.19, §8.3.2) and
tags in their shortest form (X.690 §8.1.2.4); an ANY is checked as BER structure, every
level of it (:func:`check_structure`). Encodings are kept as read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cardreader.asn1 import UniversalTag
from cardreader.errors import ParseError
from cardreader.iso7816 import tlv

MAX_SECURITY_INFOS = 64
"""More SecurityInfos than this are refused (chips list a handful)."""
MAX_INTEGER_BYTES = 4
"""Versions, key and parameter identifiers are small integers."""
MAX_FIELDS = 16
"""Elements read from one SEQUENCE of a layout (the layouts here have at most three)."""
_MAX_HEADER_BYTES = tlv.MAX_TAG_BYTES + 1 + tlv.MAX_LENGTH_BYTES
_HIGH_TAG_NUMBER = 0x1F


@dataclass(frozen=True, slots=True)
class Element(tlv.Tlv):
    """A data object with its whole encoding as read."""

    der: bytes


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a SEQUENCE: ``tag`` None is ANY; ``layout`` is a SEQUENCE's own fields."""

    name: str
    tag: int | None = None
    optional: bool = False
    layout: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityInfo:
    """One SecurityInfo: its protocol OID, its elements (the OID first) and its encoding."""

    oid: str
    elements: tuple[Element, ...]
    der: bytes


def _check_tag(tag: int) -> None:
    """Refuse a high tag number that a shorter form could hold (X.690 §8.1.2.4)."""
    if tag > 0xFF:
        raw = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
        if raw[1] == 0x80 or (len(raw) == 2 and raw[1] < _HIGH_TAG_NUMBER):
            raise ParseError(f"tag {tag:X} is not in its shortest form")


def elements(data: bytes, limit: int, what: str) -> list[Element]:
    """The data objects that fill ``data``; more than ``limit`` of them are refused."""
    out: list[Element] = []
    pos = 0
    while pos < len(data):
        if len(out) >= limit:
            raise ParseError(f"more than {limit} {what}")
        tag, header, length = tlv.decode_header(data[pos : pos + _MAX_HEADER_BYTES])
        _check_tag(tag)
        start, end = pos + header, pos + header + length
        if end > len(data):
            left = len(data) - start
            raise ParseError(f"length {length} of tag {tag:X} exceeds the {left} bytes left")
        out.append(Element(tag, data[start:end], data[pos:end]))
        pos = end
    return out


def check_structure(element: Element, depth: int = 0) -> None:
    """Refuse a constructed ``element`` whose value, at any level, is not data objects."""
    if depth > tlv.MAX_DEPTH:
        raise ParseError(f"nesting deeper than {tlv.MAX_DEPTH}")
    if element.constructed:
        for child in elements(element.value, tlv.MAX_ELEMENTS, "data objects"):
            check_structure(child, depth + 1)


def _check_value(element: Element, field: Field, what: str) -> None:
    if field.tag is None:
        check_structure(element)
    elif field.tag == UniversalTag.OBJECT_IDENTIFIER:
        try:
            tlv.decode_oid(element.value)
        except ParseError as exc:
            raise ParseError(f"{what}: {exc}") from exc
    elif field.tag == UniversalTag.INTEGER:
        value = element.value
        if not value:
            raise ParseError(f"{what}: an empty INTEGER")
        if len(value) > 1 and (value[0], value[1] >> 7) in ((0x00, 0), (0xFF, 1)):
            raise ParseError(f"{what}: an INTEGER with redundant leading octets")
    elif field.layout:
        read_fields(elements(element.value, MAX_FIELDS, f"elements in {what}"), field.layout, what)


def read_fields(
    children: Sequence[Element], layout: tuple[Field, ...], what: str
) -> dict[str, Element]:
    """The fields of ``layout`` present in ``children``, by name; ParseError on a mismatch."""
    values: dict[str, Element] = {}
    index = 0
    for field in layout:
        child = children[index] if index < len(children) else None
        if child is None or (field.tag is not None and child.tag != field.tag):
            if field.optional:
                continue
            if child is None:
                raise ParseError(f"malformed {what}: Field {field.name} is missing")
            raise ParseError(
                f"malformed {what}: {field.name} tag should have been {field.tag:X},"
                f" but {child.tag:X} was found"
            )
        _check_value(child, field, what)
        values[field.name] = child
        index += 1
    if extra := len(children) - index:
        raise ParseError(f"{what}: {extra} element(s) after the last field of a SEQUENCE")
    return values


def read_sequence(der: bytes, layout: tuple[Field, ...], what: str) -> dict[str, Element]:
    """The fields of the one SEQUENCE ``der``, read against ``layout``."""
    items = elements(der, 1, what)
    if len(items) != 1 or items[0].tag != UniversalTag.SEQUENCE:
        raise ParseError(f"{what} must be one SEQUENCE")
    return read_fields(elements(items[0].value, MAX_FIELDS, f"elements in {what}"), layout, what)


def small_integer(value: Element, what: str) -> int:
    """A version or identifier: a non-negative INTEGER of at most 4 octets."""
    size = len(value.value)
    if size > MAX_INTEGER_BYTES:
        raise ParseError(f"{what}: INTEGER of {size} bytes exceeds {MAX_INTEGER_BYTES}")
    number = int.from_bytes(value.value, "big", signed=True)
    if number < 0:
        raise ParseError(f"{what}: negative INTEGER where a version or identifier is expected")
    return number


def optional_small_integer(value: Element | None, what: str) -> int | None:
    """:func:`small_integer` of an OPTIONAL field, None when absent."""
    return None if value is None else small_integer(value, what)


PROTOCOL = Field("protocol", UniversalTag.OBJECT_IDENTIFIER)
"""The first field of every SecurityInfo."""
_SECURITY_INFO = (
    PROTOCOL,
    Field("requiredData", optional=True),
    Field("optionalData", optional=True),
)


def decode_security_infos(content: bytes) -> list[SecurityInfo]:
    """The SecurityInfos of a SET's ``content``; each must have its required data (§9.2)."""
    infos: list[SecurityInfo] = []
    for item in elements(content, MAX_SECURITY_INFOS, "SecurityInfos"):
        if item.tag != UniversalTag.SEQUENCE:
            raise ParseError(f"malformed SecurityInfos: a SecurityInfo with tag {item.tag:X}")
        children = tuple(elements(item.value, MAX_FIELDS, "elements in a SecurityInfo"))
        fields = read_fields(children, _SECURITY_INFO, "SecurityInfos")
        oid = tlv.decode_oid(fields["protocol"].value)
        if "requiredData" not in fields:
            raise ParseError(f"SecurityInfo {oid} without its required data (ICAO 9303-11 §9.2)")
        infos.append(SecurityInfo(oid, children, item.der))
    return infos
