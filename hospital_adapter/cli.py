"""``cccd-hospital`` / ``python -m hospital_adapter``: BHYT lookups, check-ins, outbox, audit.

Exit codes: 0 done; 1 the gateway or HIS could not be reached; 2 bad usage or input;
3 configuration problem (missing variables, refused account, staff identity codes
054/055); 4 store problem (unreadable file, broken audit chain); 5 an XML0 signature that
does not verify, or an XML0 record the gateway refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from hospital_adapter.config import (
    ENV_XML0_P12_PASSWORD,
    ENV_XML0_TOKEN_PIN,
    GatewayAccount,
    GatewaySettings,
    Settings,
    Xml0Settings,
    check_config,
    environment_problems,
    load_settings,
    load_store_key,
    report,
    validate,
)
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    ConfigurationError,
    GatewayAuthError,
    GatewayError,
    GatewayUnavailableError,
    HisError,
    InvalidInputError,
    Problem,
    StoreError,
    Xml0RejectedError,
    Xml0SignatureError,
)
from hospital_adapter.gateway import Decision, GatewayClient, LookupQuery
from hospital_adapter.his import configured_registrar
from hospital_adapter.identity import BirthDate
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.store import Queue, QueueEntry, QueueStatus, Store
from hospital_adapter.xml0 import Xml0Facility, build_xml0
from hospital_adapter.xml0_report import KeySource, configured_reporter, key_source
from hospital_adapter.xmldsig import load_certificate, sign_xml0, verify_xml0

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_STORE = 4
EXIT_REFUSED = 5

F = TypeVar("F", bound=Callable[..., Any])


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying click ``options`` in the order given (top to bottom)."""

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _patient_options(timeout_s: float) -> Callable[[F], F]:
    """The patient and gateway options ``lookup`` and ``history`` share."""
    return _options(
        click.option("--id", "card_or_id", required=True, help="12-digit ID, BHYT or BHXH number."),
        click.option("--name", required=True, help="Full name, with diacritics."),
        click.option("--dob", required=True, help="Date of birth, dd/mm/yyyy or yyyy."),
        click.option("--gateway", "url", help="Gateway base URL (overrides [gateway] url)."),
        click.option(
            "--timeout", type=float, default=timeout_s, show_default=True, help="Seconds."
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the typed result as JSON."),
    )


def _friendly(func: F) -> F:
    """Turn the package's errors into one readable line and a documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidInputError as exc:
            _fail(f"Invalid input: {exc}", EXIT_USAGE)
        except ConfigurationError as exc:
            lines = [str(problem) for problem in exc.problems]
            text = "\n  ".join(["Configuration problems:", *lines])
            _fail(
                f"Configuration problem: {lines[0]}" if len(lines) == 1 else text,
                EXIT_CONFIGURATION,
            )
        except GatewayAuthError as exc:
            _fail(f"Configuration problem: {exc}", EXIT_CONFIGURATION)
        except Xml0SignatureError as exc:
            _fail(f"Signature problem: {exc}", EXIT_REFUSED)
        except Xml0RejectedError as exc:
            _fail(f"The gateway refused the XML0 record ({exc.code}): {exc.detail}", EXIT_REFUSED)
        except (GatewayUnavailableError, HisError) as exc:
            _fail(f"Not reachable now, try again later: {exc}", EXIT_UNAVAILABLE)
        except GatewayError as exc:
            _fail(f"The gateway answered something unexpected: {exc}", EXIT_UNAVAILABLE)
        except StoreError as exc:
            _fail(f"Store problem: {exc}", EXIT_STORE)

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    """The configuration, read when a command needs it (``check`` reports it instead)."""
    path: str | None = ctx.find_root().obj
    return load_settings(path)


def _gateway_settings(ctx: click.Context, url: str | None) -> GatewaySettings:
    """``[gateway]``, its URL replaced by ``--gateway`` when given."""
    settings = _settings(ctx).gateway
    if not url:
        return settings
    try:
        return validate(GatewaySettings, {**asdict(settings), "url": url})
    except ConfigurationError as exc:
        raise InvalidInputError("--gateway", exc.problems[0].reason) from None


def _store(settings: Settings) -> Store:
    """The hospital's store: PostgreSQL when ``[store] url`` is set, else the SQLite file."""
    return Store(settings.store.url or settings.store.path, load_store_key(settings.store))


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="CCCD_HOSPITAL_CONFIG",
    help="TOML configuration file (default: $CCCD_HOSPITAL_CONFIG, else built-in defaults).",
)
@click.version_option(package_name="cccd-toolkit")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Hospital adapter of the CCCD toolkit: BHYT lookups, check-ins, outbox and audit."""
    ctx.obj = config_path


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the configuration file and the environment's secrets; start nothing.

    Prints every problem with its key; exit 3 if there is any.
    """
    path: str | None = ctx.find_root().obj
    if not path:
        _fail("Invalid input: give the file with --config or $CCCD_HOSPITAL_CONFIG", EXIT_USAGE)
        return
    problems = check_config(Settings, path, os.environ, environment_problems)
    click.echo(report(path, problems), err=bool(problems))
    sys.exit(EXIT_CONFIGURATION if problems else 0)


@main.command()
@_patient_options(timeout_s=30.0)
@click.pass_context
@_friendly
def lookup(
    ctx: click.Context,
    card_or_id: str,
    name: str,
    dob: str,
    url: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Look a patient's BHYT card up at the BHXH gateway (account from BHXH_* variables)."""
    settings = _gateway_settings(ctx, url)
    query = LookupQuery(card_or_id, name, BirthDate.parse(dob))
    with GatewayClient(settings, GatewayAccount.from_env()) as client:
        result = client.lookup(query, Deadline.after(timeout))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"{result.raw_code} {result.decision.value}: {result.note}")
        if result.card is not None:
            card = result.card
            click.echo(
                f"card {card.card_number} valid {card.valid_from} to {card.valid_to}"
                f" primary care {card.primary_care_facility}"
            )
    if result.decision is Decision.CONFIGURATION_ERROR:
        sys.exit(EXIT_CONFIGURATION)


@main.command()
@click.option("--date", "day", help="Service date YYYY-MM-DD (default: all days).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_friendly
def checkins(ctx: click.Context, day: str | None, as_json: bool) -> None:
    """List check-ins (no personal data): ticket, department, insurance, registration."""
    try:
        service_date = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInputError("date", "expected YYYY-MM-DD") from None
    rows = _store(_settings(ctx)).checkins(service_date)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "checkin_id": r.checkin_id,
                        "service_date": r.service_date.isoformat(),
                        "department": r.department,
                        "ticket": r.ticket,
                        "arrived_at": r.arrived_at.isoformat(),
                        "visit_kind": r.visit_kind,
                        "insurance": r.insurance_status,
                        "insurance_code": r.insurance_code,
                        "registration": r.registration,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    for r in rows:
        click.echo(
            f"{r.service_date} {r.department} #{r.ticket:<4} {r.visit_kind:<9}"
            f" {r.insurance_status:<21} {r.insurance_code or '-':<4} {r.registration}"
        )


def _entry_json(entry: QueueEntry) -> dict[str, object]:
    return {
        "department": entry.department,
        "ticket": entry.ticket,
        "status": entry.status.value,
        "priority": entry.priority,
        "arrived_at": entry.arrived_at.isoformat(),
        "room": entry.room,
        "called_at": None if entry.called_at is None else entry.called_at.isoformat(),
    }


def _entry_line(entry: QueueEntry) -> str:
    mark = "P" if entry.priority else "-"
    where = f" room {entry.room}" if entry.room else ""
    return f"{entry.department} {entry.ticket:03d} {mark} {entry.status.value:<8}{where}".rstrip()


@main.command()
@click.option("--department", help="Only this department (code, e.g. K03).")
@click.option("--date", "day", help="Service date YYYY-MM-DD (default: today).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_friendly
def queue(ctx: click.Context, department: str | None, day: str | None, as_json: bool) -> None:
    """The waiting line: waiting tickets in call order (P: priority), then called and
    served ones (no personal data)."""
    try:
        service_date = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidInputError("date", "expected YYYY-MM-DD") from None
    entries = _store(_settings(ctx)).queue(service_date, department)
    if as_json:
        click.echo(json.dumps([_entry_json(e) for e in entries], indent=2))
        return
    counts = {status: sum(e.status is status for e in entries) for status in QueueStatus}
    click.echo(", ".join(f"{status.value} {n}" for status, n in counts.items()))
    for entry in entries:
        click.echo(_entry_line(entry))


@main.command()
@click.argument("department")
@click.option("--room", required=True, help="The room or counter calling (e.g. 203).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@_friendly
def call(ctx: click.Context, department: str, room: str, as_json: bool) -> None:
    """Call DEPARTMENT's next ticket to ROOM (priority first, then arrival); the ticket
    the room called before is served. Exit 0 either way; "nobody waiting" when empty."""
    entry = _store(_settings(ctx)).call_next(department, room)
    if as_json:
        click.echo(json.dumps(None if entry is None else _entry_json(entry)))
    elif entry is None:
        click.echo(f"{department}: nobody waiting")
    else:
        click.echo(f"{entry.department} {entry.ticket:03d} -> room {entry.room}")


@main.group()
def outbox() -> None:
    """Registrations waiting for the HIS."""


def _echo_counts(counts: dict[str, int]) -> None:
    for status, count in counts.items():
        click.echo(f"{status:<10} {count}")


@outbox.command("status")
@click.pass_context
@_friendly
def outbox_status(ctx: click.Context) -> None:
    """Count messages per status."""
    _echo_counts(_store(_settings(ctx.find_root())).outbox_counts())


@outbox.command("retry")
@click.pass_context
@_friendly
def outbox_retry(ctx: click.Context) -> None:
    """Re-queue rejected messages and deliver everything due now to the configured HIS."""
    settings = _settings(ctx.find_root())
    store = _store(settings)
    requeued = store.retry_rejected()
    worker = OutboxWorker(store, configured_registrar(settings))
    outcome = worker.deliver_due(limit=1000)
    click.echo(
        f"re-queued {requeued}; delivered {outcome.delivered}, retrying {outcome.retrying},"
        f" rejected {outcome.rejected}"
    )
    if outcome.retrying:
        sys.exit(EXIT_UNAVAILABLE)


@main.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("verify")
@click.pass_context
@_friendly
def audit_verify(ctx: click.Context) -> None:
    """Check the audit log's hash chain."""
    count = _store(_settings(ctx.find_root())).verify_audit()
    click.echo(f"audit chain intact: {count} entries")


@main.command()
@click.pass_context
@_friendly
def purge(ctx: click.Context) -> None:
    """Delete settled check-ins older than [store] retention_days."""
    settings = _settings(ctx)
    deleted = _store(settings).purge(settings.store.retention_days)
    click.echo(f"purged {deleted} check-ins older than {settings.store.retention_days} days")


@main.command()
@_patient_options(timeout_s=60.0)
@click.pass_context
@_friendly
def history(
    ctx: click.Context,
    card_or_id: str,
    name: str,
    dob: str,
    url: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """A patient's visit history at the BHXH gateway (Lskcb2025, docs/domain.md §3.4)."""
    query = LookupQuery(card_or_id, name, BirthDate.parse(dob))
    with GatewayClient(_gateway_settings(ctx, url), GatewayAccount.from_env()) as client:
        result = client.history(query, Deadline.after(timeout))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.raw_code}: {len(result.visits)} visit(s) {result.note}".rstrip())
    for visit in result.visits:
        admitted = "?" if visit.admitted_at is None else f"{visit.admitted_at:%Y-%m-%d %H:%M}"
        click.echo(f"{admitted} {visit.facility} {visit.record_id} {visit.diagnosis}")


@main.group()
def xml0() -> None:
    """XML0 check-in records (docs/domain.md §3.7): build, sign, verify, report to BHXH.

    The PKCS#12 password comes from $CCCD_XML0_P12_PASSWORD, the token PIN from
    $CCCD_XML0_TOKEN_PIN.
    """


_key_options = _options(
    click.option("--p12", type=click.Path(dir_okay=False), help="PKCS#12 key file."),
    click.option("--pkcs11", "module", help="PKCS#11 library of the USB token."),
    click.option("--token", help="Label of the token (with --pkcs11)."),
    click.option("--key-label", help="Label of the key, if the token holds several."),
)
"""``--p12 FILE`` or ``--pkcs11 MODULE --token LABEL [--key-label LABEL]``."""


def _key_source(
    p12: str | None, module: str | None, token: str | None, key_label: str | None
) -> KeySource:
    if (p12 is None) == (module is None):
        raise InvalidInputError("--p12/--pkcs11", "give one of them")
    if p12 is not None:
        return key_source(p12, "", "", "", os.environ.get(ENV_XML0_P12_PASSWORD, ""))
    if not token:
        raise InvalidInputError("--token", "give the token's label with --pkcs11")
    pin = os.environ.get(ENV_XML0_TOKEN_PIN)
    if not pin:
        raise ConfigurationError(Problem(ENV_XML0_TOKEN_PIN, "set it to the token's user PIN"))
    assert module is not None
    return key_source("", module, token, key_label or "", pin)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInputError("FILE", f"cannot read {path}: {exc.strerror}") from None


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise InvalidInputError("--out", f"cannot write {path}: {exc.strerror}") from None


@xml0.command("sign")
@click.argument("file", type=click.Path(dir_okay=False))
@_key_options
@click.option("--out", help="Signed file to write (default: FILE with .signed.xml).")
@_friendly
def xml0_sign(
    file: str,
    p12: str | None,
    module: str | None,
    token: str | None,
    key_label: str | None,
    out: str | None,
) -> None:
    """Sign an XML0 file with the facility's key (XML-DSig, enveloped, RSA-SHA256)."""
    source = _key_source(p12, module, token, key_label)
    with source() as key:
        signed = sign_xml0(_read(file), key)
    target = out or str(Path(file).with_suffix(".signed.xml"))
    _write(target, signed)
    click.echo(f"signed {file} -> {target}")


@xml0.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--cert", help="PEM certificate the signature must be made with.")
@_friendly
def xml0_verify(file: str, cert: str | None) -> None:
    """Check the signature of a signed XML0 file (exit 5 if it does not verify)."""
    verified = verify_xml0(_read(file), None if cert is None else load_certificate(cert))
    trust = (
        "the pinned certificate"
        if verified.pinned
        else "the certificate in the file, not checked against any trust anchor (give --cert)"
    )
    click.echo(f"signature valid: signed by {verified.signer} with {trust}")


def _facility_options(required: bool) -> Callable[[F], F]:
    """The examination billed at check-in and the provisional beneficiary category; not
    ``required``: ``[xml0]``'s when not given."""
    default = " (default: [xml0]'s)" if not required else ""

    def decorate(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--service-code",
                    required=required,
                    help=f"MA_DICH_VU of the examination{default}.",
                ),
                click.option(
                    "--service-name", required=required, help=f"TEN_DICH_VU of it{default}."
                ),
                click.option(
                    "--category",
                    default="1.1" if required else None,
                    show_default=required,
                    help=f"MA_DOITUONG_KCB{default}.",
                ),
            )
        ):
            command = option(command)
        return command

    return decorate


def _reporting(settings: Settings, options: dict[str, str | None]) -> Settings:
    """``settings`` with ``[xml0]`` enabled and the options given in place of its keys (a
    key file given replaces a configured token, and the other way round)."""
    given = {key: value for key, value in options.items() if value is not None}
    if "p12" in given or "pkcs11_module" in given:
        given = {"p12": "", "pkcs11_module": "", "token": "", "key_label": "", **given}
    merged = {**asdict(settings.xml0), "enabled": True, **given}
    try:
        return replace(settings, xml0=validate(Xml0Settings, merged))
    except ConfigurationError as exc:
        raise ConfigurationError(
            *(Problem(f"xml0.{problem.key}", problem.reason) for problem in exc.problems)
        ) from None


@xml0.command("build")
@click.argument("checkin_id")
@_facility_options(required=True)
@click.option("--out", help="File to write (default: standard output).")
@click.pass_context
@_friendly
def xml0_build(
    ctx: click.Context,
    checkin_id: str,
    service_code: str,
    service_name: str,
    category: str,
    out: str | None,
) -> None:
    """The unsigned XML0 of a stored check-in."""
    code = _settings(ctx).hospital.facility_code
    facility = Xml0Facility(code, service_code, service_name, category)
    xml = build_xml0(_store(_settings(ctx)).visit(checkin_id), facility)
    if out:
        _write(out, xml)
    else:
        click.echo(xml.decode("utf-8"), nl=False)


@xml0.command("submit")
@click.option("--province", help="maTinh: the facility's province code (default: [xml0]'s).")
@_facility_options(required=False)
@_key_options
@click.pass_context
@_friendly
def xml0_submit(
    ctx: click.Context,
    province: str | None,
    service_code: str | None,
    service_name: str | None,
    category: str | None,
    p12: str | None,
    module: str | None,
    token: str | None,
    key_label: str | None,
) -> None:
    """Report every XML0 due now to the gateway (checkInKcbQd3176) and keep the receipts.

    What is not given as an option is taken from [xml0] (the kiosk's own worker reports
    the same way when [xml0] is enabled).
    """
    options = {
        "province": province,
        "service_code": service_code,
        "service_name": service_name,
        "patient_category": category,
        "p12": p12,
        "pkcs11_module": module,
        "token": token,
        "key_label": key_label,
    }
    settings = _reporting(_settings(ctx), options)
    store = _store(settings)
    with GatewayClient(settings.gateway, GatewayAccount.from_env()) as client:
        reporter = configured_reporter(settings, client)
        outcome = OutboxWorker(store, reporter, queue=Queue.XML0).deliver_due(limit=1000)
    click.echo(
        f"reported {outcome.delivered}, retrying {outcome.retrying}, rejected {outcome.rejected}"
    )
    if outcome.retrying:
        sys.exit(EXIT_UNAVAILABLE)


@xml0.command("status")
@click.pass_context
@_friendly
def xml0_status(ctx: click.Context) -> None:
    """Count the XML0 reports per status (pending, delivered, rejected)."""
    _echo_counts(_store(_settings(ctx.find_root())).outbox_counts(Queue.XML0))


@xml0.command("receipt")
@click.argument("checkin_id")
@click.pass_context
@_friendly
def xml0_receipt(ctx: click.Context, checkin_id: str) -> None:
    """The state of a check-in's XML0 report and the gateway's receipt (maGiaoDich)."""
    report = _store(_settings(ctx)).xml0_report(checkin_id)
    if report is None:
        click.echo("no XML0 report: the check-in has no card confirmed by the gateway")
    elif report.receipt is None:
        click.echo(f"{report.status.value} {report.last_error}".rstrip())
    else:
        receipt = report.receipt
        click.echo(
            f"{report.status.value} {receipt.transaction_id} {receipt.received_at:%Y%m%d%H%M%S}"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port."
)
@click.option(
    "--refresh",
    type=click.FloatRange(0.1, 60.0),
    default=0.5,
    show_default=True,
    help="Seconds between reads of the queue.",
)
@click.option(
    "--department",
    "names",
    multiple=True,
    metavar="CODE=NAME",
    help='A department\'s name on the board, e.g. K03="Khám Nội" (repeat; default: the code).',
)
@click.pass_context
@_friendly
def board(ctx: click.Context, host: str, port: int, refresh: float, names: tuple[str, ...]) -> None:
    """Serve the queue board, the read-only page for the hall's big screen (numbers called
    per room, next numbers per department; no names), until Ctrl+C or SIGTERM."""
    from hospital_adapter.board import create_board, serve

    departments = {}
    for pair in names:
        code, sep, name = pair.partition("=")
        if not sep or not code.strip() or not name.strip():
            raise InvalidInputError("--department", f"expected CODE=NAME, not {pair!r}")
        departments[code.strip()] = name.strip()
    store = _store(_settings(ctx))
    app = create_board(store.queue, departments, poll_s=refresh)
    click.echo(f"Queue board on http://{host}:{port}/ (Ctrl+C to stop)")
    try:
        serve(app, host, port)
    except OSError as exc:
        raise InvalidInputError("--host/--port", f"cannot listen there: {exc.strerror}") from None
    finally:
        store.close()
