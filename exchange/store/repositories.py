"""Repositories: the only code that writes SQL for the rows of :mod:`.models`."""
from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload, undefer

from ..audit import GENESIS, canonical_json, event_hash
from .models import (
    ApiKeyRow,
    DocumentRow,
    EventHeadRow,
    EventRow,
    IdempotencyRow,
    LegRow,
    PartyRow,
    ShipmentRow,
)

__all__ = [
    "DocumentRepository",
    "EventLog",
    "IdempotencyRepository",
    "PartyRepository",
    "Scope",
    "ShipmentRepository",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scope:
    """What a caller may see: every shipment, a forwarder's own, or those routed to a country."""

    __slots__ = ("country", "everything", "forwarder_id")

    def __init__(self, *, forwarder_id: str | None = None, country: str | None = None,
                 everything: bool = False):
        self.forwarder_id, self.country, self.everything = forwarder_id, country, everything

    def where(self, stmt):
        if self.everything:
            return stmt
        if self.forwarder_id is not None:
            return stmt.where(ShipmentRow.forwarder_id == self.forwarder_id)
        if self.country is not None:
            routed = exists().where(LegRow.shipment_id == ShipmentRow.id,
                                    LegRow.country == self.country)
            return stmt.where(routed)
        return stmt.where(False)


class _Repo:
    def __init__(self, session: Session):
        self.session = session


class PartyRepository(_Repo):
    def add(self, row: PartyRow) -> PartyRow:
        self.session.add(row)
        return row

    def get(self, party_id: str) -> PartyRow | None:
        return self.session.get(PartyRow, party_id)

    def list(self) -> Sequence[PartyRow]:
        return self.session.scalars(select(PartyRow).order_by(PartyRow.created_at)).all()

    def add_key(self, row: ApiKeyRow) -> ApiKeyRow:
        self.session.add(row)
        return row

    def key(self, key_id: str) -> ApiKeyRow | None:
        return self.session.get(ApiKeyRow, key_id)

    def credentials(self, key_id: str):
        """One Core row (secret_sha256, revoked_at, party_id, kind, name, country): what
        authentication needs, without building ORM objects on every request."""
        return self.session.execute(
            select(ApiKeyRow.secret_sha256, ApiKeyRow.revoked_at, ApiKeyRow.party_id,
                   PartyRow.kind, PartyRow.name, PartyRow.country)
            .join(PartyRow, PartyRow.id == ApiKeyRow.party_id)
            .where(ApiKeyRow.key_id == key_id)).first()

    def keys(self, party_id: str | None = None) -> Sequence[ApiKeyRow]:
        stmt = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if party_id:
            stmt = stmt.where(ApiKeyRow.party_id == party_id)
        return self.session.scalars(stmt).all()


class ShipmentRepository(_Repo):
    def add(self, row: ShipmentRow, legs: list[LegRow]) -> ShipmentRow:
        self.session.add(row)
        self.session.flush()
        for leg in legs:
            leg.shipment_id = row.id
            self.session.add(leg)
        return row

    def get(self, shipment_id: str, scope: Scope, *, legs: bool = True) -> ShipmentRow | None:
        stmt = scope.where(select(ShipmentRow).where(ShipmentRow.id == shipment_id))
        if legs:
            stmt = stmt.options(selectinload(ShipmentRow.legs))
        return self.session.scalars(stmt).first()

    def origin(self, shipment_id: str, scope: Scope) -> str | None:
        """The origin country of a shipment in *scope* (one column, no ORM object)."""
        stmt = scope.where(select(ShipmentRow.origin).where(ShipmentRow.id == shipment_id))
        return self.session.execute(stmt).scalar()

    def exists(self, shipment_id: str) -> bool:
        return self.session.get(ShipmentRow, shipment_id) is not None

    def page(self, scope: Scope, *, limit: int, cursor: str | None = None
             ) -> tuple[Sequence[ShipmentRow], str | None]:
        """Newest first, keyset-paginated on (created_at, id)."""
        stmt = scope.where(select(ShipmentRow))
        if cursor:
            created, sid = _decode_cursor(cursor)
            stmt = stmt.where((ShipmentRow.created_at < created) |
                              ((ShipmentRow.created_at == created) & (ShipmentRow.id < sid)))
        stmt = stmt.order_by(ShipmentRow.created_at.desc(), ShipmentRow.id.desc()).limit(
            limit + 1).options(selectinload(ShipmentRow.legs))
        rows = self.session.scalars(stmt).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (_encode_cursor(rows[-1]) if more and rows else None)

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(ShipmentRow)) or 0


def _encode_cursor(row: ShipmentRow) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, sid = raw.split("|", 1)
        value = datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the page cursor is not one this server gave out") from exc
    return value, sid


class DocumentRepository(_Repo):
    def add(self, row: DocumentRow) -> DocumentRow:
        """Insert an (immutable) document with one Core INSERT; *row* stays a plain value."""
        self.session.flush()  # its shipment first, if it was just added
        self.session.execute(insert(DocumentRow).values(
            {c.key: getattr(row, c.key) for c in DocumentRow.__table__.columns}))
        return row

    def get(self, shipment_id: str, document_id: str, *, with_bytes: bool = False
            ) -> DocumentRow | None:
        stmt = select(DocumentRow).where(DocumentRow.id == document_id,
                                         DocumentRow.shipment_id == shipment_id)
        if with_bytes:
            stmt = stmt.options(undefer(DocumentRow.original), undefer(DocumentRow.sealed))
        return self.session.scalars(stmt).first()

    def by_sha256(self, shipment_id: str, sha256: str) -> DocumentRow | None:
        return self.session.scalars(select(DocumentRow).where(
            DocumentRow.shipment_id == shipment_id, DocumentRow.sha256 == sha256)).first()

    def for_shipment(self, shipment_id: str) -> Sequence[DocumentRow]:
        return self.session.scalars(select(DocumentRow).where(
            DocumentRow.shipment_id == shipment_id).order_by(DocumentRow.created_at,
                                                            DocumentRow.id)).all()

    def superseding(self, document_id: str) -> DocumentRow | None:
        return self.session.scalars(select(DocumentRow).where(
            DocumentRow.supersedes_id == document_id)).first()


class EventLog(_Repo):
    """Appends hash-chained events; see :mod:`exchange.audit` for the hash.

    The first append (or :meth:`lock`) of a stream in a transaction locks its head row; the
    head is then kept here, so later appends in the same transaction cost one INSERT and one
    UPDATE (Core statements: the ORM's flush machinery is not needed for append-only rows)."""

    def __init__(self, session: Session):
        super().__init__(session)
        self._heads: dict[str, list] = {}  # stream -> [seq, hash] of this transaction

    def _head(self, stream: str) -> list:
        head = self._heads.get(stream)
        if head is not None and self.session.in_transaction():
            return head
        dialect = self.session.get_bind().dialect.name
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(EventHeadRow)
        self.session.execute(ins.values(stream=stream, seq=0, hash=GENESIS)
                             .on_conflict_do_nothing(index_elements=["stream"]))
        row = self.session.execute(
            select(EventHeadRow.seq, EventHeadRow.hash).where(EventHeadRow.stream == stream)
            .with_for_update()).one()
        head = self._heads[stream] = [row.seq, row.hash]
        return head

    def lock(self, stream: str) -> None:
        """Take the stream's lock until the end of the transaction (PostgreSQL: row lock on
        its head; SQLite: writers are already serialised by ``BEGIN IMMEDIATE``)."""
        self._head(stream)

    def append(self, stream: str, kind: str, data: dict[str, Any], *,
               actor_id: str | None) -> EventRow:
        head = self._head(stream)
        occurred_at = utcnow().isoformat(timespec="microseconds")
        data_json = canonical_json(data)
        seq = head[0] + 1
        digest = event_hash(head[1], stream=stream, seq=seq, kind=kind, actor=actor_id,
                            occurred_at=occurred_at, data_json=data_json)
        values = dict(stream=stream, seq=seq, kind=kind, actor_id=actor_id,
                      occurred_at=occurred_at, data_json=data_json, prev_hash=head[1],
                      hash=digest)
        self.session.flush()  # rows added through the ORM go first (foreign keys, order)
        event_id = self.session.execute(
            insert(EventRow).values(**values).returning(EventRow.id)).scalar_one()
        self.session.execute(update(EventHeadRow).where(EventHeadRow.stream == stream)
                             .values(seq=seq, hash=digest))
        head[0], head[1] = seq, digest
        return EventRow(id=event_id, **values)

    def append_many(self, events: Sequence[tuple[str, str, dict[str, Any], str | None]]
                    ) -> None:
        """Append (stream, kind, data, actor) events to many streams in a few statements:
        the heads not yet held are locked together (sorted, in chunks), then one INSERT
        and one UPDATE per chunk. Same chain and same cache as :meth:`append`."""
        if not events:
            return
        held = self.session.in_transaction()
        missing = sorted({e[0] for e in events if not (held and e[0] in self._heads)})
        dialect = self.session.get_bind().dialect.name
        table = EventHeadRow.__table__
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            self.session.execute(ins.on_conflict_do_nothing(index_elements=["stream"]),
                                 [{"stream": s, "seq": 0, "hash": GENESIS} for s in chunk])
            stmt = select(table.c.stream, table.c.seq, table.c.hash).where(
                table.c.stream.in_(chunk)).order_by(table.c.stream)
            if dialect == "postgresql":
                stmt = stmt.with_for_update()
            for stream, seq, digest in self.session.execute(stmt):
                self._heads[stream] = [seq, digest]
        rows = []
        for stream, kind, data, actor in events:
            head = self._heads[stream]
            occurred_at = utcnow().isoformat(timespec="microseconds")
            data_json = canonical_json(data)
            seq = head[0] + 1
            digest = event_hash(head[1], stream=stream, seq=seq, kind=kind, actor=actor,
                                occurred_at=occurred_at, data_json=data_json)
            rows.append({"stream": stream, "seq": seq, "kind": kind, "actor_id": actor,
                         "occurred_at": occurred_at, "data_json": data_json,
                         "prev_hash": head[1], "hash": digest})
            head[0], head[1] = seq, digest
        self.session.flush()
        self.session.execute(insert(EventRow.__table__), rows)
        touched = sorted({e[0] for e in events})
        self.session.execute(
            update(table).where(table.c.stream == bindparam("k_stream"))
            .values(seq=bindparam("k_seq"), hash=bindparam("k_hash")),
            [{"k_stream": s, "k_seq": self._heads[s][0], "k_hash": self._heads[s][1]}
             for s in touched])

    def list(self, stream: str, *, after: int = 0, limit: int | None = None
             ) -> Sequence[EventRow]:
        stmt = select(EventRow).where(EventRow.stream == stream, EventRow.seq > after
                                      ).order_by(EventRow.seq)
        if limit:
            stmt = stmt.limit(limit)
        return self.session.scalars(stmt).all()

    def streams(self) -> Sequence[str]:
        names = set(self.session.scalars(select(EventRow.stream).distinct()).all())
        names |= set(self.session.scalars(select(EventHeadRow.stream)).all())
        return sorted(names)

    def head(self, stream: str) -> tuple[int, str] | None:
        row = self.session.get(EventHeadRow, stream)
        return None if row is None or row.seq == 0 else (row.seq, row.hash)

    @staticmethod
    def data(row: EventRow) -> dict[str, Any]:
        return json.loads(row.data_json)


class IdempotencyRepository(_Repo):
    def get(self, party_id: str, key: str) -> IdempotencyRow | None:
        return self.session.get(IdempotencyRow, (party_id, key))

    def claim(self, party_id: str, key: str, request_sha256: str) -> bool:
        """Insert the key (answer to follow in this transaction); False if it exists.

        On PostgreSQL a concurrent claim of the same key waits for the first transaction
        and then finds the row; on SQLite writers are serialised by ``BEGIN IMMEDIATE``."""
        dialect = self.session.get_bind().dialect.name
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(IdempotencyRow)
        result = self.session.execute(ins.values(
            party_id=party_id, key=key, request_sha256=request_sha256, status_code=0,
            media_type="", body=b"", created_at=utcnow()).on_conflict_do_nothing()
            .returning(IdempotencyRow.key))
        return result.first() is not None

    def answer(self, party_id: str, key: str, *, status_code: int, media_type: str,
               body: bytes) -> None:
        row = self.session.get(IdempotencyRow, (party_id, key))
        assert row is not None
        row.status_code, row.media_type, row.body = status_code, media_type, body
