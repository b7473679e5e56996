"""`exchange.store.backup` on SQLite, in process: a backup is one private, checked file; a
restore refuses a database that holds data unless forced (the hub identity a first start
recorded is not data); wrong files are refused. The hub identity a database records, on both
engines: a restored database is never given a new one. (Both engines through the CLI and a
running server: tests/e2e/test_backup.py.)"""
from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from exchange.config import ConfigError, DatabaseSettings, HubSettings
from exchange.documents.signatures import envelope_signer, hub_sealer, new_hub_identity
from exchange.domain import PartyKind
from exchange.errors import UsageError
from exchange.parties.keys import list_parties, register_party
from exchange.store.repositories import utcnow
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from exchange.store.backup import (
    BackupError,
    BackupToolError,
    RestoreRefused,
    backup_database,
    postgres_commands,
    restore_database,
)
from exchange.store.identities import HubIdentityRow
from signing.trust import fingerprint
from tests.fixtures.server import make_hub_identity


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
    fresh = _store(target)  # `exchange serve` ran once on the fresh directory...
    with fresh.writing() as uow:  # ... and recorded the identity it made there
        uow.hub_identities.record("b" * 64, "CN=made by mistake", how="created", now=utcnow())
        uow.commit()
    fresh.engines.dispose()
    restore_database(target, tmp_path / "b.bak")
    assert _names(target) == ["op"]
    assert _identities(target) == []  # the backup's (none recorded): the files must match it


def _identities(url_or_store: str | UnitOfWorkFactory) -> list[tuple[str, str]]:
    store = _store(url_or_store) if isinstance(url_or_store, str) else url_or_store
    try:
        with store.reading() as uow:
            return [(row.fingerprint, row.how) for row in uow.hub_identities.history()]
    finally:
        if isinstance(url_or_store, str):
            store.engines.dispose()


def test_the_database_keeps_the_hub_identity_that_sealed_it(store, tmp_path, monkeypatch):
    monkeypatch.setenv("EXCHANGE_HOME", str(tmp_path / "home"))
    hub = HubSettings()  # the default files of the data directory
    key, cert = hub.resolved_key_file(), hub.resolved_cert_file()
    made = fingerprint(hub_sealer(hub, store=store).identity.certificate)  # a new database
    assert key.is_file() and cert.is_file()
    assert fingerprint(hub_sealer(hub, store=store).identity.certificate) == made
    envelope_signer(hub, store=store)
    assert _identities(store) == [(made, "created")]

    # restored without the hub's files: refused, and no new identity is made
    (tmp_path / "kept").mkdir()
    key.rename(tmp_path / "kept" / key.name)
    cert.rename(tmp_path / "kept" / cert.name)
    for start in (hub_sealer, envelope_signer):
        with pytest.raises(ConfigError) as refused:
            start(hub, store=store)
        assert refused.value.setting == "EXCHANGE_HUB_KEY_FILE"
        assert made in refused.value.message and str(key) in refused.value.message
        assert "are missing" in refused.value.message
        assert "exchange hub new-identity" in refused.value.message
    assert made in refused.value.text.render("zh_Hans")
    assert "缺失" in refused.value.text.render("zh_Hans")
    assert not key.exists() and not cert.exists()
    assert _identities(store) == [(made, "created")]

    # another identity's files: refused, naming both certificates
    other_key, other_cert = make_hub_identity(tmp_path / "other")
    other = HubSettings(key_file=other_key, cert_file=other_cert, key_passphrase="hub-pass")
    with pytest.raises(ConfigError) as refused:
        hub_sealer(other, store=store)
    theirs = fingerprint(load_cert(other_cert))
    assert refused.value.setting == "EXCHANGE_HUB_CERT_FILE"
    assert made in refused.value.message and theirs in refused.value.message

    # `exchange hub new-identity`: the deliberate way, recorded
    done = new_hub_identity(other, store=store)
    assert (done.fingerprint, done.previous, done.made) == (theirs, made, False)
    assert fingerprint(hub_sealer(other, store=store).identity.certificate) == theirs
    with pytest.raises(UsageError, match="already hold the hub identity"):
        new_hub_identity(other, store=store)
    renewed = new_hub_identity(hub, store=store)  # default files missing: made there
    assert renewed.made and key.is_file() and renewed.previous == theirs
    assert fingerprint(hub_sealer(hub, store=store).identity.certificate) == renewed.fingerprint
    assert _identities(store) == [(made, "created"), (theirs, "new-identity"),
                                  (renewed.fingerprint, "new-identity")]

    # a database from before identities were recorded gets the one in use at its next start
    with store.writing() as uow:
        uow.session.query(HubIdentityRow).delete()
        uow.commit()
    hub_sealer(hub, store=store)
    assert _identities(store) == [(renewed.fingerprint, "found")]


def load_cert(path):
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


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
