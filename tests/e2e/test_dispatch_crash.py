"""What a crash costs: `exchange dispatch` killed with SIGKILL again and again in the middle of
its work, each time restarted, against a customs simulator over HTTP whose pushes stay on the
wire a while. The re-sends each kill causes (the receiver's duplicates: deliveries it had
got whose outcome the dead dispatcher had not recorded) never exceed the pushes that can be
in flight (``dispatch.concurrency``), and every delivery arrives at least once. The numbers
measured are printed (``pytest -s``)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from exchange.config import DatabaseSettings
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from tests.fixtures.corridor import corridor_documents, corridor_members
from tests.fixtures.server import record_hub_identity
from tests.fixtures.waiting import wait_until
from tests.integration.test_dispatch import submit_corridor

CONCURRENCY = 8          # the default of dispatch.concurrency
SHIPMENTS = 200          # a transit declaration each: one push to UZ
KILLS = 4
PUSHES_BEFORE_KILL = 12  # new deliveries the receiver gets from a dispatcher before its kill
PUSH_SECONDS = 1.0       # the receiver holds each push that long before it answers
LEASE = 2.0


def _store(url: str) -> UnitOfWorkFactory:
    engines = create_engines(DatabaseSettings(url=url))
    upgrade(engines)
    return UnitOfWorkFactory(engines)


def _start(tmp_path, url: str, members_file, n: int) -> tuple[subprocess.Popen, object]:
    env = dict(os.environ)
    env.update({
        "EXCHANGE_HOME": str(tmp_path / "home"), "EXCHANGE_DATABASE_URL": url,
        "EXCHANGE_MEMBERS_FILE": str(members_file),
        "EXCHANGE_DISPATCH_CONCURRENCY": str(CONCURRENCY),
        "EXCHANGE_DISPATCH_LEASE_SECONDS": str(LEASE),  # batch size: the default
        "EXCHANGE_DISPATCH_POLL_SECONDS": "0.1"})
    log = open(tmp_path / f"dispatch-{n}.log", "wb")  # noqa: SIM115 - closed by the caller
    return subprocess.Popen([sys.executable, "-m", "exchange", "dispatch"], env=env,
                            stdout=log, stderr=subprocess.STDOUT), log


def _statuses(store, ids=None) -> dict[str, str]:
    with store.reading() as uow:
        return {d.id: d.status for d in uow.deliveries.list(limit=10_000)
                if ids is None or d.id in ids}


def test_re_sends_per_kill_never_exceed_the_pushes_in_flight(db_url, tmp_path,
                                                             start_simulator):
    sim = start_simulator(country="UZ", currency="UZS", follow_up=(), misbehaviour="slow",
                          slow_seconds=PUSH_SECONDS)  # it counts a push when it gets it
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    store = _store(db_url)
    transit = corridor_documents()["TransitCustomsDeclaration"]  # routed to UZ only
    for n in range(SHIPMENTS):
        submit_corridor(store, members, {"TransitCustomsDeclaration": transit.replace(
            b"</cbc:ID>", f"-{n}</cbc:ID>".encode(), 1)})
    record_hub_identity(tmp_path / "home", db_url)
    measured = []
    proc, log = _start(tmp_path, db_url, members.path, 0)
    try:
        for kill in range(1, KILLS + 1):
            target = sim.state.stats()["deliveries"] + PUSHES_BEFORE_KILL
            wait_until(lambda target=target: sim.state.stats()["deliveries"] >= target,
                        f"deliveries before kill {kill}")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            log.close()
            time.sleep(0.3)  # requests the dead process had written still reach the receiver
            held = {i for i, s in _statuses(store).items() if s == "sending"}
            at_kill = sim.state.stats()
            proc, log = _start(tmp_path, db_url, members.path, kill)
            # the rows the dead dispatcher held come back after their lease and are sent
            # again; every duplicate until they are recorded is what this kill cost
            wait_until(lambda held=held: "sending" not in _statuses(store, held).values(),
                        f"the rows held at kill {kill} to be recorded")
            after = sim.state.stats()
            measured.append((kill, len(held), after["duplicates"] - at_kill["duplicates"]))
        sim.configure(misbehaviour="none")  # the rest quickly
        wait_until(lambda: not {"pending", "retrying", "sending"} & set(
            _statuses(store).values()), "the queue to drain")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    stats = sim.state.stats()
    with store.reading() as uow:
        uz = list(uow.deliveries.list(country="UZ", limit=10_000))
    engine = db_url.split(":")[0].split("+")[0]
    print(f"\n{engine}: {KILLS} kills -9 of `exchange dispatch` (concurrency {CONCURRENCY}, "
          f"default batch size, lease {LEASE:g} s, pushes answered after {PUSH_SECONDS:g} s)")
    for kill, held, resent in measured:
        print(f"  kill {kill}: {held} rows held (claimed, not recorded), {resent} re-sent")
    print(f"  {len(uz)} UZ deliveries, {stats['pushes']} pushes, {stats['duplicates']} "
          f"re-sent in all; most pushes of one delivery: {max(d.attempts for d in uz)}")
    assert all(resent <= CONCURRENCY for _, _, resent in measured), measured
    assert sum(resent for _, _, resent in measured) == stats["duplicates"]  # nothing else
    assert set(stats["delivery_ids"]) == {d.id for d in uz}  # every one arrived
    assert stats["pushes"] == stats["deliveries"] + stats["duplicates"]
    assert proc.returncode == 0
    store.engines.dispose()
