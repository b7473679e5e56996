"""``/v1/shipments``: create (with documents), list, track."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...bootstrap import Services
from ...domain import Route, RouteError
from ...parties import Principal
from ...pipeline import CreateShipment, Inspected, create_shipment, inspect_document
from ...store import UnitOfWork
from ..deps import ForwarderDep, PrincipalDep, ScopeDep, ServicesDep, not_found
from ..idempotency import Answer, check_key, commit_once, fingerprint, replay
from ..problems import PROBLEM_JSON, Problem, problem_body
from ..uploads import ShipmentIn, fingerprint_parts, read_shipment_request
from ..views import shipment_summary, shipment_view

__all__ = ["inspect_all", "router"]

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key",
                                              description="Makes retries safe")]

CREATE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ShipmentIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["shipment"], "properties": {
        "shipment": {"type": "string", "description": "the shipment JSON"},
        "documents": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
}}}


def inspect_all(services: Services, docs: list, origin: str) -> list[Inspected]:
    member = services.members[origin]
    return [inspect_document(d, validator=services.validator, checker=services.checker,
                             sealer=services.sealer, origin=origin,
                             require_signature=bool(member.require_signature)) for d in docs]


def _create(services: Services, principal: Principal, key: str | None, fp: str,
            shipment: ShipmentIn, route: Route, docs: list) -> Answer:
    inspected = inspect_all(services, docs, route.origin)
    cmd = CreateShipment(forwarder_id=principal.party.id, route=route,
                         transport_mode=shipment.transport_mode,
                         references=dict(shipment.references), documents=tuple(docs))

    def work(uow: UnitOfWork) -> Answer:
        row, outcomes = create_shipment(cmd, inspected, uow=uow,
                                        on_accepted=services.on_accepted)
        results = [o.to_dict() for o in outcomes]
        if row is None:
            refused = [r for r in results if r["status"] == "refused"]
            return Answer(422, problem_body(
                422, refused[0]["refusal"]["code"], "Documents refused",
                f"{len(refused)} of {len(results)} documents refused; the shipment was not "
                "created", "/v1/shipments", documents=results), PROBLEM_JSON)
        uow.flush()
        view = shipment_view(row, uow.documents.for_shipment(row.id), services.settings.dossier)
        return Answer(201, view, headers={"Location": f"/v1/shipments/{row.id}"})

    return commit_once(services, principal, key, fp, work)


@router.post("", status_code=201, openapi_extra=CREATE_BODY,
             summary="Create a shipment (documents may come in the same multipart request)")
async def create(request: Request, services: ServicesDep, principal: ForwarderDep,
                 idempotency_key: IdempotencyKey = None) -> Response:
    key = check_key(idempotency_key)
    shipment, docs = await read_shipment_request(request, services.settings.limits)
    route = Route(origin=shipment.route.origin, destination=shipment.route.destination,
                  transit=tuple(shipment.route.transit))
    try:
        route.check(services.member_codes)
    except RouteError as exc:
        raise Problem(422, "route-invalid", "The route is not valid", exc.message) from None
    fp = fingerprint("POST /v1/shipments", fingerprint_parts(shipment, docs))
    if key is not None:
        prior = await run_in_threadpool(replay, services, principal, key, fp)
        if prior is not None:
            return prior.response()
    answer = await run_in_threadpool(_create, services, principal, key, fp, shipment, route,
                                     docs)
    return answer.response()


def _page(services: Services, scope, limit: int, cursor: str | None) -> dict[str, Any]:
    with services.uow.reading() as uow:
        try:
            rows, nxt = uow.shipments.page(scope, limit=limit, cursor=cursor)
        except ValueError as exc:
            raise Problem(422, "cursor-invalid", "Bad cursor", str(exc)) from None
        return {"items": [shipment_summary(r) for r in rows], "next_cursor": nxt}


@router.get("", summary="List the shipments the caller may see, newest first")
def list_shipments(services: ServicesDep, principal: PrincipalDep, scope: ScopeDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   cursor: Annotated[str | None, Query(max_length=200)] = None
                   ) -> dict[str, Any]:
    return _page(services, scope, limit, cursor)


@router.get("/{shipment_id}", summary="Track one shipment: legs, documents, reports, dossier")
def get_shipment(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                 scope: ScopeDep) -> dict[str, Any]:
    with services.uow.reading() as uow:
        row = uow.shipments.get(shipment_id, scope)
        if row is None:
            raise not_found(principal, shipment_id)
        return shipment_view(row, uow.documents.for_shipment(row.id), services.settings.dossier)
