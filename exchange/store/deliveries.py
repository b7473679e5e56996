"""The outbox: one delivery row per (document, receiving country), and customs decisions.

Delivery rows are written in the same transaction as the document that causes them
(transactional outbox). Dispatchers claim due rows with a lease:

* one conditional ``UPDATE ... WHERE id IN (pick) ... RETURNING`` takes the lease and
  returns the rows taken;
* PostgreSQL: the pick is ``SELECT ... FOR UPDATE SKIP LOCKED``, so it passes over rows
  other dispatchers are taking at the same moment;
* SQLite (where ``FOR UPDATE`` compiles to nothing): writers are serialised by
  ``BEGIN IMMEDIATE``, so no other claim runs meanwhile.

A claimed row is ``sending`` until its outcome is recorded by the lease owner. A dispatcher
killed in the middle leaves rows whose lease expires; they become due again and are sent
again with the same delivery id, which receivers use to drop duplicates (at-least-once).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

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
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from exchange.store.models import ID, TS, Base
from exchange.store.repositories import _Repo

__all__ = [
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "DecisionRepository",
    "DecisionRow",
    "DeliveryRepository",
    "DeliveryRow",
    "DeliveryStatus",
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


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(DeliveryRow.status.in_([s.value for s in DUE_STATUSES]),
             DeliveryRow.next_attempt_at <= now),
        and_(DeliveryRow.status == DeliveryStatus.SENDING.value, DeliveryRow.lease_until < now),
    )


class DeliveryRepository(_Repo):
    def add(self, row: DeliveryRow) -> DeliveryRow:
        self.session.add(row)
        return row

    def get(self, delivery_id: str) -> DeliveryRow | None:
        return self.session.get(DeliveryRow, delivery_id)

    def claim(self, worker: str, *, limit: int, lease: timedelta, now: datetime
              ) -> list[DeliveryRow]:
        """Take the lease on up to *limit* due rows; return the rows this worker got.

        One conditional ``UPDATE ... RETURNING`` over the picked ids: on PostgreSQL the pick
        skips rows other dispatchers hold (``FOR UPDATE SKIP LOCKED``); on SQLite the
        transaction already holds the write lock. The condition is repeated in the UPDATE,
        so a row that stopped being due is not taken."""
        pick = select(DeliveryRow.id).where(_due(now)).order_by(
            DeliveryRow.next_attempt_at).limit(limit)
        if self._postgres:
            pick = pick.with_for_update(skip_locked=True)
        # Materialised: run once. Inlined as a subquery, PostgreSQL may run the pick again
        # per outer row, and each run (SKIP LOCKED, rows already updated no longer due)
        # finds other rows: more than *limit* taken.
        picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
        rows = list(self.session.scalars(
            update(DeliveryRow).add_cte(picked)
            .where(DeliveryRow.id.in_(select(picked.c.id)), _due(now))
            .values(status=DeliveryStatus.SENDING.value, lease_owner=worker,
                    lease_until=now + lease, attempts=DeliveryRow.attempts + 1, updated_at=now)
            .returning(DeliveryRow)
            .execution_options(synchronize_session=False, populate_existing=True)))
        rows.sort(key=lambda row: (row.next_attempt_at, row.id))
        return rows

    def finish_many(self, worker: str, outcomes: list[tuple[str, dict[str, object]]], *, now: datetime
                    ) -> set[str]:
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
        held = set(self.session.scalars(select(DeliveryRow.id).where(
            DeliveryRow.id.in_([i for i, _ in outcomes]), DeliveryRow.lease_owner == worker,
            DeliveryRow.status == DeliveryStatus.SENDING.value)))
        table = DeliveryRow.__table__
        for keys, group in by_shape.items():
            params = [{"k_id": i, **values} for i, values in group if i in held]
            if params:
                self.session.execute(
                    update(table).where(table.c.id == bindparam("k_id"))
                    .values(lease_owner=None, lease_until=None, updated_at=now,
                            **{k: bindparam(k) for k in keys}), params)
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

    def counts(self) -> dict[str, int]:
        rows = self.session.execute(select(DeliveryRow.status, func.count()).group_by(
            DeliveryRow.status)).all()
        return {status: n for status, n in rows}


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
