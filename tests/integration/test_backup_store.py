"""`exchange.store.backup` on SQLite, in process: a backup is one private, checked file; a
restore refuses a database that holds data unless forced; wrong files are refused. (Both
engines through the CLI and a running server: tests/e2e/test_backup.py.)"""
from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from exchange.config import DatabaseSettings
from exchange.domain import PartyKind
from exchange.parties.keys import list_parties, register_party
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from exchange.store.backup import (
    BackupError,
    BackupToolError,
    RestoreRefused,
    backup_database,
    postgres_commands,
    restore_database,
)


def _store(url: str) -> UnitOfWorkFactory:
    engines = create_engines(DatabaseSettings(url=url))
    upgrade(engines)
    return UnitOfWorkFactory(engines)


def _names(url: str) -> list[str]:
    store = _store(url)
    try:
        return sorted(item.party.name for item in list_parties(store))
    finally:
        store.engines.dispose()


def test_backup_and_restore_into_a_fresh_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    store = _store(url)
    old = os.umask(0o022)
    try:
        register_party(store, kind=PartyKind.OPERATOR, name="op")
        # the live store stays open (and in WAL mode) while it is backed up
        done = backup_database(url, tmp_path / "backups" / "exchange.db")
        register_party(store, kind=PartyKind.FORWARDER, name="after the backup")
    finally:
        os.umask(old)
        store.engines.dispose()
    assert done.engine == "sqlite" and done.revision and done.size > 0
    backup = tmp_path / "backups" / "exchange.db"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in backup.parent.iterdir()) == ["exchange.db"]  # no -wal, .part
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"

    fresh = tmp_path / "fresh" / "exchange.db"
    restored = restore_database(f"sqlite:///{fresh}", backup)
    assert restored.revision == done.revision and not restored.replaced
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert _names(f"sqlite:///{fresh}") == ["op"]  # the state at the backup

    with pytest.raises(RestoreRefused, match="--force"):
        restore_database(f"sqlite:///{fresh}", backup)
    with pytest.raises(RestoreRefused, match="parties"):
        restore_database(url, backup)  # the live database holds data too
    again = restore_database(url, backup, force=True)
    assert again.replaced and _names(url) == ["op"]


def test_an_empty_migrated_database_is_not_data(tmp_path):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    store = _store(source)
    register_party(store, kind=PartyKind.OPERATOR, name="op")
    store.engines.dispose()
    backup_database(source, tmp_path / "b.bak")
    target = f"sqlite:///{tmp_path / 'empty.db'}"
    _store(target).engines.dispose()  # `exchange serve` ran once on the fresh directory
    restore_database(target, tmp_path / "b.bak")
    assert _names(target) == ["op"]


def test_wrong_files_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(BackupError, match="no database"):
        backup_database(url, tmp_path / "b.db")
    assert not (tmp_path / "x.db").exists()  # not made empty by asking
    (tmp_path / "dump").write_bytes(b"PGDMP\x01\x0e\x00")
    with pytest.raises(BackupError, match="not an SQLite backup"):
        restore_database(url, tmp_path / "dump")
    with pytest.raises(BackupError, match="not a pg_dump"):
        restore_database("postgresql+psycopg://u@127.0.0.1:1/db", _sqlite_file(tmp_path))
    with pytest.raises(BackupError, match="not the exchange's"):
        restore_database(url, _sqlite_file(tmp_path))
    with pytest.raises(BackupError, match="cannot read"):
        restore_database(url, tmp_path / "missing")



def test_a_backup_never_replaces_the_live_database_or_its_files(tmp_path):
    """The backup's target is compared as the file it is, not as the path typed: the
    database through a symbolic link, or its ``-wal``/``-shm``/journal/lock file beside it,
    would be replaced by the rename and lose (or corrupt) what the running exchange
    committed (a ``-wal`` replaced under a running server loses every commit since the
    last checkpoint)."""
    live = tmp_path / "data" / "exchange.db"
    url = f"sqlite:///{live}"
    store = _store(url)
    try:
        register_party(store, kind=PartyKind.OPERATOR, name="committed")  # -wal, -shm exist
        (tmp_path / "link").symlink_to(live.parent)
        targets = [tmp_path / "link" / "exchange.db", tmp_path / "link" / "exchange.db-wal",
                   *(live.with_name(live.name + end) for end in ("-wal", "-shm", "-journal",
                                                                 "-writer.lock"))]
        for target in targets:
            before = target.stat().st_ino if target.exists() else None
            with pytest.raises(BackupError, match="database"):
                backup_database(url, target)
            assert (target.stat().st_ino if target.exists() else None) == before, target
        with pytest.raises(BackupError, match="the database itself"):
            restore_database(url, tmp_path / "link" / "exchange.db", force=True)
    finally:
        store.engines.dispose()
    assert _names(url) == ["committed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "link"]


def _sqlite_file(folder):
    path = folder / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    return path


def test_postgres_commands_and_a_missing_client(tmp_path, monkeypatch):
    url = "postgresql+psycopg://ex:s3cret@db.example:5433/exchange?sslmode=require"
    dump, restore = postgres_commands(url, tmp_path / "x.dump")
    conninfo = "--dbname=postgresql://ex@db.example:5433/exchange?sslmode=require"
    assert dump == ["pg_dump", "--format=custom", f"--file={tmp_path / 'x.dump'}", conninfo]
    assert restore == ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
                       "--exit-on-error", conninfo, str(tmp_path / "x.dump")]
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupToolError) as info:
        backup_database(url, tmp_path / "x.dump")
    assert "pg_dump --format=custom" in info.value.message
    assert "s3cret" not in info.value.message
    assert not list(tmp_path.iterdir())  # nothing half-written
