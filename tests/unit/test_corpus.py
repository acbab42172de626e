"""The corpus of public test material no one here made (issue 11 item 4; sources and terms in
tests/vectors/README.md). Each case states the exact outcome: the verdict, every check's
status, the findings. CI runs them all; pytest's count of this module is the corpus count.

- the German CSCA master list of 2024-12-19, signed by the BSI: it must verify and anchor;
- test and specimen documents of issuers (BSI 2013 and Bundesdruckerei 2008 test passports,
  the Dutch SDU specimen of 2006, an ETSI plug-test EF.SOD): everything provable holds and
  the chain is unknown, since their test CSCAs are not published, so UNTRUSTED, never
  INVALID; the Bundesdruckerei Document Signer has no keyUsage extension, a finding;
- samples that must fail: the BSI EF.SOD with eContentType rewritten to id-data after signing
  (pymrtd's), JMRTD's EF.CardSecurity whose Chip Authentication key is not a
  SubjectPublicKeyInfo;
- specimen MRZs of eight documents.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cardreader.files.ids import Ef
from cardreader.lds.files import load_ef_files
from cardreader.mrz import parse_mrz
from cardreader.verify.passive import card_security_checks, verify_files
from cardreader.verify.report import (
    CheckKind,
    CheckStatus,
    FindingKind,
    Verdict,
    VerificationReport,
)
from cardreader.verify.signature import parse_certificate
from cardreader.verify.sod import parse_sod
from cardreader.verify.trust import (
    MasterList,
    TrustStore,
    UntrustedMasterListError,
    parse_master_list,
)
from tests.vectors import (
    BSI_BDR_2008,
    BSI_DATASET,
    DE_MASTER_LIST,
    ETSI_PLUGTEST_SOD,
    JMRTD_CARD_SECURITY,
    MRZ_SPECIMENS,
    NL_SDU_2006,
    PYMRTD_ID_DATA_SOD,
)

P, F, U, N = (
    CheckStatus.PASSED,
    CheckStatus.FAILED,
    CheckStatus.UNKNOWN,
    CheckStatus.NOT_SUPPORTED,
)


@cache
def master_list() -> MasterList:
    return parse_master_list(DE_MASTER_LIST.read_bytes())


@cache
def german_trust() -> TrustStore:
    return TrustStore(master_list().certificates)


def statuses(report: VerificationReport) -> list[tuple[str, CheckStatus]]:
    return [(check.title, check.status) for check in report.checks]


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_german_master_list_verifies_and_anchors() -> None:
    listed = master_list()
    assert (len(listed.certificates), listed.skipped) == (551, 0)
    assert len({c.subject.country for c in listed.certificates}) == 109
    assert str(listed.signer.subject) == (
        "Common Name: CSCA Master List Signer, Serial Number: 0039, "
        "Organizational Unit: bsi, Organization: bund, Country: DE"
    )
    assert str(listed.signer_issuer.subject) == (
        "Common Name: csca-germany, Organizational Unit: bsi, Organization: bund, Country: DE"
    )
    assert TrustStore.load(master_lists=[DE_MASTER_LIST]).anchors == german_trust().anchors


def test_german_master_list_with_a_changed_byte_is_refused() -> None:
    data = bytearray(DE_MASTER_LIST.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside a certificate the list's signature covers
    with pytest.raises(
        UntrustedMasterListError,
        match=r"^master list refused: its message digest does not match the list$",
    ):
        parse_master_list(bytes(data))


UNTRUSTED_TEST_DOCUMENTS = [
    (
        "bsi-tr03105-5 (2013)",
        BSI_DATASET,
        at(2014, 6, 1),
        "D",
        [
            ("dg-hash DG1", P),
            ("dg-hash DG2", P),
            ("dg-hash DG3", P),
            ("dg-hash DG4", P),
            ("dg-hash DG14", P),
            ("dg-hash DG15", U),
            ("sod-signed-attributes content-type", P),
            ("sod-signed-attributes message-digest", P),
            ("sod-signature", P),
            ("ds-certificate validity", P),
            ("ds-certificate key-usage", P),
            ("chain", U),
            ("crl", U),
            ("country", U),
        ],
        [],
    ),
    (
        "bsi-bdr-2008",
        BSI_BDR_2008,
        at(2008, 6, 1),
        "D",
        [
            ("dg-hash DG1", P),
            ("dg-hash DG2", P),
            ("dg-hash DG3", P),
            ("dg-hash DG4", U),
            ("dg-hash DG14", P),
            ("dg-hash DG15", U),
            ("sod-signed-attributes content-type", P),
            ("sod-signed-attributes message-digest", P),
            ("sod-signature", P),
            ("ds-certificate validity", P),
            ("ds-certificate key-usage", P),
            ("chain", U),
            ("crl", U),
            ("country", U),
        ],
        [FindingKind.DS_KEY_USAGE_ABSENT],
    ),
    (
        "nl-sdu-2006",
        NL_SDU_2006,
        at(2007, 1, 1),
        "NLD",
        [
            ("dg-hash DG1", P),
            ("dg-hash DG2", P),
            ("dg-hash DG15", P),
            ("sod-signed-attributes content-type", P),
            ("sod-signed-attributes message-digest", P),
            ("sod-signature", P),
            ("ds-certificate validity", P),
            ("ds-certificate key-usage", P),
            ("chain", U),
            ("crl", U),
            ("country", U),
        ],
        [],
    ),
]


@pytest.mark.parametrize(
    ("folder", "moment", "state", "expected", "findings"),
    [case[1:] for case in UNTRUSTED_TEST_DOCUMENTS],
    ids=[case[0] for case in UNTRUSTED_TEST_DOCUMENTS],
)
def test_test_documents_are_untrusted_never_invalid(
    folder: Path,
    moment: datetime,
    state: str,
    expected: list[tuple[str, CheckStatus]],
    findings: list[FindingKind],
) -> None:
    """Hashes and signature hold; the test CSCA is in no published list, so UNTRUSTED."""
    report = verify_files(load_ef_files(folder), german_trust(), moment, state)
    assert statuses(report) == expected
    assert [finding.kind for finding in report.findings] == findings
    assert report.verdict is Verdict.UNTRUSTED


def test_etsi_plugtest_sod_reuses_the_bsi_data_groups_2_to_4() -> None:
    sod = ETSI_PLUGTEST_SOD.joinpath("EF_SOD.bin").read_bytes()
    files = {
        Ef.SOD: sod,
        **{Ef[f"DG{n}"]: BSI_DATASET.joinpath(f"Datagroup{n}.bin").read_bytes() for n in (2, 3, 4)},
    }
    report = verify_files(files, german_trust(), at(2011, 12, 1), "D")
    assert statuses(report) == [
        ("dg-hash DG1", N),
        ("dg-hash DG2", P),
        ("dg-hash DG3", P),
        ("dg-hash DG4", P),
        ("dg-hash DG14", N),
        ("dg-hash DG15", N),
        ("sod-signed-attributes content-type", P),
        ("sod-signed-attributes message-digest", P),
        ("sod-signature", P),
        ("ds-certificate validity", P),
        ("ds-certificate key-usage", P),
        ("chain", U),
        ("crl", U),
        ("country", U),
    ]
    assert report.verdict is Verdict.UNTRUSTED
    certificate = ETSI_PLUGTEST_SOD.joinpath("dsc_de_0130846f2b3e.cer").read_bytes()
    assert parse_sod(sod).ds_certificate == parse_certificate(certificate)


def test_id_data_written_after_signing_is_invalid() -> None:
    """The quirk is parsed (a finding), but the signature no longer covers the attributes."""
    files: dict[Ef, bytes] = {Ef.SOD: PYMRTD_ID_DATA_SOD.joinpath("EF_SOD.bin").read_bytes()}
    files |= {
        Ef[f"DG{n}"]: BSI_DATASET.joinpath(f"Datagroup{n}.bin").read_bytes()
        for n in (1, 2, 3, 4, 14)
    }
    report = verify_files(files, TrustStore(), at(2014, 6, 1), "D")
    (signature,) = report.of_kind(CheckKind.SOD_SIGNATURE)
    assert (signature.status, signature.reason) == (
        F,
        "RSASSA-PSS SHA-256 signature does not verify with the DS certificate",
    )
    assert [finding.kind for finding in report.findings] == [FindingKind.CONTENT_TYPE]
    assert report.verdict is Verdict.INVALID


def test_jmrtd_card_security_sample_has_a_malformed_key_info() -> None:
    data = JMRTD_CARD_SECURITY.joinpath("EF_CardSecurity.bin").read_bytes()
    result = card_security_checks(data, german_trust(), at(2016, 3, 20))
    assert [(c.title, c.status, c.reason) for c in result.checks] == [
        (
            "card-security security-infos",
            F,
            "malformed SecurityInfos: ChipAuthenticationPublicKeyInfo: 1 element(s) after the "
            "last field of a SEQUENCE",
        ),
        (
            "card-security signed-attributes",
            F,
            "EF.CardSecurity has no signed attributes (RFC 5652 §5.3, ICAO 9303-10 §4.6.2.2)",
        ),
        ("card-security signature", P, "ECDSA SHA-256 signature by the Document Signer is valid"),
        ("card-security ds-certificate validity", P, "valid 2016-03-08 to 2016-04-07"),
        (
            "card-security ds-certificate key-usage",
            P,
            "no keyUsage extension: the key is not restricted (RFC 5280 §4.2.1.3)",
        ),
        ("card-security chain", U, "no CSCA in the trust store for Common Name: CSCA, Country: UT"),
        ("crl EF.CardSecurity", U, "no CSCA anchors the DS, so no CRL can be authenticated"),
    ]


def _specimens() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(MRZ_SPECIMENS.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("specimen", _specimens(), ids=lambda s: str(s["source"])[:40])
def test_specimen_mrz(specimen: dict[str, Any]) -> None:
    mrz = parse_mrz(specimen["mrz"])
    fields = ("issuing_state", "document_number", "date_of_birth", "date_of_expiry")
    assert {field: getattr(mrz, field) for field in fields} == {f: specimen[f] for f in fields}
    assert (mrz.format.name, mrz.primary_identifier, mrz.valid) == (
        specimen["format"],
        specimen["primary_identifier"],
        specimen["valid"],
    )
