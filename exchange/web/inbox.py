"""The customs officer's pages: the country's inbox and the decision forms.

Decisions go through the API's own helpers (:func:`exchange.api.routes.customs.to_decision`
and ``_decide``, which call :func:`exchange.customs.record_decision` with the services'
decision gates), so a refused decision (release before payment, a released leg) is refused
here with the same words.
"""
from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..api.problems import Problem
from ..api.routes import customs as customs_routes
from ..api.views import shipment_summary
from ..customs import shipment_status
from ..domain import PartyKind
from ..errors import ExchangeError
from ..store import deliveries as _deliveries  # noqa: F401 - registers uow.deliveries
from ..store.models import DocumentRow
from ..store.repositories import Scope
from .rendering import PageNotFound, PageRoute, ServicesDep, UserDep, render, require_kind
from .session import SignedIn, check_csrf
from .shipments import DECISION_KINDS, _shipment

__all__ = ["decision_body", "router"]

router = APIRouter(prefix="/ui", route_class=PageRoute)
DUTY_ROWS = 3


def _country_of(user: SignedIn, services: Any, asked: str | None) -> str:
    if user.party.kind is PartyKind.CUSTOMS:
        return user.party.country
    country = (asked or services.members.countries[0]).upper()
    if country not in services.member_codes:
        raise PageNotFound(f"customs inbox {country}")
    return country


def _inbox(services: Any, country: str) -> dict[str, Any]:
    with services.uow.reading() as uow:
        deliveries = []
        for row in uow.deliveries.list(country=country, limit=100):
            doc = uow.session.get(DocumentRow, row.document_id)
            deliveries.append({"id": row.id, "shipment_id": row.shipment_id,
                               "document_id": row.document_id,
                               "document_type": doc.root if doc else None,
                               "status": row.status, "adapter": row.adapter,
                               "updated_at": row.updated_at, "reason": row.reason})
        rows, _ = uow.shipments.page(Scope(country=country), limit=100)
        shipments = []
        for row in rows:
            item = shipment_summary(row)
            item["status"] = shipment_status(row.legs)
            item["my_leg"] = next((l.status for l in row.legs if l.country == country), None)
            shipments.append(item)
        return {"deliveries": deliveries, "shipments": shipments}


@router.get("/customs", name="ui_inbox")
async def inbox(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.CUSTOMS, PartyKind.OPERATOR, what="customs inbox")
    country = _country_of(user, services, request.query_params.get("country"))
    data = await run_in_threadpool(_inbox, services, country)
    return render(request, "inbox.html", user, country=country,
                  members=services.members.countries,
                  notice=request.query_params.get("notice"), **data)


@router.post("/customs/deliveries/{delivery_id}/ack", name="ui_ack")
async def acknowledge(request: Request, delivery_id: str, services: ServicesDep,
                      user: UserDep) -> Response:
    """Acknowledge a delivery to this officer's country (the API route's ``_ack``)."""
    require_kind(user, PartyKind.CUSTOMS, what="customs inbox")
    country = user.party.country
    form = await request.form(max_files=0, max_fields=5)
    error = None
    try:
        check_csrf(user, _text(form, "csrf"))
        await run_in_threadpool(customs_routes._ack, services, country, delivery_id,
                                user.principal, _text(form, "reference"))
    except Problem as exc:
        if exc.status == 404:
            raise PageNotFound(f"delivery {delivery_id}") from None
        error = exc.detail or exc.title
    except ExchangeError as exc:
        error = exc.message
    else:
        return RedirectResponse(f"/ui/customs?notice=acknowledged-{delivery_id}",
                                status_code=303)
    data = await run_in_threadpool(_inbox, services, country)
    return render(request, "inbox.html", user, status=409, country=country,
                  members=services.members.countries, error=error, **data)


def _text(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def decision_body(form: Any) -> customs_routes.DecisionIn:
    """The decision form as the API's DecisionIn (ValueError in plain words if not valid)."""
    reasons = []
    for n, line in enumerate((_text(form, "reasons") or "").splitlines(), start=1):
        if line.strip():
            code, sep, text = line.partition(":")
            if not sep:
                code, text = "other", line
            reasons.append({"code": code.strip() or "other", "text": text.strip()})
    duty_lines = []
    for i in range(DUTY_ROWS):
        row = {k: _text(form, f"duty_{k}_{i}") for k in
               ("tax_type", "base", "rate", "amount", "currency")}
        if any(row.values()):
            missing = [k.replace("_", " ") for k, v in row.items() if not v]
            if missing:
                raise ValueError(f"duty line {i + 1}: fill in {', '.join(missing)}")
            row["currency"] = row["currency"].upper()
            duty_lines.append(row)
    fields = {k: _text(form, k) for k in ("kind", "decision_id", "customs_reference",
                                          "delivery_id", "guarantee_reference",
                                          "guarantee_amount", "guarantee_currency", "text")}
    if fields["guarantee_currency"]:
        fields["guarantee_currency"] = fields["guarantee_currency"].upper()
    try:
        return customs_routes.DecisionIn(**{k: v for k, v in fields.items() if v is not None},
                                         reasons=reasons, duty_lines=duty_lines)
    except ValidationError as exc:
        words = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}"
                          for e in exc.errors())
        raise ValueError(f"the decision is not complete: {words}") from None


def _gated(services: Any) -> Any:
    """The services as ``_decide`` reads them (the decision gates, when wired)."""
    if hasattr(services, "decision_gates"):
        return services
    return SimpleNamespace(uow=services.uow, decision_gates=())


@router.post("/customs/shipments/{shipment_id}/decisions", name="ui_decide")
async def decide(request: Request, shipment_id: str, services: ServicesDep,
                 user: UserDep) -> Response:
    require_kind(user, PartyKind.CUSTOMS, what="decision form")
    country = user.party.country
    form = await request.form(max_files=0, max_fields=60)
    error = None
    try:
        check_csrf(user, _text(form, "csrf"))
        body = decision_body(form)
        decision = customs_routes.to_decision(country, shipment_id, body)
        await run_in_threadpool(customs_routes._decide, _gated(services), country,
                                shipment_id, user.principal, decision)
    except Problem as exc:
        if exc.status == 404:
            raise PageNotFound(f"shipment {shipment_id}") from None
        error = exc.detail or exc.title
    except ExchangeError as exc:
        error = exc.message
    except ValueError as exc:
        error = str(exc)
    else:
        return RedirectResponse(f"/ui/shipments/{shipment_id}?notice=decision-{body.kind}",
                                status_code=303)
    view = await run_in_threadpool(_shipment, services, user, shipment_id)
    my_leg = next((leg for leg in view["legs"] if leg["country"] == country), None)
    return render(request, "shipment.html", user, status=422, s=view, my_leg=my_leg,
                  decision_kinds=DECISION_KINDS, decision_error=error,
                  decision_form={k: v for k, v in form.items() if isinstance(v, str)})


def new_decision_id(country: str) -> str:
    return f"{country}-ui-{uuid.uuid4().hex}"
