"""The routing outbox: delivery rows written with the document, replays, acknowledgements.

:func:`routing_hook` is an ``on_accepted`` hook of the submission pipeline: when a document
is accepted it writes one delivery row per receiving country in the same transaction. An
amendment (a document that supersedes another) is carried by the deliveries of the version
it supersedes: for each such delivery that has not reached the receiver yet (or that the
receiver rejected, or that is dead) the amendment becomes the version to send, keeping the
delivery id; countries that already received the old version get a delivery of their own.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from adapters.members import Members
from exchange.domain import rfc3339
from exchange.delivery.errors import DeliveryNotFound, NotAcknowledgeable, NotReplayable
from exchange.delivery.routing import RoutingRules
from exchange.i18n import t
from exchange.store.deliveries import DeliveryRow, DeliveryStatus
from exchange.store.models import DocumentRow, ShipmentRow
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWork

__all__ = [
    "DeliveryStatus",
    "Delivery",
    "acknowledge_delivery",
    "delivery_view",
    "replay_delivery",
    "routing_hook",
]

_INSERT_DELIVERY = insert(DeliveryRow.__table__)

# Deliveries an amendment takes over instead of a new delivery.
_TAKE_OVER = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.DEAD,
              DeliveryStatus.REJECTED)


def routing_hook(rules: RoutingRules, members: Members
                 ) -> Callable[[UnitOfWork, ShipmentRow, DocumentRow], None]:
    def hook(uow: UnitOfWork, shipment: ShipmentRow, doc: DocumentRow) -> None:
        route = [leg.country for leg in shipment.legs]
        now = utcnow()
        taken: set[str] = set()
        if doc.supersedes_id:
            for old in uow.deliveries.for_shipment(shipment.id):
                if old.document_id == doc.supersedes_id and old.status in _TAKE_OVER:
                    old.document_id = doc.id
                    taken.add(old.country)
                    uow.events.queue(shipment.id, "delivery.amended", {
                        "delivery_id": old.id, "country": old.country,
                        "document_id": doc.id, "replaces": doc.supersedes_id,
                        "status": old.status}, actor_id=doc.submitted_by)
        rows = []
        for country in rules.receivers(doc.root, route):
            if country in taken:
                continue
            row = {"id": str(uuid.uuid4()), "shipment_id": shipment.id,
                   "first_document_id": doc.id, "document_id": doc.id, "country": country,
                   "adapter": members[country].adapter, "status": DeliveryStatus.PENDING.value,
                   "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now}
            rows.append(row)
            uow.events.queue(shipment.id, "delivery.queued", {
                "delivery_id": row["id"], "document_id": doc.id, "document_type": doc.root,
                "country": country, "adapter": row["adapter"]}, actor_id=doc.submitted_by)
        if rows:
            # One executemany for the rows of all receiving countries (the columns left out
            # are NULL: no lease, no error, not sent yet); their events are queued and
            # appended with the document's own, in the same transaction.
            session = uow.session
            assert session is not None  # a hook runs inside the document's unit of work
            session.flush()  # the amended rows above, if any
            session.execute(_INSERT_DELIVERY, rows)
    return hook


def replay_delivery(uow: UnitOfWork, delivery_id: str, *, actor_id: str,
                    now: datetime | None = None) -> DeliveryRow:
    """Queue a dead (or rejected) delivery again, with the same delivery id. If the document
    it carried has been amended since, the replay carries the latest version."""
    row = uow.deliveries.get(delivery_id)
    if row is None:
        raise DeliveryNotFound(t("no delivery {delivery_id}", delivery_id=delivery_id))
    if row.status not in (DeliveryStatus.DEAD, DeliveryStatus.REJECTED):
        raise NotReplayable(
            t("delivery {delivery_id} is {status}; only dead or rejected deliveries can be "
              "replayed", delivery_id=delivery_id, status=str(row.status)))
    latest = row.document_id
    while (newer := uow.documents.superseding(latest)) is not None:
        latest = newer.id
    now = now or utcnow()
    previous = row.status
    row.document_id = latest
    row.status = DeliveryStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.updated_at = now
    row.completed_at = None
    row.last_error = None
    uow.events.append(row.shipment_id, "delivery.replayed", {
        "delivery_id": row.id, "country": row.country, "document_id": latest,
        "previous_status": previous, "reason": row.reason}, actor_id=actor_id)
    row.reason = None
    uow.flush()
    return row


def acknowledge_delivery(uow: UnitOfWork, delivery_id: str, *, country: str, actor_id: str,
                         reference: str | None = None, on_behalf_of: str | None = None
                         ) -> DeliveryRow:
    """A customs authority acknowledges a delivery it pulled (idempotent); *on_behalf_of*:
    the member the hub's help desk (*actor_id*, an operator) acknowledges it for."""
    row = uow.deliveries.get(delivery_id)
    if row is None or row.country != country:
        raise DeliveryNotFound(t("no delivery {delivery_id} for {country}",
                                 delivery_id=delivery_id, country=country))
    if row.status == DeliveryStatus.ACKNOWLEDGED:
        return row
    if row.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED,
                          DeliveryStatus.DELIVERED_WITH_WARNINGS, DeliveryStatus.PENDING,
                          DeliveryStatus.RETRYING, DeliveryStatus.SENDING):
        raise NotAcknowledgeable(t("delivery {delivery_id} is {status}; it cannot be "
                                   "acknowledged", delivery_id=delivery_id, status=str(row.status)))
    now = utcnow()
    row.status = DeliveryStatus.ACKNOWLEDGED
    row.receipt_reference = reference or row.receipt_reference
    row.completed_at = row.completed_at or now
    row.first_sent_at = row.first_sent_at or now
    row.updated_at = now
    row.lease_owner = row.lease_until = None
    keyed_in = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
    uow.events.append(row.shipment_id, "delivery.acknowledged", {
        "delivery_id": row.id, "country": country, "reference": reference, **keyed_in},
        actor_id=actor_id)
    uow.flush()
    return row


@dataclass(frozen=True)
class Delivery:
    """A delivery as read (a value: reading it never queries, changing it is not possible)."""

    id: str
    shipment_id: str
    document_id: str
    first_document_id: str
    country: str
    adapter: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    reason: str | None
    receipt_reference: str | None
    created_at: datetime
    updated_at: datetime
    first_sent_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: DeliveryRow) -> Delivery:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def delivery_view(d: Delivery) -> dict[str, Any]:
    """The JSON of a delivery (API answers, ``exchange deliveries list --format json``)."""
    def ts(value: datetime | None) -> str | None:
        return rfc3339(value) if value else None

    return {
        "id": d.id, "shipment_id": d.shipment_id, "document_id": d.document_id,
        "first_document_id": d.first_document_id, "country": d.country,
        "adapter": d.adapter, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": ts(d.next_attempt_at), "last_error": d.last_error,
        "reason": d.reason, "receipt_reference": d.receipt_reference,
        "created_at": ts(d.created_at), "updated_at": ts(d.updated_at),
        "first_sent_at": ts(d.first_sent_at), "completed_at": ts(d.completed_at),
    }
