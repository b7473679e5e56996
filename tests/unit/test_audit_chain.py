"""The hash chain itself: computed, verified, and every kind of tampering named."""
from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.audit import GENESIS, canonical_json, event_hash, verify_chain


@dataclass(frozen=True)
class Ev:
    id: int
    stream: str
    seq: int
    kind: str
    actor_id: str | None
    occurred_at: str
    data_json: str
    prev_hash: str
    hash: str


def chain(n: int, stream: str = "s") -> list[Ev]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        data = canonical_json({"i": i, "city": "Алматы"})
        at = f"2026-01-01T00:00:0{i}+00:00"
        h = event_hash(prev, stream=stream, seq=i, kind="k", actor="a", occurred_at=at,
                       data_json=data)
        out.append(Ev(i * 10, stream, i, "k", "a", at, data, prev, h))
        prev = h
    return out


def test_intact_chain_verifies():
    events = chain(5)
    assert verify_chain("s", events, (5, events[-1].hash)) is None
    assert verify_chain("empty", [], None) is None


def test_edited_content_is_named():
    events = chain(5)
    events[2] = replace(events[2], data_json='{"i":99}')
    broken = verify_chain("s", events, (5, events[-1].hash))
    assert broken.event_id == 30 and broken.seq == 3 and "edited" in broken.reason


def test_edited_kind_or_actor_or_time_is_named():
    for field, value in (("kind", "other"), ("actor_id", "b"), ("occurred_at", "2020")):
        events = chain(3)
        events[1] = replace(events[1], **{field: value})
        assert verify_chain("s", events, (3, events[-1].hash)).event_id == 20


def test_removed_middle_event_is_a_gap():
    events = chain(4)
    del events[1]
    broken = verify_chain("s", events, (4, events[-1].hash))
    assert broken.seq == 3 and "gap" in broken.reason


def test_removed_last_event_shows_against_the_head():
    events = chain(4)
    head = (4, events[-1].hash)
    broken = verify_chain("s", events[:-1], head)
    assert broken is not None and "removed" in broken.reason


def test_recomputed_hash_with_stale_successor_is_caught():
    events = chain(3)
    data = '{"i":2,"forged":true}'
    h = event_hash(events[0].hash, stream="s", seq=2, kind="k", actor="a",
                   occurred_at=events[1].occurred_at, data_json=data)
    events[1] = replace(events[1], data_json=data, hash=h)
    broken = verify_chain("s", events, (3, events[-1].hash))
    assert broken.event_id == 30 and "prev_hash" in broken.reason
