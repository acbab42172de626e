"""The append-only audit log's hash chain and its checkpoint.

Each entry's ``hash`` is a keyed MAC over the previous entry's hash and the entry's own
canonical JSON; editing, deleting or reordering an entry breaks every later link. Deleting
the *newest* entries leaves a shorter chain that is still valid, so a checkpoint (the
entry count and the newest hash, under its own keyed MAC) is updated in the same
transaction as each append, and verification compares the chain with it. Entries hold a
pseudonym (keyed HMAC of the ID number), never personal data (docs/domain.md §4.6).

What the checkpoint cannot catch: someone who saved an old checkpoint row and puts it back
together with the entries up to it (a rollback of the whole file is the same). Against
that, export the head (``verify_audit``'s :class:`ChainHead`) somewhere else from time to
time and compare.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hospital_adapter.errors import AuditChainError

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    action: str
    subject: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainHead:
    """The chain's length and its newest entry's hash (:data:`GENESIS` when empty)."""

    count: int
    hash: str


EMPTY = ChainHead(0, GENESIS)


def link(
    mac: Callable[[bytes], str],
    prev_hash: str,
    seq: int,
    at: str,
    action: str,
    subject: str,
    detail: str,
) -> str:
    """The hash of an entry given its predecessor's."""
    body = json.dumps([prev_hash, seq, at, action, subject, detail], ensure_ascii=False)
    return mac(body.encode("utf-8"))


def verify_chain(mac: Callable[[bytes], str], entries: Iterable[AuditEntry]) -> ChainHead:
    """Check every link in order; return the head, or raise :class:`AuditChainError` at
    the first bad entry."""
    head = EMPTY
    for entry in entries:
        expected_seq = head.count + 1
        if entry.seq != expected_seq:
            raise AuditChainError(entry.seq, f"expected entry {expected_seq}")
        if entry.prev_hash != head.hash:
            raise AuditChainError(entry.seq, "does not point to the previous entry")
        if entry.hash != link(
            mac, head.hash, entry.seq, entry.at, entry.action, entry.subject, entry.detail
        ):
            raise AuditChainError(entry.seq, "content does not match its hash")
        head = ChainHead(entry.seq, entry.hash)
    return head


def checkpoint_mac(mac: Callable[[bytes], str], head: ChainHead) -> str:
    """The checkpoint's MAC over the head (``mac`` keyed apart from the chain's)."""
    return mac(json.dumps(["audit-checkpoint", head.count, head.hash]).encode("ascii"))


def checkpoint_valid(mac: Callable[[bytes], str], head: ChainHead, stored_mac: str) -> bool:
    return hmac.compare_digest(stored_mac, checkpoint_mac(mac, head))


def verify_against_checkpoint(
    mac: Callable[[bytes], str], chain: ChainHead, checkpoint: ChainHead | None, stored_mac: str
) -> None:
    """Compare a verified chain's head with the stored checkpoint; raise
    :class:`AuditChainError` if the checkpoint is missing, forged, or not the chain's head
    (the newest entries deleted)."""
    if checkpoint is None:
        raise AuditChainError(chain.count, "the checkpoint is missing")
    if not checkpoint_valid(mac, checkpoint, stored_mac):
        raise AuditChainError(checkpoint.count, "the checkpoint fails authentication")
    if chain.count < checkpoint.count:
        missing = checkpoint.count - chain.count
        raise AuditChainError(
            chain.count + 1,
            f"the newest {missing} entr{'y is' if missing == 1 else 'ies are'} missing"
            f" (the checkpoint counts {checkpoint.count})",
        )
    if chain.count > checkpoint.count:
        raise AuditChainError(checkpoint.count + 1, "entries beyond the checkpoint")
    if not hmac.compare_digest(chain.hash, checkpoint.hash):
        raise AuditChainError(chain.count, "the newest entry is not the checkpoint's")
