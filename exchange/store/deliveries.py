"""The outbox: one delivery row per (document, receiving country), and customs decisions.

Delivery rows are written in the same transaction as the document that causes them
(transactional outbox). Dispatchers claim due rows with a lease:

* one conditional ``UPDATE ... WHERE id IN (pick) ... RETURNING`` takes the lease and
  returns the rows taken;
* PostgreSQL: the pick is ``SELECT ... FOR UPDATE SKIP LOCKED``, so it passes over rows
  other dispatchers are taking at the same moment;
* SQLite (where ``FOR UPDATE`` compiles to nothing): writers are serialised by
  ``BEGIN IMMEDIATE``, so no other claim runs meanwhile.

A claimed row is ``sending`` until its outcome is recorded by the lease owner, who renews
the lease (:meth:`DeliveryRepository.renew`) while the push is on the wire, so a lease ends
only when its owner is gone. A dispatcher killed in the middle leaves rows whose lease
expires; they become due again and are sent again with the same delivery id, which
receivers use to drop duplicates (at-least-once).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Executable
from sqlalchemy.sql.expression import CTE
from sqlalchemy.sql.dml import Update

from exchange.store.models import ID, TS, Base
from exchange.store.repositories import _decode_cursor, _Repo, page_cursor

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "ClaimedDelivery",
    "DecisionRepository",
    "DecisionRow",
    "DeliveryRepository",
    "DeliveryRow",
    "DeliveryStatus",
    "ReceivedDecisionRow",
]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"          # claimed by a dispatcher (lease)
    SENT = "sent"                # handed over, no receipt yet (file written, inbox waiting)
    DELIVERED = "delivered"
    DELIVERED_WITH_WARNINGS = "delivered-with-warnings"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"        # refused by the receiver, with its reason
    RETRYING = "retrying"
    DEAD = "dead"


DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
OPEN_STATUSES = (*DUE_STATUSES, DeliveryStatus.SENDING)
FINAL_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED_WITH_WARNINGS,
                  DeliveryStatus.ACKNOWLEDGED, DeliveryStatus.REJECTED, DeliveryStatus.DEAD)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("first_document_id", "country"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_country_status", "country", "status"),
        Index("ix_deliveries_shipment", "shipment_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    """The delivery id: stable across retries and replays."""
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    first_document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    """The document version this delivery carries (a replay may move it to an amendment)."""
    country: Mapped[str] = mapped_column(String(2))
    adapter: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TS)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    receipt_reference: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    first_sent_at: Mapped[datetime | None] = mapped_column(TS)
    completed_at: Mapped[datetime | None] = mapped_column(TS)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery as a dispatcher claimed it: what one attempt needs, as plain values."""

    id: str
    shipment_id: str
    document_id: str
    country: str
    adapter: str
    attempts: int
    """Counting the attempt this claim is for."""
    next_attempt_at: datetime
    first_sent_at: datetime | None


class DecisionRow(Base):
    """A customs decision as received: idempotent by (country, decision_id)."""

    __tablename__ = "customs_decisions"
    __table_args__ = (
        UniqueConstraint("country", "decision_id"),
        Index("ix_customs_decisions_shipment", "shipment_id", "country"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    country: Mapped[str] = mapped_column(String(2))
    decision_id: Mapped[str] = mapped_column(String(128))
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    delivery_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    customs_reference: Mapped[str | None] = mapped_column(String(128))
    decision_json: Mapped[str] = mapped_column(Text)
    signed_xml: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    signature_report: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))  # api | adapter
    actor_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(TS)


class ReceivedDecisionRow(Base):
    """A customs decision that came with a delivery's answer (a receipt), written in the
    transaction that records the delivery's outcome and deleted in the one that records the
    decision: a dispatcher killed in between, or a database that restarts, loses no answer
    (:meth:`exchange.delivery.dispatcher.DecisionCollector.drain`)."""

    __tablename__ = "received_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36))
    country: Mapped[str] = mapped_column(String(2))
    source: Mapped[str] = mapped_column(String(32))
    decision_json: Mapped[str] = mapped_column(Text)
    signed_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(TS)


# The dispatcher's statements, built once on the table with bind parameters (SQLAlchemy then
# finds their compiled form without building a statement or a cache key per call: a running
# dispatcher claims and records many times a second).
_T = DeliveryRow.__table__
_SENDING = DeliveryStatus.SENDING.value


def _due() -> ColumnElement[bool]:
    """Due at ``:now``: waiting for its (next) attempt, or leased by a dispatcher that has
    not renewed its lease."""
    now = bindparam("now", type_=TS)
    return or_(and_(_T.c.status.in_([s.value for s in DUE_STATUSES]),
                    _T.c.next_attempt_at <= now),
               and_(_T.c.status == _SENDING, _T.c.lease_until < now))


def _claim_statement(*, postgres: bool) -> Executable:
    """The claim: the *limit* rows due longest, taken in one ``UPDATE ... RETURNING``.

    Each kind of due row is picked by its own ordered range of ``ix_deliveries_due``
    (status, next attempt): pending, retrying, and sending with an ended lease. Each pick
    reads at most *limit* rows in order and stops, so a claim costs the same with ten or a
    hundred thousand rows queued; one pick over all of them at once (an ``OR``) has to read
    and sort every due row, and grew with the queue (3000 queued: 3.3 ms on PostgreSQL for
    8 rows, against 1.5 ms with 300). On PostgreSQL each pick skips rows that other
    dispatchers hold (``FOR UPDATE SKIP LOCKED``); on SQLite the transaction already holds
    the write lock. The picks are materialised: inlined as subqueries, PostgreSQL may run a
    pick again per outer row, and each run (SKIP LOCKED, rows already updated no longer
    due) finds other rows: more than *limit* taken."""
    now, limit = bindparam("now", type_=TS), bindparam("limit", type_=Integer)

    def pick(name: str, status: str, when: ColumnElement[bool], order: ColumnElement[Any]
             ) -> CTE:
        query = select(_T.c.id, _T.c.next_attempt_at).where(_T.c.status == status, when
                                                             ).order_by(order).limit(limit)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        return query.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")

    picks = [pick(f"due_{s.value}", s.value, _T.c.next_attempt_at <= now, _T.c.next_attempt_at)
             for s in DUE_STATUSES]
    picks.append(pick("lapsed", _SENDING, _T.c.lease_until < now, _T.c.lease_until))
    candidates = union_all(*(select(p.c.id, p.c.next_attempt_at) for p in picks)).subquery()
    picked = (select(candidates.c.id).order_by(candidates.c.next_attempt_at).limit(limit)
              .cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
    # PostgreSQL: the due condition again, for a row another transaction changed after the
    # pick. SQLite: the write lock is held since BEGIN, so nothing changed; and there the
    # condition would drive the UPDATE by the index over every due row, not by the ids.
    where = [_T.c.id.in_(select(picked.c.id))] + ([_due()] if postgres else [])
    return (update(_T).add_cte(*picks, picked).where(*where)
            .values(status=_SENDING, lease_owner=bindparam("worker"),
                    lease_until=bindparam("until"), attempts=_T.c.attempts + 1,
                    updated_at=bindparam("now"))
            .returning(*(_T.c[f.name] for f in fields(ClaimedDelivery))))


_CLAIM, _CLAIM_PG = _claim_statement(postgres=False), _claim_statement(postgres=True)
_RENEW = (update(_T)
          .where(_T.c.id.in_(bindparam("ids", expanding=True)),
                 _T.c.lease_owner == bindparam("worker"), _T.c.status == _SENDING)
          .values(lease_until=bindparam("until"))  # not a change anyone reads: updated_at stays
          .returning(_T.c.id))
_HELD = select(_T.c.id).where(_T.c.id.in_(bindparam("ids", expanding=True)),
                              _T.c.lease_owner == bindparam("worker"), _T.c.status == _SENDING)
_FINISH: dict[tuple[str, ...], Update] = {}
"""SQLite: the UPDATE of one shape of outcome (the columns it sets), made on first use."""


def _finish_statement(keys: tuple[str, ...]) -> Update:
    stmt = _FINISH.get(keys)
    if stmt is None:
        stmt = _FINISH[keys] = (
            update(_T).where(_T.c.id == bindparam("k_id"))
            .values(lease_owner=None, lease_until=None, updated_at=bindparam("k_now"),
                    **{k: bindparam(k) for k in keys}))
    return stmt


def _matching(statuses: Sequence[str], country: str | None) -> list[ColumnElement[bool]]:
    where = [DeliveryRow.status.in_(list(statuses))] if statuses else []
    return where + ([DeliveryRow.country == country] if country else [])


class DeliveryRepository(_Repo):
    def add(self, row: DeliveryRow) -> DeliveryRow:
        self.session.add(row)
        return row

    def get(self, delivery_id: str) -> DeliveryRow | None:
        return self.session.get(DeliveryRow, delivery_id)

    def claim(self, worker: str, *, limit: int, lease: timedelta, now: datetime
              ) -> list[ClaimedDelivery]:
        """Take the lease on up to *limit* due rows; return the rows this worker got.

        One conditional ``UPDATE ... RETURNING`` over the picked ids: on PostgreSQL the pick
        skips rows other dispatchers hold (``FOR UPDATE SKIP LOCKED``); on SQLite the
        transaction already holds the write lock. The condition is repeated in the UPDATE,
        so a row that stopped being due is not taken."""
        result = self.session.execute(_CLAIM_PG if self._postgres else _CLAIM, {
            "now": now, "limit": limit, "worker": worker, "until": now + lease})
        rows = [ClaimedDelivery(*row) for row in result]
        rows.sort(key=lambda row: (row.next_attempt_at, row.id))
        return rows

    def renew(self, worker: str, ids: Sequence[str], *, until: datetime) -> set[str]:
        """Extend *worker*'s lease on the rows *ids* to *until*; returns the ids it still
        held (a row missing from the answer was taken over after its lease ended, or
        finished by someone else: its outcome will not be recorded by *worker*)."""
        held: set[str] = set()
        for chunk in self._lookups(list(ids)):
            held.update(self.session.scalars(_RENEW, {"ids": list(chunk), "worker": worker,
                                                      "until": until}))
        return held

    def finish_many(self, worker: str, outcomes: list[tuple[str, dict[str, object]]], *,
                    now: datetime) -> set[str]:
        """Record many attempts' outcomes, each only if *worker* still holds its lease;
        returns the ids recorded. Outcomes that set the same columns go in one statement
        (PostgreSQL: ``UPDATE ... FROM unnest(arrays) ... RETURNING``, which also keeps the
        rows locked until the commit, so a lease that expires meanwhile cannot be taken by
        another dispatcher and then overwritten here)."""
        by_shape: dict[tuple[str, ...], list[tuple[str, dict[str, object]]]] = {}
        for delivery_id, values in outcomes:
            by_shape.setdefault(tuple(sorted(values)), []).append((delivery_id, values))
        if self._postgres:
            held: set[str] = set()
            for keys, group in by_shape.items():
                held |= self._finish_shape_pg(worker, keys, group, now)
            return held
        held = set()
        for chunk in self._lookups([i for i, _ in outcomes]):
            held.update(self.session.scalars(_HELD, {"ids": list(chunk), "worker": worker}))
        for keys, group in by_shape.items():
            params = [{"k_id": i, "k_now": now, **values} for i, values in group if i in held]
            if params:
                self.session.execute(_finish_statement(keys), params)
        return held

    def _finish_shape_pg(self, worker: str, keys: tuple[str, ...],
                         group: list[tuple[str, dict[str, object]]], now: datetime) -> set[str]:
        columns = DeliveryRow.__table__.c
        dialect = self.session.get_bind().dialect
        arrays = ", ".join(f"%s::{columns[k].type.compile(dialect=dialect)}[]"
                           for k in ("id", *keys))
        sql = (f"UPDATE deliveries AS t SET {', '.join(f'{k} = v.{k}' for k in keys)}, "
               f"lease_owner = NULL, lease_until = NULL, updated_at = %s "
               f"FROM unnest({arrays}) AS v(id, {', '.join(keys)}) "
               f"WHERE t.id = v.id AND t.lease_owner = %s AND t.status = %s RETURNING t.id")
        params = [now, [i for i, _ in group], *([values[k] for _, values in group]
                                                 for k in keys),
                  worker, DeliveryStatus.SENDING.value]
        with self._driver_connection().cursor() as cursor:
            cursor.execute(sql, params, binary=True)
            return {row[0] for row in cursor.fetchall()}

    def for_shipment(self, shipment_id: str) -> Sequence[DeliveryRow]:
        return self.session.scalars(select(DeliveryRow).where(
            DeliveryRow.shipment_id == shipment_id).order_by(DeliveryRow.created_at,
                                                             DeliveryRow.country)).all()

    def list(self, *, status: str | None = None, country: str | None = None,
             limit: int = 100) -> Sequence[DeliveryRow]:
        stmt = select(DeliveryRow).order_by(DeliveryRow.updated_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(DeliveryRow.status == status)
        if country:
            stmt = stmt.where(DeliveryRow.country == country)
        return self.session.scalars(stmt).all()

    def page(self, *, statuses: Sequence[str] = (), country: str | None = None, limit: int,
             cursor: str | None = None) -> tuple[Sequence[DeliveryRow], str | None]:
        """Latest change first, keyset-paginated on (updated_at, id) (ValueError for a
        cursor not of the form), only *statuses* and *country* when given."""
        stmt = select(DeliveryRow).where(*_matching(statuses, country))
        if cursor:
            at, delivery_id = _decode_cursor(cursor)
            stmt = stmt.where((DeliveryRow.updated_at < at) | (
                (DeliveryRow.updated_at == at) & (DeliveryRow.id < delivery_id)))
        rows = self.session.scalars(stmt.order_by(
            DeliveryRow.updated_at.desc(), DeliveryRow.id.desc()).limit(limit + 1)).all()
        more, rows = len(rows) > limit, rows[:limit]
        return rows, (page_cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None)

    def count(self, *, statuses: Sequence[str] = (), country: str | None = None) -> int:
        """How many deliveries :meth:`page` pages through."""
        return self.session.scalar(select(func.count()).select_from(DeliveryRow).where(
            *_matching(statuses, country))) or 0

    def counts(self, country: str | None = None) -> dict[str, int]:
        """Deliveries per status (to one *country*, when given)."""
        stmt = select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        if country:
            stmt = stmt.where(DeliveryRow.country == country)
        return {status: n for status, n in self.session.execute(stmt).all()}

    def with_error(self) -> int:
        """How many deliveries carry an error of their last attempt."""
        return self.session.scalar(select(func.count()).select_from(DeliveryRow).where(
            DeliveryRow.last_error.is_not(None))) or 0

    def latest_sent(self, limit: int) -> Sequence[tuple[datetime, datetime]]:
        """(created, first sent) of the *limit* deliveries sent last."""
        rows = self.session.execute(
            select(DeliveryRow.created_at, DeliveryRow.first_sent_at)
            .where(DeliveryRow.first_sent_at.is_not(None))
            .order_by(DeliveryRow.first_sent_at.desc()).limit(limit)).all()
        return [(created, sent) for created, sent in rows if sent is not None]


class DecisionRepository(_Repo):
    def get(self, country: str, decision_id: str) -> DecisionRow | None:
        return self.session.scalars(select(DecisionRow).where(
            DecisionRow.country == country, DecisionRow.decision_id == decision_id)).first()

    def add(self, row: DecisionRow) -> DecisionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def for_shipment(self, shipment_id: str, country: str | None = None
                     ) -> Sequence[DecisionRow]:
        stmt = select(DecisionRow).where(DecisionRow.shipment_id == shipment_id)
        if country:
            stmt = stmt.where(DecisionRow.country == country)
        return self.session.scalars(stmt.order_by(DecisionRow.id)).all()

    # ------------------------------------------------ answers that came with a receipt
    def keep_received(self, rows: Sequence[ReceivedDecisionRow]) -> None:
        """Keep decisions that came with deliveries' answers until they are recorded."""
        self.session.add_all(rows)

    def received(self, limit: int) -> Sequence[ReceivedDecisionRow]:
        """The oldest decisions not recorded yet."""
        return self.session.scalars(select(ReceivedDecisionRow).order_by(
            ReceivedDecisionRow.id).limit(limit)).all()

    def forget_received(self, received_id: int) -> bool:
        """Delete a kept decision in the transaction that records it; False when another
        dispatcher already did (on PostgreSQL this waits for that one's transaction)."""
        result = self.session.execute(delete(ReceivedDecisionRow).where(
            ReceivedDecisionRow.id == received_id))
        return bool(getattr(result, "rowcount", 0))
