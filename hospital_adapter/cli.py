"""``cccd-hospital`` / ``python -m hospital_adapter``: BHYT lookups, check-ins, outbox, audit.

Exit codes: 0 done; 1 the gateway or HIS could not be reached; 2 bad usage or input;
3 configuration problem (missing variables, refused account, staff identity codes
054/055); 4 store problem (unreadable file, broken audit chain).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import click

from hospital_adapter.config import (
    GatewayAccount,
    HisSettings,
    Settings,
    load_settings,
    load_store_key,
)
from hospital_adapter.deadline import Deadline
from hospital_adapter.errors import (
    ConfigurationError,
    GatewayAuthError,
    GatewayError,
    GatewayUnavailableError,
    HisError,
    InvalidInputError,
    StoreError,
)
from hospital_adapter.gateway import Decision, GatewayClient, LookupQuery
from hospital_adapter.his import FhirRegistrar, HisRegistrar, MessageHeader, MllpRegistrar
from hospital_adapter.identity import BirthDate
from hospital_adapter.outbox import OutboxWorker
from hospital_adapter.store import Store

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 3
EXIT_STORE = 4

F = TypeVar("F", bound=Callable[..., Any])


def _friendly(func: F) -> F:
    """Turn the package's errors into one readable line and a documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidInputError as exc:
            _fail(f"Invalid input: {exc}", EXIT_USAGE)
        except (ConfigurationError, GatewayAuthError) as exc:
            _fail(f"Configuration problem: {exc}", EXIT_CONFIGURATION)
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
    settings: Settings = ctx.obj
    return settings


def _store(settings: Settings) -> Store:
    return Store(settings.store.path, load_store_key(settings.store))


def _registrar(his: HisSettings, facility: str) -> HisRegistrar:
    if his.kind == "fhir":
        return FhirRegistrar(his.url, timeout_s=his.timeout_s)
    if his.kind == "hl7":
        header = MessageHeader(his.sending_facility, facility, his.receiving_application, facility)
        return MllpRegistrar(his.host, his.port, header, timeout_s=his.timeout_s)
    raise ConfigurationError(f"[his] kind must be hl7 or fhir, not {his.kind!r}")


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
@_friendly
def main(ctx: click.Context, config_path: str | None) -> None:
    """Hospital adapter of the CCCD toolkit: BHYT lookups, check-ins, outbox and audit."""
    ctx.obj = load_settings(config_path)


@main.command()
@click.option("--id", "card_or_id", required=True, help="12-digit ID, BHYT or BHXH number.")
@click.option("--name", required=True, help="Full name, with diacritics.")
@click.option("--dob", required=True, help="Date of birth, dd/mm/yyyy or yyyy.")
@click.option("--gateway", "url", help="Gateway base URL (overrides [gateway] url).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the typed result as JSON.")
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
    settings = _settings(ctx).gateway
    if url:
        settings = replace(settings, url=url)
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


@main.group()
def outbox() -> None:
    """Registrations waiting for the HIS."""


@outbox.command("status")
@click.pass_context
@_friendly
def outbox_status(ctx: click.Context) -> None:
    """Count messages per status."""
    counts = _store(_settings(ctx.find_root())).outbox_counts()
    for status, count in counts.items():
        click.echo(f"{status:<10} {count}")


@outbox.command("retry")
@click.pass_context
@_friendly
def outbox_retry(ctx: click.Context) -> None:
    """Re-queue rejected messages and deliver everything due now to the configured HIS."""
    settings = _settings(ctx.find_root())
    store = _store(settings)
    requeued = store.retry_rejected()
    worker = OutboxWorker(store, _registrar(settings.his, settings.hospital.facility_code))
    report = worker.deliver_due(limit=1000)
    click.echo(
        f"re-queued {requeued}; delivered {report.delivered}, retrying {report.retrying},"
        f" rejected {report.rejected}"
    )
    if report.retrying:
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
