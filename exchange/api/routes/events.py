"""``/v1/shipments/{id}/events``: the shipment's hash-chained event log."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from exchange.api.deps import PrincipalDep, ScopeDep, ServicesDep, not_found
from exchange.api.models import EventsOut
from exchange.api.openapi import problems
from exchange.documents import tracking
from exchange.documents.errors import ShipmentNotFound

__all__ = ["router"]

MAX_SEQ = 2**31 - 1
"""The largest event number the store keeps (``events.seq`` is an INTEGER)."""

router = APIRouter(prefix="/v1/shipments/{shipment_id}/events", tags=["events"])


@router.get("", summary="Events of one shipment, oldest first, with their chain hashes",
            operation_id="list_events", response_model=EventsOut, responses=problems(404))
def list_events(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                scope: ScopeDep, after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    try:
        return tracking.shipment_events(tracking.EventsQuery(shipment_id, scope, after, limit),
                                        uow_factory=services.uow)
    except ShipmentNotFound:
        raise not_found(principal, shipment_id) from None
