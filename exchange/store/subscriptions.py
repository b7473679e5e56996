"""Rows of event notifications: subscriptions, notifications, the fan-out's cursors (see
:mod:`exchange.store.notifications` for what they mean and the statements over them)."""
from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exchange.store.models import ID, TS, Base

__all__ = ["NotificationRow", "NotificationStatus", "NotifyCursorRow", "SubscriptionRow",
           "SubscriptionStatus"]


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class NotificationStatus(StrEnum):
    WAITING = "waiting"      # behind an earlier notification of its (subscription, stream)
    PENDING = "pending"
    SENDING = "sending"      # claimed by a dispatcher (lease)
    DELIVERED = "delivered"  # the subscriber answered 2xx
    RETRYING = "retrying"
    DEAD = "dead"            # out of attempts, or refused for good: its subscription pauses


_BIGINT = Integer().with_variant(BigInteger, "postgresql")


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_party", "party_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"))
    url: Mapped[str] = mapped_column(Text)
    kinds_json: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    """Sealed (:mod:`exchange.payments.secretbox` format), bound to the row's id."""
    description: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Failed attempts since the last delivered notification."""
    last_error: Mapped[str | None] = mapped_column(Text)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    paused_at: Mapped[datetime | None] = mapped_column(TS)
    last_delivered_at: Mapped[datetime | None] = mapped_column(TS)

    @property
    def kinds(self) -> list[str]:
        kinds: list[str] = json.loads(self.kinds_json)
        return kinds


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("subscription_id", "stream", "seq"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    stream: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(_BIGINT)
    types_json: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TS)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    delivered_at: Mapped[datetime | None] = mapped_column(TS)


class NotifyCursorRow(Base):
    """The last ``seq`` of a stream whose events have been fanned out to subscriptions."""

    __tablename__ = "notification_cursors"

    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
