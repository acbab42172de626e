"""Logging levels and loggers of the card library.

Intent is logged at INFO/DEBUG. Raw APDUs are logged only at :data:`TRAFFIC`, a level
below DEBUG that a user must enable explicitly; no personal data is logged at any other level.
"""

from __future__ import annotations

import logging

TRAFFIC = 5
"""Log level for raw APDU traces (below DEBUG)."""

logging.addLevelName(TRAFFIC, "TRAFFIC")


def get_logger(name: str) -> logging.Logger:
    """Return the library logger for module ``name``."""
    return logging.getLogger(name)
