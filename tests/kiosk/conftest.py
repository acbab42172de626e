"""Kiosk tests: Qt offscreen, and the real PC/SC fixtures of tests/e2e reused."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.e2e.conftest import pcscd, reader, waiter  # noqa: F401
