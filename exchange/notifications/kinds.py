"""The kinds of notification a party may subscribe to, and which events of a shipment's log
each one is told of.

=====================  =============================================================
kind                   events of the log (``events.kind``)
=====================  =============================================================
``document.accepted``  ``document.accepted``: a document stored, validated and sealed
``delivery.delivered`` ``delivery.delivered``, ``delivery.delivered-with-warnings``:
                       a customs system took a document
``decision.recorded``  ``customs.<kind>``: any customs decision on a leg
``payment.recorded``   ``payments.payment``, ``payments.refund``: money in or back
``leg.released``       ``customs.released``: a leg released by its customs
``shipment.cleared``   the ``customs.released`` that leaves every leg of the route
                       released (told once, with that event)
=====================  =============================================================

One event is one notification per subscription, whatever number of the subscription's
kinds it matches (``types`` lists them): the event id is the notification's identity.
"""
from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

__all__ = ["TEST_KIND", "NotificationKind", "kinds_of"]


class NotificationKind(StrEnum):
    DOCUMENT_ACCEPTED = "document.accepted"
    DELIVERY_DELIVERED = "delivery.delivered"
    DECISION_RECORDED = "decision.recorded"
    PAYMENT_RECORDED = "payment.recorded"
    LEG_RELEASED = "leg.released"
    SHIPMENT_CLEARED = "shipment.cleared"


TEST_KIND = "subscription.test"
"""The kind of the signed test event (``exchange subscriptions test``)."""

_BY_EVENT = {
    "document.accepted": (NotificationKind.DOCUMENT_ACCEPTED,),
    "delivery.delivered": (NotificationKind.DELIVERY_DELIVERED,),
    "delivery.delivered-with-warnings": (NotificationKind.DELIVERY_DELIVERED,),
    "payments.payment": (NotificationKind.PAYMENT_RECORDED,),
    "payments.refund": (NotificationKind.PAYMENT_RECORDED,),
    "customs.released": (NotificationKind.DECISION_RECORDED, NotificationKind.LEG_RELEASED),
}
RELEASED = "customs.released"


def kinds_of(event_kind: str, *, cleared: Callable[[], bool]) -> list[NotificationKind]:
    """The notification kinds an event of *event_kind* is told as; *cleared* is asked only
    for a release (does it leave every leg released, for the first time?)."""
    kinds = list(_BY_EVENT.get(event_kind, ()))
    if not kinds and event_kind.startswith("customs."):
        kinds = [NotificationKind.DECISION_RECORDED]
    if event_kind == RELEASED and cleared():
        kinds.append(NotificationKind.SHIPMENT_CLEARED)
    return kinds
