"""ORM rows of the exchange store (SQLAlchemy 2 declarative, typed).

Rows are storage, not domain: the API answers with its own schemas and the domain uses the
frozen dataclasses of :mod:`exchange.domain`. Nothing a user has seen is updated in place:
documents are immutable (an amendment is a new row that ``supersedes`` the old one), events are
append-only and hash-chained. Columns that change (a leg's status, a key's ``revoked_at``) are
derived state, and every change to them is also an event.

Later migrations add tables that point at these (deliveries per (document, country), customs
decisions, ledger entries); they need only the stable string ids used here.
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiKeyRow",
    "Base",
    "DocumentRow",
    "EventHeadRow",
    "EventRow",
    "IdempotencyRow",
    "LegRow",
    "PartyRow",
    "ShipmentRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)
TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Every row class here is mapped to a Table (never to another FromClause): narrowed
    # from DeclarativeBase's ``FromClause`` so that Core statements can be built on it.
    __table__: ClassVar[Table]


class PartyRow(Base):
    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(TS)
    locale: Mapped[str | None] = mapped_column(String(16))
    """The language the party chose for the dashboard (:data:`exchange.i18n.LOCALES`)."""

    keys: Mapped[list[ApiKeyRow]] = relationship(back_populates="party", lazy="raise")


class ApiKeyRow(Base):
    """An API key: ``key_id`` is public (it prefixes the token), only the SHA-256 of the
    token's secret part is stored."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)

    party: Mapped[PartyRow] = relationship(back_populates="keys", lazy="joined")


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_forwarder_created", "forwarder_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    forwarder_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    transport_mode: Mapped[str] = mapped_column(String(20))
    references_json: Mapped[str] = mapped_column(Text, default="{}")
    origin: Mapped[str] = mapped_column(String(2))
    destination: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(TS)

    legs: Mapped[list[LegRow]] = relationship(
        order_by="LegRow.seq", lazy="select", back_populates="shipment")
    """Loaded on access; repositories that build views load them eagerly."""


class LegRow(Base):
    """One country of a shipment's route: ``seq`` 0 is the origin, the last the destination."""

    __tablename__ = "route_legs"
    __table_args__ = (
        UniqueConstraint("shipment_id", "seq"),
        Index("ix_route_legs_country_shipment", "country", "shipment_id"),
    )

    id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger, "postgresql"),
                                    primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    seq: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(32), default="pending")

    shipment: Mapped[ShipmentRow] = relationship(back_populates="legs", lazy="raise")


class DocumentRow(Base):
    """A stored document: the bytes as received and the hub-sealed bytes, never rewritten."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("shipment_id", "sha256"),
        Index("ix_documents_shipment_created", "shipment_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id"))
    submitted_by: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), unique=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    root: Mapped[str] = mapped_column(String(100))
    namespace: Mapped[str] = mapped_column(String(255))
    pack: Mapped[str | None] = mapped_column(String(50))
    pack_version: Mapped[str | None] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    original: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))
    validation_report: Mapped[str] = mapped_column(Text)
    signature_report: Mapped[str] = mapped_column(Text)
    facts_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(TS)


class EventRow(Base):
    """Append-only, hash-chained per ``stream`` (a shipment id, or ``party:ID`` for refused
    attempts that belong to no shipment). ``hash`` = SHA-256 over the previous hash and the
    canonical JSON of this event's content; see :mod:`exchange.audit`."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger, "postgresql"),
                                    primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    occurred_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, hashed verbatim
    data_json: Mapped[str] = mapped_column(Text)          # canonical JSON, hashed verbatim
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class IdempotencyRow(Base):
    """The first answer given to an ``Idempotency-Key`` of a party, kept with the hash of
    the request it answered."""

    __tablename__ = "idempotency_keys"

    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TS)


class EventHeadRow(Base):
    """The last ``seq`` and ``hash`` of each stream: appends lock this row (so concurrent
    appends to one stream queue), and ``exchange audit verify`` compares it with the chain's
    end, which catches a removed last event."""

    __tablename__ = "event_heads"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
