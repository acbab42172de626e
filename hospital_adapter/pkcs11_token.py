"""The facility's signing key on a PKCS#11 token (docs/domain.md §3.7): Vietnamese
facilities sign with USB tokens; tests use SoftHSM2 as one.

:func:`open_token_key` logs in to the token with the user PIN, finds its RSA private key
and the certificate with the same ``CKA_ID``, and yields them as a
:class:`~hospital_adapter.xmldsig.FacilityKey` whose key signs on the token
(``CKM_SHA256_RSA_PKCS``, PKCS#11 v2.40 §2.1.15): the key never leaves it. The only module
that imports python-pkcs11.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, cast

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    MultipleObjectsReturned,
    MultipleTokensReturned,
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PinLocked,
    PKCS11Error,
)
from pkcs11.types import SignMixin

from hospital_adapter.config import ENV_XML0_TOKEN_PIN
from hospital_adapter.errors import ConfigurationError, Problem, Xml0SignatureError
from hospital_adapter.xmldsig import FacilityKey

MODULE_KEY = "xml0.pkcs11_module"
TOKEN_KEY = "xml0.token"
KEY_LABEL_KEY = "xml0.key_label"
PIN_KEY = ENV_XML0_TOKEN_PIN
"""The keys problems are reported under (configuration keys, the PIN's variable)."""


class TokenRsaKey(rsa.RSAPrivateKey):
    """An RSA private key that stays on the token; only :meth:`sign` with PKCS#1 v1.5 and
    SHA-256 (what XML-DSig RSA-SHA256 needs) is offered."""

    def __init__(self, key: SignMixin, public: rsa.RSAPublicKey) -> None:
        self._key = key
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: padding.AsymmetricPadding,
        algorithm: Prehashed | hashes.HashAlgorithm | NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, _PKCS1) or not isinstance(algorithm, hashes.SHA256):
            raise Xml0SignatureError("the token signs with PKCS#1 v1.5 and SHA-256 only")
        try:
            signature = self._key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
        except PKCS11Error as exc:
            raise Xml0SignatureError(f"the token refused to sign: {type(exc).__name__}") from None
        return signature

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        self._stays_on_token()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        self._stays_on_token()

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        self._stays_on_token()

    def __copy__(self) -> TokenRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> TokenRsaKey:
        return self

    @staticmethod
    def _stays_on_token() -> NoReturn:
        raise Xml0SignatureError("the key stays on the token: it only signs")


_PKCS1 = padding.PKCS1v15


@contextmanager
def open_token_key(
    module: str, token_label: str, pin: str, key_label: str | None = None
) -> Iterator[FacilityKey]:
    """Log in to token ``token_label`` through the PKCS#11 library ``module`` and yield its
    RSA key (the one labelled ``key_label``, or the only one) with its certificate; the
    session is closed afterwards. :class:`ConfigurationError` for a missing library, token,
    key or certificate, or a wrong PIN."""
    try:
        library = pkcs11.lib(module)
    except PKCS11Error:
        raise ConfigurationError(Problem(MODULE_KEY, f"cannot load {module}")) from None
    try:
        token = library.get_token(token_label=token_label)
    except (NoSuchToken, MultipleTokensReturned):
        raise ConfigurationError(
            Problem(TOKEN_KEY, f"no single token labelled {token_label!r}")
        ) from None
    try:
        session = token.open(user_pin=pin)
    except (PinIncorrect, PinLocked) as exc:
        raise ConfigurationError(
            Problem(PIN_KEY, f"the token refused the PIN ({type(exc).__name__})")
        ) from None
    except PKCS11Error as exc:
        raise ConfigurationError(
            Problem(TOKEN_KEY, f"cannot open the token: {type(exc).__name__}")
        ) from None
    with session:
        yield _facility_key(session, token_label, key_label)


def _facility_key(session: pkcs11.Session, token_label: str, key_label: str | None) -> FacilityKey:
    try:
        key = session.get_key(
            object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.RSA, label=key_label
        )
    except (NoSuchKey, MultipleObjectsReturned):
        raise ConfigurationError(
            Problem(KEY_LABEL_KEY, f"no single RSA private key on token {token_label!r}")
        ) from None
    found = list(
        session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.ID: key.id})
    )
    if len(found) != 1:
        raise ConfigurationError(
            Problem(TOKEN_KEY, f"no single certificate for the key on token {token_label!r}")
        )
    try:
        certificate = x509.load_der_x509_certificate(found[0][Attribute.VALUE])
    except ValueError:
        raise ConfigurationError(
            Problem(TOKEN_KEY, "the certificate on the token cannot be read")
        ) from None
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ConfigurationError(Problem(TOKEN_KEY, "the token's certificate is not for RSA"))
    # python-pkcs11 types get_key() as Key; a private key object signs (SignMixin).
    return FacilityKey(TokenRsaKey(cast(SignMixin, key), public), certificate)
