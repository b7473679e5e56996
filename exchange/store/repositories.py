"""Repositories: the only code that writes SQL for the rows of :mod:`.models`."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    exists,
    false,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, selectinload, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningInsert

from exchange.store.filters import ShipmentFilter
from exchange.store.models import (
    ApiKeyRow,
    DocumentRow,
    IdempotencyRow,
    LegRow,
    PartyRow,
    ShipmentRow,
)

if TYPE_CHECKING:
    from psycopg import Connection as PgConnection
    from psycopg.rows import TupleRow

__all__ = [
    "DocumentRepository",
    "IdempotencyRepository",
    "PartyRepository",
    "Scope",
    "ShipmentRepository",
    "utcnow",
]


_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scope:
    """What a caller may see: every shipment, a forwarder's own, or those routed to a country."""

    __slots__ = ("country", "everything", "forwarder_id")

    def __init__(self, *, forwarder_id: str | None = None, country: str | None = None,
                 everything: bool = False):
        self.forwarder_id, self.country, self.everything = forwarder_id, country, everything

    def where(self, stmt: Select[*_Ts]) -> Select[*_Ts]:
        if self.everything:
            return stmt
        if self.forwarder_id is not None:
            return stmt.where(ShipmentRow.forwarder_id == self.forwarder_id)
        if self.country is not None:
            routed = exists().where(LegRow.shipment_id == ShipmentRow.id,
                                    LegRow.country == self.country)
            return stmt.where(routed)
        return stmt.where(false())


_CHUNK = 500
_PG_CHUNK = 5000  # values per = ANY(array) lookup on PostgreSQL
_COPY_MIN = 16  # rows from which a bulk insert on PostgreSQL uses COPY


def _among(column: ColumnElement[_T], values: Sequence[_T], postgres: bool
           ) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``: one parameter, so
    the statement's text (and its preparation) does not change with the number of values
    and larger chunks cost no more to send."""
    if postgres:
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Repo:
    """A repository's session, and the bulk paths of the repositories that write many rows
    at once (the ledger's bank-file import, the dispatcher's batches of outcomes and
    events)."""

    def __init__(self, session: Session):
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _lookups(self, items: Sequence[_T]) -> Iterable[Sequence[_T]]:
        """Chunks of *items* for lookups with :meth:`_in`."""
        return _chunks(items, _PG_CHUNK if self._postgres else _CHUNK)

    def _in(self, column: ColumnElement[_T], values: Sequence[_T]) -> ColumnElement[bool]:
        return _among(column, values, self._postgres)

    # bulk paths: the driver under the session's transaction ------------------------------
    def _driver_connection(self) -> PgConnection[TupleRow]:
        """psycopg's connection under the session's transaction (PostgreSQL paths only)."""
        self.session.flush()  # rows added through the ORM go first (foreign keys, order)
        return cast("PgConnection[TupleRow]",
                    self.session.connection().connection.driver_connection)

    def _driver_execute(self, sql: str, params: Sequence[object]) -> None:
        with self._driver_connection().cursor() as cursor:
            cursor.execute(sql, params, binary=True)  # arrays without text quoting

    def _insert_many(self, table: Table, columns: Sequence[str],
                     rows: Sequence[Sequence[object]]) -> None:
        """Insert *rows* (tuples in the order of *columns*) into *table* in one go:
        ``COPY ... FROM STDIN`` on PostgreSQL; on SQLite one executemany of the driver
        with the values converted once by the columns' own SQLAlchemy types (the same
        stored text as a Core insert, without its per-row parameter processing). A few rows
        on PostgreSQL go in one Core executemany: COPY costs a round trip more."""
        if self._postgres and len(rows) < _COPY_MIN:
            self.session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
            return
        if self._postgres:
            with self._driver_connection().cursor() as cursor, cursor.copy(
                    f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        connection = self.session.connection()
        dialect = connection.dialect
        processors = [(n, p) for n, p in enumerate(
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in columns) if p]
        if processors:
            converted = {}  # many rows share a value (the import's one recorded_at)

            def convert(row: Sequence[object]) -> tuple[object, ...]:
                row = list(row)
                for n, processor in processors:
                    value = row[n]
                    key = (n, value)
                    if key not in converted:
                        converted[key] = processor(value)
                    row[n] = converted[key]
                return tuple(row)

            rows = [convert(row) for row in rows]
        self.session.flush()
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})", list(rows))

    def _update_many(self, table: str, keys: Sequence[str], columns: Sequence[str],
                     types: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Set *columns* of the rows of *table* found by their text *keys*; each row of
        *rows* is the keys' values then the columns' (*types*: their PostgreSQL types).
        PostgreSQL: one UPDATE ... FROM unnest(arrays); SQLite: one driver executemany."""
        if not rows:
            return
        if self._postgres:
            names = (*keys, *columns)
            arrays = ", ".join(f"%s::{t}[]" for t in (*("text",) * len(keys), *types))
            self._driver_execute(
                f"UPDATE {table} AS t SET {', '.join(f'{c} = v.{c}' for c in columns)} "
                f"FROM unnest({arrays}) AS v({', '.join(names)}) "
                f"WHERE {' AND '.join(f't.{k} = v.{k}' for k in keys)}",
                [list(values) for values in zip(*rows)])
            return
        self.session.flush()
        n = len(keys)
        self.session.connection().exec_driver_sql(
            f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} "
            f"WHERE {' AND '.join(f'{k} = ?' for k in keys)}",
            [(*row[n:], *row[:n]) for row in rows])


# Statements that run on every request are built once, on the tables, with bind parameters:
# SQLAlchemy then finds their compiled form in its cache without building a cache key over
# literal values (which costs more than the statement itself), and no ORM machinery runs.
_KEYS, _PARTIES, _SHIPMENTS = ApiKeyRow.__table__, PartyRow.__table__, ShipmentRow.__table__
_CREDENTIALS = (
    select(_KEYS.c.secret_sha256, _KEYS.c.revoked_at, _KEYS.c.party_id, _PARTIES.c.kind,
           _PARTIES.c.name, _PARTIES.c.country, _PARTIES.c.locale)
    .join(_PARTIES, _PARTIES.c.id == _KEYS.c.party_id)
    .where(_KEYS.c.key_id == bindparam("key_id")))
_ORIGIN_OF_FORWARDER = select(_SHIPMENTS.c.origin).where(
    _SHIPMENTS.c.id == bindparam("shipment_id"),
    _SHIPMENTS.c.forwarder_id == bindparam("forwarder_id"))
_SHIPMENT_OF_FORWARDER = select(ShipmentRow).where(
    ShipmentRow.id == bindparam("shipment_id"),
    ShipmentRow.forwarder_id == bindparam("forwarder_id"))
_SHIPMENT_OF_FORWARDER_LEGS = _SHIPMENT_OF_FORWARDER.options(joinedload(ShipmentRow.legs))
_LEGS = LegRow.__table__
_SHIPMENT_COLUMNS = tuple(c.key for c in _SHIPMENTS.columns)
_LEG_COLUMNS = tuple(c.key for c in _LEGS.columns)
_SHIPMENT_AND_LEGS_OF_FORWARDER = (
    select(*_SHIPMENTS.columns, *(c.label(f"leg_{c.key}") for c in _LEGS.columns))
    .join(_LEGS, _LEGS.c.shipment_id == _SHIPMENTS.c.id)
    .where(_SHIPMENTS.c.id == bindparam("shipment_id"),
           _SHIPMENTS.c.forwarder_id == bindparam("forwarder_id"))
    .order_by(_LEGS.c.seq))


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

    def credentials(self, key_id: str
                    ) -> Row[str, datetime | None, str, str, str, str | None, str | None] | None:
        """One Core row (secret_sha256, revoked_at, party_id, kind, name, country, locale):
        what authentication needs, without building ORM objects on every request."""
        return self.session.execute(_CREDENTIALS, {"key_id": key_id}).first()

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
        if scope.forwarder_id is not None and not scope.everything:  # a forwarder's request
            params = {"shipment_id": shipment_id, "forwarder_id": scope.forwarder_id}
            if legs:
                return self.session.scalars(_SHIPMENT_OF_FORWARDER_LEGS, params).unique().first()
            return self.session.scalars(_SHIPMENT_OF_FORWARDER, params).first()
        stmt = scope.where(select(ShipmentRow).where(ShipmentRow.id == shipment_id))
        if legs:  # one row: joined in the same query (a selectin load is a second one)
            stmt = stmt.options(joinedload(ShipmentRow.legs))
            return self.session.scalars(stmt).unique().first()
        return self.session.scalars(stmt).first()

    def of_forwarder(self, shipment_id: str, forwarder_id: str) -> ShipmentRow | None:
        """A forwarder's shipment with its legs, read in one Core query and handed back as a
        value: a ``ShipmentRow`` that is not in the session (reading it never queries;
        changing it changes nothing). What a document submission needs, for a fifth of what
        loading it through the ORM costs."""
        rows = self.session.execute(_SHIPMENT_AND_LEGS_OF_FORWARDER, {
            "shipment_id": shipment_id, "forwarder_id": forwarder_id}).all()
        if not rows:
            return None
        first = rows[0]._mapping
        shipment = ShipmentRow(**{k: first[k] for k in _SHIPMENT_COLUMNS})
        set_committed_value(shipment, "legs", [
            LegRow(**{k: r._mapping[f"leg_{k}"] for k in _LEG_COLUMNS}) for r in rows])
        return shipment

    def origin(self, shipment_id: str, scope: Scope) -> str | None:
        """The origin country of a shipment in *scope* (one column, no ORM object)."""
        if scope.forwarder_id is not None and not scope.everything:
            return self.session.execute(_ORIGIN_OF_FORWARDER, {
                "shipment_id": shipment_id, "forwarder_id": scope.forwarder_id}).scalar()
        stmt = scope.where(select(ShipmentRow.origin).where(ShipmentRow.id == shipment_id))
        return self.session.execute(stmt).scalar()

    def exists(self, shipment_id: str) -> bool:
        return self.session.get(ShipmentRow, shipment_id) is not None

    def readable(self, scope: Scope, shipment_ids: Sequence[str]) -> set[str]:
        """Which of *shipment_ids* *scope* may read (the rule of :meth:`get`, for many)."""
        found: set[str] = set()
        for chunk in self._lookups(list(shipment_ids)):
            found.update(self.session.scalars(scope.where(select(ShipmentRow.id).where(
                self._in(ShipmentRow.__table__.c.id, chunk)))))
        return found

    def page(self, scope: Scope, *, limit: int, cursor: str | None = None,
             filters: ShipmentFilter | None = None
             ) -> tuple[Sequence[ShipmentRow], str | None]:
        """Newest first, keyset-paginated on (created_at, id), narrowed by *filters*."""
        stmt = (filters or ShipmentFilter()).where(scope.where(select(ShipmentRow)))
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

    def leg_counts(self, country: str) -> dict[str, int]:
        """The legs in *country* per status (a customs inbox's counts)."""
        rows = self.session.execute(select(LegRow.status, func.count()).where(
            LegRow.country == country).group_by(LegRow.status)).all()
        return {status: n for status, n in rows}

    def count_in(self, scope: Scope, filters: ShipmentFilter | None = None) -> int:
        """How many shipments *scope* sees that match *filters*."""
        stmt = (filters or ShipmentFilter()).where(scope.where(
            select(func.count()).select_from(ShipmentRow)))
        return self.session.scalar(stmt) or 0

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(ShipmentRow)) or 0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^([0-9]{1,17})~([A-Za-z0-9_.:-]{1,64})$")
"""A page cursor: the microseconds since 1970 (UTC) of the last shipment's ``created_at`` and
its id. Every string of this form is a place a page can start from (the API's schema says
this pattern), so a cursor is refused only when it is not of the form."""


def _encode_cursor(row: ShipmentRow) -> str:
    return page_cursor(row.created_at, row.id)


def page_cursor(at: datetime, row_id: str) -> str:
    """The cursor of a page that starts after the row (*at*, *row_id*) of a list in
    (time, id) order, newest first (shipments by creation, deliveries by last change)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}~{row_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(time, id) of a :func:`page_cursor`; ValueError if it is not of the form."""
    found = _CURSOR.match(cursor)
    if found is None:
        raise ValueError("the page cursor is not one this server gave out")
    return _EPOCH + timedelta(microseconds=int(found.group(1))), found.group(2)


_DOCUMENTS = DocumentRow.__table__
_INSERT_DOCUMENT = insert(_DOCUMENTS)
_DOCUMENT_COLUMNS = tuple(c.key for c in _DOCUMENTS.columns)
_ADD_UNLESS_DUPLICATE: dict[str, ReturningInsert[str]] = {}
_FIRST_BY_SHA256 = select(_DOCUMENTS.c.id, _DOCUMENTS.c.version).where(
    _DOCUMENTS.c.shipment_id == bindparam("shipment_id"),
    _DOCUMENTS.c.sha256 == bindparam("sha256"))


class DocumentRepository(_Repo):
    def add(self, row: DocumentRow) -> DocumentRow:
        """Insert an (immutable) document with one Core INSERT; *row* stays a plain value."""
        self.session.flush()  # its shipment first, if it was just added
        self.session.execute(_INSERT_DOCUMENT, {k: getattr(row, k) for k in _DOCUMENT_COLUMNS})
        return row

    def add_unless_duplicate(self, row: DocumentRow) -> bool:
        """Insert *row* unless its shipment already holds a document with the same bytes
        (same SHA-256): one statement instead of a lookup and an INSERT. False if it did."""
        self.session.flush()
        stmt = _ADD_UNLESS_DUPLICATE.get(self.session.get_bind().dialect.name)
        if stmt is None:
            ins = (pg_insert if self.session.get_bind().dialect.name == "postgresql"
                   else sqlite_insert)(_DOCUMENTS)
            stmt = _ADD_UNLESS_DUPLICATE[self.session.get_bind().dialect.name] = (
                ins.on_conflict_do_nothing(index_elements=["shipment_id", "sha256"])
                .returning(_DOCUMENTS.c.id))
        inserted = self.session.execute(stmt, {k: getattr(row, k) for k in _DOCUMENT_COLUMNS})
        return inserted.first() is not None

    def first_by_sha256(self, shipment_id: str, sha256: str) -> Row[str, int] | None:
        """(id, version) of the shipment's document with these bytes, or None: the duplicate
        check of every submission, without building an ORM object."""
        return self.session.execute(_FIRST_BY_SHA256, {"shipment_id": shipment_id,
                                                       "sha256": sha256}).first()

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
