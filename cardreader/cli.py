"""The ``cccd`` command line: list readers, read and verify a chip, verify saved files,
send raw APDUs.

Exit codes: 0 VERIFIED (or success), 1 INVALID, 3 UNTRUSTED, 2 usage or I/O error, 4 reader
or card error, 5 access denied. Nothing personal is logged; raw files and JSON are written
only where the user asks.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
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
from cardreader.lds.files import load_ef_files
from cardreader.log import TRAFFIC
from cardreader.mrz import parse_mrz
from cardreader.qr import parse_cccd_qr, parse_ddmmyyyy
from cardreader.transport import pcsc
from cardreader.verified_read import read_and_verify
from cardreader.verify.passive import verify_files
from cardreader.verify.report import VerificationReport
from cardreader.verify.trust import TrustStore

EXIT_USAGE = 2
EXIT_CARD = 4
EXIT_ACCESS = 5
QR_MAX_BYTES = 2953
"""The most a QR code can hold: version 40, byte mode, error correction level L."""
MAX_TIMEOUT = 3600.0
"""The longest ``--timeout`` accepted, in seconds."""


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


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


@click.group()
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


def _print_report(report: VerificationReport, moment: datetime) -> None:
    click.echo(f"{report.verdict.name} (checked at {moment:%Y-%m-%d %H:%M} UTC)")
    for check in report.checks:
        click.echo(f"  {check.status.value:13} {check.title:40} {check.reason}")


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
    timeout: float,
) -> None:
    """Open the chip (PACE first, BAC fallback), read and verify it.

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
    report = result.report
    if as_json:
        info = summary(result.access, result.files)
        info["report"] = report_json(report, moment, _issuing_state(result.files))
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        sys.exit(report.verdict.exit_code)
    access = result.access
    click.echo(f"Opened with {access.protocol} ({access.password})")
    if access.downgraded:
        click.echo(
            f"WARNING: downgraded to BAC although the chip offers PACE: {access.fallback_reason}"
        )
    for ef, data in result.files.items():
        click.echo(f"  {ef.file_name:16} {len(data):6d} bytes")
    _print_report(report, moment)
    sys.exit(report.verdict.exit_code)


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
        "exit_code": report.verdict.exit_code,
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
    }


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(
    directory: Path,
    csca: tuple[Path, ...],
    masterlist: tuple[Path, ...],
    crl: tuple[Path, ...],
    at: datetime | None,
    as_json: bool,
) -> None:
    """Verify EF files saved in DIRECTORY offline (passive authentication).

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
    if as_json:
        click.echo(json.dumps(report_json(report, moment, issuing_state), indent=2))
    else:
        _print_report(report, moment)
    sys.exit(report.verdict.exit_code)
