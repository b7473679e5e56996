"""What follows from the entries of a leg: its balance, payment state and due times.

A leg is (shipment, country, currency). Its :class:`Balance` is the sum of its signed
entries, ``+assessment +adjustment -payment +refund``: positive means owed. The state
follows from the balance alone (:func:`derive_state`); overdue is a flag on top, from the
due times of its :class:`Charge` list (:func:`charges_of`) and a clock passed in.

The store keeps the sums of each leg and derives the same statuses from them
(:func:`derive_leg_status`) without replaying the entries; the in-memory
:class:`~exchange.payments.ledger.Ledger` computes them from its entries.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from exchange.i18n import t
from exchange.payments.entries import Adjustment, Assessment, Entry
from exchange.payments.errors import InvalidEntryError
from exchange.payments.money import AmountLike, Money

__all__ = [
    "Balance", "Charge", "LegStatus", "PaymentState", "ShipmentStatus", "charges_of",
    "derive_leg_status", "derive_shipment_status", "derive_state", "earliest_unpaid_due",
]


class PaymentState(StrEnum):
    NOT_ASSESSED = "not_assessed"
    ASSESSED = "assessed"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Balance:
    """Totals of one leg in one currency; every figure is derived from the entries."""

    country: str
    currency: str
    assessed: Money
    adjusted: Money
    paid: Money
    refunded: Money
    assessments: int = 0

    @classmethod
    def from_sums(cls, country: str, currency: str, *, assessed: AmountLike = 0,
                  adjusted: AmountLike = 0, paid: AmountLike = 0, refunded: AmountLike = 0,
                  assessments: int = 0) -> Balance:
        """From per-kind sums as a store computes them (``SUM(amount) ... GROUP BY kind``,
        ``COUNT`` of assessments); amounts as Decimal, int or decimal string."""
        return cls(country, currency, Money(assessed, currency), Money(adjusted, currency),
                   Money(paid, currency), Money(refunded, currency), assessments)

    @property
    def due(self) -> Money:
        return self.assessed + self.adjusted

    @property
    def net_paid(self) -> Money:
        return self.paid - self.refunded

    @property
    def balance(self) -> Money:
        """Signed: positive is owed, negative is paid in excess."""
        return self.due - self.net_paid

    @property
    def outstanding(self) -> Money:
        return max(self.balance, Money.zero(self.currency))

    @property
    def overpaid(self) -> Money:
        return max(-self.balance, Money.zero(self.currency))

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name).to_dict() for name in (
            "assessed", "adjusted", "due", "paid", "refunded", "balance", "outstanding",
            "overpaid")}


def derive_state(balance: Balance) -> PaymentState:
    """The payment state of a leg, from its balance alone."""
    if balance.assessments == 0:
        return PaymentState.NOT_ASSESSED
    owed = balance.balance
    if owed.is_positive():
        return PaymentState.PARTIALLY_PAID if balance.net_paid.is_positive() \
            else PaymentState.ASSESSED
    if owed.is_negative():
        return PaymentState.OVERPAID
    return PaymentState.REFUNDED if balance.refunded.is_positive() else PaymentState.PAID


@dataclass(frozen=True, slots=True)
class LegStatus:
    shipment_id: str
    country: str
    state: PaymentState
    overdue: bool
    due_at: datetime | None
    """Earliest due time of what is still unpaid (None: nothing unpaid or no due time)."""
    balance: Balance

    @property
    def currency(self) -> str:
        return self.balance.currency

    @property
    def outstanding(self) -> Money:
        return self.balance.outstanding

    def to_dict(self) -> dict[str, object]:
        return {"country": self.country, "currency": self.currency, "state": str(self.state),
                "overdue": self.overdue,
                "due_at": self.due_at.isoformat() if self.due_at else None,
                **self.balance.to_dict()}


@dataclass(frozen=True, slots=True)
class ShipmentStatus:
    shipment_id: str
    state: PaymentState
    overdue: bool
    legs: tuple[LegStatus, ...]

    @property
    def outstanding(self) -> tuple[Money, ...]:
        """Outstanding amount per currency (never summed across currencies)."""
        totals: dict[str, Money] = {}
        for leg in self.legs:
            totals[leg.currency] = totals.get(leg.currency, Money.zero(leg.currency)) \
                + leg.outstanding
        return tuple(totals[c] for c in sorted(totals))

    def to_dict(self) -> dict[str, object]:
        return {"shipment_id": self.shipment_id, "state": str(self.state),
                "overdue": self.overdue,
                "outstanding": [m.to_dict() for m in self.outstanding],
                "legs": [leg.to_dict() for leg in self.legs]}


def _shipment_state(legs: Iterable[LegStatus]) -> PaymentState:
    states = [leg.state for leg in legs if leg.state is not PaymentState.NOT_ASSESSED]
    if not states:
        return PaymentState.NOT_ASSESSED
    unpaid = {PaymentState.ASSESSED, PaymentState.PARTIALLY_PAID}
    if any(s in unpaid for s in states):
        return PaymentState.ASSESSED if all(s is PaymentState.ASSESSED for s in states) \
            else PaymentState.PARTIALLY_PAID
    if PaymentState.OVERPAID in states:
        return PaymentState.OVERPAID
    if all(s is PaymentState.REFUNDED for s in states):
        return PaymentState.REFUNDED
    return PaymentState.PAID


@dataclass(frozen=True, slots=True)
class Charge:
    """Something that falls due: an assessment or a positive adjustment."""

    amount: Money
    due_at: datetime | None


def charges_of(entries: Iterable[Entry], *, due_after: timedelta | None = None
               ) -> tuple[Charge, ...]:
    """The charges among a leg's entries (in order), each with its due time: the
    assessment's ``due_at``, else ``recorded_at + due_after`` (None: no due time)."""
    found: list[Charge] = []
    for entry in entries:
        if isinstance(entry, Assessment) or (isinstance(entry, Adjustment)
                                             and entry.money.is_positive()):
            due = getattr(entry, "due_at", None) or (
                entry.recorded_at + due_after if due_after is not None else None)
            found.append(Charge(entry.money, due))
    return tuple(found)


def earliest_unpaid_due(balance: Balance, charges: Iterable[Charge]) -> datetime | None:
    """Charges are covered oldest first by the credits (net payments and reductions);
    the earliest due time of what stays uncovered, or None."""
    # credits = net paid + reductions, where reductions = charges total - due
    charges = [c for c in charges if c.amount.currency == balance.currency]
    total = sum((c.amount.amount for c in charges), Decimal(0))
    credit = balance.net_paid.amount + (total - balance.due.amount)
    earliest: datetime | None = None
    for charge in charges:
        covered = min(charge.amount.amount, max(credit, Decimal(0)))
        credit -= covered
        if charge.amount.amount > covered and charge.due_at is not None \
                and (earliest is None or charge.due_at < earliest):
            earliest = charge.due_at
    return earliest


def derive_leg_status(shipment_id: str, balance: Balance, *, now: datetime,
                      charges: Iterable[Charge] = ()) -> LegStatus:
    """The status of a leg from its balance (e.g. sums kept or computed by the store) and
    its charges (only needed for overdue): no replay of the entries needed."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidEntryError(t("now must be a timezone-aware datetime"))
    due_at = earliest_unpaid_due(balance, charges)
    return LegStatus(shipment_id, balance.country, derive_state(balance),
                     due_at is not None and now > due_at, due_at, balance)


def derive_shipment_status(shipment_id: str, legs: Iterable[LegStatus]) -> ShipmentStatus:
    legs = tuple(legs)
    return ShipmentStatus(shipment_id, _shipment_state(legs), any(g.overdue for g in legs),
                          legs)

