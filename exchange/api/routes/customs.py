"""The customs side: ``/v1/customs/{country}/...`` inbox, acknowledgements and decisions.

Only the customs authority of *country* (or an operator) reaches these; anyone else gets
404, as for a shipment outside their scope (:func:`exchange.delivery.customs.authorise_customs`).
Acknowledging and deciding are the customs authority's alone: an operator gets 403
(``customs-authority-only``) unless the members file lets the hub's help desk key them in for
that member (:func:`exchange.delivery.customs.customs_actor`). Errors of the services
propagate as problem answers (:mod:`exchange.http.problems`).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from adapters.contract import DecisionKind, Reason
from exchange.api.deps import PrincipalDep, ServicesDep
from exchange.api.models import DecisionOut, DeliveryOut, InboxOut
from exchange.api.openapi import problems, request_body
from exchange.delivery import customs as customs_side
from exchange.delivery.customs import (
    AcknowledgeDelivery,
    DecisionFields,
    DutyLineFields,
    InboxQuery,
    RecordDecision,
    authorise_customs,
    customs_actor,
)
from exchange.delivery.errors import DecisionInvalid
from exchange.delivery.outbox import DeliveryStatus, delivery_view
from exchange.http.problems import invalid_request
from exchange.documents.views import document_view, shipment_summary

__all__ = ["router"]

router = APIRouter(prefix="/v1/customs/{country}", tags=["customs"])


class ReasonIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=2000)


class DutyLineIn(BaseModel):
    tax_type: str = Field(min_length=1, max_length=64)
    base: str
    rate: str
    amount: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class DecisionIn(BaseModel):
    """A customs decision. ``decision_id`` makes the call idempotent (default: a new id)."""

    kind: DecisionKind
    decision_id: str | None = Field(default=None, min_length=1, max_length=128)
    customs_reference: str | None = Field(default=None, max_length=128)
    delivery_id: str | None = None
    reasons: list[ReasonIn] = []
    duty_lines: list[DutyLineIn] = []
    guarantee_reference: str | None = Field(default=None, max_length=128)
    guarantee_amount: str | None = None
    guarantee_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    text: str | None = Field(default=None, max_length=4000)

    def fields(self) -> DecisionFields:
        return DecisionFields(
            kind=self.kind, decision_id=self.decision_id,
            customs_reference=self.customs_reference, delivery_id=self.delivery_id,
            reasons=tuple(Reason(r.code, r.text) for r in self.reasons),
            duty_lines=tuple(DutyLineFields(**d.model_dump()) for d in self.duty_lines),
            guarantee_reference=self.guarantee_reference,
            guarantee_amount=self.guarantee_amount,
            guarantee_currency=self.guarantee_currency, text=self.text)


class AckIn(BaseModel):
    reference: str | None = Field(default=None, max_length=128)


@router.get("/inbox", summary="Deliveries routed to this country, newest first",
            operation_id="customs_inbox", response_model=InboxOut, responses=problems(404))
def inbox(country: str, services: ServicesDep, principal: PrincipalDep,
          status: Annotated[DeliveryStatus | None, Query()] = None,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    authorise_customs(principal, country)
    entries = customs_side.customs_inbox(InboxQuery(country, status=status, limit=limit),
                                         uow=services.uow, document_view=document_view,
                                         shipment_view=shipment_summary)
    items = []
    for entry in entries:
        item = delivery_view(entry.delivery)
        item["shipment"] = entry.shipment
        item["document"] = entry.document
        item["links"] = {
            "ack": f"/v1/customs/{country}/deliveries/{entry.delivery.id}/ack",
            "decisions": f"/v1/customs/{country}/shipments/{entry.delivery.shipment_id}"
                         "/decisions"}
        items.append(item)
    return {"country": country, "items": items}


@router.post("/deliveries/{delivery_id}/ack", summary="Acknowledge a pulled delivery",
             operation_id="acknowledge_delivery", response_model=DeliveryOut,
             responses=problems(403, 404, 409))
async def ack(country: str, delivery_id: str, services: ServicesDep, principal: PrincipalDep,
              body: Annotated[AckIn | None, Body()] = None) -> dict[str, Any]:
    actor = customs_actor(principal, country, members=services.members)
    cmd = AcknowledgeDelivery(actor, delivery_id, body.reference if body else None)
    delivery = await run_in_threadpool(customs_side.acknowledge, cmd, uow=services.uow)
    return delivery_view(delivery)


DECISION_EXAMPLES = {
    "assessment": {"kind": "assessment", "customs_reference": "UZ-2026-000042", "duty_lines": [
        {"tax_type": "customs-duty", "base": "150000.00", "rate": "5", "amount": "7500.00",
         "currency": "UZS"}]},
    "released": {"kind": "released", "customs_reference": "UZ-2026-000042"},
    "rejected": {"kind": "rejected", "reasons": [{"code": "DOC-MISSING",
                                                  "text": "no certificate of origin"}]}}
DECISION_BODY = request_body(
    json=DecisionIn, json_examples=DECISION_EXAMPLES,
    xml="a Decision document of schemas/xsd/customs-response.xsd, optionally signed "
        "(enveloped ds:Signature) by the customs authority; a signature is verified "
        "against the country's trust list")


@router.post("/shipments/{shipment_id}/decisions", status_code=201,
             openapi_extra=DECISION_BODY, operation_id="record_decision",
             response_model=DecisionOut, responses=problems(403, 404, 409, 415) | {200: {
                 "description": "The same decision (decision_id) was recorded before",
                 "model": DecisionOut}},
             summary="Record a decision: acknowledged, accepted, rejected, hold, query, "
                     "assessment, guarantee-accepted, released (JSON, or a signed XML "
                     "Decision)")
async def decide(country: str, shipment_id: str, request: Request, services: ServicesDep,
                 principal: PrincipalDep) -> JSONResponse:
    actor = customs_actor(principal, country, members=services.members)
    data = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in ("application/xml", "text/xml"):
        decision = customs_side.decision_from_document(data, country=country,
                                                       shipment_id=shipment_id)
    else:
        try:
            body = DecisionIn.model_validate_json(data or b"{}")
        except ValidationError as exc:
            problem = invalid_request(exc.errors(), prefix=("body",))
            raise DecisionInvalid(problem.detail or "", errors=problem.extra["errors"]
                                  ) from None
        decision = customs_side.decision_from_fields(body.fields(), country=country,
                                                     shipment_id=shipment_id)
    cmd = RecordDecision(decision, actor)
    recorded = await run_in_threadpool(customs_side.decide, cmd, uow=services.uow,
                                       checker=services.checker,
                                       gates=services.decision_gates)
    out = recorded.decision | {
        "legs": [{"country": l.country, "role": l.role, "status": l.status}
                 for l in recorded.legs],
        "signature": recorded.signature}
    return JSONResponse(out, status_code=201 if recorded.created else 200)
