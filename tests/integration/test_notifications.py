"""Event notifications on SQLite and PostgreSQL: a KZ -> UZ -> AF corridor (documents
accepted, delivered through three adapter kinds, assessed, paid, released, cleared) told to
real subscribers on loopback, each request's signature checked with the subscription's
secret by the subscriber's own code; in order per shipment, redelivered with the same event
id after a 500 and after a time-out, and nothing told about a shipment the party may not
read. Then the dead letters: a subscriber that keeps failing is paused, and resuming it
sends the dead notification again, first."""
from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from adapters.contract import CustomsDecision, DecisionKind, DutyLine
from adapters.members import load_members
from exchange.config import NotificationsSettings
from exchange.delivery.decisions import record_decision
from exchange.delivery.dispatcher import Dispatcher, RetryPolicy
from exchange.domain import Party, PartyKind
from exchange.notifications import subscriptions as subs
from exchange.notifications.notifier import Notifier
from exchange.parties.keys import Principal, add_party
from exchange.payments.gate import ledger_gate
from exchange.payments.paying import PaymentRequest, record_payment
from exchange.payments.secretbox import SecretBox
from exchange.store.models import ShipmentRow
from tests.fixtures.corridor import corridor_members
from tests.fixtures.waiting import wait_until
from tests.integration.test_dispatch import adapters_for, submit_corridor

MEMBERS = load_members()
CURRENCY = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}
ALL_KINDS = ["document.accepted", "delivery.delivered", "decision.recorded",
             "payment.recorded", "leg.released", "shipment.cleared"]
TOLD = ("document.accepted", "delivery.delivered", "delivery.delivered-with-warnings",
        "payments.payment", "payments.refund")
"""Events of the log a subscriber to every kind hears of, besides every ``customs.*``."""


def principal(store, kind: PartyKind, country: str | None = None) -> Principal:
    with store.writing() as uow:
        party, _ = add_party(uow, kind=kind, name=f"{kind} {country or ''}", country=country)
        uow.commit()
    return Principal(Party(id=party.id, kind=kind, name=party.name, country=country), "k")


def decide(store, sid, kind, country, **kw):
    decision = CustomsDecision(kind=kind, country=country, decision_id=uuid.uuid4().hex,
                               shipment_id=sid, **kw)
    with store.writing() as uow:
        record_decision(uow, decision, actor_id=None, source="api",
                        gates=[ledger_gate(MEMBERS)], context={})
        uow.commit()


def clear(store, sid):
    """Assess, pay and release every leg of the corridor."""
    for cc in ("KZ", "UZ", "AF"):
        decide(store, sid, DecisionKind.ASSESSMENT, cc, duty_lines=(
            DutyLine("customs-duty", "1000", "10", "100.00", CURRENCY[cc]),))
        with store.writing() as uow:
            record_payment(PaymentRequest(kind="payment", amount="100.00",
                                          currency=CURRENCY[cc], reference=uuid.uuid4().hex,
                                          country=cc),
                           uow=uow, shipment=uow.session.get(ShipmentRow, sid),
                           members=MEMBERS, actor_id=None)
            uow.commit()
        decide(store, sid, DecisionKind.RELEASED, cc)


def settings(**kw) -> NotificationsSettings:
    return NotificationsSettings(allow_private_targets=True, timeout_seconds=0.5,
                                 poll_seconds=0.05, **kw)


def told(store, sid) -> list[tuple[str, int, str]]:
    """(event id, seq, hash) of the events of *sid* a subscriber to every kind hears of."""
    with store.reading() as uow:
        return [(str(e.id), e.seq, e.hash) for e in uow.events.list(sid)
                if e.kind in TOLD or e.kind.startswith("customs.")]


@pytest.fixture
def box():
    return SecretBox(os.urandom(32))


def test_a_corridor_told_in_order_signed_redelivered_and_only_to_its_readers(
        store, tmp_path, start_simulator, subscriber, box):
    sim = start_simulator(country="UZ", currency="UZS", follow_up=())
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    sub = subscriber()
    uz = principal(store, PartyKind.CUSTOMS, "UZ")
    tj = principal(store, PartyKind.CUSTOMS, "TJ")       # on neither shipment's route
    # the forwarder of the first shipment is made by submit_corridor: subscribe it after
    cfg = settings()
    made = {who: subs.create_subscription(subs.CreateSubscription(sub.url(f"/{who}"),
                                                                  ALL_KINDS),
                                          principal=p, store=store, box=box, settings=cfg)
            for who, p in (("uz", uz), ("tj", tj))}
    mine, forwarder_id, _ = submit_corridor(store, members)
    other, _, _ = submit_corridor(store, members)          # another forwarder's shipment
    # the forwarder subscribes now: it hears of what happens from now on
    fwd = Principal(Party(id=forwarder_id, kind=PartyKind.FORWARDER, name="f"), "k")
    made["fwd"] = subs.create_subscription(
        subs.CreateSubscription(sub.url("/fwd"), ALL_KINDS), principal=fwd, store=store,
        box=box, settings=cfg)
    dispatcher = Dispatcher(store, adapters_for(members), policy=RetryPolicy(base_delay=0.01))
    try:
        while dispatcher.run_once():
            pass
    finally:
        dispatcher.close()
    clear(store, mine)
    clear(store, other)
    # what each one must hear of: UZ both shipments, the forwarder its own shipment's
    # events from its subscription on, TJ nothing
    created = subs.get_subscription(made["fwd"].subscription.id, principal=None,
                                    store=store).created_at.isoformat(timespec="microseconds")
    with store.reading() as uow:
        after = {str(e.id) for e in uow.events.list(mine) if e.occurred_at >= created}
    expected = {"uz": {mine: told(store, mine), other: told(store, other)},
                "fwd": {mine: [t for t in told(store, mine) if t[0] in after]}}
    assert expected["fwd"][mine] and len(expected["uz"][mine]) > len(expected["fwd"][mine])
    # the forwarder's subscriber fails the first attempt of its 2nd event with a 500 and
    # lets the 4th time out; UZ's subscriber lets one of the other shipment's time out
    first = expected["fwd"][mine]
    sub.script("/fwd", first[1][0], ["500", "500", "ok"])
    sub.script("/fwd", first[3][0], ["sleep:1.2", "ok"])
    sub.script("/uz", expected["uz"][other][2][0], ["sleep:1.2", "500", "ok"])

    notifier = Notifier(store, box=box, settings=cfg,
                        policy=RetryPolicy(base_delay=0.05, max_delay=0.2, lease_seconds=5))
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop,))
    thread.start()
    try:
        want = {who: {i for stream in streams.values() for i, _, _ in stream}
                for who, streams in expected.items()}
        wait_until(lambda: all(want[who] <= {r.event_id for r in sub.requests(f"/{who}")
                                           if r.answered == 200} for who in want),
                 "every notification to arrive")
        time.sleep(0.5)  # nothing more should come
    finally:
        stop.set()
        thread.join(timeout=10)
        notifier.close()

    secrets = {who: made[who].secret for who in made}
    for who, streams in expected.items():
        got = sub.requests(f"/{who}")
        # every request is signed with this subscription's secret (and no other's)
        assert all(sub.verify(secrets[who], r) for r in got)
        other_secret = secrets["tj"]
        assert not any(sub.verify(other_secret, r) for r in got)
        by_stream: dict[str, list] = {}
        for r in got:
            by_stream.setdefault(r.json["shipment_id"], []).append(r)
        assert set(by_stream) == set(streams)       # nothing of a shipment it may not read
        for stream, events in streams.items():
            received = by_stream[stream]
            seqs = [r.json["seq"] for r in received]
            # in order: never an event before one that came earlier in the log, and each
            # redelivery repeats the last one (same event id) before anything later comes
            assert seqs == sorted(seqs), (who, stream, seqs)
            firsts = list(dict.fromkeys(r.event_id for r in received))
            assert firsts == [i for i, _, _ in events]      # each one, exactly, in order
            hashes = {r.event_id: (r.json["hash"], r.headers["Exchange-Event-Id"])
                      for r in received}
            assert all(hashes[i] == (h, i) for i, _, h in events)  # the log's chain hash
    assert sub.requests("/tj") == []
    fwd_got = sub.requests("/fwd")
    assert [r.answered for r in fwd_got if r.event_id == first[1][0]] == [500, 500, 200]
    timed_out = [r for r in fwd_got if r.event_id == first[3][0]]
    assert len(timed_out) == 2 and timed_out[-1].answered == 200
    assert [int(r.headers["Exchange-Attempt"]) for r in timed_out] == [1, 2]
    uz_other = [r for r in sub.requests("/uz") if r.event_id == expected["uz"][other][2][0]]
    assert [r.answered for r in uz_other][-2:] == [500, 200] and len(uz_other) == 3
    # the kinds each one was told as: the last release clears the shipment, once
    types = [r.json["types"] for r in {r.event_id: r for r in fwd_got}.values()]
    assert sum("shipment.cleared" in t for t in types) == 1
    assert types[-1] == ["decision.recorded", "leg.released", "shipment.cleared"]
    assert sum("leg.released" in t for t in types) == 3
    assert sum("payment.recorded" in t for t in types) == 3
    listing = {s.id: s for s in subs.list_subscriptions(principal=None, store=store)}
    assert listing[made["fwd"].subscription.id].notifications == {"delivered": len(first)}
    assert listing[made["tj"].subscription.id].notifications == {}
    assert all(s.status == "active" and s.failures == 0 for s in listing.values())


def test_a_subscriber_that_keeps_failing_is_paused_and_its_dead_letter_replayed(
        store, tmp_path, subscriber, box):
    sub = subscriber()
    members = corridor_members(tmp_path, uz_push_url="http://127.0.0.1:9/push")
    operator = principal(store, PartyKind.OPERATOR)
    cfg = settings()
    made = subs.create_subscription(subs.CreateSubscription(sub.url("/ops"),
                                                            ["document.accepted"]),
                                    principal=operator, store=store, box=box, settings=cfg)
    sid, _, _ = submit_corridor(store, members)
    events = [i for i, _, _ in told(store, sid)]
    assert len(events) == 4
    sub.script("/ops", events[0], ["500"] * 3)
    notifier = Notifier(store, box=box, settings=cfg,
                        policy=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))
    try:
        for _ in range(5):
            notifier.run_once()
            time.sleep(0.05)
        paused = subs.get_subscription(made.subscription.id, principal=operator, store=store)
        assert paused.status == "paused" and paused.failures == 3
        assert "failed 3 time(s), last: HTTP 500" in paused.paused_reason
        assert paused.notifications == {"dead": 1, "waiting": 3}  # behind the dead one
        # nothing after the dead one was sent: the shipment's order holds
        assert {r.event_id for r in sub.requests()} == {events[0]}
        assert [s.id for s in subs.list_subscriptions(principal=None, store=store,
                                                      status="paused")] == [paused.id]
        resumed = subs.resume_subscription(paused.id, principal=operator, store=store)
        assert resumed.status == "active"
        assert resumed.notifications == {"pending": 1, "waiting": 3}
        notifier.run_once()
    finally:
        notifier.close()
    got = [r.event_id for r in sub.requests() if r.answered == 200]
    assert got == events        # the dead letter first, with its event id, then the rest
    assert subs.get_subscription(made.subscription.id, principal=operator,
                                 store=store).notifications == {"delivered": 4}


def test_an_event_committed_after_a_later_one_is_not_missed(store, db_url, tmp_path, box):
    """PostgreSQL hands out event ids in the order transactions ask, not the order they
    commit: the fan-out looks again for an id it skipped, so the event of the transaction
    that committed last is told at its next look, not at the next full scan."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's writers commit one after another, in the order of their ids")
    members = corridor_members(tmp_path, uz_push_url="http://127.0.0.1:9/push")
    operator = principal(store, PartyKind.OPERATOR)
    subs.create_subscription(subs.CreateSubscription("http://127.0.0.1:9/x",
                                                     ["document.accepted"]),
                             principal=operator, store=store, box=box, settings=settings())
    first, _, _ = submit_corridor(store, members)
    second, _, _ = submit_corridor(store, members)
    notifier = Notifier(store, box=box, settings=settings())
    try:
        while notifier.fan_out():   # the first look (and its full scan) is done
            pass
        with store.reading() as uow:
            before = len(uow.notifications.notifications())
        slow = store.writing().__enter__()
        slow.events.append(first, "document.accepted", {"late": True}, actor_id=None)
        slow.flush()                 # its id is taken; not committed yet
        with store.writing() as uow:
            uow.events.append(second, "document.accepted", {"late": False}, actor_id=None)
            uow.commit()
        assert notifier.fan_out() == 1  # the later id, committed first
        slow.commit()
        slow.__exit__(None, None, None)
        assert notifier.fan_out() == 1  # the skipped id, found again at once
        with store.reading() as uow:
            rows = uow.notifications.notifications()
            late = [e.id for e in uow.events.list(first) if e.kind == "document.accepted"][-1]
        assert len(rows) == before + 2 and late in {r.event_id for r in rows}
    finally:
        notifier.close()


def test_no_new_secrets_key_for_a_store_holding_sealed_subscription_secrets(
        store, tmp_path, monkeypatch):
    """A database restored without the secrets key that sealed its subscriptions' secrets
    is refused a new key (which would never open them), as for payment providers'."""
    from exchange.config import ConfigError, PaymentsSettings
    from exchange.payments.providers import secret_box

    monkeypatch.setenv("EXCHANGE_HOME", str(tmp_path / "home"))
    box = secret_box(PaymentsSettings(), store=store)          # nothing sealed: made
    key = tmp_path / "home" / "hub" / "secrets.key"
    subs.create_subscription(subs.CreateSubscription("http://127.0.0.1:9/x", ALL_KINDS),
                             principal=principal(store, PartyKind.FORWARDER), store=store,
                             box=box, settings=settings())
    key.rename(tmp_path / "kept.key")
    with pytest.raises(ConfigError) as info:
        secret_box(PaymentsSettings(), store=store)
    assert info.value.setting == "EXCHANGE_PAYMENTS_SECRETS_KEY_FILE" and not key.exists()
