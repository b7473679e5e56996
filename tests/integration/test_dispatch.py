"""Routing and dispatch on both engines: the outbox rows written with the document, the
dispatcher delivering through three adapter kinds to real receivers, retries, dead letters,
replays, and several dispatchers sharing one database."""
from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters.contract import AdapterContext
from adapters.registry import default_registry
from adapters.testing.simulator import SimulatorServer
from exchange.audit import verify_chain
from exchange.delivery.dispatcher import Dispatcher, RetryPolicy
from exchange.delivery.errors import DeliveryStateError
from exchange.delivery.outbox import replay_delivery, routing_hook
from exchange.delivery.routing import RoutingRules
from exchange.documents.pipeline import (
    CreateShipment,
    DocumentInput,
    Inspected,
    create_shipment,
    store_document,
)
from exchange.domain import PartyKind, Route, TransportMode
from exchange.parties.keys import add_party
from exchange.store.deliveries import DeliveryRow
from exchange.store.models import ShipmentRow
from tests.fixtures.corridor import corridor_documents, corridor_members

ROUTE = Route(origin="KZ", transit=("UZ",), destination="AF")


def soon() -> datetime:
    """A dispatcher's clock just after the rows submitted until now became due (a fixed
    date here made these tests fail once the real date passed it)."""
    return datetime.now(UTC) + timedelta(seconds=1)


EXPECTED = {
    "ExportCustomsDeclaration": {"KZ"},
    "TransitCustomsDeclaration": {"UZ"},
    "ImportCustomsDeclaration": {"AF"},
    "Waybill": {"KZ", "UZ", "AF"},
}


def inspected(data: bytes, root: str, supersedes: str | None = None) -> Inspected:
    """A document as the pipeline's first half leaves it (sealing is not under test here:
    the 'sealed' bytes are the original with a marker comment, so they differ)."""
    sealed = data + b"<!-- sealed -->"
    return Inspected(DocumentInput(data, f"{root}.xml", supersedes),
                     hashlib.sha256(data).hexdigest(), len(data), {"decision": "accept"},
                     {"present": False}, None, root=root,
                     namespace=f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2",
                     pack="ubl-2.4", pack_version="2.4", sealed=sealed)


def submit_corridor(store, members, docs=None):
    docs = docs or corridor_documents()
    hook = routing_hook(RoutingRules.default(), members)
    with store.writing() as uow:
        party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="Silk Road Forwarding")
        shipment, outcomes = create_shipment(
            CreateShipment(forwarder_id=party.id, route=ROUTE,
                           transport_mode=TransportMode.ROAD),
            [inspected(data, root) for root, data in docs.items()], uow=uow,
            on_accepted=[hook])
        uow.commit()
    return shipment.id, party.id, {o.inspected.root: o.document_id for o in outcomes}


@pytest.fixture
def restart(request):
    """Start a new simulator on the port of a stopped one (the endpoint comes back)."""
    started = []

    def restart(old: SimulatorServer) -> SimulatorServer:
        server = SimulatorServer(old.state.config, port=old.port).start()
        started.append(server)
        return server

    yield restart
    for server in started:
        server.stop()


def adapters_for(members, countries=("KZ", "UZ", "AF")):
    registry = default_registry()
    return {cc: registry.for_member(members[cc], context=AdapterContext()) for cc in countries}


def deliveries(store, shipment_id):
    with store.reading() as uow:
        return {(d.document_id, d.country): d for d in uow.deliveries.for_shipment(shipment_id)}


def test_each_document_goes_where_the_rules_say(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, doc_ids = submit_corridor(store, members)
    rows = deliveries(store, shipment_id)
    got = {root: {cc for (doc, cc) in rows if doc == doc_ids[root]} for root in doc_ids}
    assert got == EXPECTED
    assert {r.status for r in rows.values()} == {"pending"}
    assert {r.adapter for r in rows.values()} == {"inbox", "https-push", "edifact-file"}
    with store.reading() as uow:
        kinds = [e.kind for e in uow.events.list(shipment_id)]
    assert kinds.count("delivery.queued") == 6


def test_dispatch_through_three_adapter_kinds(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    dispatcher = Dispatcher(store, adapters_for(members), policy=RetryPolicy(base_delay=0.01))
    try:
        assert dispatcher.run_once() == 6
        assert dispatcher.run_once() == 0  # nothing is due any more
    finally:
        dispatcher.close()
    rows = deliveries(store, shipment_id)
    by_country = {}
    for (doc, cc), row in rows.items():
        by_country.setdefault(cc, set()).add(row.status)
    assert by_country["KZ"] == {"sent"}                  # inbox: waiting for the pull
    assert by_country["UZ"] <= {"delivered", "acknowledged"}
    assert by_country["AF"] == {"delivered"}             # written to the EDIFACT outbox folder
    # The UZ simulator got exactly the two documents routed to UZ, once each.
    stats = simulator.state.stats()
    assert stats["deliveries"] == 2 and stats["duplicates"] == 0
    # AF got a CUSDEC interchange for the import declaration, written atomically.
    written = sorted(p.name for p in (tmp_path / "af" / "out").iterdir())
    assert written and not any(n.startswith(".") or n.endswith(".tmp") for n in written)
    assert any(b"CUSDEC" in (tmp_path / "af" / "out" / n).read_bytes() for n in written)


class GatedAdapter:
    """Holds every push on the wire until :meth:`release` lets it answer ``delivered``."""

    def __init__(self):
        self.calls: list[str] = []
        self.released: set[str] = set()
        self.everything = False
        self._changed = threading.Condition()

    def deliver(self, envelope):
        from adapters.contract import DeliveryResult, DeliveryStatus

        with self._changed:
            self.calls.append(envelope.delivery_id)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.everything
                                   or envelope.delivery_id in self.released, timeout=30)
        return DeliveryResult(DeliveryStatus.DELIVERED, envelope.delivery_id)

    def wait_for_calls(self, n: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.calls) >= n, timeout=10), self.calls

    def release(self, *ids: str) -> None:
        with self._changed:
            if ids:
                self.released.update(ids)
            else:
                self.everything = True
            self._changed.notify_all()

    def close(self):
        pass


def test_a_running_dispatcher_claims_only_what_it_can_push_at_once(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    dispatcher = Dispatcher(store, adapters_for(members), policy=RetryPolicy(base_delay=0.01),
                            batch_size=50, concurrency=2)
    try:
        assert dispatcher.step() == 2  # two slots: two rows claimed, the others wait
        statuses = [r.status for r in deliveries(store, shipment_id).values()]
        assert sorted(statuses) == ["pending"] * 4 + ["sending"] * 2
        claimed = 2
        while n := dispatcher.step():  # each turn records what finished, claims as much
            claimed += n
            assert sum(r.status == "sending"
                       for r in deliveries(store, shipment_id).values()) <= 2
        dispatcher.flush()
    finally:
        dispatcher.close()
    assert claimed == 6
    rows = deliveries(store, shipment_id).values()
    assert "sending" not in {r.status for r in rows} and {r.attempts for r in rows} == {1}
    assert all(r.lease_owner is None for r in rows)
    stats = simulator.state.stats()
    assert stats["deliveries"] == 2 and stats["duplicates"] == 0
    with store.reading() as uow:
        events = uow.events.list(shipment_id)
        assert verify_chain(shipment_id, events, uow.events.head(shipment_id)) is None
    assert sum(e.kind.startswith("delivery.") and e.kind != "delivery.queued"
               for e in events) == 6


def test_each_outcome_is_recorded_as_soon_as_its_push_returns(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    gate = GatedAdapter()
    dispatcher = Dispatcher(store, dict.fromkeys(("KZ", "UZ", "AF"), gate), concurrency=8)
    try:
        assert dispatcher.step() == 6
        gate.wait_for_calls(6)
        first = gate.calls[0]
        gate.release(first)
        dispatcher.idle(threading.Event(), 10.0)  # until a push returns (as run() waits)
        assert dispatcher.step() == 0  # records it at once; nothing left to claim
        status = {r.id: r.status for r in deliveries(store, shipment_id).values()}
        assert status.pop(first) == "delivered"
        assert set(status.values()) == {"sending"}  # the others are still on the wire
        gate.release()
        dispatcher.flush()
    finally:
        dispatcher.close()
    assert {r.status for r in deliveries(store, shipment_id).values()} == {"delivered"}


def test_leases_are_renewed_while_pushes_are_on_the_wire(store, tmp_path, simulator):
    """A push that outlives the lease it was claimed with keeps its row: another dispatcher
    finds nothing to take, and the row is pushed once."""
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    gate = GatedAdapter()
    policy = RetryPolicy(lease_seconds=1.5)  # renewed every 0.5 s
    first = Dispatcher(store, dict.fromkeys(("KZ", "UZ", "AF"), gate), policy=policy,
                       concurrency=8)
    other = Dispatcher(store, dict.fromkeys(("KZ", "UZ", "AF"), gate), policy=policy)
    stop = threading.Event()
    runner = threading.Thread(target=first.run, args=(stop,), kwargs={"idle_sleep": 0.05})
    runner.start()
    try:
        gate.wait_for_calls(6)
        threading.Event().wait(4.0)  # more than 2.5 leases
        assert other.run_once() == 0
        gate.release()
    finally:
        stop.set()
        runner.join(timeout=30)
        first.close()
        other.close()
    rows = deliveries(store, shipment_id).values()
    assert {r.status for r in rows} == {"delivered"} and {r.attempts for r in rows} == {1}
    assert sorted(gate.calls) == sorted(r.id for r in rows)  # each pushed once


def test_stopping_a_running_dispatcher_records_its_last_batch(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    dispatcher = Dispatcher(store, adapters_for(members), policy=RetryPolicy(base_delay=0.01))
    stop = threading.Event()
    runner = threading.Thread(target=dispatcher.run, args=(stop,), kwargs={"idle_sleep": 0.05})
    runner.start()
    try:
        # one batch of 6; its record is the flush when run() stops
        for _ in range(200):
            if simulator.state.stats()["deliveries"] == 2:
                break
            threading.Event().wait(0.05)
        stop.set()
        runner.join(timeout=30)
    finally:
        dispatcher.close()
    assert not runner.is_alive()
    assert "sending" not in {r.status for r in deliveries(store, shipment_id).values()}


def test_receiver_down_retries_then_dead_then_replay(store, tmp_path, start_simulator, restart):
    sim = start_simulator(country="UZ", currency="UZS")
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    shipment_id, operator_id, _ = submit_corridor(store, members)
    sim.stop()  # the national endpoint goes down
    clock = [soon()]
    dispatcher = Dispatcher(store, adapters_for(members),
                            policy=RetryPolicy(max_attempts=3, base_delay=1, max_delay=4),
                            clock=lambda: clock[0])
    try:
        for _ in range(3):
            dispatcher.run_once()
            clock[0] += timedelta(seconds=10)
        uz = [r for (doc, cc), r in deliveries(store, shipment_id).items() if cc == "UZ"]
        assert {r.status for r in uz} == {"dead"} and {r.attempts for r in uz} == {3}
        assert all("adapter" in r.last_error or "connect" in r.last_error.lower()
                   for r in uz)
        ids = {r.id for r in uz}
        # the endpoint is back; the operator replays the dead deliveries
        sim2 = restart(sim)
        with store.writing() as uow:
            for delivery_id in ids:
                replay_delivery(uow, delivery_id, actor_id=operator_id, now=clock[0])
            uow.commit()
        dispatcher.run_once()
    finally:
        dispatcher.close()
    after = {r.id: r for r in deliveries(store, shipment_id).values() if r.country == "UZ"}
    assert set(after) == ids  # same delivery ids across retries and the replay
    assert {r.status for r in after.values()} <= {"delivered", "acknowledged"}
    assert sim2.state.stats()["deliveries"] == 2
    with store.reading() as uow:
        kinds = [e.kind for e in uow.events.list(shipment_id)]
    assert kinds.count("delivery.retrying") == 4 and kinds.count("delivery.dead") == 2
    assert kinds.count("delivery.replayed") == 2


def test_only_dead_or_rejected_deliveries_can_be_replayed(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, party_id, _ = submit_corridor(store, members)
    row = next(iter(deliveries(store, shipment_id).values()))
    with store.writing() as uow, pytest.raises(DeliveryStateError, match="only dead or rejected"):
        replay_delivery(uow, row.id, actor_id=party_id)


def test_a_500_is_retried_and_delivered_once_in_effect(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    simulator.configure(misbehaviour="500", misbehave_times=2)
    shipment_id, _, _ = submit_corridor(store, members)
    clock = [soon()]
    dispatcher = Dispatcher(store, adapters_for(members),
                            policy=RetryPolicy(base_delay=1, max_delay=2),
                            clock=lambda: clock[0], concurrency=1)
    try:
        for _ in range(4):
            dispatcher.run_once()
            clock[0] += timedelta(seconds=5)
    finally:
        dispatcher.close()
    uz = [r for (doc, cc), r in deliveries(store, shipment_id).items() if cc == "UZ"]
    assert {r.status for r in uz} <= {"delivered", "acknowledged"}
    assert simulator.state.stats()["deliveries"] == 2


def test_an_amendment_rides_on_the_dead_delivery(store, tmp_path, start_simulator, restart):
    sim = start_simulator(country="UZ", currency="UZS")
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    docs = corridor_documents()
    shipment_id, party_id, doc_ids = submit_corridor(store, members, docs)
    sim.stop()
    clock = [soon()]
    dispatcher = Dispatcher(store, adapters_for(members),
                            policy=RetryPolicy(max_attempts=1), clock=lambda: clock[0])
    try:
        dispatcher.run_once()
        transit = next(r for (doc, cc), r in deliveries(store, shipment_id).items()
                       if doc == doc_ids["TransitCustomsDeclaration"])
        assert transit.status == "dead"
        amended = docs["TransitCustomsDeclaration"].replace(b"</cbc:ID>", b"-A</cbc:ID>", 1)
        hook = routing_hook(RoutingRules.default(), members)
        with store.writing() as uow:
            shipment = uow.session.get(ShipmentRow, shipment_id)
            outcome = store_document(
                inspected(amended, "TransitCustomsDeclaration",
                          supersedes=doc_ids["TransitCustomsDeclaration"]),
                shipment, uow=uow, actor_id=party_id, on_accepted=[hook])
            uow.commit()
        sim2 = restart(sim)
        with store.writing() as uow:
            replay_delivery(uow, transit.id, actor_id=party_id, now=clock[0])
            uow.commit()
        dispatcher.run_once()
    finally:
        dispatcher.close()
    row = deliveries(store, shipment_id)[(outcome.document_id, "UZ")]
    assert row.id == transit.id and row.status in ("delivered", "acknowledged")
    assert sim2.state.stats()["deliveries"] == 1


def test_two_dispatchers_never_send_the_same_row_at_once(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    for _ in range(10):
        docs = {k: v.replace(b"</cbc:ID>", f"-{_}</cbc:ID>".encode(), 1)
                for k, v in corridor_documents().items()}
        submit_corridor(store, members, docs)
    dispatchers = [Dispatcher(store, adapters_for(members), batch_size=7) for _ in range(3)]
    stop = threading.Event()
    threads = [threading.Thread(target=d.run, args=(stop,), kwargs={"idle_sleep": 0.05})
               for d in dispatchers]
    for t in threads:
        t.start()
    try:
        for _ in range(200):
            with store.reading() as uow:
                counts = uow.deliveries.counts()
            if not set(counts) & {"pending", "retrying", "sending"}:
                break
            threading.Event().wait(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for d in dispatchers:
            d.close()
    assert set(counts) <= {"sent", "delivered", "acknowledged"}, counts
    stats = simulator.state.stats()
    assert stats["deliveries"] == 20 and stats["duplicates"] == 0



def _outbox(store, shipment_id: str, document_id: str,
            rows: dict[str, tuple[str, timedelta, timedelta | None]]) -> dict[str, str]:
    """Delivery rows of one document, by country: (status, next attempt from now, lease end
    from now). Returns the delivery ids by country."""
    now = datetime.now(UTC)
    ids = {}
    with store.writing() as uow:
        for country, (status, due, lease) in rows.items():
            ids[country] = str(uuid.uuid4())
            uow.deliveries.add(DeliveryRow(
                id=ids[country], shipment_id=shipment_id, first_document_id=document_id,
                document_id=document_id, country=country, adapter="https-push",
                status=status, attempts=1 if status != "pending" else 0,
                next_attempt_at=now + due, lease_owner="gone" if lease else None,
                lease_until=now + lease if lease else None, created_at=now, updated_at=now))
        uow.commit()
    return ids


def _claim(store, worker: str, limit: int) -> list[str]:
    with store.writing() as uow:
        rows = uow.deliveries.claim(worker, limit=limit, lease=timedelta(seconds=60),
                                    now=datetime.now(UTC))
        uow.commit()
    return [row.id for row in rows]


def test_a_claim_takes_the_rows_due_longest_of_every_kind(store, tmp_path, simulator):
    """Pending, retrying and sending rows whose lease ended are picked each by their own
    index range; one claim takes the *limit* due longest of all three, in that order, and
    nothing that is not due (a later attempt, a live lease, a finished row)."""
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, documents = submit_corridor(store, members)
    with store.writing() as uow:  # the corridor's own rows are out of the way
        for row in uow.deliveries.for_shipment(shipment_id):
            row.status = "delivered"
        uow.commit()
    s = timedelta(seconds=1)
    ids = _outbox(store, shipment_id, documents["Waybill"], {
        "Q1": ("pending", -50 * s, None), "Q2": ("retrying", -40 * s, None),
        "Q3": ("sending", -60 * s, -1 * s),   # its dispatcher is gone: due again
        "Q4": ("sending", -70 * s, 60 * s),   # held by a live dispatcher
        "Q5": ("retrying", 30 * s, None),     # its next attempt is later
        "Q6": ("pending", -10 * s, None), "Q7": ("delivered", -90 * s, None),
        "Q8": ("dead", -90 * s, None)})
    assert _claim(store, "w1", 2) == [ids["Q3"], ids["Q1"]]
    assert _claim(store, "w1", 10) == [ids["Q2"], ids["Q6"]]
    assert _claim(store, "w2", 10) == []
    with store.reading() as uow:
        rows = {r.country: r for r in uow.deliveries.for_shipment(shipment_id)}
    assert {c for c, r in rows.items() if r.lease_owner == "w1"} == {"Q1", "Q2", "Q3", "Q6"}
    assert rows["Q3"].attempts == 2 and rows["Q1"].attempts == 1
    assert rows["Q4"].lease_owner == "gone" and rows["Q5"].status == "retrying"


def test_concurrent_claims_take_each_due_row_once(store, tmp_path, simulator):
    """Four workers claiming at once from 30 due rows of the three kinds never take a row
    twice (PostgreSQL: each pick skips the rows another claim holds) and take at most their
    limit; claims after them take the rest."""
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, documents = submit_corridor(store, members)
    with store.writing() as uow:
        for row in uow.deliveries.for_shipment(shipment_id):
            row.status = "delivered"
        uow.commit()
    kinds = [("pending", None), ("retrying", None), ("sending", timedelta(seconds=-1))]
    ids = _outbox(store, shipment_id, documents["Waybill"], {
        f"{chr(65 + i // 10)}{i % 10}": (kinds[i % 3][0], timedelta(seconds=i - 100),
                                         kinds[i % 3][1]) for i in range(30)})
    barrier = threading.Barrier(4)
    taken: dict[str, list[str]] = {}

    def work(name: str) -> None:
        barrier.wait()
        taken[name] = _claim(store, name, 8)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for got in taken.values() for i in got]
    assert all(len(got) <= 8 for got in taken.values())
    assert len(claimed) == len(set(claimed)) and claimed
    rest = _claim(store, "w9", 30)
    assert sorted(claimed + rest) == sorted(ids.values())
    assert _claim(store, "w9", 30) == []
