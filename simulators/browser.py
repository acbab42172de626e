"""Debian's chromium, headless, for the queue board's tests and the fleet demo's screenshot.

Playwright drives it by path (``executable_path``): Playwright's own browser download is not
used. The flags keep it off the network (no background updates, sync or QUIC probes, which
a closed network refuses at every start) and let it run as root (``--no-sandbox``).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
