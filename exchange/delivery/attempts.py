"""One delivery attempt, apart from the loop that schedules it (:mod:`.dispatcher`): the
envelope read for a claimed row, the push through the country's adapter, and what its
outcome writes (the row's columns, an event).

    envelopes = read_envelopes(session, rows)          # {delivery id: envelope or why not}
    outcome = attempt(adapters, row, envelopes[row.id])  # (result, error, retry)
    values, kind, event = outcome_of(row, *outcome, now=now, policy=policy)
"""
from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from adapters.contract import Adapter, DeliveryEnvelope, DeliveryResult
from adapters.contract import DeliveryStatus as Sent
from adapters.errors import AdapterError, PermanentDeliveryError, RetryableDeliveryError
from exchange.store.deliveries import ClaimedDelivery, DeliveryStatus
from exchange.store.models import DocumentRow, LegRow

__all__ = ["Envelope", "Outcome", "RetryPolicy", "attempt", "outcome_of", "read_envelopes"]

log = logging.getLogger("exchange.delivery.dispatcher")

Envelope = DeliveryEnvelope | str
"""A delivery's envelope, or why none could be built (the delivery is then dead)."""
Outcome = tuple[DeliveryResult | None, str | None, bool]
"""What one push came to: the receiver's result, or an error and whether to retry."""

# What an envelope needs, read as plain rows (no ORM objects for a batch's documents).
_DOCS, _LEGS = DocumentRow.__table__, LegRow.__table__
_ENVELOPE_DOCUMENTS = select(_DOCS.c.id, _DOCS.c.version, _DOCS.c.root, _DOCS.c.sealed,
                             _DOCS.c.sha256).where(
    _DOCS.c.id.in_(bindparam("ids", expanding=True)))
_ROUTES = select(_LEGS.c.shipment_id, _LEGS.c.country).where(
    _LEGS.c.shipment_id.in_(bindparam("ids", expanding=True))).order_by(
    _LEGS.c.shipment_id, _LEGS.c.seq)

_RESULT_STATUS = {
    Sent.DELIVERED: DeliveryStatus.DELIVERED,
    Sent.DELIVERED_WITH_WARNINGS: DeliveryStatus.DELIVERED_WITH_WARNINGS,
    Sent.ACKNOWLEDGED: DeliveryStatus.ACKNOWLEDGED,
    Sent.AWAITING_PULL: DeliveryStatus.SENT,
    Sent.REJECTED: DeliveryStatus.REJECTED,
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 900.0
    lease_seconds: float = 60.0
    """How long a claimed delivery stays with its dispatcher before others may take it; the
    dispatcher renews it every third of that (:attr:`renew_seconds`) while it holds the row."""

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        return timedelta(seconds=ceiling * (rng or random).uniform(0.5, 1.0))

    @property
    def renew_seconds(self) -> float:
        return self.lease_seconds / 3


def read_envelopes(session: Session, rows: Sequence[ClaimedDelivery]
                   ) -> dict[str, Envelope]:
    """The envelope of each claimed row (by delivery id), read in *session*'s transaction;
    a string says why a row has none."""
    out: dict[str, Envelope] = {}
    docs = {doc.id: doc for doc in session.execute(
        _ENVELOPE_DOCUMENTS, {"ids": sorted({r.document_id for r in rows})})}
    routes: dict[str, list[str]] = {}
    for shipment_id, country in session.execute(
            _ROUTES, {"ids": sorted({r.shipment_id for r in rows})}):
        routes.setdefault(shipment_id, []).append(country)
    for row in rows:
        doc, route = docs.get(row.document_id), tuple(routes.get(row.shipment_id, ()))
        if doc is None or not route or doc.sealed is None:
            out[row.id] = "the document or shipment of this delivery is missing"
            continue
        try:
            out[row.id] = DeliveryEnvelope(
                delivery_id=row.id, document_id=doc.id, document_version=doc.version,
                shipment_id=row.shipment_id, route=route, sender_country=route[0],
                receiver_country=row.country, document_type=doc.root,
                document=doc.sealed, original_sha256=doc.sha256, attempt=row.attempts)
        except ValueError as exc:
            out[row.id] = f"cannot build the delivery envelope: {exc}"
    return out


def attempt(adapters: Mapping[str, Adapter], row: ClaimedDelivery, envelope: Envelope | None
            ) -> Outcome:
    """Push one delivery through its country's adapter; an adapter's error (even a bug)
    becomes an outcome, never an exception."""
    adapter = adapters.get(row.country)
    result: DeliveryResult | None = None
    error: str | None = None
    retry = False
    if isinstance(envelope, str) or envelope is None:
        error = envelope or "no envelope"
    elif adapter is None:
        error, retry = f"no adapter is configured for {row.country}", True
    else:
        try:
            result = adapter.deliver(envelope)
        except RetryableDeliveryError as exc:
            error, retry = f"{exc.code}: {exc}", True
        except PermanentDeliveryError as exc:
            error = f"{exc.code}: {exc}"
        except AdapterError as exc:
            error = f"{exc.code}: {exc}"
        except Exception as exc:  # an adapter bug must not kill the dispatcher
            log.exception("adapter %s raised", row.adapter,
                          extra={"delivery_id": row.id, "country": row.country})
            error, retry = f"adapter error: {type(exc).__name__}: {exc}", True
    return result, error, retry


def outcome_of(row: ClaimedDelivery, result: DeliveryResult | None, error: str | None,
               retry: bool, *, now: datetime, policy: RetryPolicy
               ) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(column values, event kind, event data) for one attempt's outcome."""
    values: dict[str, Any]
    if result is not None:
        status = _RESULT_STATUS[result.status]
        values = {"status": status.value, "last_error": None, "reason": result.reason,
                  "receipt_reference": result.receipt_reference,
                  "first_sent_at": row.first_sent_at or now,
                  "completed_at": None if status is DeliveryStatus.SENT else now}
        event = {"delivery_id": row.id, "country": row.country, "status": status.value,
                 "attempt": row.attempts, "document_id": row.document_id,
                 "reason": result.reason, "warnings": list(result.warnings),
                 "receipt_reference": result.receipt_reference,
                 "duplicate": result.duplicate}
        return values, f"delivery.{status.value}", event
    if retry and row.attempts < policy.max_attempts:
        delay = policy.delay(row.attempts)
        values = {"status": DeliveryStatus.RETRYING.value, "last_error": error,
                  "next_attempt_at": now + delay}
        event = {"delivery_id": row.id, "country": row.country, "attempt": row.attempts,
                 "error": error, "next_attempt_at": (now + delay).isoformat()}
        return values, "delivery.retrying", event
    values = {"status": DeliveryStatus.DEAD.value, "last_error": error, "completed_at": now}
    event = {"delivery_id": row.id, "country": row.country, "attempt": row.attempts,
             "error": error}
    return values, "delivery.dead", event
