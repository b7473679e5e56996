"""Deliveries: the forwarder's view per shipment, the operator's dead letters and replays."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ...domain import PartyKind
from ...outbox import DeliveryNotFound, DeliveryStateError, delivery_view, replay_delivery
from ...parties import Principal
from ..deps import PrincipalDep, ScopeDep, ServicesDep, not_found
from ..problems import Problem

__all__ = ["router"]

router = APIRouter(tags=["deliveries"])


def _operator(principal: Principal) -> None:
    if principal.kind is not PartyKind.OPERATOR:
        raise Problem(403, "forbidden", "Forbidden",
                      f"only operators manage deliveries; this key belongs to a "
                      f"{principal.kind} party")


@router.get("/v1/shipments/{shipment_id}/deliveries",
            summary="Where each document of a shipment went, and what the receiver said")
def shipment_deliveries(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                        scope: ScopeDep) -> dict[str, Any]:
    with services.uow.reading() as uow:
        if uow.shipments.get(shipment_id, scope) is None:
            raise not_found(principal, shipment_id)
        rows = uow.deliveries.for_shipment(shipment_id)
        if scope.country is not None:  # a customs authority sees its own deliveries
            rows = [r for r in rows if r.country == scope.country]
        return {"shipment_id": shipment_id, "items": [delivery_view(r) for r in rows]}


@router.get("/v1/deliveries", summary="Deliveries by status (operators), e.g. ?status=dead")
def list_deliveries(services: ServicesDep, principal: PrincipalDep,
                    status: Annotated[str | None, Query(max_length=32)] = None,
                    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    _operator(principal)
    with services.uow.reading() as uow:
        rows = uow.deliveries.list(status=status, country=country, limit=limit)
        return {"items": [delivery_view(r) for r in rows], "counts": uow.deliveries.counts()}


def _replay(services, delivery_id: str, principal: Principal) -> dict[str, Any]:
    with services.uow.writing() as uow:
        try:
            row = replay_delivery(uow, delivery_id, actor_id=principal.party.id)
        except DeliveryNotFound:
            raise Problem(404, "not-found", "Not found", f"no delivery {delivery_id}") from None
        except DeliveryStateError as exc:
            raise Problem(409, "delivery-state", "The delivery cannot be replayed",
                          exc.message) from None
        uow.commit()
        return delivery_view(row)


@router.post("/v1/deliveries/{delivery_id}/replay",
             summary="Queue a dead or rejected delivery again (same delivery id)")
async def replay(delivery_id: str, services: ServicesDep, principal: PrincipalDep
                 ) -> dict[str, Any]:
    _operator(principal)
    return await run_in_threadpool(_replay, services, delivery_id, principal)
