"""EventLog.append_many (the dispatcher's batch writer) on both engines: the same chain as
one append at a time, mixed with single appends, new and existing streams, and concurrent
writers."""
from __future__ import annotations

import threading


from exchange.audit import verify_chain
from exchange.domain import PartyKind, Route, TransportMode
from exchange.parties.keys import add_party
from exchange.documents.pipeline import CreateShipment, create_shipment


def _shipments(store, n: int) -> list[str]:
    with store.writing() as uow:
        party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="Batch Forwarding")
        ids = [create_shipment(CreateShipment(forwarder_id=party.id,
                                              route=Route(origin="KZ", destination="UZ"),
                                              transport_mode=TransportMode.ROAD), [],
                               uow=uow)[0].id for _ in range(n)]
        uow.commit()
    return ids


def _check(store, streams, expected_kinds):
    with store.reading() as uow:
        for sid in streams:
            events = uow.events.list(sid)
            assert verify_chain(sid, events, uow.events.head(sid)) is None
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert [e.kind for e in events] == expected_kinds[sid]


def test_batches_mixed_with_single_appends_make_one_chain_per_stream(store):
    a, b = _shipments(store, 2)
    fresh = "party:batch-test"  # a stream with no head yet
    with store.reading() as uow:
        before = {sid: [e.kind for e in uow.events.list(sid)] for sid in (a, b)}
    with store.writing() as uow:
        uow.events.append(a, "single.1", {"n": 1}, actor_id=None)
        uow.events.append_many([(a, "batch.1", {"n": 2}, None), (b, "batch.1", {"n": 3}, None),
                                (fresh, "batch.1", {"text": "Ташкент"}, None),
                                (a, "batch.2", {"n": 4}, None)])
        uow.events.append(b, "single.2", {"n": 5}, actor_id=None)
        uow.events.append_many([(fresh, "batch.2", {}, None)])
        uow.events.append_many([])
        uow.commit()
    _check(store, (a, b, fresh), {
        a: before[a] + ["single.1", "batch.1", "batch.2"],
        b: before[b] + ["batch.1", "single.2"],
        fresh: ["batch.1", "batch.2"]})


def test_a_rolled_back_batch_leaves_no_trace_and_the_next_one_chains_on(store):
    (a,) = _shipments(store, 1)
    with store.reading() as uow:
        kinds = [e.kind for e in uow.events.list(a)]
    with store.writing() as uow:
        uow.events.append_many([(a, "lost", {}, None)])
        uow.rollback()
    with store.writing() as uow:  # a new transaction must not reuse the rolled-back head
        uow.events.append_many([(a, "kept", {}, None)])
        uow.commit()
    _check(store, (a,), {a: kinds + ["kept"]})


def test_concurrent_batches_and_single_appends_on_shared_streams(store):
    streams = _shipments(store, 6)
    with store.reading() as uow:
        counts = {sid: len(uow.events.list(sid)) for sid in streams}
    errors: list[BaseException] = []

    def batches(n: int) -> None:
        try:
            for i in range(5):
                with store.writing() as uow:
                    # each writer names the streams in another order; the heads are locked
                    # sorted, so two writers cannot deadlock
                    order = streams[n:] + streams[:n]
                    uow.events.append_many([(s, "batch", {"w": n, "i": i}, None) for s in order])
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def singles() -> None:
        try:
            for i in range(5):
                with store.writing() as uow:
                    uow.events.append(streams[i], "single", {"i": i}, actor_id=None)
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=batches, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=singles))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.reading() as uow:
        for sid in streams:
            events = uow.events.list(sid)
            assert verify_chain(sid, events, uow.events.head(sid)) is None
            extra = 15 + (1 if streams.index(sid) < 5 else 0)
            assert len(events) == counts[sid] + extra
