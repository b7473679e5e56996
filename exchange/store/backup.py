"""Backups of the exchange's database and their restore (``exchange db backup|restore``).

    done = backup_database(url, Path("/backups/exchange.db"))    # while the exchange runs
    done = restore_database(url, Path("/backups/exchange.db"))   # into a fresh database

* **SQLite**: the online backup API of the :mod:`sqlite3` module copies the database in one
  step from a read snapshot (writers go on meanwhile: WAL), into one self-contained file
  (rollback-journal mode, no ``-wal``) checked with ``PRAGMA quick_check``. A restore copies
  it back the same way, into the database file of ``EXCHANGE_DATABASE_URL``.
* **PostgreSQL**: ``pg_dump --format=custom`` (a consistent snapshot) and ``pg_restore
  --no-owner --no-privileges --single-transaction --exit-on-error``, run when they are on
  ``PATH`` (the client of the server's major version or newer); when they are not, the error
  gives the exact command (:func:`postgres_commands`). The password travels in
  ``PGPASSWORD``, never on a command line.

Every backup file is written owner-only (``0600``) under a temporary name and renamed into
place, so a backup that failed half-way never looks like one. A restore refuses a database
that already holds data (any row in any table but :data:`NOT_DATA`) unless *force*; the
restored database is at the revision of its backup and ``exchange serve`` (or ``exchange db
upgrade``) brings it up to date. A database is only part of a backup: the hub's key and
certificate (the database records which one sealed it, and the exchange refuses to start
without it), the secrets key (``hub/secrets.key``: without it the payment providers' sealed
secrets do not open) and the trust folders must be kept with it (README, "Backups").

Errors (the kinds of :mod:`exchange.errors`)::

    UsageError
    └── BackupError            store.backup: no database, not a backup of this engine, damaged
    ConflictError
    └── RestoreRefused         store.restore-not-empty: the target database holds data
    UnavailableError
    └── BackupToolError        store.backup-tool: pg_dump / pg_restore missing or failed
"""
from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from exchange.i18n import t
from exchange.paths import create_private_file
from exchange.store.errors import BackupError, BackupToolError, RestoreRefused
from exchange.store.engine import is_sqlite, sqlite_file

__all__ = [
    "BackupDone", "BackupError", "BackupToolError", "RestoreDone", "RestoreRefused",
    "backup_database", "postgres_commands", "restore_database",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
REVISIONS_TABLE = "alembic_version"
NOT_DATA = frozenset({REVISIONS_TABLE, "hub_identities"})
"""Tables whose rows do not make a database one that holds data: the migrations' revision,
and the hub identity that a first start on a fresh data directory records (a restore
replaces it with the backup's, which the hub's key files must then match)."""
_COMPANIONS = ("-wal", "-shm", "-journal", "-writer.lock")
"""The files beside an SQLite database that belong to it (see exchange.store.uow for the
lock); a backup never replaces one."""


@dataclass(frozen=True)
class BackupDone:
    path: Path
    engine: str
    """``sqlite`` or ``postgresql``."""
    size: int
    revision: str | None
    """The migration revision the backup is at."""


@dataclass(frozen=True)
class RestoreDone:
    path: Path
    engine: str
    target: str
    """The database file, or the PostgreSQL URL without its password."""
    revision: str | None
    replaced: bool
    """A database that held data was replaced (*force*)."""


def backup_database(url: str, target: Path) -> BackupDone:
    """Copy the database at *url* to the file *target* (replaced if it exists), consistent
    while the exchange runs. Raises :class:`BackupError` or :class:`BackupToolError`."""
    target = Path(os.path.abspath(target.expanduser()))
    if target.is_dir():
        raise BackupError(t("{target} is a folder; name the backup file", target=str(target)))
    if not is_sqlite(url):
        _tool(postgres_commands(url, target)[0])  # else: the command to run by hand
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    try:
        create_private_file(tmp)  # 0600 before anything is written into it
    except OSError as exc:
        raise BackupError(t("cannot write {target}: {error}", target=str(target),
                            error=exc.strerror or str(exc))) from None
    try:
        if is_sqlite(url):
            engine, revision = "sqlite", _sqlite_backup(url, tmp, target)
        else:
            engine, revision = "postgresql", _revision(url)
            _run_pg(postgres_commands(url, tmp)[0], url)
            if not _magic(tmp).startswith(PGDUMP_MAGIC):
                raise BackupToolError(t("pg_dump did not write a custom-format archive to {file}",
                                        file=str(tmp)))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(target.parent)
    return BackupDone(target, engine, target.stat().st_size, revision)


def restore_database(url: str, source: Path, *, force: bool = False) -> RestoreDone:
    """Restore the backup *source* into the database at *url*; a database that holds data
    is refused (:class:`RestoreRefused`) unless *force*. Stop every exchange process on
    that database first."""
    source = Path(os.path.abspath(source.expanduser()))
    try:
        magic = _magic(source)
    except OSError as exc:
        raise BackupError(t("cannot read {source}: {error}", source=str(source),
                            error=exc.strerror or str(exc))) from None
    sqlite = is_sqlite(url)
    if not magic.startswith(SQLITE_MAGIC if sqlite else PGDUMP_MAGIC):
        raise BackupError(t("{source} is not an SQLite backup; EXCHANGE_DATABASE_URL names an "
                            "SQLite database, and a backup is restored into a database of "
                            "the same engine", source=str(source)) if sqlite else
                          t("{source} is not a pg_dump custom-format archive; "
                            "EXCHANGE_DATABASE_URL names a PostgreSQL database, and a backup "
                            "is restored into a database of the same engine",
                            source=str(source)))
    if sqlite:
        return _sqlite_restore(url, source, force=force)
    return _postgres_restore(url, source, force=force)


def postgres_commands(url: str, file: Path) -> tuple[list[str], list[str]]:
    """The ``pg_dump`` and ``pg_restore`` commands for the database at *url* and the archive
    *file* (the password is left out: it goes in ``PGPASSWORD`` or ``~/.pgpass``)."""
    given = make_url(url)
    dbname = URL.create("postgresql", username=given.username, host=given.host,
                        port=given.port, database=given.database, query=given.query
                        ).render_as_string(hide_password=False)
    return (["pg_dump", "--format=custom", f"--file={file}", f"--dbname={dbname}"],
            ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction",
             "--exit-on-error", f"--dbname={dbname}", str(file)])


# ------------------------------------------------------------------ SQLite
def _sqlite_path(url: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise BackupError(t("EXCHANGE_DATABASE_URL names an SQLite database in memory: "
                            "there is nothing to back up or restore"))
    return Path(os.path.abspath(path))


def _sqlite_backup(url: str, tmp: Path, target: Path) -> str | None:
    database = _sqlite_path(url)
    if not database.is_file():
        raise BackupError(t("there is no database at {database} (EXCHANGE_DATABASE_URL)",
                            database=str(database)))
    real, files = _database_files(database)
    named = Path(os.path.realpath(target))  # through symbolic links, as the rename would go
    if named == real:
        raise BackupError(t("{target} is the database itself; name another file",
                            target=str(target)))
    if named in files:
        raise BackupError(t("{target} is a file of the database {database} (its journal or "
                            "lock), which the exchange uses; name another file",
                            target=str(target), database=str(database)))
    try:
        source = sqlite3.connect(database, timeout=30)
        try:
            copy = sqlite3.connect(tmp)
            try:
                source.backup(copy)  # one step: a consistent snapshot, writers not blocked
                copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
                _check_sqlite(copy, tmp)
                return _sqlite_revision(copy)
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(t("cannot back up {database}: {error}", database=str(database),
                            error=str(exc))) from None


def _sqlite_restore(url: str, backup: Path, *, force: bool) -> RestoreDone:
    database = _sqlite_path(url)
    if Path(os.path.realpath(backup)) == _database_files(database)[0]:
        raise BackupError(t("{backup} is the database itself", backup=str(backup)))
    try:
        source = sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)
        try:
            _check_sqlite(source, backup)
            if _sqlite_revision(source) is None:
                raise BackupError(t("{backup} is an SQLite database, but not the exchange's",
                                    backup=str(backup)))
            held = _sqlite_tables_with_rows(database) if database.exists() else []
            if held and not force:
                raise _refused(str(database), held)
            create_private_file(database)  # 0600 (and -wal, -shm after it) if it is new
            target = sqlite3.connect(database, timeout=30)
            try:
                source.backup(target)  # replaces every page, in one transaction
                _check_sqlite(target, database)
                revision = _sqlite_revision(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(t("cannot restore {backup} into {database}: {error}", backup=str(backup),
                            database=str(database), error=str(exc))) from None
    return RestoreDone(backup, "sqlite", str(database), revision, replaced=bool(held))


def _database_files(database: Path) -> tuple[Path, tuple[Path, ...]]:
    """The database file with symbolic links resolved, and the files SQLite and the exchange
    keep beside it (``-wal``, ``-shm``, ``-journal``, the writers' lock)."""
    real = Path(os.path.realpath(database))
    return real, tuple(real.with_name(real.name + end) for end in _COMPANIONS)


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise BackupError(t("{file} is damaged (quick_check: {result})", file=str(path),
                            result=str(result[0]) if result else "?"))


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (REVISIONS_TABLE,)).fetchone()
    if found is None:
        return None
    row = conn.execute(f"SELECT version_num FROM {REVISIONS_TABLE}").fetchone()
    return str(row[0]) if row else None


def _sqlite_tables_with_rows(database: Path) -> list[str]:
    conn = sqlite3.connect(database, timeout=30)  # only read (read-only WAL has caveats)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name")]
        return [n for n in names if n not in NOT_DATA and conn.execute(
            f"SELECT 1 FROM {_quoted(n)} LIMIT 1").fetchone() is not None]
    finally:
        conn.close()


# -------------------------------------------------------------- PostgreSQL
def _postgres_restore(url: str, backup: Path, *, force: bool) -> RestoreDone:
    command = postgres_commands(url, backup)[1]
    _tool(command)  # before anything is dropped
    engine = create_engine(url, poolclass=NullPool)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with engine.begin() as conn:
            names = sorted(inspect(conn).get_table_names())
            held = [n for n in names if n not in NOT_DATA and conn.execute(
                text(f"SELECT 1 FROM {_quoted(n)} LIMIT 1")).first() is not None]
            if held and not force:
                raise _refused(shown, held)
            if names:  # empty tables of a migrated database, or replaced ones (force)
                tables = MetaData()
                tables.reflect(conn)
                tables.drop_all(conn)
    except RestoreRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - any driver error: server, rights, URL
        raise BackupError(t("cannot prepare {database} for the restore: {error}", database=shown,
                            error=str(exc))) from None
    finally:
        engine.dispose()
    _run_pg(command, url)
    return RestoreDone(backup, "postgresql", shown, _revision(url), replaced=bool(held))


def _revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(REVISIONS_TABLE):
                return None
            value = conn.execute(text(f"SELECT version_num FROM {REVISIONS_TABLE}")).scalar()
            return None if value is None else str(value)
    except Exception as exc:  # noqa: BLE001 - any driver error
        shown = make_url(url).render_as_string(hide_password=True)
        raise BackupError(t("cannot read {source}: {error}", source=shown, error=str(exc))) from None
    finally:
        engine.dispose()


def _tool(command: list[str]) -> str:
    """The program of *command* on PATH, or a :class:`BackupToolError` giving the command."""
    found = shutil.which(command[0])
    if found is None:
        raise BackupToolError(
            t("{tool} is not on PATH: install the PostgreSQL client (the server's major "
              "version or newer) or put its folder on PATH, or run it yourself, with the "
              "password in PGPASSWORD or ~/.pgpass: {command}", tool=command[0],
              command=shlex.join(command)))
    return found


def _run_pg(command: list[str], url: str) -> None:
    found, tool = _tool(command), command[0]
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run([found, *command[1:]], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupToolError(t("{tool} failed (exit {code}): {error}", tool=tool,
                                code=done.returncode, error=detail))


# ------------------------------------------------------------------ shared
def _refused(target: str, held: list[str]) -> RestoreRefused:
    return RestoreRefused(
        t("{target} already holds data (rows in {tables}): restore into a fresh data directory "
          "or an empty database, or pass --force to replace what it holds", target=target,
          tables=", ".join(held[:5]) + (", ..." if len(held) > 5 else "")))


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(len(SQLITE_MAGIC))[:len(SQLITE_MAGIC)]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sync_folder(folder: Path) -> None:
    """Make a rename in *folder* durable (best effort: not every system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
