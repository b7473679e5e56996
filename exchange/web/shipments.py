"""Shipment pages: the list, one shipment (route timeline, documents, deliveries, decisions,
payments), a document with its reports against its lines, and the new-shipment form.

Every page reads through the caller's :func:`exchange.parties.scope_of` and the API's own
views and pipeline helpers; a shipment outside the scope is the same 404 page as a missing
one.
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..api.idempotency import fingerprint
from ..api.problems import Problem
from ..api.routes import shipments as shipment_routes
from ..api.uploads import _file, _form, _shipment_in, fingerprint_parts
from ..api.views import shipment_summary, shipment_view
from ..customs import shipment_status
from ..domain import PartyKind, Route, RouteError, TransportMode
from ..errors import ExchangeError
from ..parties import scope_of
from ..store import deliveries as _deliveries  # noqa: F401 - registers uow.deliveries
from .rendering import (
    PageNotFound,
    PageRoute,
    ServicesDep,
    UserDep,
    document_lines,
    findings_of,
    render,
    require_kind,
)
from .session import SignedIn, check_csrf

__all__ = ["DECISION_KINDS", "payments_of", "router"]

router = APIRouter(prefix="/ui", route_class=PageRoute)

DECISION_KINDS = ("acknowledged", "accepted", "rejected", "hold", "query", "assessment",
                  "guarantee-accepted", "released")


def payments_of(services: Any, uow: Any, shipment: Any) -> Any:
    """Payment status per country from the payments ledger (:func:`exchange.payments.
    payments_view`, as ``GET /v1/shipments/{id}/payments``); None hides the section when
    the ledger is not part of this build."""
    try:
        from ..payments import payments_view
    except ImportError:
        return None
    ledger = getattr(uow, "ledger", None)
    if ledger is None:
        return None
    return payments_view(ledger, shipment, members=services.members)


def _list(services: Any, user: SignedIn) -> list[dict[str, Any]]:
    with services.uow.reading() as uow:
        rows, _ = uow.shipments.page(scope_of(user.principal), limit=100)
        out = []
        for row in rows:
            item = shipment_summary(row)
            item["status"] = shipment_status(row.legs)
            item["legs"] = [{"country": l.country, "status": l.status} for l in row.legs]
            out.append(item)
        return out


@router.get("/shipments", name="ui_shipments")
async def shipments(request: Request, services: ServicesDep, user: UserDep) -> Response:
    items = await run_in_threadpool(_list, services, user)
    return render(request, "shipments.html", user, items=items)


def _shipment(services: Any, user: SignedIn, shipment_id: str) -> dict[str, Any]:
    scope = scope_of(user.principal)
    with services.uow.reading() as uow:
        row = uow.shipments.get(shipment_id, scope)
        if row is None:
            raise PageNotFound(f"shipment {shipment_id}")
        view = shipment_view(row, uow.documents.for_shipment(row.id), services.settings.dossier)
        view["status"] = shipment_status(row.legs)
        deliveries = uow.deliveries.for_shipment(row.id)
        decisions = uow.decisions.for_shipment(row.id, country=scope.country)
        if scope.country is not None:
            deliveries = [d for d in deliveries if d.country == scope.country]
        view["deliveries"] = [
            {"id": d.id, "country": d.country, "adapter": d.adapter, "status": d.status,
             "attempts": d.attempts, "reason": d.reason, "last_error": d.last_error,
             "document_id": d.document_id, "receipt_reference": d.receipt_reference,
             "updated_at": d.updated_at} for d in deliveries]
        view["decisions"] = [dict(json.loads(d.decision_json), source=d.source,
                                  created_at=d.created_at) for d in decisions]
        view["payments"] = payments_of(services, uow, row)
        return view


@router.get("/shipments/new", name="ui_new_shipment")
async def new_shipment(request: Request, user: UserDep, services: ServicesDep) -> Response:
    require_kind(user, PartyKind.FORWARDER, what="new shipment form")
    return render(request, "new_shipment.html", user, form={}, modes=list(TransportMode),
                  members=services.members.countries)


@router.get("/shipments/{shipment_id}", name="ui_shipment")
async def shipment(request: Request, shipment_id: str, services: ServicesDep,
                   user: UserDep) -> Response:
    view = await run_in_threadpool(_shipment, services, user, shipment_id)
    my_leg = next((leg for leg in view["legs"] if user.party.kind is PartyKind.CUSTOMS
                   and leg["country"] == user.party.country), None)
    return render(request, "shipment.html", user, s=view, my_leg=my_leg,
                  decision_kinds=DECISION_KINDS, notice=request.query_params.get("notice"))


def _document(services: Any, user: SignedIn, shipment_id: str, document_id: str
              ) -> dict[str, Any]:
    with services.uow.reading() as uow:
        if uow.shipments.get(shipment_id, scope_of(user.principal)) is None:
            raise PageNotFound(f"shipment {shipment_id}")
        row = uow.documents.get(shipment_id, document_id, with_bytes=True)
        if row is None:
            raise PageNotFound(f"document {document_id}")
        validation = json.loads(row.validation_report)
        findings = findings_of(validation)
        return {"id": row.id, "shipment_id": shipment_id, "type": row.root,
                "filename": row.filename, "version": row.version, "sha256": row.sha256,
                "size": row.size, "validation": validation, "findings": findings,
                "signature": json.loads(row.signature_report),
                "lines": document_lines(row.original, findings)}


@router.get("/shipments/{shipment_id}/documents/{document_id}", name="ui_document")
async def document(request: Request, shipment_id: str, document_id: str,
                   services: ServicesDep, user: UserDep) -> Response:
    doc = await run_in_threadpool(_document, services, user, shipment_id, document_id)
    return render(request, "document.html", user, doc=doc)


def _form_values(form: Any) -> dict[str, str]:
    return {k: (form.get(k) or "").strip() if isinstance(form.get(k), str) else ""
            for k in ("origin", "transit", "destination", "transport_mode", "references")}


def _shipment_json(values: dict[str, str]) -> dict[str, Any]:
    refs: dict[str, str] = {}
    for n, line in enumerate(values["references"].splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"references, line {n}: write each reference as name=value "
                             f"(got {line.strip()!r})")
        refs[key.strip()] = value.strip()
    transit = [c.strip().upper() for c in values["transit"].replace(",", " ").split()]
    return {"route": {"origin": values["origin"].upper(), "transit": transit,
                      "destination": values["destination"].upper()},
            "transport_mode": values["transport_mode"], "references": refs}


@router.post("/shipments/new", name="ui_create_shipment")
async def create_shipment(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.FORWARDER, what="new shipment form")
    limits = services.settings.limits
    error, results, values = None, [], {}
    try:
        form = await _form(request, limits)
        values = _form_values(form)
        check_csrf(user, form.get("csrf") if isinstance(form.get("csrf"), str) else None)
        meta = _shipment_in(_shipment_json(values))
        route = Route(origin=meta.route.origin, destination=meta.route.destination,
                      transit=tuple(meta.route.transit))
        route.check(services.member_codes)
        docs = [await _file(p, limits, "documents") for p in form.getlist("documents")
                if getattr(p, "filename", None)]
        fp = fingerprint("POST /v1/shipments", fingerprint_parts(meta, docs))
        answer = await run_in_threadpool(shipment_routes._create, services, user.principal,
                                         None, fp, meta, route, docs)
    except Problem as exc:
        error = exc.detail or exc.title
    except (RouteError, ExchangeError) as exc:
        error = exc.message
    except ValueError as exc:
        error = str(exc)
    else:
        if answer.status == 201:
            return RedirectResponse(f"/ui/shipments/{answer.body['id']}?notice=created",
                                    status_code=303)
        error = answer.body.get("detail") or answer.body.get("title")
        for doc, result in zip(docs, answer.body.get("documents", []), strict=False):
            findings = findings_of(result.get("validation"))
            results.append({**result, "findings": findings,
                            "lines": document_lines(doc.data, findings)
                            if result.get("status") == "refused" else []})
    return render(request, "new_shipment.html", user, status=422, form=values, error=error,
                  results=results, modes=list(TransportMode), members=services.members.countries)

