"""The append-only audit log's hash chain.

Each entry's ``hash`` is a keyed MAC over the previous entry's hash and the entry's own
canonical JSON; editing, deleting or reordering an entry breaks every later link. Entries
hold a pseudonym (keyed HMAC of the ID number), never personal data (DOMAIN.md §4.6).
"""

from __future__ import annotations

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


def verify_chain(mac: Callable[[bytes], str], entries: Iterable[AuditEntry]) -> int:
    """Check every link in order; return the number of entries or raise
    :class:`AuditChainError` at the first bad one."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            raise AuditChainError(entry.seq, f"expected entry {expected_seq}")
        if entry.prev_hash != prev:
            raise AuditChainError(entry.seq, "does not point to the previous entry")
        if entry.hash != link(
            mac, prev, entry.seq, entry.at, entry.action, entry.subject, entry.detail
        ):
            raise AuditChainError(entry.seq, "content does not match its hash")
        prev, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return count
