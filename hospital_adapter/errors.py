"""The hospital adapter's exception hierarchy: one root, structured fields, no personal data.

Messages never contain names, ID numbers or addresses (docs/domain.md §4.6), so they can be
logged and shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass


class HospitalAdapterError(Exception):
    """Root of every error raised by :mod:`hospital_adapter`."""


@dataclass(frozen=True)
class Problem:
    """One configuration problem: the key (``gateway.attempts``, an environment variable,
    the file) and why it is refused. Never holds a secret."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ConfigurationError(HospitalAdapterError):
    """The configuration (TOML file, environment, gateway account) is missing or wrong.

    ``problems`` lists each problem with its key; the message is one line per problem.
    """

    def __init__(self, *problems: Problem) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class InvalidInputError(HospitalAdapterError, ValueError):
    """A value given to the adapter is malformed; ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"invalid {field}: {reason}")


class BhytQrError(InvalidInputError):
    """The paper BHYT card's QR payload cannot be parsed (docs/domain.md §3)."""

    def __init__(self, reason: str) -> None:
        super().__init__("BHYT QR code", reason)


class GatewayError(HospitalAdapterError):
    """The BHXH gateway could not give an answer. ``code`` is its ``maKetQua`` if it sent one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        self.code = code
        super().__init__(message)


class GatewayUnavailableError(GatewayError):
    """The gateway is down, slow, rate limiting or failing: worth trying again later."""


class GatewayTimeoutError(GatewayUnavailableError):
    """No answer before the request timeout or the caller's deadline."""


class CircuitOpenError(GatewayUnavailableError):
    """Recent calls failed; calls are refused until ``retry_after`` seconds have passed."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"gateway circuit open, next try in {retry_after:.1f} s")


class GatewayAuthError(GatewayError):
    """The gateway refused the facility account or token (a configuration problem)."""


class GatewayProtocolError(GatewayError):
    """The gateway answered something that does not follow docs/domain.md §3."""


class Xml0RejectedError(GatewayError):
    """The gateway refused a submitted XML0 (``maKetQua`` other than ``200``, docs/domain.md
    §3.7). ``detail`` is its ``thongDiep``, kept out of the message (it may quote the record);
    ``retryable`` is true for a server failure, false when the record must be fixed."""

    def __init__(self, code: str, detail: str, *, retryable: bool) -> None:
        self.detail = detail
        self.retryable = retryable
        super().__init__(f"gateway refused the XML0 record ({code})", code=code)


class Xml0SignatureError(HospitalAdapterError):
    """An XML0 file is not signed as docs/domain.md §3.7 requires, or its signature does not
    verify (a changed byte, another key, a wrong algorithm)."""


class HisError(HospitalAdapterError):
    """Registering the visit with the hospital information system failed."""


class HisUnavailableError(HisError):
    """The HIS could not be reached or did not answer in time: the outbox retries later."""


class HisProtocolError(HisError):
    """The HIS answered something that is not a valid HL7 ACK or FHIR response."""


class HisRejectedError(HisError):
    """The HIS refused the registration (HL7 ACK AE/AR, FHIR 4xx).

    ``status`` is the acknowledgement code (``AE``, ``AR``) or the HTTP status;
    ``retryable`` is true for AR and 5xx-like answers, false when the message itself is wrong.
    """

    def __init__(self, status: str, detail: str, *, retryable: bool) -> None:
        self.status = status
        self.detail = detail
        self.retryable = retryable
        super().__init__(f"HIS rejected the registration ({status}): {detail}")


class StoreError(HospitalAdapterError):
    """The store (SQLite or PostgreSQL) failed or holds data it cannot read. Raised by a
    write, it means the write was not recorded."""


class StoreUnavailableError(StoreError):
    """The hospital's store (PostgreSQL) cannot be reached, or did not answer in time."""


class NoNumbersLeftError(StoreError):
    """A kiosk cut off from the hospital's store has no leased queue numbers left for the
    department and day."""


class StoreKeyError(StoreError):
    """The master key is not the one the store was created with."""


class AuditChainError(StoreError):
    """The audit log's hash chain is broken at entry ``seq``."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(f"audit chain broken at entry {seq}: {reason}")
