"""The verdict rules of the verification report (issue #3)."""

from __future__ import annotations

from cardreader.verify.report import Check, CheckKind, CheckStatus, Verdict, VerificationReport

P, F, U = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.UNKNOWN


def _report(
    chain: CheckStatus = P, genuine: CheckStatus | None = P, **extra: CheckStatus
) -> VerificationReport:
    checks = [
        Check(CheckKind.DG_HASH, P, "hash matches", "DG1"),
        Check(CheckKind.DG_HASH, extra.get("dg2", P), "hash", "DG2"),
        Check(CheckKind.SOD_SIGNED_ATTRIBUTES, P, "ok"),
        Check(CheckKind.SOD_SIGNATURE, extra.get("signature", P), "ok"),
        Check(CheckKind.DS_CERTIFICATE, extra.get("ds", P), "valid"),
        Check(CheckKind.CHAIN, chain, "chain"),
    ]
    if genuine is not None:
        checks.append(Check(CheckKind.CHIP_AUTHENTICATION, genuine, "ca"))
    return VerificationReport(tuple(checks))


def test_everything_proven_is_verified() -> None:
    assert _report().verdict is Verdict.VERIFIED


def test_unknown_chain_is_untrusted_and_a_broken_one_invalid() -> None:
    assert _report(chain=U).verdict is Verdict.UNTRUSTED
    assert _report(chain=F).verdict is Verdict.INVALID


def test_any_failed_proof_is_invalid() -> None:
    assert _report(dg2=F).verdict is Verdict.INVALID
    assert _report(signature=F, chain=U).verdict is Verdict.INVALID
    assert _report(ds=F).verdict is Verdict.INVALID
    assert _report(genuine=F).verdict is Verdict.INVALID


def test_genuineness_unproven_is_untrusted_unless_offline() -> None:
    report = _report(genuine=None)
    assert report.verdict is Verdict.UNTRUSTED
    offline = VerificationReport(report.checks, genuineness_required=False)
    assert offline.verdict is Verdict.VERIFIED


def test_missing_integrity_checks_never_verify() -> None:
    assert (
        VerificationReport((Check(CheckKind.CHAIN, P, "chain"),), False).verdict
        is Verdict.UNTRUSTED
    )


def test_unread_data_groups_do_not_block_but_unproven_ones_do() -> None:
    base = _report().checks
    unread = Check(CheckKind.DG_HASH, CheckStatus.NOT_SUPPORTED, "not read", "DG3")
    assert VerificationReport((*base, unread)).verdict is Verdict.VERIFIED
    uncovered = Check(CheckKind.DG_HASH, U, "not covered by EF.SOD", "DG15")
    assert VerificationReport((*base, uncovered)).verdict is Verdict.UNTRUSTED
    only_unread = (*(c for c in base if c.kind is not CheckKind.DG_HASH), unread)
    assert VerificationReport(only_unread).verdict is Verdict.UNTRUSTED
