"""Engines for SQLite (embedded default, WAL) and PostgreSQL (psycopg 3).

SQLite has one writer at a time. A deferred transaction that reads and then writes can fail at
once with "database is locked" when another writer got in between (SQLite does not wait in that
case, to avoid deadlock). So writing units of work start with ``BEGIN IMMEDIATE`` (they queue on
the write lock for ``busy_timeout``) and reading ones with a plain ``BEGIN`` (WAL readers never
block). On PostgreSQL both are the same engine; its pooled connections are pinged only after
sitting idle (see :func:`_ping_after_idle`) and compress large values with LZ4 where the
server can.

An SQLite database file is made here, empty and owner-only (``0600``, its folder ``0700``),
before SQLite opens it: SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file, so the whole store stays private whatever the umask.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from exchange.config import DatabaseSettings
from exchange.paths import create_private_file

__all__ = ["PING_AFTER_IDLE_SECONDS", "Engines", "create_engines", "is_sqlite",
           "sqlite_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engines:
    """``write`` for units of work that change something, ``read`` for the others."""

    write: Engine
    read: Engine
    url: str

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (None: in memory, or not SQLite)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _sqlite_engine(url: str, db: DatabaseSettings, begin: str) -> Engine:
    engine = create_engine(url, echo=db.echo, pool_size=db.pool_size, max_overflow=20,
                           connect_args={"check_same_thread": False,
                                         "timeout": db.busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry
                    ) -> None:  # pragma: no cover - trivial
        # sqlite3's own attributes: DBAPIConnection leaves driver attributes untyped (Any)
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(db.busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:  # pragma: no cover - trivial
        conn.exec_driver_sql(begin)

    return engine


def create_engines(db: DatabaseSettings) -> Engines:
    url = db.resolved_url()
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            create_private_file(path)  # 0600 before SQLite makes it (and -wal, -shm) 0644
        return Engines(write=_sqlite_engine(url, db, "BEGIN IMMEDIATE"),
                       read=_sqlite_engine(url, db, "BEGIN"), url=url)
    engine = create_engine(url, echo=db.echo, pool_size=db.pool_size, max_overflow=20)
    _ping_after_idle(engine)
    _lz4_for_large_values(engine)
    return Engines(write=engine, read=engine, url=url)


PING_AFTER_IDLE_SECONDS = 1.0
"""A pooled PostgreSQL connection that sat idle this long is pinged before it is handed out."""


def _ping_after_idle(engine: Engine) -> None:
    """Ping (``SELECT 1``) a pooled connection before use if it sat idle for more than
    :data:`PING_AFTER_IDLE_SECONDS`; one that fails the ping, and every other connection
    the pool holds, is replaced (a database restart while the process was quiet costs no
    request). SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip for each
    unit of work, two per document submission. Under load connections come back within
    milliseconds; a restart then fails the transactions in flight (as it would anyway)
    and the disconnect they report makes the pool replace its connections."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: DBAPIConnection | None, record: ConnectionPoolEntry
                    ) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry,
                     _proxy: PoolProxiedConnection) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_conn.rollback()  # leave no transaction open (isolation levels are set next)
        except dbapi_error as err:
            if engine.dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.InvalidatePoolError(str(err)) from err
            raise


def _lz4_for_large_values(engine: Engine) -> None:
    """Compress the values PostgreSQL moves out of line (each document's original and sealed
    bytes, 20 to 30 kB) with LZ4 instead of pglz, where the server has it (PostgreSQL 14+
    built with LZ4): several times faster to compress, about 10 % larger. Reading handles
    either. A server without LZ4 keeps pglz."""
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # psycopg's own attributes: DBAPIConnection leaves driver attributes untyped (Any)
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True  # a failed SET leaves no aborted transaction behind
        try:
            dbapi_conn.execute("SET default_toast_compression = 'lz4'")
        except dbapi_error as err:
            log.info("PostgreSQL keeps pglz for large values: %s", err)
        finally:
            dbapi_conn.autocommit = autocommit
