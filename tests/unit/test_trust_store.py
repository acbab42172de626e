"""The trust store: CSCA files and folders, ICAO master lists, CRLs, lookup by issuer."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from hypothesis import given, settings
from hypothesis import strategies as st

from cardreader.errors import CardError, ParseError
from cardreader.verify.signature import parse_certificate
from cardreader.verify.trust import (
    TrustStore,
    UntrustedMasterListError,
    load_certificates,
    parse_certificates,
    parse_crl,
    parse_master_list,
)
from simulators.pki import Algorithm, Issued, Pki, crl_pem

SETTINGS = settings(max_examples=150, deadline=None)


class World:
    """Two CSCAs of one country, a DS, a master list signer and a master list."""

    def __init__(self) -> None:
        self.pki = Pki(seed=11)
        self.csca = self.pki.csca(Algorithm.ECDSA_P256, country="VN")
        self.other = self.pki.csca(Algorithm.ECDSA_BRAINPOOL_P256R1, country="DE")
        self.ds = self.pki.document_signer(self.csca, Algorithm.ECDSA_P256)
        self.ml_signer = self.pki.master_list_signer(self.csca, Algorithm.ECDSA_P256)
        self.master_list = self.pki.master_list(self.ml_signer, [self.csca, self.other])


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _resign(master_list: bytes, mutate: str) -> bytes:
    """A copy of the master list with its signature or its content altered."""
    info = cms.ContentInfo.load(master_list)
    signed = info["content"]
    if mutate == "signature":
        signer = signed["signer_infos"][0]
        signature = bytearray(signer["signature"].native)
        signature[-1] ^= 0x01
        signer["signature"] = bytes(signature)
    else:
        content = bytearray(signed["encap_content_info"]["content"].native)
        content[-10] ^= 0x01
        signed["encap_content_info"] = {
            "content_type": signed["encap_content_info"]["content_type"].native,
            "content": bytes(content),
        }
    return bytes(info.dump(force=True))


def test_master_list_is_verified_and_loaded(world: World) -> None:
    parsed = parse_master_list(world.master_list)
    assert parsed.signer == parse_certificate(world.ml_signer.der)
    assert parsed.signer_issuer == parse_certificate(world.csca.der)
    assert {c.der for c in parsed.certificates} == {world.csca.der, world.other.der}
    assert parsed.skipped == 0
    store = TrustStore()
    store.add_master_list(parsed)
    assert store.issuers_of(parse_certificate(world.ds.der)) == (parse_certificate(world.csca.der),)


def test_master_list_skips_an_unparsable_entry(world: World) -> None:
    listed = world.pki.master_list(world.ml_signer, [world.csca], extra=[b"\x30\x03\x02\x01\x00"])
    parsed = parse_master_list(listed)
    assert parsed.skipped == 1
    assert len(parsed.certificates) == 1


def test_tampered_signature_is_refused(world: World) -> None:
    with pytest.raises(UntrustedMasterListError, match="signature does not verify") as info:
        parse_master_list(_resign(world.master_list, "signature"))
    assert str(info.value).startswith("master list refused: its signature does not verify")


def test_tampered_content_is_refused(world: World) -> None:
    with pytest.raises(UntrustedMasterListError, match="message digest does not match"):
        parse_master_list(_resign(world.master_list, "content"))


def test_signer_outside_the_list_is_refused(world: World) -> None:
    listed = world.pki.master_list(world.ml_signer, [world.other])
    with pytest.raises(UntrustedMasterListError, match="not signed by any CSCA in the list"):
        parse_master_list(listed)


def test_master_list_file_through_store(world: World, tmp_path: Path) -> None:
    path = tmp_path / "list.ml"
    path.write_bytes(world.master_list)
    store = TrustStore.load(master_lists=[path])
    assert len(store.anchors) == 2
    (tmp_path / "bad.ml").write_bytes(_resign(world.master_list, "signature"))
    with pytest.raises(UntrustedMasterListError):
        TrustStore.load(master_lists=[tmp_path / "bad.ml"])


def test_a_sod_is_not_a_master_list() -> None:
    from tests.vectors import BSI_DATASET

    sod = (BSI_DATASET / "EF_SOD.bin").read_bytes()
    with pytest.raises(ParseError, match="not CSCA_MASTER_LIST"):
        parse_master_list(sod[4:])


def test_certificates_from_pem_der_and_folders(world: World, tmp_path: Path) -> None:
    (tmp_path / "a.pem").write_bytes(world.csca.pem + world.other.pem)
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "b.CER").write_bytes(world.ds.der)
    (tmp_path / "notes.txt").write_text("not a certificate")
    assert [c.der for c in load_certificates(tmp_path / "a.pem")] == [
        world.csca.der,
        world.other.der,
    ]
    assert [c.der for c in load_certificates(nested / "b.CER")] == [world.ds.der]
    assert [c.der for c in load_certificates(tmp_path)] == [
        world.csca.der,
        world.other.der,
        world.ds.der,
    ]
    store = TrustStore.load(csca=[tmp_path, tmp_path / "a.pem"])
    assert len(store.anchors) == 3  # duplicates are kept once


def test_malformed_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "junk.der").write_bytes(b"\x30\x03\x02\x01")
    with pytest.raises(ParseError):
        TrustStore.load(csca=[tmp_path / "junk.der"])
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n%%%\n")
    with pytest.raises(ParseError):
        TrustStore.load(csca=[tmp_path / "junk.pem"])
    with pytest.raises(OSError):
        TrustStore.load(csca=[tmp_path / "absent.pem"])


def test_lookup_by_name_and_key_identifier(world: World) -> None:
    twin = world.pki.csca(Algorithm.ECDSA_P256, country="VN")  # same name, another key
    twin_cert = parse_certificate(twin.der)
    store = TrustStore([parse_certificate(world.other.der), twin_cert])
    ds = parse_certificate(world.ds.der)
    assert store.issuers_of(ds) == ()
    assert store.named_as_issuer_of(ds) == (twin_cert,)
    store.add_anchor(parse_certificate(world.csca.der))
    assert store.issuers_of(ds) == (parse_certificate(world.csca.der),)


def _crl(world: World, signer: Issued, revoked: list[Issued]) -> bytes:
    return world.pki.crl(signer, revoked)


def test_crl_parsing_and_authentication(world: World, tmp_path: Path) -> None:
    der = _crl(world, world.csca, [world.ds])
    parsed = parse_crl(der)
    assert parse_crl(crl_pem(der)) == parsed
    assert parsed.issuer.country == "VN"
    assert parsed.revoked == {world.ds.serial_number: world.pki.now - timedelta(hours=1)}
    assert parsed.this_update == world.pki.now - timedelta(hours=1)
    assert parsed.next_update == parsed.this_update + timedelta(days=90)
    csca = parse_certificate(world.csca.der)
    assert parsed.is_signed_by(csca)
    assert not parsed.is_signed_by(parse_certificate(world.other.der))
    # A CRL carrying the CSCA's name but signed by another key is ignored.
    twin = world.pki.csca(Algorithm.ECDSA_P256, country="VN", subject_key_identifier=b"x" * 20)
    forged = parse_crl(_crl(world, twin, []))
    (tmp_path / "real.crl").write_bytes(der)
    (tmp_path / "forged.pem").write_bytes(crl_pem(world.pki.crl(twin)))
    store = TrustStore.load(crls=[tmp_path / "real.crl", tmp_path / "forged.pem"])
    assert store.crls_of(csca) == (parsed,)
    assert not forged.is_signed_by(csca)


def test_malformed_crl() -> None:
    with pytest.raises(ParseError):
        parse_crl(b"\x30\x00")


@pytest.mark.parametrize(
    "data",
    [
        b"-----BEGIN CERTIFICATE-----\n",
        b"-----BEGIN",
        b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        b"-----BEGIN CMS-----\n%%%%\n-----END CMS-----\n",
    ],
)
def test_broken_pem_is_a_parse_error(data: bytes) -> None:
    for parse in (parse_certificates, parse_crl, parse_master_list):
        with pytest.raises(ParseError):
            parse(data)


# -- properties ----------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=500))
def test_random_master_list(data: bytes) -> None:
    with contextlib.suppress(CardError):
        parse_master_list(data)


@SETTINGS
@given(st.data())
def test_mutated_master_list(world: World, data: st.DataObject) -> None:
    original = world.master_list
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(original) - 1))
        mutated[position] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(original)))
    for candidate in (bytes(mutated), bytes(mutated[:cut])):
        try:
            parsed = parse_master_list(candidate)
        except CardError:
            continue
        assert parsed.certificates  # a list that verifies still holds its signer's CSCA


@SETTINGS
@given(st.binary(max_size=300))
def test_random_crl_and_certificate(data: bytes) -> None:
    with contextlib.suppress(CardError):
        parse_crl(data)
    with contextlib.suppress(CardError):
        parse_certificate(data)


@SETTINGS
@given(st.data())
def test_mutated_crl(world: World, data: st.DataObject) -> None:
    original = _crl(world, world.csca, [world.ds])
    mutated = bytearray(original)
    position = data.draw(st.integers(0, len(original) - 1))
    mutated[position] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(CardError):
        parse_crl(bytes(mutated))
