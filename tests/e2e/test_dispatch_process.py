"""`exchange dispatch` as real processes: killed with SIGKILL in the middle of a batch and
restarted, two dispatcher processes on one PostgreSQL, and one whose PostgreSQL is stopped
and restarted under it. No delivery is lost, and the idempotent receiver sees each delivery
id exactly once in effect."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from exchange.config import DatabaseSettings
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from tests.fixtures.corridor import corridor_documents, corridor_members
from tests.fixtures.server import record_hub_identity
from tests.fixtures.waiting import wait_until
from tests.integration.test_dispatch import submit_corridor

SHIPMENTS = 25  # 2 documents each for UZ: 50 pushes, plus the KZ and AF deliveries


def _store(url):
    engines = create_engines(DatabaseSettings(url=url))
    upgrade(engines)
    return UnitOfWorkFactory(engines)


def _fill(store, members):
    for n in range(SHIPMENTS):
        docs = {k: v.replace(b"</cbc:ID>", f"-{n}</cbc:ID>".encode(), 1)
                for k, v in corridor_documents().items()}
        submit_corridor(store, members, docs)


def _env(tmp_path, url, members_file, **extra):
    env = dict(os.environ)
    env.update({
        "EXCHANGE_HOME": str(tmp_path / "home"), "EXCHANGE_DATABASE_URL": url,
        "EXCHANGE_MEMBERS_FILE": str(members_file),
        "EXCHANGE_DISPATCH_LEASE_SECONDS": "3", "EXCHANGE_DISPATCH_BATCH_SIZE": "8",
        "EXCHANGE_DISPATCH_CONCURRENCY": "4", "EXCHANGE_DISPATCH_POLL_SECONDS": "0.1",
        "EXCHANGE_DISPATCH_BASE_DELAY_SECONDS": "0.2", "EXCHANGE_DISPATCH_MAX_DELAY_SECONDS": "1",
        **extra})
    return env


def _start(env, log):
    return subprocess.Popen([sys.executable, "-m", "exchange", "dispatch"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def _open(store):
    with store.reading() as uow:
        counts = uow.deliveries.counts()
    return sum(n for s, n in counts.items() if s in ("pending", "retrying", "sending")), counts


def _check_everything_arrived_once(store, sim, shipments):
    _, counts = _open(store)
    assert set(counts) <= {"sent", "delivered", "acknowledged"}, counts
    stats = sim.state.stats()
    assert stats["deliveries"] == 2 * shipments     # every UZ delivery id arrived
    # every push either delivered a new id or was a copy the receiver dropped ('slow' pushes
    # still answer): the receiver saw each delivery exactly once in effect
    assert stats["pushes"] == stats["deliveries"] + stats["duplicates"]
    with store.reading() as uow:
        ids = {d.id for d in uow.deliveries.list(country="UZ", limit=10_000)}
    assert ids == set(stats["delivery_ids"])       # and nothing else


def test_sigkill_in_the_middle_of_a_batch_then_restart(db_url, tmp_path, start_simulator):
    sim = start_simulator(country="UZ", currency="UZS", follow_up=(),
                          misbehaviour="slow", slow_seconds=0.15)
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    store = _store(db_url)
    _fill(store, members)
    record_hub_identity(tmp_path / "home", db_url)
    env = _env(tmp_path, db_url, members.path)
    with open(tmp_path / "dispatch-1.log", "wb") as log:
        first = _start(env, log)
        try:
            wait_until(lambda: sim.state.stats()["deliveries"] >= 10, what="first pushes")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
    open_before, counts = _open(store)
    assert open_before > 0 and counts.get("sending", 0) > 0, counts  # killed mid-batch
    sim.configure(misbehaviour="none")
    with open(tmp_path / "dispatch-2.log", "wb") as log:
        second = _start(env, log)
        try:
            wait_until(lambda: _open(store)[0] == 0, what="the queue to drain")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
    assert second.returncode == 0, (tmp_path / "dispatch-2.log").read_text()[-2000:]
    _check_everything_arrived_once(store, sim, SHIPMENTS)
    store.engines.dispose()


@pytest.mark.postgres
def test_two_dispatcher_processes_on_one_postgresql(postgres_server, tmp_path,
                                                    start_simulator):
    url = postgres_server.create_database()
    sim = start_simulator(country="UZ", currency="UZS", follow_up=())
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    store = _store(url)
    _fill(store, members)
    record_hub_identity(tmp_path / "home", url)
    env = _env(tmp_path, url, members.path)
    logs = [open(tmp_path / f"dispatch-{i}.log", "wb") for i in range(2)]
    procs = [_start(env, log) for log in logs]
    try:
        wait_until(lambda: _open(store)[0] == 0, what="the queue to drain")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=20)
        for log in logs:
            log.close()
    assert [p.returncode for p in procs] == [0, 0]
    _check_everything_arrived_once(store, sim, SHIPMENTS)
    assert sim.state.stats()["duplicates"] == 0   # nobody died: no row went out twice
    store.engines.dispose()


LOOPS = ("dispatcher", "decision collector", "notifier")


def _said(path) -> list[tuple[str, str]]:
    """(level, message) of each JSON log line of the process (the rest is its plain text)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [(line["level"], line["message"]) for line in lines]


def _pauses(said, loop: str) -> list[str]:
    """The loop's pause and resume lines, in order: "paused" / "resumed"."""
    return [message.split(",")[0].removeprefix(loop + " ") for _, message in said
            if message.startswith((loop + " paused,", loop + " resumed,"))]


@pytest.mark.postgres
def test_a_postgresql_outage_pauses_each_loop_with_one_line(postgres_server, tmp_path,
                                                           start_simulator):
    """PostgreSQL stopped for a few seconds (``pg_ctl stop -m fast``, then started), then
    restarted (``pg_ctl restart -m fast``) under a running `exchange dispatch`: each loop
    (dispatcher, decision collector, notifier) says once per outage that it paused (a
    warning with the driver's words) and once that it resumed, never with a traceback, and
    every queued delivery arrives after the outage."""
    url = postgres_server.create_database()
    sim = start_simulator(country="UZ", currency="UZS", follow_up=(), misbehaviour="slow",
                          slow_seconds=0.15)
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    store = _store(url)
    _fill(store, members)
    record_hub_identity(tmp_path / "home", url)
    env = _env(tmp_path, url, members.path, EXCHANGE_DISPATCH_COLLECT_SECONDS="0.5")
    path = tmp_path / "dispatch.log"
    with open(path, "wb") as log:
        proc = _start(env, log)
        try:
            wait_until(lambda: sim.state.stats()["deliveries"] >= 6, what="first pushes")
            postgres_server.halt()
            try:
                time.sleep(3)  # every loop meets the outage many times (0.1 to 0.5 s turns)
            finally:
                postgres_server.resume()
            # pushes on the wire at the stop finished; nothing new went out since
            assert sim.state.stats()["deliveries"] < 2 * SHIPMENTS
            wait_until(lambda: all(_pauses(_said(path), loop) == ["paused", "resumed"]
                                   for loop in LOOPS), what="every loop to pause and resume")
            stopped = _said(path)
            postgres_server.restart("fast")
            store.engines.dispose()  # the test's own connections are gone too
            wait_until(lambda: _open(store)[0] == 0, what="the queue to drain")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    text = path.read_text()
    assert proc.returncode == 0, text[-2000:]
    assert "Traceback" not in text, text[-4000:]
    for loop in LOOPS:
        (paused,) = [(level, m) for level, m in stopped if m.startswith(loop + " paused,")]
        (resumed,) = [(level, m) for level, m in stopped if m.startswith(loop + " resumed,")]
        assert paused[0] == "warning" and resumed[0] == "info", (paused, resumed)
        assert "the database is unavailable: " in paused[1]  # then the driver's words
        assert " retrying every " in paused[1], paused
        # the restart: at most one pause per loop (a loop whose turn met no dropped
        # connection has none), each followed by its resume
        lines = _pauses(_said(path), loop)
        assert lines in (["paused", "resumed"], ["paused", "resumed"] * 2), (loop, lines)
    _check_everything_arrived_once(store, sim, SHIPMENTS)
    store.engines.dispose()


def test_serve_with_dispatch_delivers_what_it_accepts(server_env, tmp_path, start_simulator):
    from tests.fixtures.server import add_party_cli, start_server

    sim = start_simulator(country="UZ", currency="UZS", follow_up=())
    members = corridor_members(tmp_path, uz_push_url=sim.push_url)
    env = server_env(f"sqlite:///{tmp_path / 'x.db'}", EXCHANGE_MEMBERS_FILE=str(members.path),
                     EXCHANGE_DISPATCH_POLL_SECONDS="0.1")
    _, _, key = add_party_cli(env, "forwarder", "Serve-and-dispatch Forwarding")
    server = start_server(env, log_path=tmp_path / "serve.log", args=("--dispatch",))
    try:
        import json

        import httpx
        docs = corridor_documents()
        files = [("shipment", (None, json.dumps({
            "route": {"origin": "KG", "transit": ["UZ"], "destination": "AF"},
            "transport_mode": "rail"}), "application/json")),
            ("documents", ("waybill.xml", docs["Waybill"], "application/xml"))]
        r = httpx.post(f"{server.base_url}/v1/shipments", files=files, timeout=60,
                       headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        wait_until(lambda: sim.state.stats()["deliveries"] == 1, what="the push to UZ")
    finally:
        server.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it (exit status -15)
    assert server.process.returncode in (0, -signal.SIGTERM), server.log()[-2000:]
    assert "Traceback" not in server.log()
