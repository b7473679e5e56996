"""What a crash costs event notifications: `exchange dispatch` killed with SIGKILL again and
again while notifications are on the wire to a slow subscriber, each time restarted. No
notification is lost (every event arrives, signed), each shipment's arrive in order, and
the re-sends a kill causes (the same event id again) never exceed what a notifier holds:
``AHEAD`` (4) rows per sending slot (``notifications.concurrency``), claimed and not recorded. Then the operator's commands: ``exchange
subscriptions list`` shows what was delivered, ``exchange subscriptions test`` sends a
signed test event. Numbers printed with ``pytest -s``."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from exchange.config import DatabaseSettings, NotificationsSettings
from exchange.domain import Party, PartyKind
from exchange.notifications import subscriptions as subs
from exchange.notifications.notifier import AHEAD
from exchange.parties.keys import Principal, add_party
from exchange.payments.secretbox import SecretBox
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from tests.fixtures.corridor import corridor_documents, corridor_members
from tests.fixtures.server import record_hub_identity
from tests.fixtures.waiting import wait_until
from tests.integration.test_dispatch import submit_corridor

CONCURRENCY = 8
SHIPMENTS = 80            # four accepted documents each: 320 notifications
KILLS = 3
BEFORE_KILL = 15          # new events the subscriber gets from a notifier before its kill
HOLD = 0.3                # the subscriber holds each request that long before it answers
LEASE = 4.0               # request time-out: a fifth of it


def _start(tmp_path, env: dict[str, str], n: int) -> tuple[subprocess.Popen, object]:
    log = open(tmp_path / f"dispatch-{n}.log", "wb")  # noqa: SIM115 - closed by the caller
    return subprocess.Popen([sys.executable, "-m", "exchange", "dispatch"], env=env,
                            stdout=log, stderr=subprocess.STDOUT), log


def _sending(store) -> set[int]:
    with store.reading() as uow:
        return {n.id for n in uow.notifications.notifications() if n.status == "sending"}


def test_a_killed_notifier_loses_nothing_and_keeps_the_order(db_url, tmp_path, subscriber,
                                                           start_simulator):
    sim = start_simulator(country="UZ", currency="UZS", follow_up=())
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    key_file = tmp_path / "secrets.key"
    box = SecretBox.from_file(key_file, create=True)
    engines = create_engines(DatabaseSettings(url=db_url))
    upgrade(engines)
    store = UnitOfWorkFactory(engines)
    sub = subscriber()
    sub.set_delay(HOLD)
    with store.writing() as uow:
        party, _ = add_party(uow, kind=PartyKind.OPERATOR, name="hub operations")
        uow.commit()
    operator = Principal(Party(id=party.id, kind=PartyKind.OPERATOR, name="ops"), "k")
    made = subs.create_subscription(
        subs.CreateSubscription(sub.url("/ops"), ["document.accepted"]), principal=operator,
        store=store, box=box, settings=NotificationsSettings(allow_private_targets=True))
    docs = corridor_documents()
    shipments = []
    for n in range(SHIPMENTS):
        sid, _, _ = submit_corridor(store, members, {root: data.replace(
            b"</cbc:ID>", f"-{n}</cbc:ID>".encode(), 1) for root, data in docs.items()})
        shipments.append(sid)
    with store.reading() as uow:
        expected = {sid: [str(e.id) for e in uow.events.list(sid)
                          if e.kind == "document.accepted"] for sid in shipments}
    assert sum(map(len, expected.values())) == 4 * SHIPMENTS

    record_hub_identity(tmp_path / "home", db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update({
        "EXCHANGE_HOME": str(tmp_path / "home"), "EXCHANGE_DATABASE_URL": db_url,
        "EXCHANGE_MEMBERS_FILE": str(members.path),
        "EXCHANGE_PAYMENTS_SECRETS_KEY_FILE": str(key_file),
        "EXCHANGE_DISPATCH_LEASE_SECONDS": str(LEASE), "EXCHANGE_DISPATCH_POLL_SECONDS": "0.1",
        "EXCHANGE_DISPATCH_BASE_DELAY_SECONDS": "0.1",
        "EXCHANGE_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS": "true",
        "EXCHANGE_NOTIFICATIONS_CONCURRENCY": str(CONCURRENCY),
        "EXCHANGE_NOTIFICATIONS_POLL_SECONDS": "0.05"})
    if "EXCHANGE_SHARED_DIR" in os.environ:
        env["EXCHANGE_SHARED_DIR"] = os.environ["EXCHANGE_SHARED_DIR"]
    measured = []
    proc, log = _start(tmp_path, env, 0)
    try:
        for kill in range(1, KILLS + 1):
            target = len(sub.requests()) + BEFORE_KILL
            wait_until(lambda target=target: len(sub.requests()) >= target,
                        f"notifications before kill {kill}")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            log.close()
            time.sleep(HOLD + 0.2)  # requests the dead process had sent are answered
            at_kill = len(sub.requests())
            seen = {r.event_id for r in sub.requests()}
            held = _sending(store)
            proc, log = _start(tmp_path, env, kill)
            # what the dead notifier held comes back after its lease and is sent again;
            # every repeat until those are recorded is what this kill cost
            wait_until(lambda held=held: not held & _sending(store),
                        f"the notifications held at kill {kill} to be recorded", timeout=60)
            again = [r for r in sub.requests()[at_kill:] if r.event_id in seen]
            assert held, f"kill {kill} found nothing on the wire"
            measured.append((kill, len(again)))
        sub.set_delay(0)
        everything = {i for ids in expected.values() for i in ids}
        wait_until(lambda: everything <= {r.event_id for r in sub.requests()},
                    "every notification to arrive")
        out = subprocess.run([sys.executable, "-m", "exchange", "subscriptions", "list",
                              "--format", "json"], env=env, capture_output=True, text=True, check=False,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        [listed] = json.loads(out.stdout)["items"]
        test = subprocess.run([sys.executable, "-m", "exchange", "subscriptions", "test",
                               made.subscription.id], env=env, capture_output=True, text=True, check=False,
                              timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    got = [r for r in sub.requests() if r.json["types"] != ["subscription.test"]]
    assert all(sub.verify(made.secret, r) for r in got)
    for sid, ids in expected.items():
        mine = [r for r in got if r.json["shipment_id"] == sid]
        assert list(dict.fromkeys(r.event_id for r in mine)) == ids  # all, in order
        seqs = [r.json["seq"] for r in mine]
        assert seqs == sorted(seqs)
    resent = len(got) - len({r.event_id for r in got})
    engine = db_url.split(":")[0].split("+")[0]
    print(f"\n{engine}: {KILLS} kills -9 of `exchange dispatch` while notifying "
          f"(concurrency {CONCURRENCY}, lease {LEASE:g} s, requests held {HOLD:g} s)")
    for kill, again in measured:
        print(f"  kill {kill}: {again} notifications sent again")
    print(f"  {len(everything)} notifications, {len(got)} requests, {resent} re-sent in all")
    assert all(again <= AHEAD * CONCURRENCY for _, again in measured), measured
    assert resent <= KILLS * AHEAD * CONCURRENCY
    assert listed["status"] == "active" and listed["notifications"].get("delivered") == \
        len(everything), listed
    assert test.returncode == 0, test.stdout + test.stderr
    assert "delivered (HTTP 200)" in test.stdout
    [probe] = [r for r in sub.requests() if r.json["types"] == ["subscription.test"]]
    assert sub.verify(made.secret, probe)
    assert proc.returncode == 0
    engines.dispose()
