"""Engines for SQLite (embedded default, WAL) and PostgreSQL (psycopg 3).

SQLite has one writer at a time. A deferred transaction that reads and then writes can fail at
once with "database is locked" when another writer got in between (SQLite does not wait in that
case, to avoid deadlock). So writing units of work start with ``BEGIN IMMEDIATE`` (they queue on
the write lock for ``busy_timeout``) and reading ones with a plain ``BEGIN`` (WAL readers never
block). On PostgreSQL both are the same engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..config import DatabaseSettings

__all__ = ["Engines", "create_engines", "is_sqlite"]


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


def _sqlite_engine(url: str, db: DatabaseSettings, begin: str) -> Engine:
    engine = create_engine(url, echo=db.echo, pool_size=db.pool_size, max_overflow=20,
                           connect_args={"check_same_thread": False,
                                         "timeout": db.busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(db.busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # pragma: no cover - trivial
        conn.exec_driver_sql(begin)

    return engine


def create_engines(db: DatabaseSettings) -> Engines:
    url = db.resolved_url()
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return Engines(write=_sqlite_engine(url, db, "BEGIN IMMEDIATE"),
                       read=_sqlite_engine(url, db, "BEGIN"), url=url)
    engine = create_engine(url, echo=db.echo, pool_size=db.pool_size, max_overflow=20,
                           pool_pre_ping=True)
    return Engines(write=engine, read=engine, url=url)
