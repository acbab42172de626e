"""The ``cccd`` command line: list readers, read and verify a chip, verify saved files,
send raw APDUs.

Exit codes: 0 VERIFIED (or success), 1 INVALID, 3 UNTRUSTED, 2 usage or I/O error (one line
on stderr), 4 reader or card error, 5 access denied. ``read`` and ``verify`` print who the
card says the holder is (every DG1 and DG13 field, :mod:`cardreader.lds.fields`) on the
user's own terminal, unless ``--no-identity``; nothing personal is ever logged, and raw
files, the photo and JSON are written only where the user asks.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import click

from cardreader.access.credentials import (
    Credentials,
    MrzKey,
    credentials_from_id,
    credentials_from_qr,
)
from cardreader.access.strategy import AccessReport
from cardreader.errors import AccessDeniedError, CardError, ParseError, TransportError
from cardreader.files.ids import Ef
from cardreader.lds.dg1 import parse_dg1
from cardreader.lds.dg2 import parse_dg2
from cardreader.lds.dg13 import Dg13, parse_dg13
from cardreader.lds.fields import dg13_fields, dg13_raw_fields, mrz_fields
from cardreader.lds.files import load_ef_files
from cardreader.lds.image import face_as_jpeg, face_as_png
from cardreader.log import TRAFFIC
from cardreader.mrz import Mrz, parse_mrz
from cardreader.qr import parse_cccd_qr, parse_ddmmyyyy
from cardreader.transport import pcsc
from cardreader.verified_read import read_and_verify
from cardreader.verify.passive import verify_files
from cardreader.verify.report import Verdict, VerificationReport
from cardreader.verify.trust import TrustStore

EXIT_USAGE = 2
EXIT_CARD = 4
EXIT_ACCESS = 5
VERDICT_EXIT_CODES: Mapping[Verdict, int] = MappingProxyType(
    {Verdict.VERIFIED: 0, Verdict.INVALID: 1, Verdict.UNTRUSTED: 3}
)
"""The exit code of ``cccd read`` and ``cccd verify`` for each verdict."""
QR_MAX_BYTES = 2953
"""The most a QR code can hold: version 40, byte mode, error correction level L."""
MAX_TIMEOUT = 3600.0
"""The longest ``--timeout`` accepted, in seconds."""


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class OneLineErrors(click.Group):
    """A command group whose usage errors are one line, ``error: ...``, with exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


@contextmanager
def _card_errors() -> Iterator[None]:
    """Turn library errors into a one-line message and an exit code."""
    try:
        yield
    except AccessDeniedError as exc:
        _fail(f"the chip could not be opened: {exc.reason}", EXIT_ACCESS)
    except TransportError as exc:
        _fail(str(exc), EXIT_CARD)
    except ParseError as exc:
        _fail(str(exc), EXIT_USAGE)
    except CardError as exc:
        _fail(str(exc), EXIT_CARD)


@click.group(cls=OneLineErrors)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--traffic",
    is_flag=True,
    help="Log raw APDUs (TRAFFIC level). Never on real people's cards in production.",
)
@click.version_option(package_name="cccd-toolkit")
def main(verbose: int, traffic: bool) -> None:
    """Read and verify Vietnam's chip citizen ID card (CCCD)."""
    level = (
        TRAFFIC if traffic else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
def readers() -> None:
    """List the PC/SC readers."""
    with _card_errors():
        names = pcsc.list_readers()
    if not names:
        click.echo("no reader found", err=True)
    for name in names:
        click.echo(name)


def _pick_reader(name: str | None) -> str:
    names = pcsc.list_readers()
    if not names:
        _fail("no PC/SC reader is connected", EXIT_CARD)
    if name is None:
        return names[0]
    matches = [n for n in names if name == n] or [n for n in names if name.lower() in n.lower()]
    if not matches:
        _fail(f"no reader matches {name!r}; readers: {', '.join(names)}", EXIT_CARD)
    return matches[0]


def _read_qr_file(name: str) -> bytes:
    """The QR payload saved in file ``name``; never reads more than a QR code can hold."""
    try:
        with open(name, "rb") as file:
            payload = file.read(QR_MAX_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read the QR file {name!r}: {exc.strerror}", EXIT_USAGE)
    if len(payload) > QR_MAX_BYTES:
        _fail(
            f"the QR file {name!r} is longer than a QR code can hold ({QR_MAX_BYTES} bytes)",
            EXIT_USAGE,
        )
    return payload


def _positive_seconds(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    """Check ``--timeout``: above 0 and at most ``MAX_TIMEOUT`` seconds (so not nan)."""
    if not 0 < value <= MAX_TIMEOUT:
        raise click.BadParameter(f"give seconds above 0 and at most {MAX_TIMEOUT:g}, not {value}")
    return value


def _credentials(
    can: str | None,
    mrz: str | None,
    id_number: str | None,
    dob: str | None,
    issued: str | None,
    qr: str | None,
) -> Credentials:
    if qr is not None:
        payload = _read_qr_file(qr[1:]) if qr.startswith("@") else qr
        return credentials_from_qr(parse_cccd_qr(payload))
    if id_number is not None:
        born = parse_ddmmyyyy(dob) if dob else None
        issue = parse_ddmmyyyy(issued) if issued else None
        return credentials_from_id(id_number, born, issue)
    keys: tuple[MrzKey, ...] = ()
    if mrz is not None:
        parts = mrz.split(",")
        keys = (MrzKey(*parts),) if len(parts) == 3 else (MrzKey.from_mrz(parse_mrz(mrz)),)
    return Credentials(can=can, mrz_keys=keys)


def summary(access: AccessReport, files: Mapping[Ef, bytes]) -> dict[str, Any]:
    """What a read did, without personal data: access method, files and sizes."""
    return {
        "access": {
            "method": access.method.value,
            "protocol": access.protocol,
            "password": access.password,
            "parameter_id": access.parameter_id,
            "pace_offered": access.pace_offered,
            "downgraded": access.downgraded,
            "fallback_reason": access.fallback_reason,
            "attempts": list(access.attempts),
        },
        "files": {ef.file_name: len(data) for ef, data in files.items()},
    }


def save_files(files: Mapping[Ef, bytes], out: Path) -> None:
    """Write each raw EF as ``EF_COM.bin``, ``DG1.bin``, … ``EF_SOD.bin`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for ef, data in files.items():
        (out / ef.file_name).write_bytes(data)


def trust_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--csca``, ``--masterlist``, ``--crl`` and ``--at``, shared by read and verify."""
    options = (
        click.option(
            "--csca",
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help="CSCA certificate (PEM or DER) or a folder of them; repeatable.",
        ),
        click.option(
            "--masterlist",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="ICAO CSCA master list (its own signature is verified); repeatable.",
        ),
        click.option(
            "--crl",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="CRL of a CSCA (DER or PEM); repeatable.",
        ),
        click.option(
            "--at",
            type=click.DateTime(formats=["%Y-%m-%d"]),
            help="Judge certificate validity on this date (YYYY-MM-DD, UTC) instead of now.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _load_trust(
    csca: tuple[Path, ...], masterlist: tuple[Path, ...], crl: tuple[Path, ...]
) -> TrustStore:
    try:
        return TrustStore.load(csca, masterlist, crl)
    except OSError as exc:
        _fail(f"cannot read {exc.filename}: {exc.strerror}", EXIT_USAGE)
    except CardError as exc:
        _fail(str(exc), EXIT_USAGE)


def _moment(at: datetime | None) -> datetime:
    """``--at`` as a UTC time, or now."""
    return at.replace(tzinfo=UTC) if at is not None else datetime.now(UTC)


PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
"""``--photo`` saves PNG or JPEG, chosen by the file name."""


def _photo_path(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """Check ``--photo``: a .png, .jpg or .jpeg file name."""
    if value is not None and value.suffix.lower() not in PHOTO_SUFFIXES:
        raise click.BadParameter(f"give a .png, .jpg or .jpeg file name, not {value.name!r}")
    return value


def identity_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--no-identity`` and ``--photo``, shared by read and verify."""
    options = (
        click.option(
            "--no-identity",
            is_flag=True,
            help="Do not print the holder's identity (DG1, DG13) in text or JSON.",
        ),
        click.option(
            "--photo",
            type=click.Path(dir_okay=False, path_type=Path),
            callback=_photo_path,
            help="Save the face of DG2 as PNG or JPEG (by the file name's suffix).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True, slots=True)
class _Identity:
    """DG1 and DG13 as parsed from the files read; a file that does not parse is a problem."""

    mrz: Mrz | None
    dg13: Dg13 | None
    problems: tuple[str, ...]

    @classmethod
    def of(cls, files: Mapping[Ef, bytes]) -> _Identity:
        problems: list[str] = []
        mrz = dg13 = None
        try:
            mrz = parse_dg1(files[Ef.DG1]) if Ef.DG1 in files else None
        except ParseError as exc:
            problems.append(f"DG1 cannot be shown: {exc}")
        try:
            dg13 = parse_dg13(files[Ef.DG13]) if Ef.DG13 in files else None
        except ParseError as exc:
            problems.append(f"DG13 cannot be shown: {exc}")
        return cls(mrz, dg13, tuple(problems))


def identity_json(files: Mapping[Ef, bytes]) -> dict[str, Any]:
    """The ``identity`` object: every DG1 and DG13 field by name, unknown DG13 numbers raw."""
    identity = _Identity.of(files)
    dg13: dict[str, Any] | None = None
    if identity.dg13 is not None:
        dg13 = {item.name: item.value for item in dg13_fields(identity.dg13)}
        dg13["unknown_fields"] = [
            {"number": raw.number, "hex": raw.hex, "text": raw.text}
            for raw in dg13_raw_fields(identity.dg13)
        ]
    return {
        "dg1": None
        if identity.mrz is None
        else {item.name: item.value for item in mrz_fields(identity.mrz)},
        "dg13": dg13,
        "problems": list(identity.problems),
    }


def _print_identity(files: Mapping[Ef, bytes]) -> None:
    identity = _Identity.of(files)
    if identity.mrz is not None:
        click.echo("Identity in DG1 (the MRZ):")
        for item in mrz_fields(identity.mrz):
            click.echo(f"  {item.label:22} {item.value}")
    if identity.dg13 is not None:
        click.echo("Identity in DG13:")
        for item in dg13_fields(identity.dg13):
            if item.value is not None:
                click.echo(f"  {item.label:22} {item.value}")
        for raw in dg13_raw_fields(identity.dg13):
            text = f"{raw.text} " if raw.text is not None else ""
            click.echo(f"  {f'field {raw.number}':22} {text}(raw {raw.hex})")
    for problem in identity.problems:
        click.echo(f"  {problem}")


def _save_photo(files: Mapping[Ef, bytes], path: Path) -> None:
    """The first face of DG2 as PNG or JPEG in ``path``; exit 2 when there is none."""
    data = files.get(Ef.DG2)
    if data is None:
        _fail("no photo to save: DG2 was not read", EXIT_USAGE)
    try:
        faces = parse_dg2(data).faces
        if not faces:
            _fail("no photo to save: DG2 holds no face", EXIT_USAGE)
        image = faces[0].image
        content = face_as_png(image) if path.suffix.lower() == ".png" else face_as_jpeg(image)
    except ParseError as exc:
        _fail(f"the photo cannot be saved: {exc}", EXIT_USAGE)
    try:
        path.write_bytes(content)
    except OSError as exc:
        _fail(f"cannot save the photo in {path}: {exc.strerror}", EXIT_USAGE)


def _print_report(report: VerificationReport, moment: datetime) -> None:
    click.echo(f"{report.verdict.name} (checked at {moment:%Y-%m-%d %H:%M} UTC)")
    for check in report.checks:
        click.echo(f"  {check.status.value:13} {check.title:40} {check.reason}")
    for finding in report.findings:
        click.echo(f"  {'finding':13} {finding.kind.value:40} {finding.subject}: {finding.detail}")


@main.command()
@click.option("--reader", "reader_name", help="Reader name or part of it (default: the first).")
@click.option("--can", help="Card access number: 6 digits (the last 6 of the ID number).")
@click.option("--mrz", help="The MRZ text, or DOCNUMBER,YYMMDD-birth,YYMMDD-expiry.")
@click.option(
    "--id",
    "id_number",
    help="12-digit ID number (gives the CAN; with --dob and --issued also BAC keys).",
)
@click.option("--dob", help="Date of birth ddMMyyyy, with --id for BAC.")
@click.option("--issued", help="Date of issue ddMMyyyy, with --id for BAC.")
@click.option(
    "--qr", help=f"The front QR payload, or @FILE holding it (at most {QR_MAX_BYTES} bytes)."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Save the raw EF files here."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@click.option("--no-bac", is_flag=True, help="Refuse to fall back to BAC.")
@trust_options
@identity_options
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    callback=_positive_seconds,
    help=f"Seconds per APDU before giving up (at most {MAX_TIMEOUT:g}).",
)
def read(
    reader_name: str | None,
    can: str | None,
    mrz: str | None,
    id_number: str | None,
    dob: str | None,
    issued: str | None,
    qr: str | None,
    out: Path | None,
    as_json: bool,
    no_bac: bool,
    csca: tuple[Path, ...],
    masterlist: tuple[Path, ...],
    crl: tuple[Path, ...],
    at: datetime | None,
    no_identity: bool,
    photo: Path | None,
    timeout: float,
) -> None:
    """Open the chip (PACE first, BAC fallback), read and verify it, show the identity.

    Exit codes: 0 VERIFIED, 1 INVALID, 3 UNTRUSTED, 2 usage or I/O error, 4 reader or card
    error, 5 access denied.
    """
    if not any((can, mrz, id_number, qr)):
        raise click.UsageError("give --can, --mrz, --id or --qr to open the chip")
    trust = _load_trust(csca, masterlist, crl)
    moment = _moment(at)
    with _card_errors():
        credentials = _credentials(can, mrz, id_number, dob, issued, qr)
        name = _pick_reader(reader_name)

        def progress(ef: Ef, done: int, total: int) -> None:
            if not as_json and total:
                click.echo(
                    f"\r{ef.file_name:12} {100 * done // total:3d}%", nl=done == total, err=True
                )

        with pcsc.PcscTransport.connect(name, transmit_timeout=timeout) as transport:
            result = read_and_verify(
                transport, credentials, trust, at=moment, allow_bac=not no_bac, progress=progress
            )
    if out is not None:
        try:
            save_files(result.files, out)
        except OSError as exc:
            _fail(f"cannot save the files in {out}: {exc.strerror}", EXIT_USAGE)
    if photo is not None:
        _save_photo(result.files, photo)
    report = result.report
    if as_json:
        info = summary(result.access, result.files)
        info["report"] = report_json(report, moment, _issuing_state(result.files))
        if not no_identity:
            info["identity"] = identity_json(result.files)
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        sys.exit(VERDICT_EXIT_CODES[report.verdict])
    access = result.access
    click.echo(f"Opened with {access.protocol} ({access.password})")
    if access.downgraded:
        click.echo(
            f"WARNING: downgraded to BAC although the chip offers PACE: {access.fallback_reason}"
        )
    for ef, data in result.files.items():
        click.echo(f"  {ef.file_name:16} {len(data):6d} bytes")
    _print_report(report, moment)
    if not no_identity:
        _print_identity(result.files)
    sys.exit(VERDICT_EXIT_CODES[report.verdict])


@main.command()
@click.option("--reader", "reader_name", help="Reader name or part of it (default: the first).")
@click.argument("apdus", nargs=-1, required=True)
def apdu(reader_name: str | None, apdus: tuple[str, ...]) -> None:
    """Send raw command APDUs (hex) in plain and print the responses (debugging)."""
    try:
        commands = [bytes.fromhex(a) for a in apdus]
    except ValueError as exc:
        raise click.UsageError(f"APDUs must be hex: {exc}") from exc
    with _card_errors(), pcsc.PcscTransport.connect(_pick_reader(reader_name)) as transport:
        for command in commands:
            response = transport.transmit(command)
            click.echo(f"> {command.hex().upper()}\n< {response.hex().upper()}")


def _issuing_state(files: Mapping[Ef, bytes]) -> str | None:
    """The MRZ issuing state of DG1, if DG1 was saved and parses."""
    data = files.get(Ef.DG1)
    if data is None:
        return None
    try:
        return parse_dg1(data).issuing_state
    except ParseError:
        return None


def report_json(
    report: VerificationReport, at: datetime, issuing_state: str | None
) -> dict[str, Any]:
    """The verification report as JSON: the verdict and every check."""
    return {
        "verdict": report.verdict.name,
        "exit_code": VERDICT_EXIT_CODES[report.verdict],
        "at": at.isoformat(),
        "issuing_state": issuing_state,
        "checks": [
            {
                "kind": check.kind.value,
                "subject": check.subject,
                "status": check.status.value,
                "reason": check.reason,
            }
            for check in report.checks
        ],
        "findings": [
            {"kind": finding.kind.value, "subject": finding.subject, "detail": finding.detail}
            for finding in report.findings
        ],
    }


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@identity_options
def verify(
    directory: Path,
    csca: tuple[Path, ...],
    masterlist: tuple[Path, ...],
    crl: tuple[Path, ...],
    at: datetime | None,
    as_json: bool,
    no_identity: bool,
    photo: Path | None,
) -> None:
    """Verify EF files saved in DIRECTORY offline (passive authentication), show the identity.

    Exit codes: 0 VERIFIED, 1 INVALID, 3 UNTRUSTED, 2 usage or I/O error.
    """
    try:
        files = load_ef_files(directory)
    except OSError as exc:
        _fail(f"cannot read {exc.filename}: {exc.strerror}", EXIT_USAGE)
    except CardError as exc:
        _fail(str(exc), EXIT_USAGE)
    trust = _load_trust(csca, masterlist, crl)
    moment = _moment(at)
    issuing_state = _issuing_state(files)
    report = verify_files(files, trust, moment, issuing_state)
    if photo is not None:
        _save_photo(files, photo)
    if as_json:
        info = report_json(report, moment, issuing_state)
        if not no_identity:
            info["identity"] = identity_json(files)
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        _print_report(report, moment)
        if not no_identity:
            _print_identity(files)
    sys.exit(VERDICT_EXIT_CODES[report.verdict])
