"""``python -m kiosk`` / ``cccd-kiosk``: start the check-in kiosk.

Exit codes: 0 after a normal quit, 2 for a configuration problem (message on stderr).
"""

from __future__ import annotations

import argparse
import logging
import sys

from hospital_adapter.errors import ConfigurationError
from kiosk.config import ConfigError, load_config

_log = logging.getLogger("kiosk")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cccd-kiosk", description=__doc__)
    parser.add_argument("--config", help="TOML file (default: $CCCD_KIOSK_CONFIG or built-in)")
    parser.add_argument(
        "--windowed", action="store_true", help="a 1280×800 window, not full screen"
    )
    parser.add_argument("--print-config", action="store_true", help="print the default TOML")
    parser.add_argument(
        "--autopilot",
        action="store_true",
        help="answer every screen by itself (soak and crash tests, demos; never with patients)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    if args.print_config:
        from kiosk.config import default_config_text

        print(default_config_text(), end="")
        return 0
    try:
        config = load_config(args.config)
        from kiosk.qt.app import KioskApp

        kiosk = KioskApp(config)
    except (ConfigError, ConfigurationError) as exc:
        print(f"cccd-kiosk: {exc}", file=sys.stderr)
        return 2
    try:
        if args.autopilot:
            from kiosk.autopilot import Autopilot

            Autopilot(kiosk.flow, kiosk.runner, config.departments[0].code)
        kiosk.show(fullscreen=False if args.windowed else None)
        _log.info("kiosk started: the first screen is up")
        return kiosk.app.exec()
    finally:
        kiosk.close()


if __name__ == "__main__":
    sys.exit(main())
