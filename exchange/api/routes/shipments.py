"""``/v1/shipments``: create (with documents), list, track."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from exchange.api.deps import ForwarderDep, PrincipalDep, ScopeDep, ServicesDep, not_found
from exchange.api.models import ShipmentOut, ShipmentPageOut
from exchange.api.openapi import links, problems, request_body
from exchange.documents import submission, tracking
from exchange.documents.errors import ShipmentNotFound
from exchange.documents.pipeline import CreateShipment
from exchange.http.idempotency import (
    Answer,
    IdempotencyKey,
    check_key,
    commit_once,
    fingerprint,
    replay,
)
from exchange.http.problems import PROBLEM_JSON, content_language, problem_body
from exchange.http.uploads import ShipmentIn, fingerprint_parts, read_shipment_request
from exchange.i18n import message_of, negotiate, t
from exchange.validation.report import localize
from exchange.verdicts import localize_signature
from exchange.parties.keys import Principal
from exchange.services import Services
from exchange.store import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])

CURSOR = r"^[0-9]{1,17}~[A-Za-z0-9_.:-]{1,64}$"
"""A page cursor as the server gives it out (every value of this form is a place to start a
page from: :func:`exchange.store.repositories.encode_cursor`)."""


class ShipmentForm(BaseModel):
    """``multipart/form-data`` of ``POST /v1/shipments``: the shipment (a JSON part) and
    its documents (file parts, each with a filename)."""

    model_config = ConfigDict(extra="forbid")
    shipment: ShipmentIn
    documents: list[bytes] = Field(default_factory=list,
                                   description="XML documents (file parts named 'documents')")


EXAMPLE = {"route": {"origin": "KZ", "transit": ["UZ"], "destination": "AF"},
           "transport_mode": "road", "references": {"booking": "BK-2026-0042"}}
CREATE_BODY = request_body(json=ShipmentIn, multipart=ShipmentForm,
                           encoding={"shipment": {"contentType": "application/json"},
                                     "documents": {"contentType": "application/xml"}},
                           json_examples={"road": EXAMPLE})


def _in_language(view: dict[str, Any], locale: str) -> dict[str, Any]:
    """A shipment's view with the messages of its findings (each document's validation,
    the dossier's) and of its documents' bad signatures in *locale*, as the caller's
    Accept-Language asks."""
    for doc in view.get("documents", []):
        if doc.get("validation"):
            doc["validation"] = localize(doc["validation"], locale)
        if doc.get("signature"):
            doc["signature"] = localize_signature(doc["signature"], locale)
    dossier = view.get("dossier")
    if dossier and dossier.get("findings"):
        dossier["findings"] = [{**f, "message": message_of(f, locale)}
                               for f in dossier["findings"]]
    return view


def _answer(result: submission.ShipmentResult, locale: str) -> Answer:
    if result.shipment is None:
        refused = result.refused[0].inspected.refusal
        assert refused is not None
        return Answer(422, problem_body(
            422, refused.code, t("Documents refused"), result.refusal_detail, "/v1/shipments",
            locale=locale, documents=[o.to_dict(locale) for o in result.outcomes]), PROBLEM_JSON,
            content_language(locale))
    return Answer(201, _in_language(result.shipment, locale),
                  headers={"Location": f"/v1/shipments/{result.shipment_id}",
                           **content_language(locale)})


def _create(services: Services, principal: Principal, key: str | None, fp: str,
            cmd: CreateShipment, locale: str) -> Answer:
    """The pipeline, then the store step with the key in one transaction (one worker-thread
    call)."""
    prepared = submission.prepare_shipment(cmd, inspector=services.inspector)

    def work(uow: UnitOfWork) -> Answer:
        return _answer(submission.open_shipment(prepared, uow=uow,
                                                on_accepted=services.on_accepted,
                                                dossier=services.settings.dossier,
                                                payments=services.payments_view), locale)

    return commit_once(services, principal, key, fp, work)


@router.post("", status_code=201, openapi_extra=CREATE_BODY, response_model=ShipmentOut,
             operation_id="create_shipment",
             responses=problems(400, 403, 409, 415) | links(
                 201, **{op: {"shipment_id": "$response.body#/id"} for op in (
                     "get_shipment", "list_events", "submit_document", "get_payments",
                     "list_shipment_deliveries")}),
             summary="Create a shipment (documents may come in the same multipart request)")
async def create(request: Request, services: ServicesDep, principal: ForwarderDep,
                 idempotency_key: IdempotencyKey = None) -> Response:
    key = check_key(idempotency_key)
    shipment, docs = await read_shipment_request(request, services.settings.limits)
    cmd = shipment.to_command(forwarder_id=principal.party.id, documents=docs)
    submission.check_route(cmd.route, members=services.member_codes)  # before the key
    fp = fingerprint("POST /v1/shipments", fingerprint_parts(shipment, docs))
    if key is not None:
        prior = await run_in_threadpool(replay, services, principal, key, fp)
        if prior is not None:
            return prior.response()
    locale = negotiate(request.headers.get("accept-language"))  # of the findings' messages
    answer = await run_in_threadpool(_create, services, principal, key, fp, cmd, locale)
    return answer.response()


@router.get("", summary="List the shipments the caller may see, newest first",
            operation_id="list_shipments", response_model=ShipmentPageOut,
            responses=problems())
def list_shipments(services: ServicesDep, principal: PrincipalDep, scope: ScopeDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   cursor: Annotated[str | None, Query(
                       pattern=CURSOR, description="next_cursor of the page before")] = None
                   ) -> dict[str, Any]:
    return tracking.list_shipments(tracking.ShipmentsQuery(scope, limit, cursor),
                                   uow_factory=services.uow).to_dict()


@router.get("/{shipment_id}", summary="Track one shipment: legs, documents, reports, dossier",
            operation_id="get_shipment", response_model=ShipmentOut, responses=problems(404))
def get_shipment(shipment_id: str, request: Request, services: ServicesDep,
                 principal: PrincipalDep, scope: ScopeDep) -> dict[str, Any]:
    try:
        found = tracking.read_shipment(tracking.ShipmentQuery(shipment_id, scope),
                                       uow_factory=services.uow,
                                       dossier=services.settings.dossier,
                                       payments=services.payments_view)
    except ShipmentNotFound:
        raise not_found(principal, shipment_id) from None
    return _in_language(found, negotiate(request.headers.get("accept-language")))
