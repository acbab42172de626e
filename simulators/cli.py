"""The ``cccd-sim`` command line: virtual cards and simulated hospital services."""

from __future__ import annotations

import json

import click

from simulators import demo as demo_module
from simulators.bhxh_gateway.__main__ import main as gateway_main
from simulators.his.__main__ import main as his_main
from simulators.issuance.lds import td1_mrz
from simulators.persona import make_persona, qr_payload


@click.group()
def main() -> None:
    """Simulators for testing the CCCD toolkit without hardware."""


@main.command()
def demo() -> None:
    """Start pcscd, insert the sample card into a virtual reader and read it."""
    demo_module.run(click.echo)


@main.command()
@click.argument("seed", type=int)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (keys id, name, dob, can, qr, ...)."
)
def persona(seed: int, as_json: bool) -> None:
    """Print the fictional person of SEED: data, CAN, MRZ and front QR payload."""
    person = make_persona(seed)
    data = {
        "seed": seed,
        "id": person.id_number,
        "name": person.full_name,
        "dob": person.date_of_birth.isoformat(),
        "sex": person.sex.value,
        "issued": person.date_of_issue.isoformat(),
        "expires": person.date_of_expiry.isoformat() if person.date_of_expiry else None,
        "card": person.card_kind.value,
        "address": person.place_of_residence,
        "can": person.can,
        "mrz": "\n".join(td1_mrz(person)[i : i + 30] for i in range(0, 90, 30)),
        "qr": qr_payload(person),
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    width = max(len(key) for key in data)
    for key, value in data.items():
        click.echo(f"{key:>{width}}  {value}")


_PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


@main.command(context_settings=_PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def gateway(args: tuple[str, ...]) -> None:
    """Run the simulated BHXH gateway (options: cccd-sim gateway --help)."""
    raise SystemExit(gateway_main(list(args)))


@main.command(context_settings=_PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def his(args: tuple[str, ...]) -> None:
    """Run the simulated HIS: MLLP listener and FHIR endpoint (options: cccd-sim his --help)."""
    raise SystemExit(his_main(list(args)))
