"""The card library's exception hierarchy: one root, structured fields.

Status words become exceptions in :mod:`cardreader.iso7816.status`; transports raise
:class:`TransportError` subclasses; access control raises :class:`AccessDeniedError`.
"""

from __future__ import annotations


class CardError(Exception):
    """Root of every error raised by :mod:`cardreader`."""


class ParseError(CardError):
    """Bytes that do not follow the expected encoding (TLV, MRZ, QR, APDU, ...)."""


class TransportError(CardError):
    """The link to the card failed (reader, driver, service)."""


class ServiceUnavailableError(TransportError):
    """The PC/SC service (pcscd) is not running or not reachable."""


class ReaderNotFoundError(TransportError):
    """No reader with the requested name exists."""


class NoCardError(TransportError):
    """The reader is present but holds no card."""


class CardRemovedError(TransportError):
    """The card was removed (or the reader vanished) during a session.

    Anything read in that session must be discarded.
    """


class CardTimeoutError(TransportError):
    """The card did not answer within the transmit deadline."""


class StatusWordError(CardError):
    """The card answered with a status word other than success.

    ``sw`` is the two-byte status word as an integer (e.g. ``0x6982``).
    """

    def __init__(self, sw: int, message: str | None = None) -> None:
        self.sw = sw
        super().__init__(message or f"card returned status {sw:04X}")


class FileNotFoundOnCardError(StatusWordError):
    """SW 6A82: the file or application does not exist on the card."""


class SecurityStatusError(StatusWordError):
    """SW 6982: access conditions not satisfied (e.g. DG3 without Terminal Authentication)."""


class WrongLengthError(StatusWordError):
    """SW 6700 / 6Cxx: the card rejected the expected length."""


class SecureMessagingError(CardError):
    """Secure messaging failed (bad MAC, missing data objects, SSC out of step).

    The secure channel is closed afterwards, as the chip closes it on its side.
    """


class AccessDeniedError(CardError):
    """Access control (BAC or PACE) failed; ``method`` names it."""

    def __init__(self, method: str, reason: str) -> None:
        self.method = method
        self.reason = reason
        super().__init__(f"{method} failed: {reason}")


class WrongPasswordError(AccessDeniedError):
    """The chip refused the password itself (PACE: ``6300`` or ``63Cx`` to the terminal's
    token, ICAO 9303-11 §4.4.4.2, ISO/IEC 7816-4 §5.6): a wrong CAN or MRZ, not a fault.

    ``password`` names what was refused, e.g. ``CAN``; never its value.
    """

    def __init__(self, method: str, password: str) -> None:
        self.password = password
        super().__init__(method, f"wrong {password} (the chip refused it)")


class UnsupportedProtocolError(CardError):
    """The card asks for a protocol, algorithm or domain parameter this library lacks."""
