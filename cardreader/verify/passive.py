"""Passive authentication: prove the data groups were issued by the document's state.

The checks of ICAO 9303-11 §5.1 and 9303-12 §5-7, each reported as a :class:`Check`:
every data group hash against EF.SOD; the SOD's signed attributes (content type and
message digest, RFC 5652 §5.4, §11); the SOD signature with the Document Signer (DS)
certificate; that certificate's validity at time T and its digitalSignature key usage; the
chain DS → CSCA from the trust store; revocation by the CSCA's CRL; and the CSCA's country
against the issuing state of the document (DG1). When the chip gave EF.CardSecurity, its
signed attributes, signature, DS certificate, chain and CRL are checked the same way
(kind ``card-security``, BSI TR-03110-3 §A.1.2.5): the keys PACE-CAM and Chip
Authentication used from it are only as good as that proof.

Time T is now unless the caller asks for another. The shell model is applied: DS and CSCA
must both be valid at T, and the DS must have been issued while the CSCA was valid
(ICAO 9303-12 §5.3: a CSCA certificate outlives every DS it issued).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cardreader.errors import ParseError, UnsupportedProtocolError
from cardreader.files.ids import Ef
from cardreader.verify.card_security import (
    parse_card_security,
    parse_card_security_signed_data,
)
from cardreader.verify.report import (
    Check,
    CheckKind,
    CheckStatus,
    Finding,
    FindingKind,
    VerificationReport,
)
from cardreader.verify.signature import Certificate, KeyUsage, signature_algorithm_label
from cardreader.verify.sod import (
    ContentType,
    LdsSecurityObject,
    SignedData,
    SignerMatch,
    SignerSelection,
    non_standard_content_type,
    parse_lds_security_object,
    parse_sod_signed_data,
)
from cardreader.verify.trust import TrustStore

PASSED, FAILED = CheckStatus.PASSED, CheckStatus.FAILED
SOD_FILE = "EF.SOD"
CARD_SECURITY_FILE = "EF.CardSecurity"
_CARD_SECURITY_ROLES = {
    CheckKind.SOD_SIGNED_ATTRIBUTES: "signed-attributes",
    CheckKind.SOD_SIGNATURE: "signature",
    CheckKind.DS_CERTIFICATE: "ds-certificate",
    CheckKind.CHAIN: "chain",
}
"""What each check of a signed file is called under kind ``card-security``."""
_CONTENT_NAMES = {
    ContentType.LDS_SECURITY_OBJECT: "the LDS security object",
    ContentType.SECURITY_OBJECT: "the SecurityInfos of EF.CardSecurity",
}
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
        lso = signed.decoded_content(parse_lds_security_object)
    except UnsupportedProtocolError as exc:
        return [Check(CheckKind.DG_HASH, NOT_SUPPORTED, f"security object: {exc}")]
    except ParseError as exc:
        return [Check(CheckKind.DG_HASH, FAILED, f"the security object is malformed: {exc}")]
    present = {n for n, ef in DATA_GROUPS.items() if ef in files}
    return [
        data_group_hash_check(lso, n, files.get(DATA_GROUPS[n]), DATA_GROUPS[n] in absent)
        for n in sorted(lso.hashes.keys() | present)
    ]


def data_group_hash_check(
    lso: LdsSecurityObject, number: int, data: bytes | None, absent: bool
) -> Check:
    """Data group ``number`` (``data``, None when not read; ``absent``: the chip said it has
    none) against its hash in EF.SOD's security object (ICAO 9303-11 §5.1 step 3)."""
    covered = lso.hashes
    algorithm = lso.hash_algorithm
    subject = f"DG{number}"
    if data is None and absent:
        reason = "listed in EF.SOD, but the chip has no such file"
        return Check(CheckKind.DG_HASH, UNKNOWN, reason, subject)
    if data is None:
        reason = "listed in EF.SOD, not read: nothing from it is used"
        return Check(CheckKind.DG_HASH, NOT_SUPPORTED, reason, subject)
    if number not in covered:
        reason = "not covered by EF.SOD: its content is unproven"
        return Check(CheckKind.DG_HASH, UNKNOWN, reason, subject)
    if algorithm.digest(data) == covered[number]:
        return Check(CheckKind.DG_HASH, PASSED, f"{algorithm.label} matches EF.SOD", subject)
    reason = f"{algorithm.label} differs from EF.SOD: the data was altered"
    return Check(CheckKind.DG_HASH, FAILED, reason, subject)


def _signed_attribute_checks(
    signed: SignedData, file: str, expected: ContentType
) -> tuple[list[Check], list[Finding]]:
    """Content type and message digest attributes (RFC 5652 §5.4, §11.1; ICAO 9303-10
    §4.6.2.2). The content-type attribute must equal the eContentType; an eContentType other
    than ``expected`` (the SOD's content already parsed as its object) is a finding."""
    info = signed.signer_info
    kind = CheckKind.SOD_SIGNED_ATTRIBUTES
    if info.signed_attributes is None:
        reason = f"{file} has no signed attributes (RFC 5652 §5.3, ICAO 9303-10 §4.6.2.2)"
        return [Check(kind, FAILED, reason)], []
    checks = []
    findings = []
    if info.content_type != signed.content_type:
        reason = (
            f"content type attribute is {info.content_type}, not the eContentType "
            f"{signed.content_type} (RFC 5652 §11.1)"
        )
        checks.append(Check(kind, FAILED, reason, "content-type"))
    elif signed.content_type == expected.value:
        reason = f"content type is {_CONTENT_NAMES[expected]}"
        checks.append(Check(kind, PASSED, reason, "content-type"))
    else:
        described = non_standard_content_type(signed)
        reason = f"content type {described}, as the eContentType; the content parses as expected"
        checks.append(Check(kind, PASSED, reason, "content-type"))
        detail = (
            f"eContentType and content-type attribute are {described}, "
            f"not {expected.value} (ICAO 9303-10 §4.6.2.1); the content is an LDSSecurityObject"
        )
        findings.append(Finding(FindingKind.CONTENT_TYPE, file, detail))
    label = info.digest_algorithm.label
    if info.message_digest == signed.content_digest():
        reason = f"{label} of the security object matches"
        checks.append(Check(kind, PASSED, reason, "message-digest"))
    elif info.message_digest is None:
        checks.append(Check(kind, FAILED, "no message digest attribute", "message-digest"))
    else:
        reason = f"{label} of the security object differs: the hashes were altered"
        checks.append(Check(kind, FAILED, reason, "message-digest"))
    return checks, findings


def _signature_check(
    signed: SignedData, selection: SignerSelection | None, file: str
) -> tuple[Check, list[Finding]]:
    """The signature with the certificate the signer identifier selects (RFC 5652 §5.6).

    A single embedded certificate named but for the order of its issuer's RDNs is used, and
    a valid signature with it is a finding (docs/verification.md §3.1).
    """
    kind = CheckKind.SOD_SIGNATURE
    if selection is None and len(signed.certificates) == 1:
        reason = (
            f"the signer identifier does not name the one certificate {file} carries "
            "(ICAO 9303-10 §4.6.2: the DS certificate is in the SOD): altered or malformed"
        )
        return Check(kind, FAILED, reason), []
    if selection is None:
        return Check(kind, UNKNOWN, f"the Document Signer certificate is not in {file}"), []
    label = signature_algorithm_label(signed.signer_info.signature_algorithm)
    reordered = selection.match is SignerMatch.RDN_ORDER
    using = (
        f"the one certificate {file} carries, named with its issuer's RDNs in another order"
        if reordered
        else "the DS certificate"
    )
    try:
        valid = signed.signature_valid(selection.certificate)
    except UnsupportedProtocolError as exc:
        return Check(kind, NOT_SUPPORTED, f"cannot verify: {exc}"), []
    except ParseError as exc:
        return Check(kind, FAILED, f"malformed key or algorithm: {exc}"), []
    if not valid:
        return Check(kind, FAILED, f"{label} signature does not verify with {using}"), []
    if not reordered:
        return Check(kind, PASSED, f"{label} signature by the Document Signer is valid"), []
    named = signed.signer_info.signer.issuer
    assert named is not None  # an issuerAndSerialNumber: only it can be reordered
    detail = (
        f"issuerAndSerialNumber lists the issuer's RDNs as {', '.join(named.rdn_types)}, "
        f"the certificate as {', '.join(selection.certificate.issuer.rdn_types)}: another "
        "name for RFC 5280 §7.1, with the same attributes and serial number; the signature "
        f"verifies with the one certificate {file} carries"
    )
    finding = Finding(FindingKind.SIGNER_IDENTIFIER_NAME_ORDER, file, detail)
    return Check(kind, PASSED, f"{label} signature is valid with {using}"), [finding]


def _certificate_checks(
    ds: Certificate | None, at: datetime, file: str
) -> tuple[list[Check], list[Finding]]:
    """DS validity at T and key usage (ICAO 9303-12 §7.1.1).

    A keyUsage without digitalSignature forbids signing documents: failed. No keyUsage at
    all restricts nothing (RFC 5280 §4.2.1.3) but ICAO 9303-12 §7.1.1 requires one: a
    finding (older test documents of genuine issuers lack it, docs/verification.md §3.3).
    """
    kind = CheckKind.DS_CERTIFICATE
    if ds is None:
        return [Check(kind, UNKNOWN, "no Document Signer certificate", "validity")], []
    span = f"{_date(ds.not_before)} to {_date(ds.not_after)}"
    if at > ds.not_after:
        validity = Check(kind, FAILED, f"expired: valid {span}, checked at {_date(at)}", "validity")
    elif at < ds.not_before:
        reason = f"not yet valid: valid {span}, checked at {_date(at)}"
        validity = Check(kind, FAILED, reason, "validity")
    else:
        validity = Check(kind, PASSED, f"valid {span}", "validity")
    findings = []
    if ds.key_usage is None:
        reason = "no keyUsage extension: the key is not restricted (RFC 5280 §4.2.1.3)"
        usage = Check(kind, PASSED, reason, "key-usage")
        detail = "the Document Signer certificate has no keyUsage extension (ICAO 9303-12 §7.1.1)"
        findings.append(Finding(FindingKind.DS_KEY_USAGE_ABSENT, file, detail))
    elif KeyUsage.DIGITAL_SIGNATURE in ds.key_usage:
        usage = Check(kind, PASSED, "keyUsage allows digitalSignature", "key-usage")
    else:
        usage = Check(kind, FAILED, "keyUsage lacks digitalSignature", "key-usage")
    return [validity, usage], findings


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


@dataclass(frozen=True, slots=True)
class PassiveResult:
    """The checks of passive authentication and the findings on the way."""

    checks: tuple[Check, ...]
    findings: tuple[Finding, ...] = ()


Chains = dict[bytes, tuple[Check, Certificate | None]]
"""The chain checks of one verification by the DS certificate's DER (empty: none): EF.SOD
and EF.CardSecurity usually carry the same DS, whose signature is then verified once."""


def _signed_object_checks(
    signed: SignedData,
    file: str,
    expected: ContentType,
    trust: TrustStore,
    at: datetime,
    chains: Chains,
) -> tuple[list[Check], list[Finding], Certificate | None, Certificate | None]:
    """Signed attributes, signature, DS certificate, chain and CRL of one signed file;
    also returns the DS certificate and the CSCA that anchors it (if any)."""
    selection = signed.select_signer()
    ds = None if selection is None else selection.certificate
    key = b"" if ds is None else ds.der
    if key not in chains:
        chains[key] = _chain_check(ds, trust, at)
    chain, anchor = chains[key]
    attributes, attribute_findings = _signed_attribute_checks(signed, file, expected)
    signature, signature_findings = _signature_check(signed, selection, file)
    certificate, certificate_findings = _certificate_checks(ds, at, file)
    checks = [*attributes, signature, *certificate, chain, _crl_check(ds, anchor, trust, at)]
    return checks, [*attribute_findings, *signature_findings, *certificate_findings], ds, anchor


def _as_card_security(check: Check) -> Check:
    """A check of EF.CardSecurity's SignedData, under kind ``card-security`` (CRL: its own)."""
    if check.kind is CheckKind.CRL:
        return Check(CheckKind.CRL, check.status, check.reason, CARD_SECURITY_FILE)
    role = _CARD_SECURITY_ROLES[check.kind]
    subject = f"{role} {check.subject}".strip()
    return Check(CheckKind.CARD_SECURITY, check.status, check.reason, subject)


def card_security_checks(
    data: bytes, trust: TrustStore, at: datetime, chains: Chains | None = None
) -> PassiveResult:
    """EF.CardSecurity's signed attributes, signature, DS certificate, chain and CRL, like
    EF.SOD's, and its SecurityInfos (BSI TR-03110-3 §A.1.2.5). The signature is checked even
    when the SecurityInfos are malformed, as EF.SOD's is with a malformed security object.
    ``chains``: those already checked in this verification (see :data:`Chains`)."""
    kind = CheckKind.CARD_SECURITY
    try:
        signed = parse_card_security_signed_data(data)
    except UnsupportedProtocolError as exc:
        return PassiveResult((Check(kind, NOT_SUPPORTED, f"EF.CardSecurity: {exc}"),))
    except ParseError as exc:
        return PassiveResult((Check(kind, FAILED, f"EF.CardSecurity is malformed: {exc}"),))
    try:
        count = parse_card_security(data).security_infos.card_access.count
        content = Check(kind, PASSED, f"{count} SecurityInfos", "security-infos")
    except (ParseError, UnsupportedProtocolError) as exc:
        content = Check(kind, FAILED, f"malformed SecurityInfos: {exc}", "security-infos")
    chains = {} if chains is None else chains
    checks, findings, _, _ = _signed_object_checks(
        signed, CARD_SECURITY_FILE, ContentType.SECURITY_OBJECT, trust, at, chains
    )
    return PassiveResult(
        (content, *(_as_card_security(check) for check in checks)), tuple(findings)
    )


def passive_authentication(
    files: Mapping[Ef, bytes],
    trust: TrustStore,
    at: datetime | None = None,
    issuing_state: str | None = None,
    absent: Collection[Ef] = (),
) -> PassiveResult:
    """All passive authentication checks for the files read (EF.SOD among them).

    ``at`` must be timezone-aware (default: now). ``issuing_state`` is the MRZ code from
    DG1 (e.g. ``VNM`` or ``D``). ``absent``: files the chip answered it does not have.
    """
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the verification time must be timezone-aware")
    data = files.get(Ef.SOD)
    if data is None:
        reason = "EF.SOD was not read: nothing is proven"
        return PassiveResult((Check(CheckKind.SOD_SIGNATURE, UNKNOWN, reason),))
    try:
        signed = parse_sod_signed_data(data)
    except UnsupportedProtocolError as exc:
        return PassiveResult((Check(CheckKind.SOD_SIGNATURE, NOT_SUPPORTED, f"EF.SOD: {exc}"),))
    except ParseError as exc:
        reason = f"EF.SOD is malformed: {exc}"
        return PassiveResult((Check(CheckKind.SOD_SIGNATURE, FAILED, reason),))
    chains: Chains = {}
    checks, findings, ds, anchor = _signed_object_checks(
        signed, SOD_FILE, ContentType.LDS_SECURITY_OBJECT, trust, moment, chains
    )
    card_security = files.get(Ef.CARD_SECURITY)
    extra = (
        PassiveResult(())
        if card_security is None
        else card_security_checks(card_security, trust, moment, chains)
    )
    return PassiveResult(
        (
            *_dg_hash_checks(signed, files, absent),
            *checks,
            _country_check(ds, anchor, issuing_state),
            *extra.checks,
        ),
        (*findings, *extra.findings),
    )


def verify_files(
    files: Mapping[Ef, bytes],
    trust: TrustStore,
    at: datetime | None,
    issuing_state: str | None,
) -> VerificationReport:
    """Passive authentication of saved files; CA and AA need the chip, so they are not required."""
    result = passive_authentication(files, trust, at, issuing_state)
    return VerificationReport(result.checks, genuineness_required=False, findings=result.findings)
