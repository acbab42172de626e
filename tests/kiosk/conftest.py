"""Kiosk tests: Qt offscreen; the real PC/SC fixtures come from tests/conftest.py."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
