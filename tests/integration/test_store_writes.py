"""How the store writes a submission: queued events keep the chain's order, a rollback
forgets them, and SQLite writers of several processes queue on the writer lock file."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time


from exchange.audit import verify_chain
from exchange.config import DatabaseSettings
from exchange.domain import PartyKind
from exchange.parties.keys import add_party
from exchange.store import UnitOfWorkFactory, create_engines, upgrade


def _kinds(store, stream):
    with store.reading() as uow:
        events = uow.events.list(stream)
        assert verify_chain(stream, events, uow.events.head(stream)) is None
        return [e.kind for e in events]


def test_queued_events_keep_their_place_in_the_chain(store):
    with store.writing() as uow:
        uow.events.queue("s-1", "first", {"n": 1}, actor_id=None)
        uow.events.append("s-1", "second", {"n": 2}, actor_id=None)  # writes "first" first
        uow.events.queue("s-1", "third", {"n": 3}, actor_id=None)
        uow.events.queue("s-2", "other", {}, actor_id=None)
        uow.events.append_many([("s-1", "fourth", {"n": 4}, None)])
        uow.events.queue("s-1", "fifth", {"n": 5}, actor_id=None)
        uow.commit()  # writes "fifth"
    assert _kinds(store, "s-1") == ["first", "second", "third", "fourth", "fifth"]
    assert _kinds(store, "s-2") == ["other"]
    with store.writing() as uow:  # the next transaction continues the chain
        uow.events.queue("s-1", "sixth", {}, actor_id=None)
        uow.events.write_queued()
        uow.commit()
    assert _kinds(store, "s-1")[-1] == "sixth"


def test_a_rollback_forgets_queued_events(store):
    with store.writing() as uow:
        uow.events.append("s-1", "kept", {}, actor_id=None)
        uow.commit()
    with store.writing() as uow:
        uow.events.queue("s-1", "dropped", {}, actor_id=None)
        uow.rollback()
        uow.events.queue("s-1", "after", {}, actor_id=None)
        uow.commit()
    with store.writing() as uow:
        uow.events.queue("s-1", "never", {}, actor_id=None)  # no commit
    assert _kinds(store, "s-1") == ["kept", "after"]


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines
    store = UnitOfWorkFactory(create_engines(DatabaseSettings(url=sys.argv[1])))
    with store.writing() as uow:
        Path(sys.argv[2]).write_text("held")
        time.sleep(float(sys.argv[3]))
        uow.commit()
""")


def test_sqlite_writers_of_two_processes_queue_on_the_lock_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    # No busy timeout: without the lock file, this writer would fail at once with
    # "database is locked" instead of waiting for the other process.
    engines = create_engines(DatabaseSettings(url=url, busy_timeout_ms=0))
    upgrade(engines)
    store = UnitOfWorkFactory(engines)
    flag = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(flag), "1.5"])
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        start = time.monotonic()
        with store.writing() as uow:  # waits for the other process, then writes
            waited = time.monotonic() - start
            add_party(uow, kind=PartyKind.FORWARDER, name="after the other writer")
            uow.commit()
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
    assert waited > 0.5  # queued behind the holder (not failed, not interleaved)
    assert (tmp_path / "x.db-writer.lock").exists()
    with store.reading() as uow:
        assert [p.name for p in uow.parties.list()] == ["after the other writer"]
    engines.dispose()


def test_postgresql_connections_survive_a_database_restart_and_compress_with_lz4(tmp_path):
    from sqlalchemy import text

    from tests.fixtures.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        engines = create_engines(DatabaseSettings(url=server.create_database("restart")))
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        with store.writing() as uow:
            add_party(uow, kind=PartyKind.FORWARDER, name="before")
            uow.commit()
        with store.lookups() as uow:
            assert uow.session.execute(text("SHOW default_toast_compression")).scalar() == "lz4"
        server._run(server.bin / "pg_ctl", "-D", server.data, "-l", server.root / "server.log",
                    "-m", "fast", "-w", "restart")
        time.sleep(1.2)  # the pooled connection has been idle: pinged, found dead, replaced
        with store.writing() as uow:
            add_party(uow, kind=PartyKind.FORWARDER, name="after")
            uow.commit()
        with store.reading() as uow:
            assert sorted(p.name for p in uow.parties.list()) == ["after", "before"]
        engines.dispose()
    finally:
        server.stop()
