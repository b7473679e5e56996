"""The customs side: ``/v1/customs/{country}/...`` inbox, acknowledgements and decisions.

Only the customs authority of *country* (or an operator) reaches these; anyone else gets
404, as for a shipment outside their scope.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason

from ...customs import (
    DecisionConflict, DecisionRefused, ShipmentNotRouted, record_decision,
    verify_decision_signature,
)
from ...domain import PartyKind
from ...outbox import DeliveryNotFound, DeliveryStateError, acknowledge_delivery, delivery_view
from ...parties import Principal
from ...store.models import DocumentRow, ShipmentRow
from ..deps import PrincipalDep, ServicesDep
from ..problems import Problem
from ..views import document_view, shipment_summary

__all__ = ["router"]

router = APIRouter(prefix="/v1/customs/{country}", tags=["customs"])
access_log = logging.getLogger("exchange.api.access")


def _authorise(principal: Principal, country: str) -> None:
    party = principal.party
    if party.kind is PartyKind.OPERATOR:
        return
    if party.kind is PartyKind.CUSTOMS and party.country == country:
        return
    access_log.warning(
        "customs %s endpoints refused to party %s (%s)", country, party.id, party.kind)
    raise Problem(404, "not-found", "Not found", f"no customs inbox {country}")


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


class AckIn(BaseModel):
    reference: str | None = Field(default=None, max_length=128)


@router.get("/inbox", summary="Deliveries routed to this country, newest first")
def inbox(country: str, services: ServicesDep, principal: PrincipalDep,
          status: Annotated[str | None, Query(max_length=32)] = None,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    _authorise(principal, country)
    with services.uow.reading() as uow:
        rows = uow.deliveries.list(country=country, status=status, limit=limit)
        items = []
        for row in rows:
            doc = uow.session.get(DocumentRow, row.document_id)
            shipment = uow.session.get(ShipmentRow, row.shipment_id)
            item = delivery_view(row)
            item["shipment"] = shipment_summary(shipment) if shipment else None
            item["document"] = document_view(doc) if doc else None
            item["links"] = {
                "ack": f"/v1/customs/{country}/deliveries/{row.id}/ack",
                "decisions": f"/v1/customs/{country}/shipments/{row.shipment_id}/decisions"}
            items.append(item)
    return {"country": country, "items": items}


def _ack(services, country: str, delivery_id: str, principal: Principal,
         reference: str | None) -> dict[str, Any]:
    with services.uow.writing() as uow:
        try:
            row = acknowledge_delivery(uow, delivery_id, country=country,
                                       actor_id=principal.party.id, reference=reference)
        except DeliveryNotFound:
            raise Problem(404, "not-found", "Not found",
                          f"no delivery {delivery_id} for {country}") from None
        except DeliveryStateError as exc:
            raise Problem(409, "delivery-state", "The delivery cannot be acknowledged",
                          exc.message) from None
        uow.commit()
        return delivery_view(row)


@router.post("/deliveries/{delivery_id}/ack", summary="Acknowledge a pulled delivery")
async def ack(country: str, delivery_id: str, services: ServicesDep, principal: PrincipalDep,
              body: Annotated[AckIn | None, Body()] = None) -> dict[str, Any]:
    _authorise(principal, country)
    return await run_in_threadpool(_ack, services, country, delivery_id, principal,
                                   body.reference if body else None)


def to_decision(country: str, shipment_id: str, body: DecisionIn) -> CustomsDecision:
    try:
        return CustomsDecision(
            kind=body.kind, country=country,
            decision_id=body.decision_id or f"{country}-{uuid.uuid4().hex}",
            customs_reference=body.customs_reference, delivery_id=body.delivery_id,
            shipment_id=shipment_id, reasons=tuple(Reason(r.code, r.text) for r in body.reasons),
            duty_lines=tuple(DutyLine(**d.model_dump()) for d in body.duty_lines),
            guarantee_reference=body.guarantee_reference,
            guarantee_amount=body.guarantee_amount, guarantee_currency=body.guarantee_currency,
            text=body.text)
    except ValueError as exc:
        raise Problem(422, "decision-invalid", "The decision is not valid", str(exc)) from None


def _decide(services, country: str, shipment_id: str, principal: Principal,
            decision: CustomsDecision) -> tuple[int, dict[str, Any]]:
    with services.uow.writing() as uow:
        try:
            report = verify_decision_signature(decision, services.checker)
            recorded = record_decision(uow, decision, actor_id=principal.party.id, source="api",
                                       gates=services.decision_gates,
                                       signature_report=report)
        except ShipmentNotRouted:
            raise Problem(404, "not-found", "Not found",
                          f"no shipment {shipment_id} routed to {country}") from None
        except DecisionConflict as exc:
            raise Problem(409, "decision-conflict", "Decision id already used",
                          exc.message) from None
        except DecisionRefused as exc:
            raise Problem(422, exc.code.replace(".", "-"), "The decision is refused",
                          exc.message) from None
        shipment = uow.session.get(ShipmentRow, recorded.row.shipment_id)
        legs = [{"country": l.country, "role": l.role, "status": l.status}
                for l in shipment.legs]
        uow.commit()
        out = json.loads(recorded.row.decision_json)
        out["legs"] = legs
        out["signature"] = report
        return (201 if recorded.created else 200), out


DECISION_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": DecisionIn.model_json_schema()},
    "application/xml": {"schema": {
        "type": "string", "description": "a Decision document of schemas/xsd/"
        "customs-response.xsd, optionally signed (enveloped ds:Signature) by the customs "
        "authority; a signature is verified against the country's trust list"}}}}}


def _xml_decision(country: str, shipment_id: str, data: bytes) -> CustomsDecision:
    from adapters.errors import AdapterError
    from adapters.messages import read_decisions

    try:
        decisions = read_decisions(data, source="decision")
    except (AdapterError, ValueError) as exc:
        raise Problem(422, "decision-invalid", "The decision document is not valid",
                      str(exc)) from None
    if len(decisions) != 1:
        raise Problem(422, "decision-invalid", "One decision per request",
                      f"the document holds {len(decisions)} decisions")
    decision = decisions[0]
    if decision.country != country:
        raise Problem(422, "decision-invalid", "Wrong country",
                      f"the decision is from {decision.country}, posted to {country}")
    if decision.shipment_id not in (None, shipment_id):
        raise Problem(422, "decision-invalid", "Wrong shipment",
                      f"the decision names shipment {decision.shipment_id}")
    if decision.shipment_id is None:
        import dataclasses
        decision = dataclasses.replace(decision, shipment_id=shipment_id)
    return decision


@router.post("/shipments/{shipment_id}/decisions", status_code=201,
             openapi_extra=DECISION_BODY,
             summary="Record a decision: acknowledged, accepted, rejected, hold, query, "
                     "assessment, guarantee-accepted, released (JSON, or a signed XML "
                     "Decision)")
async def decide(country: str, shipment_id: str, request: Request, services: ServicesDep,
                 principal: PrincipalDep) -> Any:
    _authorise(principal, country)
    data = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in ("application/xml", "text/xml"):
        decision = _xml_decision(country, shipment_id, data)
    else:
        try:
            body = DecisionIn.model_validate_json(data or b"{}")
        except ValidationError as exc:
            raise Problem(422, "decision-invalid", "The decision is not valid",
                          "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                    for e in exc.errors())) from None
        decision = to_decision(country, shipment_id, body)
    status, out = await run_in_threadpool(_decide, services, country, shipment_id, principal,
                                          decision)
    return JSONResponse(out, status_code=status)
