"""XML0 signed with XML-DSig by the facility's key, from a PKCS#12 file and from a SoftHSM2
token (docs/domain.md §3.7), checked by ``xmlsec1`` (Debian's, an independent verifier) and
by our own verifier; a one-byte change fails both."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hospital_adapter.errors import ConfigurationError, Xml0SignatureError
from hospital_adapter.pkcs11_token import open_token_key
from hospital_adapter.xml0 import Xml0Facility, build_xml0
from hospital_adapter.xmldsig import FacilityKey, load_pkcs12, sign_xml0, verify_xml0

from .facility_pki import (
    KEY_LABEL,
    P12_PASSWORD,
    TOKEN_LABEL,
    USER_PIN,
    FacilityPki,
    make_facility,
    xmlsec1_verify,
)
from .helpers import sample_visit

FACILITY = Xml0Facility("79024", "02.1896", "Khám Nội")
DS = b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'


def _unsigned() -> bytes:
    return build_xml0(sample_visit(), FACILITY)


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_pkcs12_signature_has_the_declared_form_and_xmlsec1_verifies_it(
    facility: FacilityPki, tmp_path: Path
) -> None:
    signed = sign_xml0(_unsigned(), load_pkcs12(facility.p12, P12_PASSWORD))
    head, _, signature = signed.partition(b"<CHUKYDONVI>")
    assert head == _unsigned().partition(b"<CHUKYDONVI />")[0].replace(b" />", b"/>")
    assert signature.startswith(
        b"<ds:Signature " + DS + b"><ds:SignedInfo>"
        b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        b'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        b'<ds:Reference URI=""><ds:Transforms>'
        b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        b'<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        b'</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    )
    assert signature.endswith(
        b"</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></CHUKYDONVI>"
        b"</CHI_TIEU_TRANG_THAI_KCB>"
    )
    done = xmlsec1_verify(_write(tmp_path, "signed.xml", signed), facility.certificate_pem)
    assert (done.returncode, done.stderr.splitlines()[0]) == (0, "OK")
    verified = verify_xml0(signed, facility.certificate)
    assert verified.pinned and verified.certificate == facility.certificate
    assert b"<HO_TEN>Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Hoa</HO_TEN>" in verified.signed_xml
    assert b"Signature" not in verified.signed_xml


def test_softhsm_token_signs_the_same_bytes_as_the_pkcs12_key(
    facility: FacilityPki, softhsm_token: str, tmp_path: Path
) -> None:
    # RSA PKCS#1 v1.5 is deterministic: the same key on the token gives the same signature.
    with open_token_key(softhsm_token, TOKEN_LABEL, USER_PIN) as key:
        assert key.certificate == facility.certificate
        with pytest.raises(Xml0SignatureError, match="stays on the token"):
            key.private_key.private_numbers()
        token_signed = sign_xml0(_unsigned(), key)
    assert token_signed == sign_xml0(_unsigned(), load_pkcs12(facility.p12, P12_PASSWORD))
    done = xmlsec1_verify(_write(tmp_path, "token.xml", token_signed), facility.certificate_pem)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<MA_THE_BHYT>HC4797912345678", b"<MA_THE_BHYT>HC4797912345679"),  # the record
        (b"<STT>1</STT>", b"<STT>2</STT>"),
        (b"Hoa</HO_TEN>", b"Hob</HO_TEN>"),
        (b"rsa-sha256", b"rsa-sha257"),  # the SignedInfo
    ],
)
def test_a_one_byte_change_fails_both_verifiers(
    old: bytes, new: bytes, facility: FacilityPki, tmp_path: Path
) -> None:
    signed = sign_xml0(_unsigned(), load_pkcs12(facility.p12, P12_PASSWORD))
    assert signed.count(old) == 1 and len(old) == len(new)
    tampered = signed.replace(old, new)
    assert sum(a != b for a, b in zip(signed, tampered, strict=True)) == 1
    done = xmlsec1_verify(_write(tmp_path, "tampered.xml", tampered), facility.certificate_pem)
    assert done.returncode != 0
    with pytest.raises(Xml0SignatureError):
        verify_xml0(tampered, facility.certificate)
    with pytest.raises(Xml0SignatureError):
        verify_xml0(tampered)


def test_another_facility_key_is_refused_when_the_certificate_is_pinned(
    facility: FacilityPki, tmp_path: Path
) -> None:
    other = make_facility(tmp_path, "Benh vien Khac")
    signed = sign_xml0(_unsigned(), FacilityKey(other.key, other.certificate))
    assert verify_xml0(signed).certificate == other.certificate  # intact, but whose?
    with pytest.raises(Xml0SignatureError, match="does not verify"):
        verify_xml0(signed, facility.certificate)
    done = xmlsec1_verify(_write(tmp_path, "other.xml", signed), facility.certificate_pem)
    assert done.returncode != 0


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (
            b"<CHI_TIEU_TRANG_THAI_KCB><DSACH_TRANG_THAI_KCB/></CHI_TIEU_TRANG_THAI_KCB>",
            "one empty",
        ),
        (
            b"<CHI_TIEU_TRANG_THAI_KCB><CHUKYDONVI>x</CHUKYDONVI></CHI_TIEU_TRANG_THAI_KCB>",
            "one empty",
        ),
        (b"<CHI_TIEU_TRANG_THAI_KCB>", "not well-formed"),
        (b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', "one empty"),
        (b"<a>" + b"x" * (1024 * 1024) + b"</a>", "larger than"),
    ],
)
def test_sign_refuses_what_is_not_an_unsigned_xml0(
    xml: bytes, reason: str, facility: FacilityPki
) -> None:
    with pytest.raises(Xml0SignatureError, match=reason):
        sign_xml0(xml, FacilityKey(facility.key, facility.certificate))


def test_unsigned_or_relocated_signatures_are_refused(facility: FacilityPki) -> None:
    with pytest.raises(Xml0SignatureError, match=r"no single X\.509"):
        verify_xml0(_unsigned())
    signed = sign_xml0(_unsigned(), FacilityKey(facility.key, facility.certificate))
    start, end = signed.index(b"<ds:Signature"), signed.index(b"</CHUKYDONVI>")
    moved = (
        signed[:start]
        + signed[end:].replace(b"</CHUKYDONVI>", b"</CHUKYDONVI>" + signed[start:end], 1)
    ).replace(b"<CHUKYDONVI></CHUKYDONVI>", b"<CHUKYDONVI/>")
    with pytest.raises(Xml0SignatureError):
        verify_xml0(moved, facility.certificate)


def test_token_problems_are_configuration_errors(facility: FacilityPki, softhsm_token: str) -> None:
    cases = [
        ((softhsm_token, TOKEN_LABEL, "000000"), "CCCD_XML0_TOKEN_PIN"),
        ((softhsm_token, "NO-SUCH-TOKEN", USER_PIN), "xml0.token"),
        (("/nonexistent/libpkcs11.so", TOKEN_LABEL, USER_PIN), "xml0.pkcs11_module"),
    ]
    for (module, label, pin), key in cases:
        with pytest.raises(ConfigurationError) as info, open_token_key(module, label, pin):
            pass
        assert info.value.problems[0].key == key
    with (
        pytest.raises(ConfigurationError) as info,
        open_token_key(softhsm_token, TOKEN_LABEL, USER_PIN, key_label="other"),
    ):
        pass
    assert info.value.problems[0].key == "xml0.key_label"
    with open_token_key(softhsm_token, TOKEN_LABEL, USER_PIN, key_label=KEY_LABEL) as key:
        assert key.private_key.key_size == 2048


def test_pkcs12_problems_are_configuration_errors(facility: FacilityPki, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="password is wrong"):
        load_pkcs12(facility.p12, "wrong")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_pkcs12(tmp_path / "missing.p12", P12_PASSWORD)
    pem_only = _write(
        tmp_path, "cert.p12", facility.certificate.public_bytes(serialization.Encoding.DER)
    )
    with pytest.raises(ConfigurationError, match="not PKCS#12"):
        load_pkcs12(pem_only, P12_PASSWORD)
