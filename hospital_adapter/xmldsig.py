"""The facility's XML signature on XML0 (docs/domain.md §3.7, "CHUKYDONVI").

W3C XML-DSig 1.1, enveloped: one ``ds:Signature`` inside ``CHUKYDONVI`` whose single
Reference (``URI=""``) covers the whole document less the signature itself (transforms
*enveloped-signature*, then canonicalisation), SHA-256 digest, RSA-SHA256 signature
(RFC 6931 §2.3.2), the facility's X.509 certificate in ``KeyInfo``.

Canonicalisation: inclusive Canonical XML 1.0 (``REC-xml-c14n-20010315``), for the
SignedInfo and the Reference. XML0 declares no namespace, so the exclusive form would
give the same bytes for the document, and C14N 1.1 (signxml's default) is not
implemented by .NET's ``SignedXml``, which most Vietnamese HIS and BHXH-side tools are
built on; 1.0 is the one every verifier (.NET, Java, xmlsec1) knows.

Signing and verifying go through signxml (lxml underneath); the key is anything that
signs like a ``cryptography`` RSA key: one from a PKCS#12 file (:func:`load_pkcs12`) or
one that stays on a PKCS#11 token (:mod:`hospital_adapter.pkcs11_token`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.util import namespaces
from signxml.verifier import SignatureConfiguration, XMLVerifier

from hospital_adapter.errors import ConfigurationError, Problem, Xml0SignatureError
from hospital_adapter.xml0 import SIGNATURE

# signxml's processor logs each canonicalised document at DEBUG: the whole XML0 record,
# name and ID number included. A filter on that logger (a level would yield to an
# operator's DEBUG; a filter on "signxml" would not see its child's records) keeps them out.
logging.getLogger("signxml.processor").addFilter(lambda record: record.levelno >= logging.WARNING)

P12_KEY = "xml0.p12"
CERT_KEY = "xml0.certificate"
"""The configuration keys problems with a PKCS#12 file or a certificate are reported under."""
MAX_XML_BYTES = 1024 * 1024
"""An XML0 file holds one record: far below this."""
C14N = CanonicalizationMethod.CANONICAL_XML_1_0
ALGORITHM = SignatureMethod.RSA_SHA256
DIGEST = DigestAlgorithm.SHA256
_PLACEHOLDER_ID = "placeholder"
_EXPECTED = SignatureConfiguration(
    require_x509=True,
    location=f"./{SIGNATURE}/",
    signature_methods=frozenset({ALGORITHM}),
    digest_algorithms=frozenset({DIGEST}),
    default_reference_c14n_method=C14N,
)


@dataclass(frozen=True)
class FacilityKey:
    """A signing key and the certificate that names the facility."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class VerifiedXml0:
    """What a valid signature proves: these ``signed_xml`` bytes, signed by ``certificate``'s
    key. Whether to trust the certificate is the caller's: it was pinned or it was not."""

    signed_xml: bytes
    certificate: x509.Certificate
    pinned: bool

    @property
    def signer(self) -> str:
        """The certificate's subject (RFC 4514) and serial number, for people to read."""
        certificate = self.certificate
        return f"{certificate.subject.rfc4514_string()} (serial {certificate.serial_number:x})"


def load_certificate(path: str | Path) -> x509.Certificate:
    """A PEM certificate (the facility's registered one, to pin); :class:`ConfigurationError`
    if it cannot be read."""
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except OSError as exc:
        raise ConfigurationError(Problem(CERT_KEY, f"cannot read {path}: {exc.strerror}")) from None
    except ValueError:
        raise ConfigurationError(Problem(CERT_KEY, f"{path} is not a PEM certificate")) from None


def load_pkcs12(path: str | Path, password: str) -> FacilityKey:
    """The RSA key and certificate of a PKCS#12 file; :class:`ConfigurationError` if it
    cannot be read, the password is wrong, or it holds no RSA key with a certificate."""
    try:
        data = Path(path).read_bytes()
        key, certificate, _ = pkcs12.load_key_and_certificates(data, password.encode())
    except OSError as exc:
        raise ConfigurationError(Problem(P12_KEY, f"cannot read {path}: {exc.strerror}")) from None
    except ValueError:
        raise ConfigurationError(
            Problem(P12_KEY, f"{path} is not PKCS#12 or the password is wrong")
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
        raise ConfigurationError(Problem(P12_KEY, f"{path} holds no RSA key with its certificate"))
    return FacilityKey(key, certificate)


def _parse(xml: bytes) -> etree._Element:
    if len(xml) > MAX_XML_BYTES:
        raise Xml0SignatureError(f"XML0 file larger than {MAX_XML_BYTES} bytes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise Xml0SignatureError(f"not well-formed XML: {exc.msg}") from None
    if root is None:
        raise Xml0SignatureError("empty XML document")
    return root


def sign_xml0(xml: bytes, key: FacilityKey) -> bytes:
    """``xml`` (an unsigned XML0 with an empty ``CHUKYDONVI``) signed by ``key``."""
    root = _parse(xml)
    holders = root.findall(SIGNATURE)
    if len(holders) != 1 or len(holders[0]) or (holders[0].text or "").strip():
        raise Xml0SignatureError(f"expected one empty {SIGNATURE} under the root")
    etree.SubElement(
        holders[0], f"{{{namespaces.ds}}}Signature", Id=_PLACEHOLDER_ID, nsmap={"ds": namespaces.ds}
    )
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=ALGORITHM,
        digest_algorithm=DIGEST,
        c14n_algorithm=C14N,
    )
    try:
        signed = signer.sign(root, key=key.private_key, cert=[key.certificate])
    except SignXMLException as exc:
        raise Xml0SignatureError(f"cannot sign: {exc}") from None
    signature = signed.find(f"{SIGNATURE}/{{{namespaces.ds}}}Signature")
    if signature is not None:  # the Id only marked the place; the signature does not cover it
        signature.attrib.pop("Id", None)
    out: bytes = etree.tostring(signed, xml_declaration=True, encoding="utf-8")
    return out


def _embedded_certificate(root: etree._Element) -> x509.Certificate:
    found = root.findall(
        f"{SIGNATURE}/{{{namespaces.ds}}}Signature/{{{namespaces.ds}}}KeyInfo"
        f"/{{{namespaces.ds}}}X509Data/{{{namespaces.ds}}}X509Certificate"
    )
    if len(found) != 1 or not found[0].text:
        raise Xml0SignatureError("the signature carries no single X.509 certificate")
    try:
        return x509.load_der_x509_certificate(_b64(found[0].text))
    except ValueError:
        raise Xml0SignatureError("the embedded certificate cannot be read") from None


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error:
        raise Xml0SignatureError("the embedded certificate is not base64") from None


def verify_xml0(xml: bytes, certificate: x509.Certificate | None = None) -> VerifiedXml0:
    """Check the signature in ``CHUKYDONVI``: RSA-SHA256 over the whole document, one
    Reference. With ``certificate`` the signature must be by that certificate's key (the
    facility's registered certificate); without, by the certificate the file carries,
    which proves integrity but not who signed. :class:`Xml0SignatureError` otherwise."""
    root = _parse(xml)
    pinned = certificate is not None
    signer_certificate = certificate or _embedded_certificate(root)
    try:
        result = XMLVerifier().verify(root, x509_cert=signer_certificate, expect_config=_EXPECTED)
    except SignXMLException as exc:
        raise Xml0SignatureError(f"signature does not verify: {exc}") from None
    if isinstance(result, list):  # expect_references=1 gives one result
        raise Xml0SignatureError("expected one signed reference")
    signed: bytes = etree.tostring(result.signed_xml, encoding="utf-8")
    return VerifiedXml0(signed, signer_certificate, pinned)
