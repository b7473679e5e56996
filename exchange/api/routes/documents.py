"""``/v1/shipments/{id}/documents``: submit a document (or an amended version), fetch one."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...bootstrap import Services
from ...parties import Principal
from ...pipeline import DocumentInput, OutcomeStatus, SubmitDocument, submit_document
from ...store import UnitOfWork
from ..deps import PrincipalDep, ScopeDep, ServicesDep, ShipmentOfForwarderDep, not_found
from ..idempotency import Answer, check_key, commit_once, fingerprint, replay
from ..problems import PROBLEM_JSON, Problem, problem_body
from ..uploads import fingerprint_parts, read_document_request
from .shipments import IdempotencyKey, inspect_all

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments/{shipment_id}/documents", tags=["documents"])

SUBMIT_BODY = {"requestBody": {"required": True, "content": {
    "application/xml": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["document"], "properties": {
        "document": {"type": "string", "format": "binary"},
        "supersedes": {"type": "string", "description": "id of the version this amends"}}}},
}}}


def _submit(services: Services, principal: Principal, key: str | None, fp: str,
            shipment_id: str, origin: str, doc: DocumentInput) -> Answer:
    """The pipeline, then the store step in one transaction (one worker-thread call)."""
    inspected = inspect_all(services, [doc], origin)[0]
    path = f"/v1/shipments/{shipment_id}/documents"

    def work(uow: UnitOfWork) -> Answer:
        shipment = uow.shipments.of_forwarder(shipment_id, principal.party.id)
        if shipment is None:
            raise not_found(principal, shipment_id)
        outcome = submit_document(
            SubmitDocument(shipment_id, doc, principal.party.id), uow=uow, inspected=inspected,
            shipment=shipment, on_accepted=services.on_accepted)
        body = outcome.to_dict()
        if outcome.status is OutcomeStatus.REFUSED:
            r = inspected.refusal
            assert r is not None
            return Answer(422, problem_body(422, r.code, r.title, r.detail, path,
                                            validation=inspected.validation,
                                            signature=inspected.signature), PROBLEM_JSON)
        if outcome.status is OutcomeStatus.DUPLICATE:
            body["links"] = {"duplicate_of": f"{path}/{outcome.duplicate_of}"}
            return Answer(200, body)
        body["links"] = {"self": f"{path}/{outcome.document_id}",
                         "sealed": f"{path}/{outcome.document_id}?version=sealed"}
        return Answer(201, body, headers={"Location": f"{path}/{outcome.document_id}"})

    return commit_once(services, principal, key, fp, work)


@router.post("", status_code=201, openapi_extra=SUBMIT_BODY,
             summary="Submit a document (raw XML or multipart); amend with ?supersedes=ID")
async def submit(shipment_id: str, request: Request, services: ServicesDep,
                 caller: ShipmentOfForwarderDep, idempotency_key: IdempotencyKey = None,
                 filename: Annotated[str | None, Query(max_length=255)] = None,
                 supersedes: Annotated[str | None, Query(max_length=36)] = None) -> Response:
    principal = caller.principal
    key = check_key(idempotency_key)
    doc = await read_document_request(request, services.settings.limits, filename, supersedes)
    if caller.origin is None:  # read with the API key, answered after the request's checks
        raise not_found(principal, shipment_id)
    fp = fingerprint(f"POST /v1/shipments/{shipment_id}/documents",
                     fingerprint_parts(None, [doc]))
    if key is not None:
        prior = await run_in_threadpool(replay, services, principal, key, fp)
        if prior is not None:
            return prior.response()
    answer = await run_in_threadpool(_submit, services, principal, key, fp, shipment_id,
                                     caller.origin, doc)
    return answer.response()


@router.get("/{document_id}", summary="The document as received, or as sealed by the hub",
            responses={200: {"content": {"application/xml": {}}}})
def get_document(shipment_id: str, document_id: str, services: ServicesDep,
                 principal: PrincipalDep, scope: ScopeDep,
                 version: Annotated[Literal["original", "sealed"], Query()] = "original"
                 ) -> Response:
    with services.uow.reading() as uow:
        if uow.shipments.get(shipment_id, scope, legs=False) is None:
            raise not_found(principal, shipment_id)
        row = uow.documents.get(shipment_id, document_id, with_bytes=True)
        if row is None:
            raise Problem(404, "not-found", "Not found",
                          f"no document {document_id} in shipment {shipment_id}")
        data = row.original if version == "original" else row.sealed
        digest = row.sha256 if version == "original" else row.sealed_sha256
    if data is None:
        raise Problem(404, "not-found", "Not found", "this document has no sealed version")
    name = (row.filename or f"{row.root}-{row.id}.xml").replace('"', "")
    if version == "sealed":
        name = f"sealed-{name}"
    return Response(data, media_type=row.media_type, headers={
        "ETag": f'"{digest}"', "X-Content-SHA256": digest or "",
        "Content-Disposition": f'attachment; filename="{name}"'})
