"""Errors of the kiosk's serial devices."""

from __future__ import annotations


class DeviceError(Exception):
    """A device is missing, disconnected, or reports a fault (e.g. paper out)."""
