"""Deliveries: the forwarder's view per shipment, the operator's dead letters and replays
(:mod:`exchange.delivery.deliveries`)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from exchange.api.deps import PrincipalDep, ScopeDep, ServicesDep, not_found
from exchange.delivery import deliveries
from exchange.delivery.deliveries import DeliveryQuery, ReplayDelivery, authorise_operator
from exchange.delivery.outbox import DeliveryStatus, delivery_view
from exchange.api.models import DeliveryListOut, DeliveryOut, OperatorDeliveriesOut
from exchange.api.openapi import problems

__all__ = ["router"]

router = APIRouter(tags=["deliveries"])


@router.get("/v1/shipments/{shipment_id}/deliveries", operation_id="list_shipment_deliveries",
            response_model=DeliveryListOut, responses=problems(404),
            summary="Where each document of a shipment went, and what the receiver said")
def shipment_deliveries(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                        scope: ScopeDep) -> dict[str, Any]:
    items = deliveries.deliveries_of_shipment(shipment_id, scope=scope, uow=services.uow)
    if items is None:
        raise not_found(principal, shipment_id)
    return {"shipment_id": shipment_id, "items": [delivery_view(d) for d in items]}


@router.get("/v1/deliveries", summary="Deliveries by status (operators), e.g. ?status=dead",
            operation_id="list_deliveries", response_model=OperatorDeliveriesOut,
            responses=problems(403))
def list_deliveries(services: ServicesDep, principal: PrincipalDep,
                    status: Annotated[DeliveryStatus | None, Query()] = None,
                    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    authorise_operator(principal)
    listing = deliveries.list_deliveries(
        DeliveryQuery(status=status, country=country, limit=limit), uow=services.uow)
    return {"items": [delivery_view(d) for d in listing.items], "counts": listing.counts}


@router.post("/v1/deliveries/{delivery_id}/replay", operation_id="replay_delivery",
             response_model=DeliveryOut, responses=problems(403, 404, 409),
             summary="Queue a dead or rejected delivery again (same delivery id)")
async def replay(delivery_id: str, services: ServicesDep, principal: PrincipalDep
                 ) -> dict[str, Any]:
    authorise_operator(principal)
    delivery = await run_in_threadpool(deliveries.replay,
                                       ReplayDelivery(delivery_id, principal.party.id),
                                       uow=services.uow)
    return delivery_view(delivery)
