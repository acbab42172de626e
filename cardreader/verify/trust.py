"""Trust anchors for passive authentication: CSCA certificates, CSCA master lists and CRLs.

CSCA certificates come from PEM or DER files or folders of them; an ICAO CSCA master list
(ICAO 9303-12 §8) is a CMS SignedData whose CscaMasterList content holds CSCA certificates.
A master list is accepted only when its signature verifies with the master list signer's
certificate and that certificate is signed by a CSCA inside the list (ICAO 9303-12 §8.2);
otherwise :class:`UntrustedMasterListError` says why. CRLs (RFC 5280 §5, ICAO 9303-12 §7.1.4)
are kept per issuer and used only once their signature verifies with the CSCA.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from asn1crypto import core, crl, pem

from cardreader.asn1 import asn1_parse_errors
from cardreader.errors import CardError, ParseError, UnsupportedProtocolError
from cardreader.verify.signature import (
    Certificate,
    DistinguishedName,
    distinguished_name,
    parse_certificate,
)
from cardreader.verify.sod import ContentType, parse_signed_data

MAX_TRUST_FILE_BYTES = 32 * 1024 * 1024
MAX_MASTER_LIST_CERTIFICATES = 20000
MAX_CRL_ENTRIES = 200000
CERTIFICATE_SUFFIXES = frozenset((".pem", ".crt", ".cer", ".der"))
"""Files picked up when a folder of CSCA certificates is loaded."""
CSCA_MASTER_LIST_VERSION = 0


class UntrustedMasterListError(CardError):
    """A master list whose own signature or signer chain does not verify."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"master list refused: {reason}")


class _CertificateSet(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class _CscaMasterList(core.Sequence):  # type: ignore[misc]
    """CscaMasterList (ICAO 9303-12 §8.2)."""

    _fields = [  # noqa: RUF012 (asn1crypto schema)
        ("version", core.Integer),
        ("cert_list", _CertificateSet),
    ]


def _der_objects(data: bytes, what: str) -> list[bytes]:
    """The DER objects of ``data``: every PEM block, or ``data`` itself if it is not PEM."""
    if not pem.detect(data):
        return [data]
    with asn1_parse_errors(f"PEM {what}"):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]


def _read(path: Path) -> bytes:
    """File contents, refusing files above :data:`MAX_TRUST_FILE_BYTES` (OSError passes)."""
    size = path.stat().st_size
    if size > MAX_TRUST_FILE_BYTES:
        raise ParseError(f"{path} has {size} bytes, more than {MAX_TRUST_FILE_BYTES}")
    return path.read_bytes()


def parse_certificates(data: bytes) -> tuple[Certificate, ...]:
    """The certificates of a DER file or of every PEM block in ``data``."""
    return tuple(parse_certificate(der) for der in _der_objects(data, "certificate"))


def load_certificates(path: Path) -> tuple[Certificate, ...]:
    """Certificates from a PEM or DER file, or from the matching files under a folder."""
    if not path.is_dir():
        return parse_certificates(_read(path))
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CERTIFICATE_SUFFIXES
    )
    return tuple(cert for file in files for cert in parse_certificates(_read(file)))


# -- master lists ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MasterList:
    """A verified CSCA master list (ICAO 9303-12 §8)."""

    signer: Certificate
    signer_issuer: Certificate
    """The CSCA inside the list that issued the master list signer's certificate."""
    certificates: tuple[Certificate, ...]
    skipped: int = 0
    """Entries that could not be parsed as certificates and were left out."""


def _signed_by(subject: Certificate, issuer: Certificate) -> bool:
    try:
        return subject.may_be_issued_by(issuer) and subject.is_signed_by(issuer)
    except (ParseError, UnsupportedProtocolError):
        return False


def parse_master_list(data: bytes) -> MasterList:
    """Decode and verify an ICAO CSCA master list (DER or PEM CMS, ICAO 9303-12 §8.2).

    Raises :class:`ParseError` for malformed input and :class:`UntrustedMasterListError`
    when the list's signature or the chain of its signer to a CSCA in the list fails. The
    signer's validity period is not checked: an old list still names the CSCAs it held.
    """
    der = _der_objects(data, "master list")[0]
    if len(der) > MAX_TRUST_FILE_BYTES:
        raise ParseError(f"master list of {len(der)} bytes is too large")
    signed = parse_signed_data(der, ContentType.CSCA_MASTER_LIST)
    with asn1_parse_errors("CscaMasterList"):
        content = _CscaMasterList.load(signed.content, strict=True)
        if content["version"].native != CSCA_MASTER_LIST_VERSION:
            raise ParseError(f"CscaMasterList version {content['version'].native}")
        entries = [item.dump() for item in content["cert_list"]]
    if len(entries) > MAX_MASTER_LIST_CERTIFICATES:
        raise ParseError(f"more than {MAX_MASTER_LIST_CERTIFICATES} certificates")
    certificates: list[Certificate] = []
    for entry in entries:
        try:
            certificates.append(parse_certificate(entry))
        except ParseError:
            continue
    signer = signed.signer_certificate
    if signer is None:
        raise UntrustedMasterListError("it does not carry its signer's certificate")
    info = signed.signer_info
    if info.signed_attributes is None:
        raise UntrustedMasterListError("it has no signed attributes (RFC 5652 §5.3)")
    if info.content_type != ContentType.CSCA_MASTER_LIST.value:
        raise UntrustedMasterListError("its signed content-type attribute is not a master list")
    if info.message_digest != signed.content_digest():
        raise UntrustedMasterListError("its message digest does not match the list")
    try:
        valid = signed.signature_valid(signer)
    except (ParseError, UnsupportedProtocolError) as exc:
        raise UntrustedMasterListError(f"its signature cannot be checked: {exc}") from exc
    if not valid:
        raise UntrustedMasterListError(f"its signature does not verify with {signer.subject}")
    issuer = next((c for c in certificates if _signed_by(signer, c)), None)
    if issuer is None:
        raise UntrustedMasterListError(
            f"its signer {signer.subject} is not signed by any CSCA in the list"
        )
    return MasterList(signer, issuer, tuple(certificates), len(entries) - len(certificates))


def load_master_list(path: Path) -> MasterList:
    return parse_master_list(_read(path))


# -- CRLs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crl:
    """A certificate revocation list (RFC 5280 §5.1)."""

    issuer: DistinguishedName
    authority_key_identifier: bytes | None
    this_update: datetime
    next_update: datetime | None
    revoked: Mapping[int, datetime] = field(repr=False)
    """Serial number → revocation date."""
    tbs: bytes = field(repr=False)
    signature_algorithm: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def is_signed_by(self, issuer: Certificate) -> bool:
        if not self.issuer.matches(issuer.subject):
            return False
        aki, ski = self.authority_key_identifier, issuer.subject_key_identifier
        if aki is not None and ski is not None and aki != ski:
            return False
        try:
            return issuer.verifies(self.signature_algorithm, self.signature, self.tbs)
        except (ParseError, UnsupportedProtocolError):
            return False


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ParseError(f"CRL {what} is not a time")
    return value


def parse_crl(data: bytes) -> Crl:
    """Decode a DER or PEM CRL (RFC 5280 §5.1); :class:`ParseError` if malformed."""
    der = _der_objects(data, "CRL")[0]
    with asn1_parse_errors("CRL"):
        certificate_list = crl.CertificateList.load(der, strict=True)
        tbs = certificate_list["tbs_cert_list"]
        if tbs["signature"].dump() != certificate_list["signature_algorithm"].dump():
            raise ParseError("CRL signature algorithms disagree (RFC 5280 §5.1.2.2)")
        entries = tbs["revoked_certificates"]
        count = 0 if entries.native is None else len(entries)
        if count > MAX_CRL_ENTRIES:
            raise ParseError(f"more than {MAX_CRL_ENTRIES} revoked certificates")
        revoked = {
            entry["user_certificate"].native: _time(
                entry["revocation_date"].native, "revocation date"
            )
            for entry in (entries if count else ())
        }
        aki = certificate_list.authority_key_identifier
        next_update = tbs["next_update"].native
        return Crl(
            issuer=distinguished_name(tbs["issuer"]),
            authority_key_identifier=aki,
            this_update=_time(tbs["this_update"].native, "thisUpdate"),
            next_update=None if next_update is None else _time(next_update, "nextUpdate"),
            revoked=MappingProxyType(revoked),
            tbs=tbs.dump(),
            signature_algorithm=certificate_list["signature_algorithm"].dump(),
            signature=bytes(certificate_list["signature"].native),
        )


def load_crl(path: Path) -> Crl:
    return parse_crl(_read(path))


# -- the store ---------------------------------------------------------------------------


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Prefix the file name to the parse and trust errors raised while loading it."""
    try:
        yield
    except UntrustedMasterListError as exc:
        raise UntrustedMasterListError(f"{path}: {exc.reason}") from exc
    except ParseError as exc:
        raise ParseError(f"{path}: {exc}") from exc


class TrustStore:
    """CSCA trust anchors and CRLs, looked up by issuer name and key identifier."""

    def __init__(self, anchors: Iterable[Certificate] = (), crls: Iterable[Crl] = ()) -> None:
        self._anchors: dict[bytes, Certificate] = {}
        self._by_subject: dict[str, list[Certificate]] = {}
        self._subject_keys: dict[bytes, str] = {}
        """An anchor subject's DER → its comparison form, so a name with the same DER
        needs no string preparation."""
        self._crls: dict[str, list[Crl]] = {}
        for anchor in anchors:
            self.add_anchor(anchor)
        for item in crls:
            self.add_crl(item)

    @classmethod
    def load(
        cls,
        csca: Iterable[Path] = (),
        master_lists: Iterable[Path] = (),
        crls: Iterable[Path] = (),
    ) -> TrustStore:
        """A store from CSCA files or folders, master list files and CRL files.

        Raises OSError for unreadable files, :class:`ParseError` for malformed ones and
        :class:`UntrustedMasterListError` for a master list that does not verify.
        """
        store = cls()
        for path in csca:
            with _naming(path):
                certificates = load_certificates(path)
            for certificate in certificates:
                store.add_anchor(certificate)
        for path in master_lists:
            with _naming(path):
                store.add_master_list(load_master_list(path))
        for path in crls:
            with _naming(path):
                store.add_crl(load_crl(path))
        return store

    @property
    def anchors(self) -> tuple[Certificate, ...]:
        return tuple(self._anchors.values())

    @property
    def crls(self) -> tuple[Crl, ...]:
        return tuple(item for items in self._crls.values() for item in items)

    def add_anchor(self, certificate: Certificate) -> None:
        if certificate.der not in self._anchors:
            self._anchors[certificate.der] = certificate
            key = certificate.subject.match_key
            self._subject_keys[certificate.subject.der] = key
            self._by_subject.setdefault(key, []).append(certificate)

    def add_master_list(self, master_list: MasterList) -> None:
        for certificate in master_list.certificates:
            self.add_anchor(certificate)

    def add_crl(self, revocation_list: Crl) -> None:
        self._crls.setdefault(revocation_list.issuer.match_key, []).append(revocation_list)

    def named_as_issuer_of(self, certificate: Certificate) -> tuple[Certificate, ...]:
        """Anchors whose subject is ``certificate``'s issuer, whatever their key."""
        issuer = certificate.issuer
        key = self._subject_keys.get(issuer.der)
        return tuple(self._by_subject.get(issuer.match_key if key is None else key, ()))

    def issuers_of(self, certificate: Certificate) -> tuple[Certificate, ...]:
        """Anchors that may have issued ``certificate``: same name, matching key identifier."""
        return tuple(
            a for a in self.named_as_issuer_of(certificate) if certificate.may_be_issued_by(a)
        )

    def crls_of(self, issuer: Certificate) -> tuple[Crl, ...]:
        """The CRLs ``issuer`` signed (CRLs that merely carry its name are ignored)."""
        candidates = self._crls.get(issuer.subject.match_key, ())
        return tuple(item for item in candidates if item.is_signed_by(issuer))
