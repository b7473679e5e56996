"""What a shipment's payments look like to a reader: JSON-ready views of entries,
balances and payment status, from the stored leg sums (no replay of the entries).

:func:`payments_view` is the status block of a shipment (also in the shipment's own view
and on the dashboard); :func:`payments_page` is the use case behind
``GET /v1/shipments/{id}/payments``: the status, a page of entries (newest first) and the
accepted guarantees, for a caller who reaches the shipment.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from exchange.payments.access import payments_scope, shipment_in_scope
from exchange.payments.balances import (
    Balance,
    Charge,
    LegStatus,
    PaymentState,
    ShipmentStatus,
    derive_leg_status,
    derive_shipment_status,
)
from exchange.payments.entries import Assessment, Entry, Payment, Refund
from exchange.payments.money import Money
from exchange.payments.rows import entry_from_row, guarantee_of, leg_balance
from exchange.store.repositories import utcnow

if TYPE_CHECKING:
    from adapters.members import Members
    from exchange.parties.keys import Principal
    from exchange.store.ledger import LedgerRepository
    from exchange.store.models import ShipmentRow
    from exchange.store.uow import UnitOfWorkFactory

__all__ = ["AwaitingPayment", "awaiting_payment", "balance_view", "entry_view",
           "payment_status", "payments_page", "payments_view"]


def balance_view(b: Balance) -> dict[str, dict[str, str]]:
    """:meth:`Balance.to_dict` computed on the Decimals (already in the currency's minor
    unit) without building a Money per figure: the same output, a fraction of the cost."""
    assessed, adjusted = b.assessed.amount, b.adjusted.amount
    paid, refunded = b.paid.amount, b.refunded.amount
    due, net = assessed + adjusted, paid - refunded
    balance = due - net
    zero = abs(balance) * 0  # +0 with the currency's exponent
    figures = {"assessed": assessed, "adjusted": adjusted, "due": due, "paid": paid,
               "refunded": refunded, "balance": balance,
               "outstanding": max(balance, zero), "overpaid": max(-balance, zero)}
    return {name: {"amount": str(value + zero), "currency": b.currency}
            for name, value in figures.items()}


def entry_view(entry: Entry) -> dict[str, object]:
    out: dict[str, object] = {"entry_id": entry.entry_id, "kind": str(entry.kind),
                              "country": entry.country, "amount": entry.money.to_dict(),
                              "recorded_at": entry.recorded_at.isoformat()}
    if isinstance(entry, Assessment):
        out |= {"reference": entry.reference, "customs_reference": entry.customs_reference,
                "due_at": entry.due_at.isoformat() if entry.due_at else None,
                "lines": [{"tax_type": l.tax_type, "base": str(l.base), "rate": str(l.rate),
                           "amount": l.amount.to_dict()} for l in entry.lines]}
    elif isinstance(entry, Payment):
        out |= {"reference": entry.provider_reference, "payer": entry.payer,
                "source": str(entry.source),
                "booked_on": entry.booked_on.isoformat() if entry.booked_on else None}
    elif isinstance(entry, Refund):
        out |= {"reference": entry.refund_reference, "reason": entry.reason}
    else:
        out |= {"reason": entry.reason}
    return out


def payment_status(ledger: LedgerRepository, shipment: ShipmentRow, *,
                   now: datetime | None = None) -> tuple[ShipmentStatus, list[str]]:
    """The shipment's payment status from the stored leg sums and charges (no replay);
    also the countries of the route with no ledger yet (not assessed)."""
    now = now or utcnow()
    rows = {r.country: r for r in ledger.legs(shipment.id)}
    charges: dict[str, list[Charge]] = {}
    for charge in ledger.charges(shipment.id):
        due = charge.due_at
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        charges.setdefault(charge.country, []).append(
            Charge(Money.from_minor(charge.amount_minor, charge.currency), due))
    statuses: list[LegStatus] = []
    missing: list[str] = []
    for leg in shipment.legs:
        row = rows.get(leg.country)
        if row is None:
            missing.append(leg.country)
            continue
        statuses.append(derive_leg_status(shipment.id, leg_balance(row), now=now,
                                          charges=charges.get(leg.country, ())))
    return derive_shipment_status(shipment.id, statuses), missing


def payments_view(ledger: LedgerRepository, shipment: ShipmentRow, *,
                  members: Members | None = None, now: datetime | None = None
                  ) -> dict[str, object]:
    """The JSON of a shipment's payment status (legs in route order; the currency of a leg
    not assessed yet comes from *members*, when given)."""
    status, missing = payment_status(ledger, shipment, now=now)
    legs = {leg.country: leg.to_dict() for leg in status.legs}
    for country in missing:
        legs[country] = {"country": country, "state": str(PaymentState.NOT_ASSESSED),
                         "overdue": False, "due_at": None,
                         "currency": members[country].currency
                         if members is not None and country in members else None}
    out = status.to_dict()
    out["legs"] = [legs[leg.country] for leg in shipment.legs]
    return out


def payments_page(shipment_id: str, *, principal: Principal, store: UnitOfWorkFactory,
                  members: Members, limit: int = 50, before: int | None = None
                  ) -> dict[str, object]:
    """The payments of a shipment *principal* reaches (else ``ShipmentNotFound``): the
    status, *limit* entries newest first (keyset paging: ``next_before`` is the ``seq`` to
    pass as *before* for the next page, None on the last) and the accepted guarantees."""
    with store.reading() as uow:
        shipment = shipment_in_scope(uow, shipment_id, principal)
        ledger: LedgerRepository = uow.ledger
        out = payments_view(ledger, shipment, members=members)
        rows = ledger.entries(shipment.id, limit=limit + 1, before=before)
        more = len(rows) > limit
        rows = rows[:limit]
        out["entries"] = [entry_view(entry_from_row(r)) | {"seq": r.id} for r in rows]
        out["next_before"] = rows[-1].id if more and rows else None
        out["guarantees"] = [{"country": g.country, "reference": g.reference,
                              "amount": guarantee_of(g).money.to_dict(),
                              "decision_id": g.decision_id}
                             for g in ledger.guarantees(shipment.id)]
        return out


@dataclass(frozen=True)
class AwaitingPayment:
    """A leg with something still to pay: how much, by when, and the RF references of its
    assessments (what a payer quotes)."""

    shipment_id: str
    country: str
    state: str
    outstanding: dict[str, str]
    due_at: datetime | None
    overdue: bool
    references: tuple[str, ...]


def awaiting_payment(*, principal: Principal, store: UnitOfWorkFactory,
                     shipment_id: str | None = None, country: str | None = None,
                     limit: int = 200, now: datetime | None = None) -> list[AwaitingPayment]:
    """The legs with an amount outstanding: of one shipment *principal* reaches
    (``ShipmentNotFound`` otherwise), or, without *shipment_id*, of every shipment a payment
    provider or an operator reaches (others get only their own: a forwarder's shipments).
    Earliest due first."""
    now = now or utcnow()
    with store.reading() as uow:
        ledger: LedgerRepository = uow.ledger
        if shipment_id is not None:
            shipment = shipment_in_scope(uow, shipment_id, principal)
            legs = [r for r in ledger.legs(shipment.id) if leg_balance(r).outstanding
                    .is_positive() and (country is None or r.country == country)]
        else:
            scope = payments_scope(principal)
            legs = [r for r in ledger.open_legs(limit=limit, country=country)
                    if scope.everything or uow.shipments.get(r.shipment_id, scope,
                                                              legs=False) is not None]
        out = []
        for row in legs:
            charges = [c for c in ledger.charges(row.shipment_id) if c.country == row.country]
            due = [Charge(Money.from_minor(c.amount_minor, c.currency),
                          c.due_at.replace(tzinfo=UTC) if c.due_at and c.due_at.tzinfo is None
                          else c.due_at) for c in charges]
            status = derive_leg_status(row.shipment_id, leg_balance(row), now=now, charges=due)
            out.append(AwaitingPayment(
                shipment_id=row.shipment_id, country=row.country, state=str(status.state),
                outstanding=status.outstanding.to_dict(), due_at=status.due_at,
                overdue=status.overdue,
                references=tuple(c.rf_reference for c in charges if c.rf_reference)))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda a: (a.due_at or far, a.shipment_id, a.country))
