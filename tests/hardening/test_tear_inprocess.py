"""Issue 7 item 1, in process: the card pulled away at every APDU of a full read.

For every N from 1 to the number of APDUs of a complete read (identity, then photo),
:class:`~simulators.inprocess.InProcessTransport` raises ``CardRemovedError`` at the N-th
command. The read must end with exactly that error at exactly that command (nothing
swallows it and carries on), ``read_identity`` must return nothing when the removal falls
in the identity phase, and the next tap on the same chip (after its power-on reset) must
read and verify as VERIFIED.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cardreader.errors import CardRemovedError, TransportError
from cardreader.verified_read import VerifiedReader, read_and_verify
from cardreader.verify.report import Verdict
from simulators.chip.card import EmrtdChip
from simulators.inprocess import InProcessTransport
from simulators.issuance.card import build_chip
from tests.hardening.cards import Method, credentials, full_only, issued, trust


@dataclass(frozen=True)
class Case:
    method: Method
    extended: bool
    identity_apdus: int
    """APDUs of ``read_identity`` (EF.CardAccess, access control, EF.SOD, DG14, DG1, CA,
    DG13: each file one READ BINARY by short EF identifier on an extended-length link)."""
    total_apdus: int
    """APDUs of the whole read, identity and photo."""


CASES = [
    Case(Method.PACE_CAN, extended=True, identity_apdus=13, total_apdus=14),
    pytest.param(
        Case(Method.PACE_CAN, extended=False, identity_apdus=18, total_apdus=50), marks=full_only
    ),
    Case(Method.BAC, extended=True, identity_apdus=10, total_apdus=11),
]


def _id(case: Case) -> str:
    return f"{case.method.value}-{'extended' if case.extended else 'short'}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_the_reference_read_has_the_expected_apdu_count(case: Case) -> None:
    card = issued(case.method)
    link = InProcessTransport(build_chip(card), extended=case.extended)
    reader = VerifiedReader(link, credentials(card, case.method), trust())
    assert reader.read_identity().report.verdict is Verdict.VERIFIED
    assert link.sent == case.identity_apdus
    assert reader.read_photo().face is not None
    assert link.sent == case.total_apdus


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_card_removed_at_every_apdu_then_the_next_tap_verifies(case: Case) -> None:
    card = issued(case.method)
    chip = build_chip(card)
    creds = credentials(card, case.method)
    reference = read_and_verify(InProcessTransport(chip, case.extended), creds, trust())
    for n in range(1, case.total_apdus + 1):
        chip.reset()  # the chip loses power when it leaves the field
        link = InProcessTransport(chip, case.extended, remove_at=n)
        reader = VerifiedReader(link, creds, trust())
        if n <= case.identity_apdus:
            with pytest.raises(CardRemovedError):
                reader.read_identity()
        else:
            assert reader.read_identity().report.verdict is Verdict.VERIFIED
            with pytest.raises(CardRemovedError):
                reader.read_photo()
        assert link.sent == n, f"removal at APDU {n}: the reader went on to APDU {link.sent}"

        if n > case.identity_apdus:  # the facade returns nothing when the photo is torn
            chip.reset()
            with pytest.raises(CardRemovedError):
                read_and_verify(
                    InProcessTransport(chip, case.extended, remove_at=n), creds, trust()
                )

        chip.reset()
        again = read_and_verify(InProcessTransport(chip, case.extended), creds, trust())
        assert again.report.verdict is Verdict.VERIFIED, (n, again.report.checks)
        assert again.identity == reference.identity
        assert again.face is not None and again.face == reference.face


class FailingLink(InProcessTransport):
    """A link with one generic failure (not a removal) at APDU ``fail_at``."""

    def __init__(self, card: EmrtdChip, fail_at: int) -> None:
        super().__init__(card)
        self.fail_at = fail_at

    def transmit(self, apdu: bytes) -> bytes:
        if self.sent + 1 == self.fail_at:
            self.sent += 1
            raise TransportError("the reader failed")
        return super().transmit(apdu)


def test_a_link_failure_under_secure_messaging_surfaces_as_itself() -> None:
    # APDU 10 is the READ BINARY of DG1 under PACE secure messaging. The channel closes
    # with the failure; the file reader once retried a smaller block on the closed channel
    # and reported "the secure channel is closed" (SecureMessagingError) instead.
    card = issued(Method.PACE_CAN)
    with pytest.raises(TransportError) as raised:
        read_and_verify(
            FailingLink(build_chip(card), 10), credentials(card, Method.PACE_CAN), trust()
        )
    assert type(raised.value) is TransportError


def test_a_link_failure_on_a_plain_read_steps_the_block_size_down() -> None:
    # APDU 1 is the first READ BINARY of EF.CardAccess, before access control.
    card = issued(Method.PACE_CAN)
    link = FailingLink(build_chip(card), 1)
    result = read_and_verify(link, credentials(card, Method.PACE_CAN), trust())
    assert result.report.verdict is Verdict.VERIFIED
    assert link.sent == 15
