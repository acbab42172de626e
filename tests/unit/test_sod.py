"""EF.SOD parsing: the BSI TR-03105-5 reference SOD, SODs of the test PKI, malformed input.

The reference values come from tests/vectors/bsi-tr03105-5 (BSI TR-03105 Part 5
ReferenceDataSet); the DG hashes are checked against SHA-256 of the data group files there.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.crypto.digests import DigestAlgorithm
from cardreader.errors import CardError, ParseError, UnsupportedProtocolError
from cardreader.iso7816 import tlv
from cardreader.verify.signature import (
    KeyUsage,
    parse_certificate,
    signature_algorithm_label,
)
from cardreader.verify.sod import (
    MAX_SOD_BYTES,
    ContentType,
    LdsSecurityObjectVersion,
    parse_lds_security_object,
    parse_signed_data,
    parse_sod,
)
from simulators.pki import ALL_ALGORITHMS, Algorithm, Pki, lds_security_object
from tests.vectors import BSI_DATASET

BSI_SOD = (BSI_DATASET / "EF_SOD.bin").read_bytes()
SETTINGS = settings(max_examples=300, deadline=None)


@pytest.fixture(scope="module")
def pki_sod() -> tuple[Pki, bytes, bytes]:
    """A v1 SOD signed by a brainpoolP256r1 DS naming its signer by key identifier."""
    pki = Pki(seed=7)
    csca = pki.csca(Algorithm.ECDSA_BRAINPOOL_P256R1)
    ds = pki.document_signer(csca, Algorithm.ECDSA_BRAINPOOL_P256R1)
    sod = pki.sod(ds, {1: b"\x61\x00", 2: b"\x75\x00"}, version=1, use_key_identifier=True)
    return pki, ds.der, sod


def test_bsi_security_object() -> None:
    sod = parse_sod(BSI_SOD)
    lso = sod.security_object
    assert lso.version is LdsSecurityObjectVersion.V0
    assert lso.hash_algorithm is DigestAlgorithm.SHA256
    assert [h.number for h in lso.data_group_hashes] == [1, 2, 3, 14, 4]
    assert lso.hashes[1] == bytes.fromhex(
        "4170ca879fce6a22ffef1567ff88079f415c66ead250ab5f23781ac2cdbf42b6"
    )
    for number, value in lso.hashes.items():
        data = (BSI_DATASET / f"Datagroup{number}.bin").read_bytes()
        assert hashlib.sha256(data).digest() == value
    assert (lso.lds_version, lso.unicode_version) == (None, None)


def test_bsi_signer_info_and_certificate() -> None:
    signed = parse_sod(BSI_SOD).signed_data
    assert signed.content_type == ContentType.LDS_SECURITY_OBJECT.value
    assert len(signed.content) == 219
    info = signed.signer_info
    assert info.digest_algorithm is DigestAlgorithm.SHA256
    assert info.content_type == "2.23.136.1.1.1"
    assert info.message_digest == bytes.fromhex(
        "b46a0d05e280f398efeeebff67e78c736add15e75670b1ad4c6c534e8187b9d6"
    )
    assert info.message_digest == signed.content_digest()
    assert info.signing_time is None
    assert len(info.signature) == 256
    assert signature_algorithm_label(info.signature_algorithm) == "RSASSA-PSS SHA-256"
    assert info.signed_attributes is not None and info.signed_attributes[:2] == b"\x31\x48"
    assert info.signer.serial_number == 1387230198055
    ds = signed.signer_certificate
    assert ds is not None
    assert ds.serial_number == 1387230198055
    assert ds.subject.country == "DE"
    assert "HJP PB DS" in ds.subject.text and "HJP PB CS" in ds.issuer.text
    assert ds.not_before == datetime(2013, 12, 16, 21, 43, 18, tzinfo=UTC)
    assert ds.not_after == datetime(2014, 12, 11, 21, 43, 18, tzinfo=UTC)
    assert ds.key_usage == frozenset({KeyUsage.DIGITAL_SIGNATURE})
    assert ds.authority_key_identifier == bytes.fromhex("1e4d57560c12902366a8fde11408a37f70eb7d65")
    assert not ds.ca
    assert signed.signature_valid(ds)


def test_pki_sod_v1_with_key_identifier(pki_sod: tuple[Pki, bytes, bytes]) -> None:
    pki, ds_der, data = pki_sod
    sod = parse_sod(data)
    lso = sod.security_object
    assert lso.version is LdsSecurityObjectVersion.V1
    assert (lso.lds_version, lso.unicode_version) == ("0108", "040000")
    assert lso.hashes == {
        1: hashlib.sha256(b"\x61\x00").digest(),
        2: hashlib.sha256(b"\x75\x00").digest(),
    }
    info = sod.signed_data.signer_info
    assert info.signer.issuer is None and info.signer.subject_key_identifier is not None
    assert info.signing_time == pki.now
    assert sod.ds_certificate == parse_certificate(ds_der)
    assert sod.signed_data.signature_valid(parse_certificate(ds_der))


def test_a_master_list_is_not_an_sod() -> None:
    pki = Pki(seed=3)
    csca = pki.csca(Algorithm.ECDSA_P256)
    master_list = pki.master_list(pki.master_list_signer(csca, Algorithm.ECDSA_P256), [csca])
    with pytest.raises(ParseError, match="not LDS_SECURITY_OBJECT"):
        parse_sod(tlv.encode(0x77, master_list))
    assert parse_signed_data(master_list, ContentType.CSCA_MASTER_LIST).certificates


def test_pki_is_deterministic_with_a_seed_for_ec_keys() -> None:
    """Seeded EC chains and SODs repeat byte for byte (RSA keys cannot be seeded)."""

    def build(seed: int) -> tuple[bytes, bytes, bytes]:
        pki = Pki(seed=seed)
        csca = pki.csca(Algorithm.ECDSA_BRAINPOOL_P384R1)
        ds = pki.document_signer(csca, Algorithm.ECDSA_P256)
        return csca.der, ds.der, pki.sod(ds, {1: b"a", 2: b"b"})

    assert build(1) == build(1)
    assert build(1)[0] != build(2)[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x78" + BSI_SOD[1:], "tag 78"),
        (BSI_SOD + b"\x00", "trailing"),
        (BSI_SOD[:-1], "exceeds"),
        (b"\x77\x00", "CMS SignedData"),
        (b"\x77" + tlv.encode_length(MAX_SOD_BYTES) + bytes(MAX_SOD_BYTES), "exceeds 65536"),
    ],
)
def test_malformed_wrapper(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_sod(data)


def _two_signers(sod: bytes) -> bytes:
    info = cms.ContentInfo.load(tlv.decode_single(sod).value)
    signers = info["content"]["signer_infos"]
    info["content"]["signer_infos"] = [signers[0], signers[0]]
    return tlv.encode(0x77, info.dump(force=True))


def test_exactly_one_signer_info() -> None:
    with pytest.raises(ParseError, match="2 signer infos"):
        parse_sod(_two_signers(BSI_SOD))


def _lso(body: bytes) -> bytes:
    return tlv.encode(0x30, body)


SHA256_ID = tlv.encode(0x30, tlv.encode(0x06, tlv.encode_oid("2.16.840.1.101.3.4.2.1")))


def _dg_hash(number: int, value: bytes) -> bytes:
    return tlv.encode(0x30, tlv.encode(0x02, bytes((number,))) + tlv.encode(0x04, value))


@pytest.mark.parametrize(
    ("der", "error", "message"),
    [
        (
            _lso(b"\x02\x01\x02" + SHA256_ID + tlv.encode(0x30, _dg_hash(1, bytes(32)))),
            ParseError,
            "version 2",
        ),
        (
            _lso(b"\x02\x01\x00" + SHA256_ID + tlv.encode(0x30, _dg_hash(17, bytes(32)))),
            ParseError,
            "number 17",
        ),
        (
            _lso(
                b"\x02\x01\x00"
                + SHA256_ID
                + tlv.encode(0x30, _dg_hash(1, bytes(32)) + _dg_hash(1, bytes(32)))
            ),
            ParseError,
            "hashed twice",
        ),
        (
            _lso(b"\x02\x01\x00" + SHA256_ID + tlv.encode(0x30, _dg_hash(1, bytes(20)))),
            ParseError,
            "not a SHA-256",
        ),
        (_lso(b"\x02\x01\x00" + SHA256_ID + tlv.encode(0x30, b"")), ParseError, "0 data group"),
        (
            _lso(
                b"\x02\x01\x00"
                + tlv.encode(0x30, tlv.encode(0x06, tlv.encode_oid("1.2.840.113549.2.5")))
                + tlv.encode(0x30, _dg_hash(1, bytes(16)))
            ),
            UnsupportedProtocolError,
            "1.2.840.113549.2.5",
        ),
        (
            _lso(
                b"\x02\x01\x01" + SHA256_ID + tlv.encode(0x30, _dg_hash(1, bytes(32)))
            ),  # v1 without LDSVersionInfo
            ParseError,
            "LDSVersionInfo",
        ),
    ],
)
def test_malformed_security_object(der: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_lds_security_object(der)


def test_v0_with_version_info_is_refused() -> None:
    v1 = lds_security_object({1: b"a", 2: b"b"}, version=1)
    assert parse_lds_security_object(v1).version is LdsSecurityObjectVersion.V1
    v0_with_info = v1.replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)
    with pytest.raises(ParseError, match="LDSVersionInfo"):
        parse_lds_security_object(v0_with_info)


# -- properties: only the library's own errors, bounded work ----------------------------


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    for candidate in (data, tlv.encode(0x77, data)):
        with contextlib.suppress(CardError):
            parse_sod(candidate)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_security_object(data: bytes) -> None:
    try:
        lso = parse_lds_security_object(data)
    except CardError:
        return
    assert 1 <= len(lso.data_group_hashes) <= 16


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(BSI_SOD) - 1), st.integers(1, 255)), min_size=1, max_size=4
    ),
    st.integers(0, len(BSI_SOD)),
)
def test_mutated_bsi_sod(flips: list[tuple[int, int]], cut: int) -> None:
    mutated = bytearray(BSI_SOD)
    for position, mask in flips:
        mutated[position] ^= mask
    for candidate in (bytes(mutated), BSI_SOD[:cut], bytes(mutated[:cut]) + BSI_SOD[cut:]):
        try:
            sod = parse_sod(candidate)
        except CardError:
            continue
        assert len(sod.security_object.data_group_hashes) <= 16


@SETTINGS
@given(st.integers(4, 400), st.integers(1, 255))
def test_mutated_security_object(position: int, mask: int) -> None:
    """Flips inside the eContent: parse or ParseError, never another exception."""
    content = parse_sod(BSI_SOD).signed_data.content
    mutated = bytearray(content)
    mutated[position % len(content)] ^= mask
    with contextlib.suppress(CardError):
        parse_lds_security_object(bytes(mutated))


# -- interoperability: OpenSSL accepts what the test PKI signs ------------------------------

OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
@pytest.mark.parametrize("algorithm", ALL_ALGORITHMS, ids=lambda a: a.label)
def test_openssl_verifies_the_pki_sod(algorithm: Algorithm, tmp_path: Path) -> None:
    """An independent CMS implementation checks the SOD and its chain to the CSCA."""
    assert OPENSSL is not None
    pki = Pki()
    csca = pki.csca(algorithm)
    content = tlv.decode_single(pki.sod(pki.document_signer(csca, algorithm), {1: b"a"})).value
    ca_file = csca.write_pem(tmp_path / "csca.pem")
    command = [OPENSSL, "cms", "-verify", "-inform", "DER", "-binary", "-CAfile", str(ca_file)]
    command += ["-purpose", "any", "-out", str(tmp_path / "content.der"), "-in"]
    (tmp_path / "sod.der").write_bytes(content)
    good = subprocess.run([*command, str(tmp_path / "sod.der")], capture_output=True, check=False)
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "content.der").read_bytes() == lds_security_object({1: b"a"})
    signed = parse_sod(tlv.encode(0x77, content)).signed_data
    position = content.index(signed.content) + len(signed.content) - 1
    (tmp_path / "bad.der").write_bytes(
        content[:position] + bytes((content[position] ^ 1,)) + content[position + 1 :]
    )
    bad = subprocess.run([*command, str(tmp_path / "bad.der")], capture_output=True, check=False)
    assert bad.returncode != 0
