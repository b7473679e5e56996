"""Deliveries as operators and forwarders see them: listings, dead letters, replays.

The API (``/v1/deliveries``, ``/v1/shipments/{id}/deliveries``), the operator's dashboard
page and ``exchange deliveries list|replay`` all come here:

    authorise_operator(principal)                            # else OperatorsOnly (403)
    list_deliveries(DeliveryQuery(status="dead"), uow=services.uow)
    failed_page(FailedQuery(country="AF", cursor=None), uow=services.uow)   # dead letters
    replay(ReplayDelivery(delivery_id, actor_id), uow=services.uow)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from exchange.delivery.errors import OperatorsOnly
from exchange.delivery.outbox import Delivery, replay_delivery
from exchange.documents.errors import CursorInvalid
from exchange.domain import PartyKind
from exchange.i18n import t
from exchange.parties.keys import Principal
from exchange.store.deliveries import DeliveryStatus
from exchange.store.repositories import Scope
from exchange.store.uow import UnitOfWorkFactory

__all__ = [
    "DeliveryListing", "DeliveryQuery", "FailedPage", "FailedQuery", "ReplayDelivery",
    "authorise_operator", "deliveries_of_shipment", "failed_deliveries", "failed_page",
    "list_deliveries", "replay",
]

# Refusals go to the access log of the API and the dashboard alike.
access_log = logging.getLogger("exchange.api.access")

FAILED = (DeliveryStatus.DEAD, DeliveryStatus.REJECTED)
"""The statuses a replay takes (the operator's dead letters)."""


def authorise_operator(principal: Principal) -> None:
    """Only operators list deliveries across shipments and replay them (403)."""
    if principal.kind is not PartyKind.OPERATOR:
        access_log.warning("deliveries refused to party %s (%s)", principal.party.id,
                           principal.kind)
        raise OperatorsOnly(t("only operators manage deliveries; this key belongs to a {kind} "
                              "party", kind=str(principal.kind)))


@dataclass(frozen=True)
class DeliveryQuery:
    status: str | None = None
    country: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class DeliveryListing:
    items: list[Delivery]
    """Newest change first."""
    counts: dict[str, int]
    """Deliveries per status, over all of them."""


def list_deliveries(query: DeliveryQuery, *, uow: UnitOfWorkFactory) -> DeliveryListing:
    with uow.reading() as u:
        rows = u.deliveries.list(status=query.status, country=query.country,
                                 limit=query.limit)
        return DeliveryListing([Delivery.of(r) for r in rows], u.deliveries.counts())


def failed_deliveries(*, uow: UnitOfWorkFactory, limit: int = 200) -> list[Delivery]:
    """Dead deliveries, then rejected ones (up to *limit* each), newest change first."""
    with uow.reading() as u:
        return [Delivery.of(r) for status in FAILED
                for r in u.deliveries.list(status=status, limit=limit)]


@dataclass(frozen=True)
class FailedQuery:
    """A page of the dead letters: only *country*'s, only one of :data:`FAILED` (*status*)
    when given; *cursor* as the previous page gave it."""

    country: str | None = None
    status: str | None = None
    limit: int = 25
    cursor: str | None = None


@dataclass(frozen=True)
class FailedPage:
    items: list[Delivery]
    """Latest change first."""
    next_cursor: str | None
    total: int
    """How many match the query, over every page."""
    counts: dict[str, int]
    """Dead and rejected deliveries, over all of them."""


def failed_page(query: FailedQuery, *, uow: UnitOfWorkFactory) -> FailedPage:
    """One page of the dead letters, with their counts (:class:`CursorInvalid` for a
    cursor this server did not give out)."""
    statuses = [str(s) for s in FAILED if query.status in (None, s)]
    with uow.reading() as u:
        try:
            rows, more = u.deliveries.page(statuses=statuses, country=query.country,
                                           limit=query.limit, cursor=query.cursor)
        except ValueError as exc:
            raise CursorInvalid(str(exc)) from None
        counts = u.deliveries.counts()
        return FailedPage([Delivery.of(r) for r in rows], more,
                          u.deliveries.count(statuses=statuses, country=query.country),
                          {str(s): counts.get(s, 0) for s in FAILED})


def deliveries_of_shipment(shipment_id: str, *, scope: Scope, uow: UnitOfWorkFactory
                           ) -> list[Delivery] | None:
    """Where each document of a shipment went (a customs authority: only its own
    deliveries); None when the shipment is missing or outside *scope*."""
    with uow.reading() as u:
        if u.shipments.get(shipment_id, scope, legs=False) is None:
            return None
        rows = u.deliveries.for_shipment(shipment_id)
        return [Delivery.of(r) for r in rows
                if scope.country is None or r.country == scope.country]


@dataclass(frozen=True)
class ReplayDelivery:
    delivery_id: str
    actor_id: str


def replay(cmd: ReplayDelivery, *, uow: UnitOfWorkFactory) -> Delivery:
    """Queue a dead or rejected delivery again, with the same delivery id (and the latest
    amendment of its document). :class:`DeliveryNotFound`, or :class:`NotReplayable` for a
    delivery that is not dead or rejected."""
    with uow.writing() as u:
        delivery = Delivery.of(replay_delivery(u, cmd.delivery_id, actor_id=cmd.actor_id))
        u.commit()
    return delivery
