"""Run the simulated BHXH gateway in the foreground until interrupted."""

from __future__ import annotations

import click

from simulators.bhxh_gateway.dataset import DEFAULT_SCENARIOS, Dataset
from simulators.bhxh_gateway.server import serve
from simulators.server_thread import serve_until_terminated


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--personas",
    type=click.IntRange(min=0),
    metavar="N",
    help="Serve the card simulator's personas 0..N-1 (scenario by seed, see the docs).",
)
@click.option(
    "--people",
    type=click.IntRange(min=0),
    metavar="N",
    help="Serve N generated people, one per scenario in turn "
    f"(the default, with N={len(DEFAULT_SCENARIOS)}).",
)
@click.option("--seed", default=2024, show_default=True, help="Seed of the generated people.")
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds added to each call.",
)
@click.option("--list", "list_only", is_flag=True, help="Print the data set and exit.")
def main(
    host: str,
    port: int,
    personas: int | None,
    people: int | None,
    seed: int,
    latency: float,
    list_only: bool,
) -> None:
    """Run the simulated BHXH gateway.

    It answers health insurance (BHYT) lookups for its data set until Ctrl-C or SIGTERM.
    """
    if personas is not None and people is not None:
        raise click.UsageError("give --personas or --people, not both")
    dataset = (
        Dataset.for_personas(range(personas))
        if personas is not None
        else Dataset.generated(len(DEFAULT_SCENARIOS) if people is None else people, seed)
    )
    if list_only:
        for r in dataset.records:
            p = r.person
            persona = "" if p.seed is None else f"persona {p.seed:<4} "
            click.echo(
                f"{persona}{r.scenario.outcome} linked={r.scenario.linked!s:5} {p.id_number}"
                f" {r.card_number} {p.date_of_birth:%d/%m/%Y} {p.sex} {p.full_name}"
            )
        return
    gateway = serve(dataset, host=host, port=port)
    gateway.simulator.latency = latency
    click.echo(f"BHXH gateway simulator listening on {gateway.url}")
    serve_until_terminated(gateway)


if __name__ == "__main__":
    main()
