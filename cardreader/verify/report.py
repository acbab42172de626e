"""The verification report: one entry per check and an overall verdict.

A check passes only when something was proven; what could not be decided is UNKNOWN
(e.g. no trust anchor for the chain), what the card or library does not offer is
NOT_SUPPORTED. The verdict follows issue #3: VERIFIED only when integrity and genuineness
are proven; INVALID when any proof fails; UNTRUSTED when every proof that could be made
holds but the chain to a CSCA is unknown. A data group listed in EF.SOD but not read (DG3
behind Terminal Authentication) is NOT_SUPPORTED and does not block VERIFIED; one read but
not covered by EF.SOD, or listed there but missing from the chip, is UNKNOWN and does.

A :class:`Finding` records a deviation from the standards that a genuine document is known
to show and that the checks proved harmless (docs/verification.md §3); findings never
change the verdict. Exit codes are the CLI's business (:mod:`cardreader.cli`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CheckStatus(enum.Enum):
    """Outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_SUPPORTED = "not-supported"


class CheckKind(enum.Enum):
    """What a check proves; each kind's role in the verdict is fixed here."""

    ACCESS = "access"
    """How the chip was opened; a PACE → BAC downgrade is reported, not fatal."""
    DG_HASH = "dg-hash"
    SOD_SIGNED_ATTRIBUTES = "sod-signed-attributes"
    SOD_SIGNATURE = "sod-signature"
    DS_CERTIFICATE = "ds-certificate"
    """Validity period and key usage of the Document Signer certificate."""
    CHAIN = "chain"
    """DS → CSCA from the trust store."""
    CRL = "crl"
    COUNTRY = "country"
    CARD_SECURITY = "card-security"
    """EF.CardSecurity: signed attributes, signature, DS certificate and chain, as for
    EF.SOD (BSI TR-03110-3 §A.1.2.5); present only when the chip has the file."""
    CHIP_AUTHENTICATION = "chip-authentication"
    ACTIVE_AUTHENTICATION = "active-authentication"


class Verdict(enum.Enum):
    """The overall result."""

    VERIFIED = "verified"
    INVALID = "invalid"
    UNTRUSTED = "untrusted"


class FindingKind(enum.Enum):
    """Known deviations of genuine documents (docs/verification.md §3)."""

    SIGNER_IDENTIFIER_NAME_ORDER = "signer-identifier-name-order"
    """issuerAndSerialNumber names the DS certificate's issuer with its RDNs in another
    order (RFC 5280 §7.1: another name); the one embedded certificate was used."""
    CONTENT_TYPE = "non-standard-content-type"
    """eContentType other than the ICAO or BSI OID; the content parsed as the object."""
    DS_KEY_USAGE_ABSENT = "ds-key-usage-absent"
    """The Document Signer certificate has no keyUsage extension, which ICAO 9303-12
    requires; RFC 5280 puts no restriction on such a key."""


_GENUINENESS = (CheckKind.CHIP_AUTHENTICATION, CheckKind.ACTIVE_AUTHENTICATION)
"""At least one of these must pass to prove the chip is not a clone (ICAO 9303-11 §6)."""
_SIGNATURE_AND_CHAIN = (
    CheckKind.SOD_SIGNED_ATTRIBUTES,
    CheckKind.SOD_SIGNATURE,
    CheckKind.DS_CERTIFICATE,
    CheckKind.CHAIN,
)
"""Kinds that must all pass for VERIFIED, besides the data-group hashes."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check: what, its subject (e.g. ``DG2``), the outcome and a reason a person reads."""

    kind: CheckKind
    status: CheckStatus
    reason: str
    subject: str = ""

    @property
    def title(self) -> str:
        return f"{self.kind.value} {self.subject}".strip()


@dataclass(frozen=True, slots=True)
class Finding:
    """A deviation from the standards that did not prevent the proof; ``subject`` names the
    file (``EF.SOD``, ``EF.CardSecurity``)."""

    kind: FindingKind
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """All checks made on one document, in the order they were made."""

    checks: tuple[Check, ...]
    genuineness_required: bool = True
    """Offline verification of saved files cannot run CA or AA: set False there."""
    findings: tuple[Finding, ...] = ()

    def of_kind(self, kind: CheckKind) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.kind is kind)

    @property
    def verdict(self) -> Verdict:
        """VERIFIED / INVALID / UNTRUSTED by the rules in the module docstring."""
        if any(check.status is CheckStatus.FAILED for check in self.checks):
            return Verdict.INVALID
        if not self._data_groups_proven():
            return Verdict.UNTRUSTED
        if not all(self._all_passed(kind) for kind in _SIGNATURE_AND_CHAIN):
            return Verdict.UNTRUSTED
        if any(c.status is not CheckStatus.PASSED for c in self.of_kind(CheckKind.CARD_SECURITY)):
            return Verdict.UNTRUSTED
        if self.genuineness_required and not any(
            check.status is CheckStatus.PASSED
            for kind in _GENUINENESS
            for check in self.of_kind(kind)
        ):
            return Verdict.UNTRUSTED
        return Verdict.VERIFIED

    def _data_groups_proven(self) -> bool:
        """Every data group read has a matching hash; unread ones (NOT_SUPPORTED) are unused."""
        checks = self.of_kind(CheckKind.DG_HASH)
        allowed = (CheckStatus.PASSED, CheckStatus.NOT_SUPPORTED)
        passed = any(check.status is CheckStatus.PASSED for check in checks)
        return passed and all(check.status in allowed for check in checks)

    def _all_passed(self, kind: CheckKind) -> bool:
        """At least one check of ``kind`` and every one of them passed."""
        checks = self.of_kind(kind)
        return bool(checks) and all(check.status is CheckStatus.PASSED for check in checks)
