"""``python -m kiosk`` / ``cccd-kiosk``: start the check-in kiosk.

Exit codes: 0 after a normal quit or a valid ``--check-config``, 2 for a configuration
problem (every problem on stderr, each with its key). Only click is imported up front: the
hospital adapter, the configuration schema and Qt load when a command needs them, so
``--help`` answers at once (issue #16).
"""

from __future__ import annotations

import logging
import os
import sys

import click

_log = logging.getLogger("kiosk")

EXIT_CONFIGURATION = 2
EXIT_FAILURE = 1


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
    "--check-config",
    "check_path",
    metavar="FILE",
    help="Check FILE and the environment's secrets, print every problem, start nothing.",
)
@click.option("--hash-pin", is_flag=True, help="Ask for a staff PIN, print its [admin] pin_hash.")
@click.option(
    "--autopilot",
    is_flag=True,
    help="Answer every screen by itself (soak and crash tests, demos; never with patients).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug log output.")
@click.version_option(package_name="cccd-toolkit")
def main(
    config_path: str | None,
    windowed: bool,
    print_config: bool,
    check_path: str | None,
    hash_pin: bool,
    autopilot: bool,
    verbose: bool,
) -> None:
    """Start the hospital check-in kiosk.

    Exit codes: 0 after a normal quit, 2 for a configuration problem (message on stderr).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    if print_config:
        from kiosk.config import default_config_text

        click.echo(default_config_text(), nl=False)
        return
    if hash_pin:
        _hash_pin()
        return
    if check_path:
        from hospital_adapter import check_config, report
        from kiosk.config import KioskConfig, startup_problems

        problems = check_config(KioskConfig, check_path, os.environ, startup_problems)
        click.echo(report(check_path, problems), err=bool(problems))
        sys.exit(EXIT_CONFIGURATION if problems else 0)
    sys.exit(_run(config_path, windowed=windowed, autopilot=autopilot))


def _hash_pin() -> None:
    """Prompt for the PIN twice (not echoed) and print the hash for ``[admin] pin_hash``."""
    from kiosk.pin import check_pin, hash_pin

    pin = click.prompt(
        "Staff PIN (4 to 8 digits)", hide_input=True, confirmation_prompt=True, err=True
    )
    try:
        click.echo(f'pin_hash = "{hash_pin(check_pin(pin))}"')
    except ValueError as exc:
        click.echo(f"cccd-kiosk: {exc}", err=True)
        sys.exit(EXIT_CONFIGURATION)


def _run(config_path: str | None, *, windowed: bool, autopilot: bool) -> int:
    """Open the kiosk and run it until it quits; the process exit code.

    The configuration and the environment are checked first (every problem, exit 2); then
    the first screen is drawn, and the card backend and the services are opened behind it
    (:meth:`KioskApp.starting`). "kiosk started" is logged once they are up, the card
    watcher and the scanner running; the default staff PIN (a 0.1 s scrypt check) or a
    store that cannot be opened still ends the process with exit 2 and its problem.
    """
    from hospital_adapter import (
        ConfigurationError,
        Problem,
        StoreError,
        environment_problems,
        report,
    )
    from kiosk.config import ENV_CONFIG, load_config

    source = config_path or os.environ.get(ENV_CONFIG) or "the built-in configuration"

    def refused(exc: BaseException) -> int:
        if isinstance(exc, ConfigurationError):
            click.echo(f"cccd-kiosk: {report(source, exc.problems)}", err=True)
            return EXIT_CONFIGURATION
        if isinstance(exc, StoreError):
            click.echo(f"cccd-kiosk: {report(source, [Problem('store', str(exc))])}", err=True)
            return EXIT_CONFIGURATION
        raise exc

    try:
        config = load_config(config_path)
        problems = environment_problems(config, os.environ)  # the PIN: behind the screen
        if problems:
            raise ConfigurationError(*problems)
    except ConfigurationError as exc:
        return refused(exc)
    from kiosk.qt.app import KioskApp

    kiosk = KioskApp.starting(config)
    failed: list[int] = []

    def on_failed(exc: BaseException) -> None:
        if isinstance(exc, ConfigurationError | StoreError):
            failed.append(refused(exc))
        else:  # a bug or the machine: its traceback in the log, never a kiosk left hanging
            _log.critical("the kiosk could not start", exc_info=exc)
            failed.append(EXIT_FAILURE)
        kiosk.app.exit(failed[0])

    def on_ready() -> None:
        _log.info("kiosk started: the first screen is up")

    kiosk.on_failed, kiosk.on_ready = on_failed, on_ready
    try:
        if autopilot:
            from kiosk.autopilot import Autopilot

            Autopilot(kiosk.flow, kiosk.runner, config.departments[0].code)
        kiosk.show(fullscreen=False if windowed else None)
        _log.info("first screen drawn; the services are opening")
        code = kiosk.exec()
        return failed[0] if failed else code
    finally:
        kiosk.close()


if __name__ == "__main__":
    main()
