"""``python -m kiosk`` / ``cccd-kiosk``: start the check-in kiosk.

Exit codes: 0 after a normal quit, 2 for a configuration problem (message on stderr).
"""

from __future__ import annotations

import logging
import sys

import click

from hospital_adapter.errors import ConfigurationError
from kiosk.config import ConfigError, load_config

_log = logging.getLogger("kiosk")


@click.command()
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="TOML file (default: $CCCD_KIOSK_CONFIG or the built-in configuration).",
)
@click.option("--windowed", is_flag=True, help="A 1280×800 window, not full screen.")
@click.option("--print-config", is_flag=True, help="Print the default TOML and exit.")
@click.option(
    "--autopilot",
    is_flag=True,
    help="Answer every screen by itself (soak and crash tests, demos; never with patients).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug log output.")
@click.version_option(package_name="cccd-toolkit")
def main(
    config_path: str | None, windowed: bool, print_config: bool, autopilot: bool, verbose: bool
) -> None:
    """Start the hospital check-in kiosk.

    Exit codes: 0 after a normal quit, 2 for a configuration problem (message on stderr).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    if print_config:
        from kiosk.config import default_config_text

        click.echo(default_config_text(), nl=False)
        return
    sys.exit(_run(config_path, windowed=windowed, autopilot=autopilot))


def _run(config_path: str | None, *, windowed: bool, autopilot: bool) -> int:
    """Open the kiosk and run it until it quits; the process exit code."""
    try:
        config = load_config(config_path)
        from kiosk.qt.app import KioskApp

        kiosk = KioskApp(config)
    except (ConfigError, ConfigurationError) as exc:
        click.echo(f"cccd-kiosk: {exc}", err=True)
        return 2
    try:
        if autopilot:
            from kiosk.autopilot import Autopilot

            Autopilot(kiosk.flow, kiosk.runner, config.departments[0].code)
        kiosk.show(fullscreen=False if windowed else None)
        return kiosk.exec(on_running=lambda: _log.info("kiosk started: the first screen is up"))
    finally:
        kiosk.close()


if __name__ == "__main__":
    main()
