"""The tamper-evident event log: one SHA-256 hash chain per stream (a shipment).

Each event stores ``prev_hash`` (the previous event's ``hash``, 64 zeros for the first) and
``hash = SHA-256(prev_hash || "\\n" || canonical JSON of {stream, seq, kind, actor,
occurred_at, data})``. Canonical JSON is ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8; ``data`` and ``occurred_at`` are stored as the exact
strings that were hashed, so no database round-trip can change them. Editing, inserting or
removing any row breaks the chain at that row (a removed last row is caught by the
per-stream ``seq`` count kept in the stream's head, see :func:`verify_chain`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["GENESIS", "ChainBreak", "canonical_json", "event_hash", "verify_chain"]

GENESIS = "0" * 64


# Made once: ``json.dumps`` with options builds a new encoder on every call (an encoder
# keeps no state between calls, so threads share it).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=str)


def canonical_json(value: object) -> str:
    return _CANONICAL.encode(value)


def event_hash(prev_hash: str, *, stream: str, seq: int, kind: str, actor: str | None,
               occurred_at: str, data_json: str) -> str:
    body = canonical_json({"stream": stream, "seq": seq, "kind": kind, "actor": actor,
                           "occurred_at": occurred_at, "data": data_json})
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


class _Event(Protocol):
    id: int
    stream: str
    seq: int
    kind: str
    actor_id: str | None
    occurred_at: str
    data_json: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    stream: str
    event_id: int | None
    seq: int
    reason: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "a missing event"
        return f"stream {self.stream}: {where} (seq {self.seq}): {self.reason}"


def verify_chain(stream: str, events: Iterable[_Event],
                 head: tuple[int, str] | None = None) -> ChainBreak | None:
    """Check one stream's events (ordered by ``seq``) against its recorded *head*
    ``(seq, hash)``; return the first break or None."""
    prev = GENESIS
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return ChainBreak(stream, ev.id, ev.seq,
                              f"sequence gap: expected seq {expected_seq} (an event was "
                              "removed or inserted)")
        if ev.prev_hash != prev:
            return ChainBreak(stream, ev.id, ev.seq,
                              "prev_hash does not match the previous event's hash")
        try:
            json.loads(ev.data_json)
        except ValueError:
            return ChainBreak(stream, ev.id, ev.seq, "data is not valid JSON")
        computed = event_hash(prev, stream=ev.stream, seq=ev.seq, kind=ev.kind,
                              actor=ev.actor_id, occurred_at=ev.occurred_at,
                              data_json=ev.data_json)
        if computed != ev.hash or ev.stream != stream:
            return ChainBreak(stream, ev.id, ev.seq,
                              "content does not match its hash (the row was edited)")
        prev = ev.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            return ChainBreak(stream, None, last_seq, "the stream has no recorded head")
        return None
    if head != (last_seq, prev):
        return ChainBreak(stream, None, head[0],
                          f"the chain ends at seq {last_seq} but its head records seq "
                          f"{head[0]} (events were removed at the end)")
    return None
