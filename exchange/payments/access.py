"""Who may do what with payments, and which shipments a caller reaches.

* forwarders pay their own shipments (any other shipment is not found, as everywhere);
* payment providers pay any shipment and import bank files;
* operators pay, refund, import bank files and list the transactions that matched nothing;
  so do payment providers (their bank files are what leaves them), refunds apart;
* refunds come from an operator or from the customs of the leg's country;
* the payments of a shipment are seen by whoever sees the shipment, and by payment providers.

A ``principal`` of None is the command line on the hub's own host: an operator.
A refusal is a :class:`~exchange.payments.errors.PaymentForbiddenError` (403); a shipment
outside the caller's scope is :class:`~exchange.payments.errors.ShipmentNotFound` (404).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from exchange.domain import PartyKind
from exchange.i18n import t
from exchange.parties.keys import scope_of
from exchange.payments.errors import PaymentForbiddenError, ShipmentNotFound
from exchange.store.repositories import Scope

if TYPE_CHECKING:
    from exchange.parties.keys import Principal
    from exchange.store.models import ShipmentRow
    from exchange.store.uow import UnitOfWork

__all__ = [
    "PaymentKind", "payments_scope", "require_may_import", "require_may_list_unmatched",
    "require_may_post", "shipment_in_scope",
]

log = logging.getLogger(__name__)

PaymentKind = Literal["payment", "refund"]

_PAYERS = (PartyKind.FORWARDER, PartyKind.PAYMENT_PROVIDER, PartyKind.OPERATOR)
_IMPORTERS = (PartyKind.OPERATOR, PartyKind.PAYMENT_PROVIDER)


def payments_scope(principal: Principal) -> Scope:
    """The shipments whose payments *principal* sees: a payment provider every one."""
    if principal.kind is PartyKind.PAYMENT_PROVIDER:
        return Scope(everything=True)
    return scope_of(principal)


def shipment_in_scope(uow: UnitOfWork, shipment_id: str, principal: Principal
                      ) -> ShipmentRow:
    """The shipment, if *principal* reaches it; else :class:`ShipmentNotFound` (logged: a
    missing shipment and one out of scope answer alike)."""
    shipment = uow.shipments.get(shipment_id, payments_scope(principal))
    if shipment is None:
        log.warning("shipment %s not found or out of scope for party %s (%s, key %s)",
                    shipment_id, principal.party.id, principal.kind, principal.key_id)
        raise ShipmentNotFound(t("no shipment {shipment_id}", shipment_id=shipment_id))
    return shipment


def require_may_post(principal: Principal, kind: PaymentKind, country: str | None) -> None:
    """A refund needs an operator or the customs of its leg's *country*; a payment a
    forwarder, a payment provider or an operator."""
    if kind == "refund":
        if not (principal.kind is PartyKind.OPERATOR or (
                principal.kind is PartyKind.CUSTOMS
                and principal.party.country == (country or ""))):
            raise PaymentForbiddenError(t(
                "refunds are recorded by an operator or by the customs of the leg's country "
                "(give 'country')"))
    elif principal.kind not in _PAYERS:
        raise PaymentForbiddenError(t("a {kind} party does not post payments",
                                      kind=str(principal.kind)))


def require_may_import(principal: Principal | None) -> None:
    """Bank files come from operators and payment providers."""
    if principal is not None and principal.kind not in _IMPORTERS:
        raise PaymentForbiddenError(
            t("bank notifications are imported by operators and payment providers"))


def require_may_list_unmatched(principal: Principal | None) -> None:
    """The transactions that matched nothing: the work list of operators and payment
    providers."""
    if principal is not None and principal.kind not in _IMPORTERS:
        raise PaymentForbiddenError(
            t("only operators and payment providers see unmatched payments"))
