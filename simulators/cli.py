"""The ``cccd-sim`` command line: virtual cards and simulated hospital services."""

from __future__ import annotations

import click

from simulators import demo as demo_module


@click.group()
def main() -> None:
    """Simulators for testing the CCCD toolkit without hardware."""


@main.command()
def demo() -> None:
    """Start pcscd, insert the sample card into a virtual reader and read it."""
    demo_module.run(click.echo)
