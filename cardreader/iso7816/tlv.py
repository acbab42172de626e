"""Strict, bounded BER-TLV (ISO/IEC 7816-4 §5.2, ITU-T X.690 §8.1).

Lengths are definite (short or long form up to four bytes) and never exceed the data;
tags are at most three bytes; every parse is bounded in depth and element count and
raises :class:`cardreader.errors.ParseError` on anything malformed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cardreader.errors import ParseError

MAX_TAG_BYTES = 3
MAX_LENGTH_BYTES = 4
MAX_DEPTH = 16
MAX_ELEMENTS = 4096
_CONSTRUCTED_BIT = 0x20
_TAG_NUMBER_MASK = 0x1F
_MORE_TAG_BYTES = 0x80
_LONG_LENGTH = 0x80


@dataclass(frozen=True, slots=True)
class Tlv:
    """One data object: its tag as an integer (e.g. ``0x5F1F``) and its value bytes."""

    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        """Bit 6 of the first tag byte: the value is itself a sequence of TLVs."""
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & _CONSTRUCTED_BIT)

    def children(self) -> list[Tlv]:
        """Decode the value as a sequence of data objects."""
        if not self.constructed:
            raise ParseError(f"tag {self.tag:X} is primitive and has no children")
        return decode_all(self.value)

    def find(self, tag: int) -> Tlv | None:
        """The first direct child with ``tag``, or None."""
        return next((child for child in self.children() if child.tag == tag), None)

    def require(self, tag: int) -> Tlv:
        """The first direct child with ``tag``; :class:`ParseError` if absent."""
        child = self.find(tag)
        if child is None:
            raise ParseError(f"data object {tag:X} missing inside {self.tag:X}")
        return child

    def encode(self) -> bytes:
        return encode(self.tag, self.value)


def _decode_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ParseError("truncated tag")
    first = data[pos]
    if first in (0x00, 0xFF):
        raise ParseError(f"invalid tag byte {first:02X}")
    tag = first
    pos += 1
    if first & _TAG_NUMBER_MASK == _TAG_NUMBER_MASK:
        for count in range(1, MAX_TAG_BYTES + 1):
            if count == MAX_TAG_BYTES:
                raise ParseError("tag longer than three bytes")
            if pos >= len(data):
                raise ParseError("truncated multi-byte tag")
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & _MORE_TAG_BYTES:
                break
    return tag, pos


def _decode_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ParseError("truncated length")
    first = data[pos]
    pos += 1
    if first < _LONG_LENGTH:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise ParseError("indefinite length is not allowed")
    if count > MAX_LENGTH_BYTES:
        raise ParseError(f"length field of {count} bytes is too long")
    if pos + count > len(data):
        raise ParseError("truncated long-form length")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def decode_header(data: bytes) -> tuple[int, int, int]:
    """Tag, header size and value length of the object starting ``data`` (value may be absent)."""
    tag, pos = _decode_tag(data, 0)
    length, pos = _decode_length(data, pos)
    return tag, pos, length


def _decode_at(data: bytes, start: int) -> tuple[Tlv, int]:
    """The data object at ``start`` of ``data`` and the position after it."""
    tag, pos = _decode_tag(data, start)
    length, pos = _decode_length(data, pos)
    end = pos + length
    if end > len(data):
        raise ParseError(f"length {length} of tag {tag:X} exceeds the {len(data) - pos} bytes left")
    return Tlv(tag, bytes(data[pos:end])), end


def decode_one(data: bytes) -> tuple[Tlv, bytes]:
    """Decode the first data object of ``data``; return it and the bytes after it."""
    item, end = _decode_at(data, 0)
    return item, bytes(data[end:])


def decode_all(data: bytes, max_elements: int = MAX_ELEMENTS) -> list[Tlv]:
    """Decode a concatenation of data objects (padding is not skipped)."""
    items: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if len(items) >= max_elements:
            raise ParseError(f"more than {max_elements} data objects")
        item, pos = _decode_at(data, pos)
        items.append(item)
    return items


def decode_single(data: bytes) -> Tlv:
    """Decode exactly one data object that spans all of ``data``."""
    item, rest = decode_one(data)
    if rest:
        raise ParseError(f"{len(rest)} trailing bytes after tag {item.tag:X}")
    return item


def decode_padded(data: bytes, tag: int, what: str) -> Tlv:
    """The one data object ``tag`` of a file; zero bytes after it (block padding) are ignored."""
    item, trailing = decode_one(data)
    if item.tag != tag:
        raise ParseError(f"{what} must start with tag {tag:X}, found {item.tag:X}")
    if trailing.strip(b"\x00"):
        raise ParseError(f"{len(trailing)} bytes after {what}")
    return item


def walk(data: bytes, max_depth: int = MAX_DEPTH) -> list[tuple[int, Tlv]]:
    """Decode ``data`` recursively; return ``(depth, tlv)`` pairs in document order."""
    out: list[tuple[int, Tlv]] = []

    def visit(chunk: bytes, depth: int) -> None:
        if depth > max_depth:
            raise ParseError(f"nesting deeper than {max_depth}")
        for item in decode_all(chunk):
            out.append((depth, item))
            if len(out) > MAX_ELEMENTS:
                raise ParseError(f"more than {MAX_ELEMENTS} data objects")
            if item.constructed:
                visit(item.value, depth + 1)

    visit(data, 0)
    return out


def encode_tag(tag: int) -> bytes:
    """The bytes of ``tag``; :class:`ValueError` unless it is a well-formed BER tag."""
    if 0 < tag < 0xFF and tag & _TAG_NUMBER_MASK != _TAG_NUMBER_MASK:
        return bytes((tag,))  # a one-byte tag (X.690 §8.1.2.3), the common case
    raw = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    try:
        _, size = _decode_tag(raw, 0)
    except ParseError as exc:
        raise ValueError(f"{tag:X} is not a BER tag: {exc}") from exc
    if size != len(raw):
        raise ValueError(f"{tag:X} is not a BER tag")
    return raw


def encode_length(length: int) -> bytes:
    """Definite length in the shortest form (X.690 §8.1.3)."""
    if length < 0:
        raise ValueError("negative length")
    if length < _LONG_LENGTH:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise ValueError("length too large")
    return bytes((_LONG_LENGTH | len(body),)) + body


def encode(tag: int, value: bytes) -> bytes:
    """Encode one data object."""
    return encode_tag(tag) + encode_length(len(value)) + value


def decode_uint(value: bytes, max_bytes: int = 1024) -> int:
    """Unsigned big-endian integer of at most ``max_bytes`` bytes."""
    if not value:
        raise ParseError("empty integer")
    if len(value) > max_bytes:
        raise ParseError(f"integer of {len(value)} bytes exceeds {max_bytes}")
    return int.from_bytes(value, "big")


DECODED_OIDS = 256
"""OBJECT IDENTIFIER values kept decoded: a read meets a few dozen, over and over."""


@functools.lru_cache(maxsize=DECODED_OIDS)
def decode_oid(value: bytes) -> str:
    """Dotted form of a DER OBJECT IDENTIFIER value (X.690 §8.19); kept for the same value
    (:data:`DECODED_OIDS`), a malformed one refused every time."""
    if not value or len(value) > 64:
        raise ParseError("object identifier must have 1 to 64 bytes")
    if value[-1] & 0x80:
        raise ParseError("truncated object identifier")
    arcs: list[int] = []
    current = 0
    for byte in value:
        if current == 0 and byte == 0x80:
            raise ParseError("object identifier arc with a leading 0x80")
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(arc) for arc in head + arcs[1:])


def encode_oid(dotted: str) -> bytes:
    """DER value of the OBJECT IDENTIFIER ``dotted`` (X.690 §8.19)."""
    parts = [int(p) for p in dotted.split(".")]
    if len(parts) < 2:
        raise ValueError("an OID has at least two arcs")
    arcs = [parts[0] * 40 + parts[1], *parts[2:]]
    out = bytearray()
    for arc in arcs:
        chunk = [arc & 0x7F]
        high = arc >> 7
        while high:
            chunk.append(0x80 | (high & 0x7F))
            high >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)
