"""Run the simulated HIS (MLLP + FHIR) in the foreground until interrupted."""

from __future__ import annotations

import click

from simulators.his import serve
from simulators.server_thread import serve_until_terminated

_PORT = click.IntRange(0, 65535)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--mllp-port", type=_PORT, default=0, show_default=True, help="MLLP port; 0 picks a free one."
)
@click.option(
    "--fhir-port", type=_PORT, default=0, show_default=True, help="FHIR port; 0 picks a free one."
)
def main(host: str, mllp_port: int, fhir_port: int) -> None:
    """Run the simulated HIS (MLLP and FHIR).

    An HL7 v2 listener over MLLP and a FHIR endpoint, serving until Ctrl-C or SIGTERM.
    """
    his = serve(host, mllp_port, fhir_port)
    mllp_host, port = his.mllp.address
    click.echo(f"HIS simulator: MLLP on {mllp_host}:{port}, FHIR at {his.fhir.url}")
    serve_until_terminated(his)


if __name__ == "__main__":
    main()
