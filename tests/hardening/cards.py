"""Shared material of the hardening tests: persona 7's cards, credentials, trust, a guard.

Persona 7's 2021 CCCD is the reference card (docs/domain.md §2). The BAC case is the same card
issued without PACE (fault ``no-pace``), so BAC is the access control, not a downgrade.
"""

from __future__ import annotations

import enum
import os
import threading
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Generic, TypeVar

import pytest

from cardreader.access.credentials import Credentials, MrzKey
from cardreader.verify.trust import TrustStore, parse_certificates
from simulators.faults import FaultSpec
from simulators.issuance.card import IssuedCard, issue_card, sim_pki
from simulators.persona import make_persona

SEED = 7
T = TypeVar("T")

FULL = os.environ.get("HARDENING_FULL", "") not in ("", "0")
"""``HARDENING_FULL=1`` runs the long variants (every index, every byte); CI runs a subset."""
full_only = pytest.mark.skipif(not FULL, reason="long variant: set HARDENING_FULL=1")


class Method(enum.Enum):
    """How the reader opens the chip in a test."""

    PACE_CAN = "PACE-CAN"
    BAC = "BAC"


@cache
def trust() -> TrustStore:
    """The simulator CSCA as the only trust anchor."""
    return TrustStore(parse_certificates(sim_pki().csca.der))


@cache
def issued(method: Method = Method.PACE_CAN) -> IssuedCard:
    """Persona 7's 2021 card; for BAC the same card without EF.CardAccess."""
    faults = (FaultSpec.parse("no-pace"),) if method is Method.BAC else ()
    return issue_card(make_persona(SEED), faults=faults)


QUIRKS = ("signer-name-order", "id-data-sod")
"""Faults making quirks of genuine documents, which must verify (docs/verification.md §3)."""


@cache
def quirky(quirk: str) -> IssuedCard:
    """Persona 7's 2021 card with one of :data:`QUIRKS` in its EF.SOD."""
    return issue_card(make_persona(SEED), faults=(FaultSpec.parse(quirk),))


def credentials(card: IssuedCard, method: Method) -> Credentials:
    """The CAN (PACE) or the MRZ key read off the card's MRZ information (BAC)."""
    if method is Method.PACE_CAN:
        return Credentials(can=card.can)
    info = card.mrz_information
    return Credentials(mrz_keys=(MrzKey(info[:9].rstrip("<"), info[10:16], info[17:23]),))


@dataclass
class Outcome(Generic[T]):
    """What a guarded call did: its value or its exception, and the peak traced memory."""

    value: T | None = None
    error: BaseException | None = None
    peak_bytes: int = 0


def run_bounded(call: Callable[[], T], timeout: float, *, trace_memory: bool = False) -> Outcome[T]:
    """Run ``call`` in a daemon thread and wait at most ``timeout`` seconds for it.

    Raises :class:`TimeoutError` when the call is still running then (a hang); no
    pytest-timeout plugin is needed. With ``trace_memory`` the peak of Python allocations
    during the call is measured with :mod:`tracemalloc`.
    """
    outcome: Outcome[T] = Outcome()

    def target() -> None:
        try:
            outcome.value = call()
        except BaseException as exc:  # reported to the caller, whatever it is
            outcome.error = exc

    if trace_memory:
        tracemalloc.start()
    try:
        worker = threading.Thread(target=target, name="bounded-call", daemon=True)
        worker.start()
        worker.join(timeout)
        if trace_memory:
            outcome.peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        if trace_memory:
            tracemalloc.stop()
    if worker.is_alive():
        raise TimeoutError(f"the call did not finish within {timeout} s")
    return outcome
