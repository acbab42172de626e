"""The ``cccd-sim`` command line: virtual cards and simulated hospital services."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from simulators import demo as demo_module
from simulators.bhxh_gateway.__main__ import main as gateway_main
from simulators.chip.card import EmrtdChip
from simulators.chip.hostile import HostileChip, HostileSpec, build_hostile_chip
from simulators.faults import Fault, FaultSpec, find
from simulators.his.__main__ import main as his_main
from simulators.issuance.card import Profile, build_chip, issue_card, sim_pki
from simulators.issuance.folder import chip_from_folder
from simulators.issuance.lds import td1_mrz
from simulators.persona import make_persona, qr_payload
from simulators.timing import TimedCard
from simulators.vpcd import DEFAULT_HOST, DEFAULT_PORT, VirtualReaderSlot, VpcdConnectionError


@click.group()
@click.version_option(package_name="cccd-toolkit")
def main() -> None:
    """Simulators for testing the CCCD toolkit without hardware."""


main.add_command(gateway_main, "gateway")
main.add_command(his_main, "his")


@main.command()
def demo() -> None:
    """Start pcscd, insert the sample card into a virtual reader and read it."""
    demo_module.run(click.echo)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="run-output",
    show_default=True,
    help="Where tickets, screenshots, the store and the kiosk configuration go.",
)
@click.option("--headless", is_flag=True, help="Run the scripted check-in even with a display.")
@click.option(
    "--fleet",
    type=click.IntRange(1, 16),
    help="N kiosks on one private PostgreSQL store, with the queue board (make run FLEET=N).",
)
def hospital(out_dir: str, headless: bool, fleet: int | None) -> None:
    """Start the simulated hospital and the kiosk (the kiosk window, or a scripted check-in
    offscreen when there is no display); with --fleet N, N kiosks and the queue board."""
    from pathlib import Path

    from simulators import demo_fleet, demo_hospital

    if fleet is not None:
        code = demo_fleet.run(click.echo, Path(out_dir), fleet, headless=True if headless else None)
    else:
        code = demo_hospital.run(click.echo, Path(out_dir), headless=True if headless else None)
    if code:
        raise SystemExit(code)


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


def _faults(values: tuple[str, ...]) -> tuple[FaultSpec, ...]:
    try:
        return tuple(FaultSpec.parse(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from exc


PROFILES = click.Choice([profile.value for profile in Profile])


@main.command()
@click.option("--persona", "seed", type=int, help="Issue the card of persona SEED.")
@click.option("--profile", type=PROFILES, default=Profile.CCCD_2021.value, show_default=True)
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A card from saved EF files and DG14_sk.pkcs8/DG15_sk.pkcs8 keys.",
)
@click.option(
    "--fault",
    "fault_names",
    multiple=True,
    help="removed-at=N, slow, short-le, short-le-atr, no-pace, pace-fails, ca-clone, aa-clone, "
    "tampered-dg=N, bad-sod-signature, expired-signer, unknown-signer; genuine quirks: "
    "signer-name-order, id-data-sod; repeatable.",
)
@click.option(
    "--hostile",
    "hostile_name",
    help="A hostile card (simulators.chip.hostile), e.g. bad-mac, endless-6cxx, "
    "malformed-tlv=13, huge-rsa-key; with --persona only.",
)
@click.option("--reader-slot", type=click.IntRange(0, 1), default=0, show_default=True)
@click.option("--port", type=int, help="vpcd port of slot 0 (default: the system's 35963).")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
def card(
    seed: int | None,
    profile: str,
    folder: Path | None,
    fault_names: tuple[str, ...],
    hostile_name: str | None,
    reader_slot: int,
    port: int | None,
    host: str,
) -> None:
    """Insert a virtual card into vpcd and serve it until Ctrl-C (or a removal fault)."""
    if (seed is None) == (folder is None):
        raise click.UsageError("give either --persona SEED or --dir FOLDER")
    faults = _faults(fault_names)
    try:
        hostile = HostileSpec.parse(hostile_name) if hostile_name else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hostile") from exc
    if hostile is not None and folder is not None:
        raise click.UsageError("--hostile needs --persona")
    chip: EmrtdChip | HostileChip
    if folder is not None:
        try:
            chip = chip_from_folder(folder, faults)
        except (ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        label = f"card from {folder}"
    else:
        assert seed is not None
        person = make_persona(seed)
        issued = issue_card(person, Profile(profile), faults)
        chip = build_hostile_chip(issued, hostile) if hostile else build_chip(issued)
        label = f"persona {seed} ({profile}): ID {person.id_number}, CAN {person.can}"
    served = TimedCard(chip, realtime=True) if find(faults, Fault.SLOW) else chip
    removal = find(faults, Fault.REMOVED_AT)
    stopped = threading.Event()
    slot = VirtualReaderSlot((port or DEFAULT_PORT) + reader_slot, host)
    try:
        slot.insert(
            served, remove_at_apdu=removal.value if removal else None, on_removed=stopped.set
        )
    except VpcdConnectionError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"inserted {label} into vpcd slot {reader_slot}; Ctrl-C removes it", err=True)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    slot.close()
    click.echo("card removed", err=True)


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--persona", "seed", type=int, required=True)
@click.option("--profile", type=PROFILES, default=Profile.CCCD_2021.value, show_default=True)
@click.option("--fault", "fault_names", multiple=True, help="Issuance faults (see card --help).")
def issue(out: Path, seed: int, profile: str, fault_names: tuple[str, ...]) -> None:
    """Write a card's EF files, the simulator CSCA (PEM) and a CSCA master list to OUT."""
    card = issue_card(make_persona(seed), Profile(profile), _faults(fault_names))
    names = {0x011E: "EF_COM", 0x011D: "EF_SOD", 0x011C: "EF_CardAccess"}
    out.mkdir(parents=True, exist_ok=True)
    for fid, data in sorted(card.files.items()):
        name = names.get(fid, f"DG{fid & 0xFF}")
        (out / f"{name}.bin").write_bytes(data)
    if card.card_security is not None:
        (out / "EF_CardSecurity.bin").write_bytes(card.card_security)
    pki = sim_pki()
    pki.csca.write_pem(out / "csca.pem")
    (out / "masterlist.ml").write_bytes(pki.master_list())
    click.echo(f"wrote {len(card.files)} EF files, csca.pem and masterlist.ml to {out}")


@main.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Work directory (data, socket, log); kept afterwards. Default: a temporary one.",
)
@click.option("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one).")
def postgres(workdir: Path | None, port: int | None) -> None:
    """Start a private PostgreSQL server, print its URL and serve until Ctrl-C."""
    from simulators.postgres import PostgresCluster, PostgresError

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        with PostgresCluster(workdir, port) as cluster:
            click.echo(cluster.url)
            click.echo(f"log: {cluster.log_path}; Ctrl-C stops it", err=True)
            stopped.wait()
    except PostgresError as exc:
        raise click.ClickException(str(exc)) from exc
