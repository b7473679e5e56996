"""``/v1/shipments/{id}/events``: the shipment's hash-chained event log."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...audit import verify_chain
from ..deps import PrincipalDep, ScopeDep, ServicesDep, not_found
from ..views import event_view

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments/{shipment_id}/events", tags=["events"])


@router.get("", summary="Events of one shipment, oldest first, with their chain hashes")
def list_events(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                scope: ScopeDep, after: Annotated[int, Query(ge=0)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    with services.uow.reading() as uow:
        if uow.shipments.get(shipment_id, scope, legs=False) is None:
            raise not_found(principal, shipment_id)
        rows = uow.events.list(shipment_id, after=after, limit=limit)
        out: dict[str, Any] = {"events": [event_view(r) for r in rows],
                               "next_after": rows[-1].seq if len(rows) == limit else None}
        if after == 0 and len(rows) < limit:
            broken = verify_chain(shipment_id, rows, uow.events.head(shipment_id))
            out["chain"] = {"intact": broken is None,
                            "break": str(broken) if broken else None}
        return out
