"""Payments and refunds posted to a shipment: the use case behind
``POST /v1/shipments/{id}/payments``.

:func:`post_payment` is the whole use case: find the shipment in the caller's scope, check
that the caller may post it (:mod:`exchange.payments.access`), record it, answer with the
entry and the shipment's payment status, and commit; run again when a concurrent writer
took the same reference first (:func:`~exchange.payments.posting.retrying`).
:func:`record_payment` is its step inside a transaction the caller holds.

A payment is idempotent by its reference (the provider's): the same payment again is a
repeat (``recorded`` False, the first entry), the same reference with other content a
:class:`~exchange.payments.errors.ReferenceConflictError`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exchange.i18n import t
from exchange.payments.access import PaymentKind, require_may_post, shipment_in_scope
from exchange.payments.entries import Entry, Payment, Refund, entry_id_for, new_entry_id
from exchange.payments.errors import CountryNeededError
from exchange.payments.ledger import Posting
from exchange.payments.money import Money
from exchange.payments.posting import currencies_of, post_entries, retrying
from exchange.payments.views import entry_view, payments_view
from exchange.store.repositories import utcnow

if TYPE_CHECKING:
    from adapters.members import Members

    from exchange.parties.keys import Principal
    from exchange.store.ledger import LedgerRepository
    from exchange.store.models import ShipmentRow
    from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["PaymentAnswer", "PaymentKind", "PaymentRequest", "post_payment", "record_payment"]


@dataclass(frozen=True)
class PaymentRequest:
    """A payment in (``kind`` payment, idempotent by ``reference``) or a refund out (its
    own ``reference``); ``country`` may be left out when one leg is assessed in the
    currency."""

    kind: PaymentKind
    amount: str
    currency: str
    reference: str
    country: str | None = None
    payer: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PaymentAnswer:
    """What :func:`post_payment` did: ``recorded`` False for a repeat (``entry`` is then the
    one recorded first) and the shipment's payment status after it."""

    recorded: bool
    entry: Entry
    payments: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return {"recorded": self.recorded, "entry": entry_view(self.entry),
                "payments": self.payments}


def _choose_country(ledger: LedgerRepository, shipment: ShipmentRow, currency: str) -> str:
    legs = [r for r in ledger.legs(shipment.id) if r.currency == currency and r.assessments]
    if len(legs) == 1:
        return legs[0].country
    if not legs:
        raise CountryNeededError(t(
            "say which country this {currency} payment is for (field 'country'): no leg of "
            "this shipment is assessed in it", currency=currency))
    raise CountryNeededError(t(
        "say which country this {currency} payment is for (field 'country'): several legs "
        "are assessed in it", currency=currency))


def record_payment(request: PaymentRequest, *, uow: UnitOfWork, shipment: ShipmentRow,
                   members: Members, actor_id: str | None, now: datetime | None = None
                   ) -> Posting:
    """Record one payment or refund on *shipment* in *uow* (the caller commits); raises a
    :class:`~exchange.payments.errors.LedgerError` or ``PaymentsError`` when refused."""
    now = now or utcnow()
    money = Money(request.amount, request.currency)
    country = request.country or _choose_country(uow.ledger, shipment, money.currency)
    currencies = currencies_of(shipment, members)
    entry: Entry
    if request.kind == "refund":
        entry = Refund(entry_id=new_entry_id(), shipment_id=shipment.id, country=country,
                       recorded_at=now, money=money, refund_reference=request.reference,
                       reason=request.reason or "")
    else:
        entry = Payment(entry_id=entry_id_for("payment", request.reference),
                        shipment_id=shipment.id, country=country, recorded_at=now,
                        money=money, provider_reference=request.reference,
                        payer=request.payer)
    [posting] = post_entries(uow, [entry], currencies=lambda _: currencies,
                             actor_id=actor_id)
    assert isinstance(posting, Posting)  # strict: a refusal was raised, not returned
    return posting


def post_payment(shipment_id: str, request: PaymentRequest, *, principal: Principal,
                 store: UnitOfWorkFactory, members: Members) -> PaymentAnswer:
    """Post *request* to the shipment as *principal* and commit (see the module docstring).

    Raises ``ShipmentNotFound`` (not in the caller's scope), ``PaymentForbiddenError``
    (the caller's role may not), a ``LedgerError`` or ``PaymentsError`` (refused)."""
    def work() -> PaymentAnswer:
        with store.writing() as uow:
            shipment = shipment_in_scope(uow, shipment_id, principal)
            require_may_post(principal, request.kind, request.country)
            posting = record_payment(request, uow=uow, shipment=shipment, members=members,
                                     actor_id=principal.party.id)
            answer = PaymentAnswer(posting.recorded, posting.entry,
                                   payments_view(uow.ledger, shipment, members=members))
            uow.commit()
            return answer

    return retrying(work)
