"""Subscriptions: a party asks to be told of events (use cases of the API and the CLI).

    created = create_subscription(CreateSubscription(url, kinds), principal=p, store=uow,
                                  box=services.secrets, settings=settings.notifications)
    created.secret              # shown once: the subscriber checks signatures with it
    list_subscriptions(principal=p, store=uow)      # a party's own; an operator's: all
    resume_subscription(id, principal=p, store=uow) # a paused one: its dead notifications
                                                    # are queued again, same event ids

*principal* None is the hub's operator at the console (``exchange subscriptions ...``).
Another party's subscription is :class:`SubscriptionNotFound`, as a missing one. Each use
case commits its own unit of work; changes are events of the party's stream
(``party:<id>``: ``subscription.created``, ``.deleted``, ``.resumed``).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from exchange.config import NotificationsSettings
from exchange.domain import PartyKind
from exchange.i18n import t
from exchange.notifications.errors import (
    SubscriptionForbidden,
    SubscriptionLimit,
    SubscriptionNotFound,
    UnknownKind,
)
from exchange.notifications.kinds import TEST_KIND, NotificationKind
from exchange.notifications.sender import Sender
from exchange.notifications.signing import new_secret
from exchange.notifications.targets import check_target
from exchange.parties.keys import Principal
from exchange.store.notifications import SubscriptionRow, SubscriptionStatus
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CreateSubscription",
    "CreatedSubscription",
    "SecretSealer",
    "SentTestEvent",
    "Subscription",
    "create_subscription",
    "delete_subscription",
    "get_subscription",
    "list_subscriptions",
    "open_secret",
    "resume_subscription",
    "send_test_event",
]


class SecretSealer(Protocol):
    """Seals secrets at rest (:class:`exchange.payments.secretbox.SecretBox`, handed in by
    the composition root)."""

    def seal(self, secret: str, *, context: str) -> str: ...

    def open(self, value: str, *, context: str) -> str: ...


def _context(subscription_id: str) -> str:
    return f"subscriptions:{subscription_id}"


def open_secret(box: SecretSealer, subscription_id: str, sealed: str) -> str:
    return box.open(sealed, context=_context(subscription_id))


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes (stored as UTC): answers carry the offset."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class Subscription:
    id: str
    party_id: str
    url: str
    kinds: list[str]
    description: str | None
    status: str
    failures: int
    last_error: str | None
    paused_reason: str | None
    created_at: datetime
    updated_at: datetime
    paused_at: datetime | None
    last_delivered_at: datetime | None
    notifications: dict[str, int] = field(default_factory=dict)
    """Notifications per status (pending, sending, retrying, delivered, dead)."""

    @classmethod
    def of(cls, row: SubscriptionRow, counts: dict[str, int] | None = None) -> Subscription:
        return cls(id=row.id, party_id=row.party_id, url=row.url, kinds=row.kinds,
                   description=row.description, status=row.status, failures=row.failures,
                   last_error=row.last_error, paused_reason=row.paused_reason,
                   created_at=_aware(row.created_at) or row.created_at,
                   updated_at=_aware(row.updated_at) or row.updated_at,
                   paused_at=_aware(row.paused_at),
                   last_delivered_at=_aware(row.last_delivered_at),
                   notifications=dict(counts or {}))


@dataclass(frozen=True)
class CreateSubscription:
    url: str
    kinds: list[str]
    description: str | None = None


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str
    """The signing secret, in the clear this once; stored sealed."""


def _check_kinds(kinds: list[str]) -> list[str]:
    allowed = [k.value for k in NotificationKind]
    unknown = [k for k in kinds if k not in allowed]
    if unknown:
        named, subscribable = ", ".join(map(repr, unknown)), ", ".join(allowed)
        raise UnknownKind(t("unknown event kinds {kinds}; one can subscribe to {allowed}",
                            kinds=named, allowed=subscribable) if len(unknown) > 1 else
                          t("unknown event kind {kinds}; one can subscribe to {allowed}",
                            kinds=named, allowed=subscribable), allowed=allowed)
    if not kinds:
        raise UnknownKind(t("name at least one event kind"), allowed=allowed)
    return sorted(set(kinds), key=allowed.index)


def create_subscription(cmd: CreateSubscription, *, principal: Principal,
                        store: UnitOfWorkFactory, box: SecretSealer,
                        settings: NotificationsSettings) -> CreatedSubscription:
    """Check the URL (:func:`~exchange.notifications.targets.check_target`) and kinds, make
    the secret, store the subscription sealed. Events from now on are notified."""
    party = principal.party
    if party.kind is PartyKind.PAYMENT_PROVIDER:
        raise SubscriptionForbidden(t("a payment provider reads no shipment, so it has "
                                      "nothing to be notified of"))
    kinds = _check_kinds(list(cmd.kinds))
    check_target(cmd.url, allow_private=settings.allow_private_targets)
    secret, now = new_secret(), utcnow()
    sid = str(uuid.uuid4())
    with store.writing() as uow:
        if uow.notifications.count_of_party(party.id) >= settings.max_per_party:
            raise SubscriptionLimit(t("party {party_id} already holds {limit} subscriptions "
                                      "(notifications.max_per_party); delete one first",
                                      party_id=party.id, limit=settings.max_per_party))
        row = uow.notifications.add_subscription(SubscriptionRow(
            id=sid, party_id=party.id, url=cmd.url, kinds_json=json.dumps(kinds),
            secret=box.seal(secret, context=_context(sid)), description=cmd.description,
            status=SubscriptionStatus.ACTIVE.value, failures=0, created_at=now,
            updated_at=now))
        uow.flush()
        uow.events.append(f"party:{party.id}", "subscription.created", {
            "subscription_id": sid, "url": cmd.url, "kinds": kinds}, actor_id=party.id)
        uow.commit()
        return CreatedSubscription(Subscription.of(row), secret)


def _owned(uow: UnitOfWork, subscription_id: str, principal: Principal | None
           ) -> SubscriptionRow:
    row = uow.notifications.subscription(subscription_id)
    if row is None or (principal is not None and principal.kind is not PartyKind.OPERATOR
                       and row.party_id != principal.party.id):
        raise SubscriptionNotFound(t("no subscription {subscription_id}",
                                     subscription_id=subscription_id))
    return row


def list_subscriptions(*, principal: Principal | None, store: UnitOfWorkFactory,
                       status: str | None = None) -> list[Subscription]:
    """The caller's subscriptions (an operator's, or the console's: every party's)."""
    everyone = principal is None or principal.kind is PartyKind.OPERATOR
    with store.reading() as uow:
        rows = uow.notifications.subscriptions(
            party_id=None if everyone or principal is None else principal.party.id,
            status=status)
        counts = uow.notifications.counts([r.id for r in rows])
        return [Subscription.of(r, counts.get(r.id)) for r in rows]


def get_subscription(subscription_id: str, *, principal: Principal | None,
                     store: UnitOfWorkFactory) -> Subscription:
    with store.reading() as uow:
        row = _owned(uow, subscription_id, principal)
        return Subscription.of(row, uow.notifications.counts([row.id]).get(row.id))


def delete_subscription(subscription_id: str, *, principal: Principal | None,
                        store: UnitOfWorkFactory) -> None:
    """Delete it and the notifications not sent yet (nothing more is sent to it)."""
    with store.writing() as uow:
        row = _owned(uow, subscription_id, principal)
        party_id = row.party_id
        uow.notifications.delete_subscription(row)
        uow.flush()
        uow.events.append(f"party:{party_id}", "subscription.deleted", {
            "subscription_id": subscription_id},
            actor_id=principal.party.id if principal else None)
        uow.commit()


def resume_subscription(subscription_id: str, *, principal: Principal | None,
                        store: UnitOfWorkFactory) -> Subscription:
    """Make a paused subscription active again and queue its dead notifications again
    (same event ids, in order): the replay of its dead letters."""
    now = utcnow()
    with store.writing() as uow:
        row = _owned(uow, subscription_id, principal)
        replayed = uow.notifications.replay_dead(row.id, now=now)
        previous = row.status
        row.status, row.failures, row.updated_at = SubscriptionStatus.ACTIVE.value, 0, now
        row.paused_at = row.paused_reason = None
        uow.flush()
        uow.events.append(f"party:{row.party_id}", "subscription.resumed", {
            "subscription_id": row.id, "previous_status": previous, "replayed": replayed},
            actor_id=principal.party.id if principal else None)
        uow.commit()
        return Subscription.of(row, uow.notifications.counts([row.id]).get(row.id))


@dataclass(frozen=True)
class SentTestEvent:
    event_id: str
    delivered: bool
    status_code: int | None
    error: str | None


def send_test_event(subscription_id: str, *, principal: Principal | None,
                      store: UnitOfWorkFactory, box: SecretSealer,
                      settings: NotificationsSettings) -> SentTestEvent:
    """Send a signed test event (kind ``subscription.test``) to the subscription now, once,
    outside the queue (nothing is retried or recorded), and say what the receiver answered."""
    with store.reading() as uow:
        row = _owned(uow, subscription_id, principal)
        url, sealed = row.url, row.secret
    event_id = f"test-{uuid.uuid4()}"
    body = json.dumps({"id": event_id, "types": [TEST_KIND], "kind": TEST_KIND,
                       "subscription_id": subscription_id,
                       "occurred_at": utcnow().isoformat(timespec="microseconds"),
                       "data": {}}, sort_keys=True, separators=(",", ":")).encode()
    sender = Sender(settings)
    try:
        result = sender.send(url, open_secret(box, subscription_id, sealed), body,
                             event_id=event_id, attempt=1)
    finally:
        sender.close()
    return SentTestEvent(event_id, result.delivered, result.status_code, result.error)
