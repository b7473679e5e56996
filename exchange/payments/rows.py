"""The ledger's values to and from the store's rows (:mod:`exchange.store.ledger`).

The store holds plain columns (amounts in minor units, details as JSON); the values of the
payments (:class:`~exchange.payments.entries.Entry`, ``Balance``, ``Guarantee``) are made
here, so that the store never imports the payments.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, overload

from exchange.payments.balances import Balance
from exchange.payments.entries import (
    Adjustment,
    Assessment,
    DutyLine,
    Entry,
    EntryKind,
    Guarantee,
    Payment,
    PaymentSource,
    Refund,
)
from exchange.payments.money import Money

if TYPE_CHECKING:
    from exchange.store.ledger import GuaranteeRow, LedgerEntryRow, LedgerLegRow

__all__ = ["entry_from_row", "entry_values", "guarantee_of", "leg_balance"]


def _reference(entry: Entry) -> str | None:
    if isinstance(entry, Payment):
        return entry.provider_reference
    if isinstance(entry, Refund):
        return entry.refund_reference
    return None


def _details(entry: Entry) -> dict[str, object]:
    if isinstance(entry, Assessment):
        return {"customs_reference": entry.customs_reference,
                "lines": [{"tax_type": l.tax_type, "base": str(l.base), "rate": str(l.rate),
                           "amount": str(l.amount.amount)} for l in entry.lines]}
    if isinstance(entry, Payment):
        return {"payer": entry.payer, "source": str(entry.source),
                "booked_on": entry.booked_on.isoformat() if entry.booked_on else None}
    return {"reason": entry.reason}


# Made once: ``json.dumps`` with options builds a new encoder per call.
_sorted_json = json.JSONEncoder(sort_keys=True).encode  # json.dumps(value, sort_keys=True)


def entry_values(entry: Entry, *, actor_id: str | None) -> dict[str, object]:
    """The column values of *entry*'s row (for a bulk insert)."""
    return {"entry_id": entry.entry_id, "shipment_id": entry.shipment_id,
            "country": entry.country, "kind": str(entry.kind),
            "currency": entry.money.currency, "amount_minor": entry.money.to_minor(),
            "reference": _reference(entry),
            "rf_reference": entry.reference if isinstance(entry, Assessment) else None,
            "due_at": getattr(entry, "due_at", None), "recorded_at": entry.recorded_at,
            "actor_id": actor_id, "data_json": _sorted_json(_details(entry))}


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: datetime | None) -> datetime | None: ...
def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite gives naive UTC back
        return value.replace(tzinfo=UTC)
    return value


def entry_from_row(row: LedgerEntryRow) -> Entry:
    data = json.loads(row.data_json)
    entry_id, shipment_id, country = row.entry_id, row.shipment_id, row.country
    recorded_at = _aware(row.recorded_at)
    kind = EntryKind(row.kind)
    if kind is EntryKind.ASSESSMENT:
        lines = tuple(DutyLine(tax_type=l["tax_type"], base=Decimal(l["base"]),
                               rate=Decimal(l["rate"]), amount=Money(l["amount"], row.currency))
                      for l in data["lines"])
        return Assessment(entry_id=entry_id, shipment_id=shipment_id, country=country,
                          recorded_at=recorded_at, customs_reference=data["customs_reference"],
                          lines=lines, due_at=_aware(row.due_at))
    money = Money.from_minor(row.amount_minor, row.currency)
    if kind is EntryKind.PAYMENT:
        booked = data.get("booked_on")
        return Payment(entry_id=entry_id, shipment_id=shipment_id, country=country,
                       recorded_at=recorded_at, money=money,
                       provider_reference=row.reference or "",  # always set on a payment
                       payer=data.get("payer"), source=PaymentSource(data["source"]),
                       booked_on=date.fromisoformat(booked) if booked else None)
    if kind is EntryKind.REFUND:
        return Refund(entry_id=entry_id, shipment_id=shipment_id, country=country,
                      recorded_at=recorded_at, money=money,
                      refund_reference=row.reference or "",  # always set on a refund
                      reason=data.get("reason") or "")
    return Adjustment(entry_id=entry_id, shipment_id=shipment_id, country=country,
                      recorded_at=recorded_at, money=money, reason=data["reason"])


def leg_balance(row: LedgerLegRow) -> Balance:
    """The balance of a leg from its stored sums."""
    c = row.currency
    return Balance(row.country, c, Money.from_minor(row.assessed_minor, c),
                   Money.from_minor(row.adjusted_minor, c), Money.from_minor(row.paid_minor, c),
                   Money.from_minor(row.refunded_minor, c), row.assessments)


def guarantee_of(row: GuaranteeRow) -> Guarantee:
    return Guarantee(guarantee_reference=row.reference, shipment_id=row.shipment_id,
                     country=row.country, money=Money.from_minor(row.amount_minor, row.currency),
                     accepted_at=_aware(row.accepted_at))
