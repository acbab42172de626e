"""Logical Data Structure parsers: bytes of an EF in, frozen dataclasses out (ICAO 9303-10)."""
