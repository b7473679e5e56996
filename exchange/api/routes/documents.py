"""``/v1/shipments/{id}/documents``: submit a document (or an amended version), fetch one."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from exchange.api.deps import PrincipalDep, ScopeDep, ServicesDep, ShipmentOfForwarderDep, not_found
from exchange.api.models import SubmissionOut
from exchange.api.openapi import links, problems, request_body, xml_body
from exchange.documents import submission, tracking
from exchange.documents.errors import ShipmentNotFound
from exchange.documents.pipeline import Outcome, OutcomeStatus, SubmitDocument
from exchange.http.idempotency import (
    Answer,
    IdempotencyKey,
    check_key,
    commit_once,
    fingerprint,
    replay,
)
from exchange.http.problems import PROBLEM_JSON, content_language, problem_body
from exchange.http.uploads import SUPERSEDES_MAX, fingerprint_parts, read_document_request
from exchange.i18n import negotiate
from exchange.parties.keys import Principal
from exchange.services import Services
from exchange.store import UnitOfWork

__all__ = ["router"]

router = APIRouter(prefix="/v1/shipments/{shipment_id}/documents", tags=["documents"])

class DocumentForm(BaseModel):
    """``multipart/form-data`` of a document submission."""

    document: bytes = Field(description="the XML document (one file part, with a filename)")
    supersedes: str | None = Field(default=None, max_length=SUPERSEDES_MAX,
                                   description="id of the version this amends")


SUBMIT_BODY = request_body(
    xml="a trade document (UBL, UN/CEFACT, WCO...), optionally signed (XAdES, enveloped)",
    multipart=DocumentForm, encoding={"document": {"contentType": "application/xml"}})


def _answer(outcome: Outcome, path: str, locale: str) -> Answer:
    """The answer, its findings and refusal in *locale* (``Content-Language``)."""
    body = outcome.to_dict(locale)
    language = content_language(locale)
    if outcome.status is OutcomeStatus.REFUSED:
        inspected = outcome.inspected
        r = inspected.refusal
        assert r is not None
        return Answer(422, problem_body(422, r.code, r.title, r.detail, path, locale=locale,
                                        validation=body["validation"],
                                        signature=body["signature"]), PROBLEM_JSON, language)
    if outcome.status is OutcomeStatus.DUPLICATE:
        body["links"] = {"duplicate_of": f"{path}/{outcome.duplicate_of}"}
        return Answer(200, body, headers=language)
    body["links"] = {"self": f"{path}/{outcome.document_id}",
                     "sealed": f"{path}/{outcome.document_id}?version=sealed"}
    return Answer(201, body, headers={"Location": f"{path}/{outcome.document_id}", **language})


def _submit(services: Services, principal: Principal, key: str | None, fp: str,
            cmd: SubmitDocument, origin: str, locale: str) -> Answer:
    """The pipeline, then the store step with the key in one transaction (one worker-thread
    call)."""
    prepared = submission.prepare_document(cmd, origin=origin, inspector=services.inspector)

    def work(uow: UnitOfWork) -> Answer:
        try:
            outcome = submission.add_document(prepared, uow=uow,
                                              on_accepted=services.on_accepted)
        except ShipmentNotFound:
            raise not_found(principal, cmd.shipment_id) from None
        return _answer(outcome, f"/v1/shipments/{cmd.shipment_id}/documents", locale)

    return commit_once(services, principal, key, fp, work)


@router.post("", status_code=201, openapi_extra=SUBMIT_BODY, response_model=SubmissionOut,
             operation_id="submit_document",
             responses=problems(400, 403, 404, 409, 415) | links(201, get_document={
                 "shipment_id": "$request.path.shipment_id",
                 "document_id": "$response.body#/id"}) | {
                 200: {"description": "A duplicate of a document already in the shipment",
                       "model": SubmissionOut}},
             summary="Submit a document (raw XML or multipart); amend with ?supersedes=ID")
async def submit(shipment_id: str, request: Request, services: ServicesDep,
                 caller: ShipmentOfForwarderDep, idempotency_key: IdempotencyKey = None,
                 filename: Annotated[str | None, Query(max_length=255)] = None,
                 supersedes: Annotated[str | None, Query(max_length=SUPERSEDES_MAX)] = None
                 ) -> Response:
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
    cmd = SubmitDocument(shipment_id, doc, forwarder_id=principal.party.id)
    locale = negotiate(request.headers.get("accept-language"))  # of the validation findings
    answer = await run_in_threadpool(_submit, services, principal, key, fp, cmd, caller.origin,
                                     locale)
    return answer.response()


@router.get("/{document_id}", summary="The document as received, or as sealed by the hub",
            operation_id="get_document", response_class=Response,
            responses=problems(404) | {200: {
                "description": "The document's bytes (ETag and X-Content-SHA256: its SHA-256)",
                "content": {"application/xml": {"schema": xml_body("the document")}}}})
def get_document(shipment_id: str, document_id: str, services: ServicesDep,
                 principal: PrincipalDep, scope: ScopeDep,
                 version: Annotated[Literal["original", "sealed"], Query()] = "original"
                 ) -> Response:
    query = tracking.DocumentQuery(shipment_id, document_id, scope)
    try:
        found = tracking.document_file(query, version=tracking.DocumentVersion(version),
                                       uow_factory=services.uow)
    except ShipmentNotFound:
        raise not_found(principal, shipment_id) from None
    name = found.filename.replace('"', "")
    return Response(found.data, media_type=found.media_type, headers={
        "ETag": f'"{found.sha256}"', "X-Content-SHA256": found.sha256,
        "Content-Disposition": f'attachment; filename="{name}"'})
