"""Ledger rows of the payments and their repository: plain columns only (the rules and the
values made from these rows are :mod:`exchange.payments`'s, see :mod:`exchange.payments.rows`).

Nothing here is updated in place except ``ledger_legs``, the running sums of each leg, which
the repository changes only in the transaction that inserts the entries they sum (and
:meth:`LedgerRepository.sums_from_entries` recomputes them from the entries, for checks).

* ``ledger_entries``: one row per entry; amounts in minor units of ``currency`` (ISO 4217);
  ``entry_id`` unique (a repeated customs decision finds its assessment), ``(kind,
  reference)`` unique across all shipments (a payment's provider reference, a refund's
  reference), ``rf_reference`` unique (the RF creditor reference banks quote).
* ``ledger_legs``: per (shipment, country) the currency and sums per kind; its row is the
  leg's lock (``SELECT ... FOR UPDATE`` on PostgreSQL).
* ``ledger_guarantees``: guarantees accepted by customs.
* ``payment_unmatched``: camt.054 transactions no assessment matched, for an operator.
* ``payment_provider_secrets``: the HMAC secret of a payment-provider party, sealed (see
  :mod:`exchange.payments.secretbox`; the ledger repository stores what it is given).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from exchange.store.models import TS, Base, LegRow
from exchange.store.repositories import _chunks, _Repo

__all__ = [
    "GuaranteeRow",
    "LedgerEntryRow",
    "LedgerLegRow",
    "LedgerRepository",
    "LegSums",
    "ProviderSecretRow",
    "UnmatchedRow",
]

BIG = Integer().with_variant(BigInteger, "postgresql")

LegSums = tuple[str, int, int, int, int, int, int]
"""A leg's stored sums: currency, assessed, adjusted, paid, refunded (minor units),
assessments, entries."""


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("kind", "reference", name="uq_ledger_entries_kind_reference"),
        Index("ix_ledger_entries_shipment", "shipment_id", "id"),
        Index("ix_ledger_entries_leg_kind", "shipment_id", "country", "kind"),
    )

    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(String(32), unique=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str | None] = mapped_column(String(140))
    rf_reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    due_at: Mapped[datetime | None] = mapped_column(TS)
    recorded_at: Mapped[datetime] = mapped_column(TS)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    data_json: Mapped[str] = mapped_column(Text, default="{}")


class LedgerLegRow(Base):
    __tablename__ = "ledger_legs"

    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    assessed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    adjusted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    assessments: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)


class GuaranteeRow(Base):
    __tablename__ = "ledger_guarantees"
    __table_args__ = (UniqueConstraint("shipment_id", "country", "reference",
                                       name="uq_ledger_guarantees_leg_reference"),)

    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    country: Mapped[str] = mapped_column(String(2))
    reference: Mapped[str] = mapped_column(String(140))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    decision_id: Mapped[str] = mapped_column(String(128))
    accepted_at: Mapped[datetime] = mapped_column(TS)


class UnmatchedRow(Base):
    __tablename__ = "payment_unmatched"

    id: Mapped[int] = mapped_column(BIG, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    message_id: Mapped[str] = mapped_column(String(140))
    reason: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)


class ProviderSecretRow(Base):
    __tablename__ = "payment_provider_secrets"

    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)


_LEG_SUMS = ("assessed_minor", "adjusted_minor", "paid_minor", "refunded_minor", "assessments",
             "entries")
_SUM_COLUMN = {"assessment": "assessed_minor", "adjustment": "adjusted_minor",
               "payment": "paid_minor", "refund": "refunded_minor"}
"""Entry kind (``exchange.payments.entries.EntryKind``, as stored) -> its sum's column."""


class LedgerRepository(_Repo):
    """The only SQL of the ledger tables."""

    # legs ---------------------------------------------------------------------------------
    def lock_legs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LedgerLegRow]:
        """The leg rows of (shipment, country) *keys* that exist, locked until the end of
        the transaction (PostgreSQL; SQLite writers are serialised already)."""
        keys = set(keys)
        shipments = sorted({shipment for shipment, _ in keys})
        found: dict[tuple[str, str], LedgerLegRow] = {}
        for chunk in _chunks(shipments):  # by the key's first column: an index range scan
            stmt = select(LedgerLegRow).where(LedgerLegRow.shipment_id.in_(chunk)).order_by(
                LedgerLegRow.shipment_id, LedgerLegRow.country
            ).execution_options(populate_existing=True)
            if self._postgres:
                stmt = stmt.with_for_update()
            for row in self.session.scalars(stmt):
                if (row.shipment_id, row.country) in keys:
                    found[(row.shipment_id, row.country)] = row
        return found

    def lock_leg_sums(self, keys: Iterable[tuple[str, str]]
                      ) -> dict[tuple[str, str], LegSums]:
        """:meth:`lock_legs` as plain tuples (currency, assessed, adjusted, paid, refunded
        minor units, assessments, entries): the same rows and locks, no ORM objects."""
        keys = set(keys)
        shipments = sorted({shipment for shipment, _ in keys})
        table = LedgerLegRow.__table__
        c = table.c
        found: dict[tuple[str, str], LegSums] = {}
        for chunk in self._lookups(shipments):
            stmt = select(c.shipment_id, c.country, c.currency, *(c[n] for n in _LEG_SUMS)
                          ).where(self._in(c.shipment_id, chunk)
                                  ).order_by(c.shipment_id, c.country)
            if self._postgres:
                stmt = stmt.with_for_update()
            for shipment_id, country, *sums in self.session.execute(stmt):
                if (shipment_id, country) in keys:
                    found[(shipment_id, country)] = tuple(sums)
        return found

    def open_legs(self, *, limit: int, country: str | None = None
                  ) -> Sequence[LedgerLegRow]:
        """Legs with something still to pay (assessed and adjusted above the net paid), of
        one *country* when given; at most *limit*."""
        c = LedgerLegRow
        owed = c.assessed_minor + c.adjusted_minor - c.paid_minor + c.refunded_minor
        stmt = select(LedgerLegRow).where(owed > 0)
        if country:
            stmt = stmt.where(c.country == country)
        return self.session.scalars(stmt.order_by(c.shipment_id, c.country).limit(limit)).all()

    def legs(self, shipment_id: str) -> Sequence[LedgerLegRow]:
        return self.session.scalars(select(LedgerLegRow).where(
            LedgerLegRow.shipment_id == shipment_id)).all()

    def apply(self, new_legs: Sequence[Mapping[str, object]],
              changed: Sequence[Mapping[str, object]]) -> None:
        """Insert *new_legs* and set the sums of *changed* (dicts of column values)."""
        if new_legs:
            self.session.execute(insert(LedgerLegRow.__table__), list(new_legs))
        columns = ("shipment_id", "country", *_LEG_SUMS)
        self._update_many("ledger_legs", ("shipment_id", "country"), _LEG_SUMS,
                          ("bigint",) * 4 + ("integer",) * 2,
                          [tuple(v[name] for name in columns) for v in changed])

    def sums_from_entries(self, shipment_id: str) -> dict[tuple[str, str], dict[str, int]]:
        """Per (country, currency) the sums per kind recomputed from the entries."""
        rows = self.session.execute(
            select(LedgerEntryRow.country, LedgerEntryRow.currency, LedgerEntryRow.kind,
                   func.sum(LedgerEntryRow.amount_minor), func.count())
            .where(LedgerEntryRow.shipment_id == shipment_id)
            .group_by(LedgerEntryRow.country, LedgerEntryRow.currency, LedgerEntryRow.kind))
        out: dict[tuple[str, str], dict[str, int]] = {}
        for country, currency, kind, total, count in rows:
            sums = out.setdefault((country, currency), {c: 0 for c in _SUM_COLUMN.values()}
                                  | {"assessments": 0, "entries": 0})
            sums[_SUM_COLUMN[kind]] += int(total)
            sums["entries"] += count
            if kind == "assessment":
                sums["assessments"] += count
        return out

    # entries ------------------------------------------------------------------------------
    def insert_entries(self, values: Sequence[Mapping[str, object]]) -> None:
        if not values:
            return
        if len(values) > 1:
            columns = list(values[0])
            self._insert_many(LedgerEntryRow.__table__, columns,
                              [tuple(v[c] for c in columns) for v in values])
            return
        self.session.execute(insert(LedgerEntryRow.__table__), list(values))

    def earlier_entries(self, keys: Sequence[tuple[str, tuple[str, str] | None]]
                        ) -> list[LedgerEntryRow]:
        """The recorded entries sharing an entry id or a (kind, reference) with *keys*
        ((entry id, (kind, reference) or None) per new entry): one query per chunk, each
        condition on an index's leading column(s)."""
        from sqlalchemy import and_, or_

        c = LedgerEntryRow.__table__.c
        out: dict[int, LedgerEntryRow] = {}
        for chunk in self._lookups(sorted(keys, key=lambda k: k[0])):
            by_kind: dict[str, set[str]] = {}
            for _, key in chunk:
                if key is not None:
                    by_kind.setdefault(key[0], set()).add(key[1])
            where = [self._in(c.entry_id, sorted({entry_id for entry_id, _ in chunk}))]
            where += [and_(c.kind == kind, self._in(c.reference, sorted(refs)))
                      for kind, refs in sorted(by_kind.items())]
            for row in self.session.scalars(select(LedgerEntryRow).where(or_(*where))):
                out[row.id] = row
        return list(out.values())

    def route_countries(self, shipment_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(shipment id, country) of every leg of the route of these shipments."""
        c = LegRow.__table__.c
        out: list[tuple[str, str]] = []
        for chunk in self._lookups(sorted(set(shipment_ids))):
            out += self.session.execute(select(c.shipment_id, c.country).where(
                self._in(c.shipment_id, chunk))).all()
        return out

    def targets_by_rf_references(self, refs: Iterable[str]
                                 ) -> list[tuple[str, str, str, str, str]]:
        """(rf_reference, shipment_id, country, currency, entry_id) of the assessments
        with these RF references (plain tuples: what matching a bank file needs)."""
        c = LedgerEntryRow.__table__.c
        out: list[tuple[str, str, str, str, str]] = []
        for chunk in self._lookups(sorted(set(refs))):
            out += self.session.execute(select(
                c.rf_reference, c.shipment_id, c.country, c.currency, c.entry_id
            ).where(self._in(c.rf_reference, chunk))).all()
        return out

    def entries(self, shipment_id: str, *, limit: int, before: int | None = None
                ) -> Sequence[LedgerEntryRow]:
        """Newest first, keyset-paginated on the row id."""
        stmt = select(LedgerEntryRow).where(LedgerEntryRow.shipment_id == shipment_id)
        if before is not None:
            stmt = stmt.where(LedgerEntryRow.id < before)
        return self.session.scalars(stmt.order_by(LedgerEntryRow.id.desc()).limit(limit)).all()

    def charges(self, shipment_id: str) -> Sequence[LedgerEntryRow]:
        """Assessments and positive adjustments (what falls due), oldest first."""
        return self.session.scalars(select(LedgerEntryRow).where(
            LedgerEntryRow.shipment_id == shipment_id,
            LedgerEntryRow.kind.in_(["assessment", "adjustment"]),
            LedgerEntryRow.amount_minor > 0).order_by(LedgerEntryRow.id)).all()

    # guarantees ---------------------------------------------------------------------------
    def guarantees(self, shipment_id: str, country: str | None = None) -> Sequence[GuaranteeRow]:
        stmt = select(GuaranteeRow).where(GuaranteeRow.shipment_id == shipment_id)
        if country:
            stmt = stmt.where(GuaranteeRow.country == country)
        return self.session.scalars(stmt.order_by(GuaranteeRow.id)).all()

    def add_guarantee(self, row: GuaranteeRow) -> GuaranteeRow:
        self.session.add(row)
        self.session.flush()
        return row

    # unmatched bank transactions ----------------------------------------------------------
    def add_unmatched(self, values: Sequence[Mapping[str, object]]) -> int:
        """Insert those not kept yet (by key); return how many were new."""
        if not values:
            return 0
        ins = (pg_insert if self._postgres else sqlite_insert)(UnmatchedRow)
        new = 0
        for chunk in _chunks(list(values)):
            result = self.session.execute(ins.values(list(chunk)).on_conflict_do_nothing(
                index_elements=["key"]).returning(UnmatchedRow.id))
            new += len(result.all())
        return new

    def unmatched(self, *, limit: int, reason: str | None = None) -> Sequence[UnmatchedRow]:
        stmt = select(UnmatchedRow).order_by(UnmatchedRow.id.desc()).limit(limit)
        if reason:
            stmt = stmt.where(UnmatchedRow.reason == reason)
        return self.session.scalars(stmt).all()

    # provider secrets ---------------------------------------------------------------------
    def secret(self, party_id: str) -> str | None:
        row = self.session.get(ProviderSecretRow, party_id)
        return row.secret if row else None

    def secrets(self) -> Sequence[ProviderSecretRow]:
        return self.session.scalars(select(ProviderSecretRow)).all()

    def set_secret(self, party_id: str, secret: str, now: datetime) -> None:
        row = self.session.get(ProviderSecretRow, party_id)
        if row is None:
            self.session.add(ProviderSecretRow(party_id=party_id, secret=secret, created_at=now))
        else:
            row.secret, row.created_at = secret, now
