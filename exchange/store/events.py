"""The event log: append-only, one hash chain per stream (a shipment), written in the same
transaction as the change it records (see :mod:`exchange.audit` for the hash)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from exchange.audit import GENESIS, canonical_json, event_hash
from exchange.store.models import EventHeadRow, EventRow
from exchange.store.repositories import _Repo, utcnow

__all__ = ["Event", "EventLog"]


_EVENTS = EventRow.__table__
_HEADS = EventHeadRow.__table__
# Statements of the hot paths are built once and executed with parameters: SQLAlchemy then
# finds them in its compiled cache without building a cache key over literal values (which
# cost more than the statements themselves).
_INSERT_EVENT = insert(_EVENTS)
_INSERT_EVENT_ID = insert(_EVENTS).returning(_EVENTS.c.id)
_UPDATE_HEAD = (update(_HEADS).where(_HEADS.c.stream == bindparam("k_stream"))
                .values(seq=bindparam("k_seq"), hash=bindparam("k_hash")))
_EVENT_COLUMNS = ("stream", "seq", "kind", "actor_id", "occurred_at", "data_json", "prev_hash",
                  "hash")
_TAKE_HEAD: dict[str, ReturningInsert[int, str]] = {}
_CREATE_HEADS: dict[str, PgInsert | SqliteInsert] = {}

Event = tuple[str, str, dict[str, Any], str | None]
"""(stream, kind, data, actor id)"""

Head = list[Any]
"""A stream's head in this transaction: ``[seq, hash]`` (an int and a hex string), moved
on in place as events are chained and unpacked into the heads' bulk UPDATE; a list rather
than a dataclass for that, on the hot path of every event (``Any``: a list of two types)."""


def _upsert(dialect: str) -> Callable[[Table], PgInsert | SqliteInsert]:
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _take_head(dialect: str) -> ReturningInsert[int, str]:
    """``INSERT ... ON CONFLICT DO UPDATE`` (a no-op update) ``RETURNING seq, hash``: creates
    a stream's head if missing and reads it, locked until the end of the transaction, in one
    statement. On PostgreSQL the update takes the row lock (waiting for another writer of the
    stream, then returning its committed head, as ``SELECT ... FOR UPDATE`` would); on SQLite
    the writer already holds the database lock (``BEGIN IMMEDIATE``)."""
    stmt = _TAKE_HEAD.get(dialect)
    if stmt is None:
        ins = _upsert(dialect)(_HEADS).values(stream=bindparam("k_stream"), seq=0,
                                               hash=GENESIS)
        stmt = _TAKE_HEAD[dialect] = ins.on_conflict_do_update(
            index_elements=["stream"], set_={"seq": _HEADS.c.seq}
        ).returning(_HEADS.c.seq, _HEADS.c.hash)
    return stmt


def _create_heads(dialect: str) -> PgInsert | SqliteInsert:
    stmt = _CREATE_HEADS.get(dialect)
    if stmt is None:
        stmt = _CREATE_HEADS[dialect] = _upsert(dialect)(_HEADS).on_conflict_do_nothing(
            index_elements=["stream"])
    return stmt


class EventLog(_Repo):
    """Appends hash-chained events; see :mod:`exchange.audit` for the hash.

    The first append (or :meth:`lock`) of a stream in a transaction locks its head row; the
    head is then kept here, so later appends in the same transaction cost one INSERT and one
    UPDATE (Core statements: the ORM's flush machinery is not needed for append-only rows).

    :meth:`queue` holds events back so that several writers of one transaction (a document
    and the outbox rows its acceptance causes) append them together, in one INSERT and one
    UPDATE. Queued events keep their order: every other call that writes or reads events
    here, :meth:`write_queued` and the unit of work's ``flush`` and ``commit`` write them
    first."""

    def __init__(self, session: Session):
        super().__init__(session)
        self._heads: dict[str, Head] = {}  # stream -> its head in this transaction
        self._queued: list[Event] = []

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _head(self, stream: str) -> Head:
        head = self._heads.get(stream)
        if head is not None and self.session.in_transaction():
            return head
        seq, digest = self.session.execute(_take_head(self._dialect()),
                                           {"k_stream": stream}).one()
        head = self._heads[stream] = [seq, digest]
        return head

    def lock(self, stream: str) -> None:
        """Take the stream's lock until the end of the transaction (PostgreSQL: row lock on
        its head; SQLite: writers are already serialised by ``BEGIN IMMEDIATE``)."""
        self.write_queued()
        self._head(stream)

    def append(self, stream: str, kind: str, data: dict[str, Any], *,
               actor_id: str | None) -> EventRow:
        self.write_queued()
        head = self._head(stream)
        values = self._chain(head, stream, kind, data, actor_id)
        self.session.flush()  # rows added through the ORM go first (foreign keys, order)
        event_id = self.session.execute(_INSERT_EVENT_ID, values).scalar_one()
        self.session.execute(_UPDATE_HEAD, {"k_stream": stream, "k_seq": head[0],
                                            "k_hash": head[1]})
        return EventRow(id=event_id, **values)

    @staticmethod
    def _chain(head: Head, stream: str, kind: str, data: dict[str, Any],
               actor: str | None) -> dict[str, Any]:
        """The row of the next event of *stream*; moves *head* on to it."""
        occurred_at = utcnow().isoformat(timespec="microseconds")
        data_json = canonical_json(data)
        seq = head[0] + 1
        digest = event_hash(head[1], stream=stream, seq=seq, kind=kind, actor=actor,
                            occurred_at=occurred_at, data_json=data_json)
        row = {"stream": stream, "seq": seq, "kind": kind, "actor_id": actor,
               "occurred_at": occurred_at, "data_json": data_json, "prev_hash": head[1],
               "hash": digest}
        head[0], head[1] = seq, digest
        return row

    def queue(self, stream: str, kind: str, data: dict[str, Any], *,
              actor_id: str | None) -> None:
        """Append an event later in this transaction, with the other queued ones (see the
        class). Nothing is queued across a commit or a rollback."""
        self._queued.append((stream, kind, data, actor_id))

    def write_queued(self) -> None:
        """Append the queued events now (one INSERT, one UPDATE per chunk of streams)."""
        if self._queued:
            events, self._queued = self._queued, []
            self._append_many(events)

    def discard_queued(self) -> None:
        self._queued.clear()

    def lock_many(self, streams: Iterable[str]) -> None:
        """Take the locks of many streams until the end of the transaction, in sorted order
        and a few statements per chunk of streams (see :meth:`lock`)."""
        self.write_queued()
        self._lock_heads(streams)

    def append_many(self, events: Sequence[Event]) -> None:
        """Append (stream, kind, data, actor) events to many streams in a few statements:
        the heads not yet held are locked together (sorted, in chunks), then the events go
        in with one bulk insert and the heads move with one bulk update. Same chain and
        same cache as :meth:`append`."""
        self.write_queued()
        self._append_many(events)

    def _lock_heads(self, streams: Iterable[str]) -> None:
        held = self.session.in_transaction()
        missing = sorted({s for s in streams if not (held and s in self._heads)})
        if len(missing) <= 1:
            for stream in missing:
                self._head(stream)
            return
        postgres = self._postgres
        for chunk in self._lookups(missing):
            found = self._read_heads(chunk, lock=False)  # most exist: create only the others
            absent = [s for s in chunk if s not in found]
            if absent:
                self.session.execute(_create_heads(self._dialect()),
                                     [{"stream": s, "seq": 0, "hash": GENESIS} for s in absent])
            if postgres or absent:
                # PostgreSQL: locked (in sorted order) and read again under the lock;
                # SQLite: this transaction is the only writer since BEGIN IMMEDIATE
                found = self._read_heads(chunk, lock=postgres)
            self._heads.update(found)

    def _read_heads(self, streams: Sequence[str], *, lock: bool) -> dict[str, Head]:
        stmt = select(_HEADS.c.stream, _HEADS.c.seq, _HEADS.c.hash).where(
            self._in(_HEADS.c.stream, streams)).order_by(_HEADS.c.stream)
        if lock:
            stmt = stmt.with_for_update()
        return {stream: [seq, digest] for stream, seq, digest in self.session.execute(stmt)}

    def _append_many(self, events: Sequence[Event]) -> None:
        if not events:
            return
        self._lock_heads(e[0] for e in events)
        rows = [self._chain(self._heads[stream], stream, kind, data, actor)
                for stream, kind, data, actor in events]
        self._insert_many(_EVENTS, _EVENT_COLUMNS, [tuple(row[c] for c in _EVENT_COLUMNS)
                                                    for row in rows])
        touched = sorted({e[0] for e in events})
        self._update_many("event_heads", ("stream",), ("seq", "hash"), ("integer", "text"),
                          [(s, *self._heads[s]) for s in touched])

    def list(self, stream: str, *, after: int = 0, limit: int | None = None
             ) -> Sequence[EventRow]:
        self.write_queued()
        stmt = select(EventRow).where(EventRow.stream == stream, EventRow.seq > after
                                      ).order_by(EventRow.seq)
        if limit:
            stmt = stmt.limit(limit)
        return self.session.scalars(stmt).all()

    def streams(self) -> Sequence[str]:
        self.write_queued()
        names = set(self.session.scalars(select(EventRow.stream).distinct()).all())
        names |= set(self.session.scalars(select(EventHeadRow.stream)).all())
        return sorted(names)

    def head(self, stream: str) -> tuple[int, str] | None:
        self.write_queued()
        row = self.session.get(EventHeadRow, stream)
        return None if row is None or row.seq == 0 else (row.seq, row.hash)

    @staticmethod
    def data(row: EventRow) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(row.data_json)
        return data
