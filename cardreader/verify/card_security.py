"""EF.CardSecurity: the chip's SecurityInfos, signed by the Document Signer.

A ContentInfo holding SignedData whose eContentType is id-SecurityObject and whose content
is a SecurityInfos SET (BSI TR-03110-3 §A.1.2.5, ICAO 9303-11 §9.2): the infos of
EF.CardAccess and the public keys the chip proves itself with, for PACE-CAM (ICAO 9303-11
§4.4.3.5) and Chip Authentication version 2 and later. It lives in the master file with the
identifier 011D. Its signature and chain are checked as EF.SOD's
(:func:`cardreader.verify.passive.card_security_checks`); parsing here only decodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardreader.access.chip_auth_info import ChipSecurityInfos, parse_security_infos
from cardreader.access.pace_info import parse_card_access
from cardreader.errors import ParseError
from cardreader.verify.sod import MAX_SOD_BYTES, ContentType, SignedData, parse_signed_data

MAX_CARD_SECURITY_BYTES = MAX_SOD_BYTES
"""The same bound as EF.SOD: one certificate and a few SecurityInfos."""


@dataclass(frozen=True, slots=True)
class CardSecurity:
    """EF.CardSecurity decoded: the SignedData and the SecurityInfos inside it."""

    signed_data: SignedData
    security_infos: ChipSecurityInfos


def parse_card_security_signed_data(data: bytes) -> SignedData:
    """EF.CardSecurity up to its SignedData, the SecurityInfos left undecoded."""
    if len(data) > MAX_CARD_SECURITY_BYTES:
        raise ParseError(f"EF.CardSecurity of {len(data)} bytes exceeds {MAX_CARD_SECURITY_BYTES}")
    return parse_signed_data(data, ContentType.SECURITY_OBJECT)


def _security_infos(content: bytes) -> ChipSecurityInfos:
    return parse_security_infos(parse_card_access(content))


def parse_card_security(data: bytes) -> CardSecurity:
    """Decode EF.CardSecurity; :class:`ParseError` if malformed (BSI TR-03110-3 §A.1.2.5).
    The SecurityInfos are decoded once per parsed SignedData (see
    :meth:`SignedData.decoded_content`)."""
    signed = parse_card_security_signed_data(data)
    return CardSecurity(signed, signed.decoded_content(_security_infos))
