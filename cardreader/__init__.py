"""Read and verify Vietnam's chip citizen ID card (CCCD) over PC/SC.

The supported API is what ``__all__`` lists (docs/verification.md §6): the read facades, the
credentials that open the chip, the trust store, the report and identity types, the PC/SC
transport and the errors. Everything else is internal and may change; applications such as
the kiosk import from here only (an import-linter contract in pyproject.toml checks it).
"""

from cardreader.access.credentials import (
    Credentials,
    MrzKey,
    credentials_from_id,
    credentials_from_qr,
)
from cardreader.access.strategy import AccessMethod, AccessReport
from cardreader.errors import (
    AccessDeniedError,
    CardError,
    CardRemovedError,
    CardTimeoutError,
    NoCardError,
    ParseError,
    ReaderNotFoundError,
    SecureMessagingError,
    ServiceUnavailableError,
    StatusWordError,
    TransportError,
    UnsupportedProtocolError,
    WrongPasswordError,
)
from cardreader.files.ids import Ef
from cardreader.idnumber import Sex
from cardreader.lds.dg13 import CardDate
from cardreader.lds.identity import CitizenIdentity, Source, Sourced
from cardreader.lds.image import DecodedImage
from cardreader.qr import CccdQr, parse_cccd_qr
from cardreader.read import CardRead, read_card
from cardreader.transport.base import Transport
from cardreader.transport.pcsc import CardWaiter, PcscTransport, list_readers
from cardreader.verified_read import (
    IDENTITY_FILES,
    IdentityResult,
    PhotoResult,
    VerifiedCard,
    VerifiedReader,
    read_and_verify,
)
from cardreader.verify.report import (
    Check,
    CheckKind,
    CheckStatus,
    Finding,
    FindingKind,
    Verdict,
    VerificationReport,
)
from cardreader.verify.trust import TrustStore, UntrustedMasterListError

__all__ = [
    "IDENTITY_FILES",
    "AccessDeniedError",
    "AccessMethod",
    "AccessReport",
    "CardDate",
    "CardError",
    "CardRead",
    "CardRemovedError",
    "CardTimeoutError",
    "CardWaiter",
    "CccdQr",
    "Check",
    "CheckKind",
    "CheckStatus",
    "CitizenIdentity",
    "Credentials",
    "DecodedImage",
    "Ef",
    "Finding",
    "FindingKind",
    "IdentityResult",
    "MrzKey",
    "NoCardError",
    "ParseError",
    "PcscTransport",
    "PhotoResult",
    "ReaderNotFoundError",
    "SecureMessagingError",
    "ServiceUnavailableError",
    "Sex",
    "Source",
    "Sourced",
    "StatusWordError",
    "Transport",
    "TransportError",
    "TrustStore",
    "UnsupportedProtocolError",
    "UntrustedMasterListError",
    "Verdict",
    "VerificationReport",
    "VerifiedCard",
    "VerifiedReader",
    "WrongPasswordError",
    "credentials_from_id",
    "credentials_from_qr",
    "list_readers",
    "parse_cccd_qr",
    "read_and_verify",
    "read_card",
]
