"""Passive authentication: prove the data groups were issued by the document's state.

The checks of ICAO 9303-11 §5.1 and 9303-12 §5-7, each reported as a :class:`Check`:
every data group hash against EF.SOD; the SOD's signed attributes (content type and
message digest, RFC 5652 §5.4, §11); the SOD signature with the Document Signer (DS)
certificate; that certificate's validity at time T and its digitalSignature key usage; the
chain DS → CSCA from the trust store; revocation by the CSCA's CRL; and the CSCA's country
against the issuing state of the document (DG1).

Time T is now unless the caller asks for another. The shell model is applied: DS and CSCA
must both be valid at T, and the DS must have been issued while the CSCA was valid
(ICAO 9303-12 §5.3: a CSCA certificate outlives every DS it issued).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.files.ids import Ef
from cardreader.verify.report import Check, CheckKind, CheckStatus, VerificationReport
from cardreader.verify.signature import Certificate, KeyUsage, signature_algorithm_label
from cardreader.verify.sod import (
    ContentType,
    SignedData,
    parse_lds_security_object,
    parse_sod_signed_data,
)
from cardreader.verify.trust import TrustStore

PASSED, FAILED = CheckStatus.PASSED, CheckStatus.FAILED
UNKNOWN, NOT_SUPPORTED = CheckStatus.UNKNOWN, CheckStatus.NOT_SUPPORTED

DATA_GROUPS: Mapping[int, Ef] = {number: Ef[f"DG{number}"] for number in range(1, 17)}
"""Data group number → file (ICAO 9303-10 §4.6)."""

_ALPHA3_ALPHA2 = (
    "ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ ATFTF ATGAG AUSAU "
    "AUTAT AZEAZ BDIBI BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ "
    "BMUBM BOLBO BRABR BRBBB BRNBN BTNBT BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI "
    "CMRCM CODCD COGCG COKCK COLCO COMKM CPVCV CRICR CUBCU CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE "
    "DJIDJ DMADM DNKDK DOMDO DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET FINFI FJIFJ FLKFK "
    "FRAFR FROFO FSMFM GABGA GBRGB GEOGE GGYGG GHAGH GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR "
    "GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN "
    "IOTIO IRLIE IRNIR IRQIQ ISLIS ISRIL ITAIT JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH "
    "KIRKI KNAKN KORKR KWTKW LAOLA LBNLB LBRLR LBYLY LCALC LIELI LKALK LSOLS LTULT LUXLU LVALV "
    "MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH MKDMK MLIML MLTMT MMRMM MNEME MNGMN "
    "MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA NCLNC NERNE NFKNF NGANG NICNI "
    "NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE PHLPH PLWPW PNGPG POLPL "
    "PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA SDNSD SENSN SGPSG "
    "SGSGS SHNSH SJMSJ SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR SVKSK SVNSI "
    "SWESE SWZSZ SXMSX SYCSC SYRSY TCATC TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO TTOTT "
    "TUNTN TURTR TUVTV TWNTW TZATZ UGAUG UKRUA UMIUM URYUY USAUS UZBUZ VATVA VCTVC VENVE VGBVG "
    "VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW"
)
"""ISO 3166-1 alpha-3 → alpha-2 (from Debian's iso-codes 4.15), five characters per entry."""

ISSUING_STATE_COUNTRY: Mapping[str, str] = {
    **{entry[:3]: entry[3:] for entry in _ALPHA3_ALPHA2.split()},
    # ICAO 9303-3 §5: Germany is "D"; the British nationality codes are GBx.
    "D": "DE",
    **{code: "GB" for code in ("GBD", "GBN", "GBO", "GBP", "GBS")},
}
"""MRZ issuing state → the ISO 3166-1 alpha-2 code certificates carry in C."""


def _date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _dg_hash_checks(
    signed: SignedData, files: Mapping[Ef, bytes], absent: Collection[Ef]
) -> list[Check]:
    """One check per data group covered by EF.SOD or read (ICAO 9303-11 §5.1 step 3).

    EF.SOD holds the hashes of the data groups present (ICAO 9303-10 §4.6.2): one it lists
    but the chip says it lacks (6A82) contradicts the signed object, so the document
    cannot be proven whole (UNKNOWN); one merely not read (behind Terminal Authentication,
    or not needed) is NOT_SUPPORTED.
    """
    try:
        lso = parse_lds_security_object(signed.content)
    except UnsupportedProtocolError as exc:
        return [Check(CheckKind.DG_HASH, NOT_SUPPORTED, f"security object: {exc}")]
    except ParseError as exc:
        return [Check(CheckKind.DG_HASH, FAILED, f"the security object is malformed: {exc}")]
    covered = lso.hashes
    algorithm = lso.hash_algorithm
    present = {n: files[ef] for n, ef in DATA_GROUPS.items() if ef in files}
    checks = []
    for number in sorted(covered.keys() | present.keys()):
        subject = f"DG{number}"
        if number not in present and DATA_GROUPS[number] in absent:
            reason = "listed in EF.SOD, but the chip has no such file"
            checks.append(Check(CheckKind.DG_HASH, UNKNOWN, reason, subject))
        elif number not in present:
            reason = "listed in EF.SOD, not read: nothing from it is used"
            checks.append(Check(CheckKind.DG_HASH, NOT_SUPPORTED, reason, subject))
        elif number not in covered:
            reason = "not covered by EF.SOD: its content is unproven"
            checks.append(Check(CheckKind.DG_HASH, UNKNOWN, reason, subject))
        elif algorithm.digest(present[number]) == covered[number]:
            reason = f"{algorithm.label} matches EF.SOD"
            checks.append(Check(CheckKind.DG_HASH, PASSED, reason, subject))
        else:
            reason = f"{algorithm.label} differs from EF.SOD: the data was altered"
            checks.append(Check(CheckKind.DG_HASH, FAILED, reason, subject))
    return checks


def _signed_attribute_checks(signed: SignedData) -> list[Check]:
    """Content type and message digest attributes (RFC 5652 §5.4, ICAO 9303-10 §4.6.2.2)."""
    info = signed.signer_info
    kind = CheckKind.SOD_SIGNED_ATTRIBUTES
    if info.signed_attributes is None:
        return [Check(kind, FAILED, "EF.SOD has no signed attributes (ICAO 9303-10 §4.6.2.2)")]
    checks = []
    expected = ContentType.LDS_SECURITY_OBJECT.value
    if info.content_type == expected:
        checks.append(
            Check(kind, PASSED, "content type is the LDS security object", "content-type")
        )
    else:
        reason = f"content type attribute is {info.content_type}, not {expected}"
        checks.append(Check(kind, FAILED, reason, "content-type"))
    label = info.digest_algorithm.label
    if info.message_digest == signed.content_digest():
        reason = f"{label} of the security object matches"
        checks.append(Check(kind, PASSED, reason, "message-digest"))
    elif info.message_digest is None:
        checks.append(Check(kind, FAILED, "no message digest attribute", "message-digest"))
    else:
        reason = f"{label} of the security object differs: the hashes were altered"
        checks.append(Check(kind, FAILED, reason, "message-digest"))
    return checks


def _signature_check(signed: SignedData, ds: Certificate | None) -> Check:
    kind = CheckKind.SOD_SIGNATURE
    if ds is None and len(signed.certificates) == 1:
        reason = (
            "the signer identifier does not name the one certificate EF.SOD carries "
            "(ICAO 9303-10 §4.6.2: the DS certificate is in the SOD): altered or malformed"
        )
        return Check(kind, FAILED, reason)
    if ds is None:
        return Check(kind, UNKNOWN, "the Document Signer certificate is not in EF.SOD")
    label = signature_algorithm_label(signed.signer_info.signature_algorithm)
    try:
        valid = signed.signature_valid(ds)
    except UnsupportedProtocolError as exc:
        return Check(kind, NOT_SUPPORTED, f"cannot verify: {exc}")
    except ParseError as exc:
        return Check(kind, FAILED, f"malformed key or algorithm: {exc}")
    if valid:
        return Check(kind, PASSED, f"{label} signature by the Document Signer is valid")
    return Check(kind, FAILED, f"{label} signature does not verify with the DS certificate")


def _certificate_checks(ds: Certificate | None, at: datetime) -> list[Check]:
    """DS validity at T and key usage (ICAO 9303-12 §7.1.1)."""
    kind = CheckKind.DS_CERTIFICATE
    if ds is None:
        return [Check(kind, UNKNOWN, "no Document Signer certificate", "validity")]
    span = f"{_date(ds.not_before)} to {_date(ds.not_after)}"
    if at > ds.not_after:
        validity = Check(kind, FAILED, f"expired: valid {span}, checked at {_date(at)}", "validity")
    elif at < ds.not_before:
        reason = f"not yet valid: valid {span}, checked at {_date(at)}"
        validity = Check(kind, FAILED, reason, "validity")
    else:
        validity = Check(kind, PASSED, f"valid {span}", "validity")
    if ds.key_usage is None:
        usage = Check(kind, FAILED, "no keyUsage extension (ICAO 9303-12 requires it)", "key-usage")
    elif KeyUsage.DIGITAL_SIGNATURE in ds.key_usage:
        usage = Check(kind, PASSED, "keyUsage allows digitalSignature", "key-usage")
    else:
        usage = Check(kind, FAILED, "keyUsage lacks digitalSignature", "key-usage")
    return [validity, usage]


def _signs(issuer: Certificate, subject: Certificate) -> bool:
    try:
        return subject.is_signed_by(issuer)
    except (ParseError, UnsupportedProtocolError):
        return False


def _anchor_problem(ds: Certificate, anchor: Certificate, at: datetime) -> str | None:
    """Why ``anchor`` cannot vouch for ``ds`` at ``at``, or None (ICAO 9303-12 §5.3)."""
    if not anchor.valid_at(at):
        return (
            f"CSCA {anchor.subject} is not valid at {_date(at)} "
            f"(valid {_date(anchor.not_before)} to {_date(anchor.not_after)})"
        )
    if not anchor.valid_at(ds.not_before):
        return f"the DS was issued on {_date(ds.not_before)}, outside the CSCA's validity"
    if anchor.key_usage is not None and KeyUsage.KEY_CERT_SIGN not in anchor.key_usage:
        return f"CSCA {anchor.subject} may not sign certificates (keyUsage)"
    return None


def _chain_check(
    ds: Certificate | None, trust: TrustStore, at: datetime
) -> tuple[Check, Certificate | None]:
    """DS → CSCA (ICAO 9303-11 §5.1 step 1); returns the anchor when the chain holds.

    No CSCA with the DS's issuer name and key identifier → UNKNOWN. Such a CSCA whose
    signature on the DS fails, or one that does not cover T or the DS's issuance → FAILED.
    """
    kind = CheckKind.CHAIN
    if ds is None:
        return Check(kind, UNKNOWN, "no Document Signer certificate to chain"), None
    candidates = trust.issuers_of(ds)
    if not candidates:
        others = len(trust.named_as_issuer_of(ds))
        suffix = f"; {others} with that name have another key identifier" if others else ""
        return Check(kind, UNKNOWN, f"no CSCA in the trust store for {ds.issuer}{suffix}"), None
    signers = [anchor for anchor in candidates if _signs(anchor, ds)]
    if not signers:
        reason = f"the DS certificate's signature does not verify with CSCA {ds.issuer}"
        return Check(kind, FAILED, reason), None
    problems = [(_anchor_problem(ds, anchor, at), anchor) for anchor in signers]
    good = next((anchor for problem, anchor in problems if problem is None), None)
    if good is None:
        return Check(kind, FAILED, str(problems[0][0])), None
    reason = f"issued by CSCA {good.subject} (valid to {_date(good.not_after)})"
    return Check(kind, PASSED, reason), good


def _crl_check(
    ds: Certificate | None, anchor: Certificate | None, trust: TrustStore, at: datetime
) -> Check:
    """Revocation of the DS by its CSCA's CRL (RFC 5280 §6.3, ICAO 9303-12 §7.1.4)."""
    kind = CheckKind.CRL
    if ds is None or anchor is None:
        return Check(kind, UNKNOWN, "no CSCA anchors the DS, so no CRL can be authenticated")
    lists = trust.crls_of(anchor)
    if not lists:
        return Check(kind, UNKNOWN, f"no CRL available for CSCA {anchor.subject}")
    later: list[datetime] = []
    for item in lists:
        revoked_at = item.revoked.get(ds.serial_number)
        if revoked_at is not None and revoked_at <= at:
            return Check(kind, FAILED, f"the DS certificate was revoked on {_date(revoked_at)}")
        if revoked_at is not None:
            later.append(revoked_at)
    latest = max(lists, key=lambda item: item.this_update)
    reason = f"not revoked at {_date(at)} in the CRL of {_date(latest.this_update)}"
    if later:
        reason += f" (revoked later, on {_date(min(later))})"
    if latest.next_update is not None and latest.next_update < at:
        reason += f" (its next update was due {_date(latest.next_update)})"
    return Check(kind, PASSED, reason)


def _country_check(
    ds: Certificate | None, anchor: Certificate | None, issuing_state: str | None
) -> Check:
    """The CSCA's country (C) against the issuing state of the MRZ (ICAO 9303-12 §7.1.1)."""
    kind = CheckKind.COUNTRY
    if issuing_state is None:
        return Check(kind, UNKNOWN, "no issuing state given (DG1 missing or unreadable)")
    state = issuing_state.strip("<").upper()
    expected = ISSUING_STATE_COUNTRY.get(state, state)
    if anchor is not None:
        country, source = anchor.subject.country, "the CSCA"
    elif ds is not None:
        country, source = ds.issuer.country, "the DS issuer name (not anchored)"
    else:
        return Check(kind, UNKNOWN, "no certificate names a country")
    if country is None:
        return Check(kind, UNKNOWN, f"{source} names no country")
    if country != expected:
        reason = f"issued by {state} but {source} is from {country}"
        return Check(kind, FAILED, reason)
    if anchor is None:
        return Check(kind, UNKNOWN, f"{source} says {country}, as the MRZ; not proven")
    return Check(kind, PASSED, f"CSCA country {country} matches issuing state {state}")


def passive_authentication(
    files: Mapping[Ef, bytes],
    trust: TrustStore,
    at: datetime | None = None,
    issuing_state: str | None = None,
    absent: Collection[Ef] = (),
) -> tuple[Check, ...]:
    """All passive authentication checks for the files read (EF.SOD among them).

    ``at`` must be timezone-aware (default: now). ``issuing_state`` is the MRZ code from
    DG1 (e.g. ``VNM`` or ``D``). ``absent``: files the chip answered it does not have.
    """
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the verification time must be timezone-aware")
    data = files.get(Ef.SOD)
    if data is None:
        return (Check(CheckKind.SOD_SIGNATURE, UNKNOWN, "EF.SOD was not read: nothing is proven"),)
    try:
        signed = parse_sod_signed_data(data)
    except UnsupportedProtocolError as exc:
        return (Check(CheckKind.SOD_SIGNATURE, NOT_SUPPORTED, f"EF.SOD: {exc}"),)
    except ParseError as exc:
        return (Check(CheckKind.SOD_SIGNATURE, FAILED, f"EF.SOD is malformed: {exc}"),)
    ds = signed.signer_certificate
    chain, anchor = _chain_check(ds, trust, moment)
    return (
        *_dg_hash_checks(signed, files, absent),
        *_signed_attribute_checks(signed),
        _signature_check(signed, ds),
        *_certificate_checks(ds, moment),
        chain,
        _crl_check(ds, anchor, trust, moment),
        _country_check(ds, anchor, issuing_state),
    )


def verify_files(
    files: Mapping[Ef, bytes],
    trust: TrustStore,
    at: datetime | None,
    issuing_state: str | None,
) -> VerificationReport:
    """Passive authentication of saved files; CA and AA need the chip, so they are not required."""
    checks = passive_authentication(files, trust, at, issuing_state)
    return VerificationReport(checks, genuineness_required=False)
