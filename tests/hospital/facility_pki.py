"""The facility's signing key for the XML0 tests on a SoftHSM2 token made in a temporary
directory (``SOFTHSM2_CONF``), and ``xmlsec1``, the independent verifier. Both tools come
from Debian (Makefile ``APT_PACKAGES``). The key and certificate themselves, as a PKCS#12
file and PEM, are the simulated hospital's (:mod:`simulators.facility_pki`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pkcs11
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, CertificateType, ObjectClass

from simulators.facility_pki import P12_PASSWORD, FacilityPki, make_facility

__all__ = [
    "KEY_LABEL",
    "P12_PASSWORD",
    "SOFTHSM_MODULE",
    "TOKEN_LABEL",
    "USER_PIN",
    "FacilityPki",
    "make_facility",
    "make_token",
    "xmlsec1_verify",
]

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "BV79024"
KEY_LABEL = "facility"
USER_PIN = "246810"
SO_PIN = "13579111"
TOOL_TIMEOUT_S = 30


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False, env=os.environ
    )


def make_token(directory: Path, facility: FacilityPki) -> None:
    """A SoftHSM2 token labelled :data:`TOKEN_LABEL` in ``directory`` holding the facility's
    key (imported with ``softhsm2-util``, not extractable afterwards) and its certificate
    (written with python-pkcs11), both with ``CKA_ID`` 01. ``SOFTHSM2_CONF`` must already
    point at ``directory / "softhsm2.conf"``."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    (directory / "softhsm2.conf").write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    key_pem = directory / "key.pem"
    key_pem.write_bytes(
        facility.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for args in (
        ("--init-token", "--free", "--label", TOKEN_LABEL, "--so-pin", SO_PIN, "--pin", USER_PIN),
        ("--import", str(key_pem), "--token", TOKEN_LABEL, "--label", KEY_LABEL, "--id", "01",
         "--pin", USER_PIN),
    ):  # fmt: skip
        done = _run("softhsm2-util", *args)
        if done.returncode != 0:
            raise RuntimeError(f"softhsm2-util {args[0]} failed: {done.stderr or done.stdout}")
    key_pem.unlink()
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=TOKEN_LABEL)
    with token.open(user_pin=USER_PIN, rw=True) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: KEY_LABEL,
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: facility.certificate.subject.public_bytes(),
                Attribute.VALUE: facility.certificate.public_bytes(serialization.Encoding.DER),
            }
        )


def xmlsec1_verify(signed: Path, trusted_pem: Path) -> subprocess.CompletedProcess[str]:
    """``xmlsec1 --verify`` with the facility's certificate as the only trust anchor."""
    tool = shutil.which("xmlsec1")
    if tool is None:
        raise RuntimeError("xmlsec1 is missing: run `make deps` (Debian package xmlsec1)")
    return _run(tool, "--verify", "--trusted-pem", str(trusted_pem), str(signed))
