"""Shipment pages: the list, one shipment (route timeline, documents, deliveries, decisions,
payments), a document with its reports against its lines, and the new-shipment form.

Every page reads through the caller's :func:`exchange.parties.keys.scope_of` and the same
services as the API (:mod:`exchange.documents.tracking`, :mod:`exchange.documents.submission`);
a shipment outside the scope is the same 404 page as a missing one. The form is read with the
API's own parsing (:mod:`exchange.http.uploads`), so a bad field gets the same words.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from exchange.documents import submission, tracking
from exchange.documents.errors import DocumentNotFound, ShipmentNotFound
from exchange.domain import PartyKind, TransportMode
from exchange.errors import ExchangeError
from exchange.http.deps import ServicesDep
from exchange.http.uploads import UploadError, parse_shipment, read_document_part, read_form
from exchange.parties.keys import scope_of
from exchange.services import Services
from exchange.web.rendering import (
    PageNotFound,
    PageRoute,
    UserDep,
    document_lines,
    findings_of,
    render,
    require_kind,
)
from exchange.web.session import SignedIn, check_csrf

__all__ = ["DECISION_KINDS", "router"]

router = APIRouter(prefix="/ui", route_class=PageRoute)

DECISION_KINDS = ("acknowledged", "accepted", "rejected", "hold", "query", "assessment",
                  "guarantee-accepted", "released")

_FIELDS = ("origin", "transit", "destination", "transport_mode", "references")


def _list(services: Services, user: SignedIn) -> list[dict[str, Any]]:
    query = tracking.ShipmentsQuery(scope_of(user.principal), limit=100, with_legs=True)
    return tracking.list_shipments(query, uow_factory=services.uow).items


@router.get("/shipments", name="ui_shipments")
async def shipments(request: Request, services: ServicesDep, user: UserDep) -> Response:
    items = await run_in_threadpool(_list, services, user)
    return render(request, "shipments.html", user, items=items)


def _shipment(services: Services, user: SignedIn, shipment_id: str) -> dict[str, Any]:
    """The shipment page's view (also the customs decision form's, :mod:`exchange.web.inbox`)."""
    query = tracking.ShipmentQuery(shipment_id, scope_of(user.principal))
    try:
        return tracking.track_shipment(query, uow_factory=services.uow,
                                       dossier=services.settings.dossier,
                                       payments=services.payments_view, members=services.members)
    except ShipmentNotFound:
        raise PageNotFound(f"shipment {shipment_id}") from None


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


def _document(services: Services, user: SignedIn, shipment_id: str, document_id: str
              ) -> dict[str, Any]:
    query = tracking.DocumentQuery(shipment_id, document_id, scope_of(user.principal))
    try:
        doc = tracking.document_report(query, uow_factory=services.uow)
    except ShipmentNotFound:
        raise PageNotFound(f"shipment {shipment_id}") from None
    except DocumentNotFound:
        raise PageNotFound(f"document {document_id}") from None
    findings = findings_of(doc.validation)
    return {"id": doc.id, "shipment_id": shipment_id, "type": doc.document_type,
            "filename": doc.filename, "version": doc.version, "sha256": doc.sha256,
            "size": doc.size, "validation": doc.validation, "findings": findings,
            "signature": doc.signature, "lines": document_lines(doc.original, findings)}


@router.get("/shipments/{shipment_id}/documents/{document_id}", name="ui_document")
async def document(request: Request, shipment_id: str, document_id: str,
                   services: ServicesDep, user: UserDep) -> Response:
    doc = await run_in_threadpool(_document, services, user, shipment_id, document_id)
    return render(request, "document.html", user, doc=doc)


def _form_values(form: FormData) -> dict[str, str]:
    values = {}
    for name in _FIELDS:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def _shipment_json(values: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's shipment JSON; ValueError for a bad reference line."""
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


def _results(result: submission.ShipmentResult) -> list[dict[str, Any]]:
    """Each document's outcome, a refused one with its findings against its lines."""
    out = []
    for outcome in result.outcomes:
        item = outcome.to_dict()
        findings = findings_of(item.get("validation"))
        out.append({**item, "findings": findings,
                    "lines": document_lines(outcome.inspected.input.data, findings)
                    if item.get("status") == "refused" else []})
    return out


@router.post("/shipments/new", name="ui_create_shipment")
async def create_shipment(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.FORWARDER, what="new shipment form")
    limits = services.settings.limits
    error: str | None = None
    results: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    try:
        form = await read_form(request, limits)
        values = _form_values(form)
        csrf = form.get("csrf")
        check_csrf(user, csrf if isinstance(csrf, str) else None)
        meta = parse_shipment(_shipment_json(values), prefix=())
        submission.check_route(meta.route.to_route(), members=services.member_codes)
        docs = [await read_document_part(p, limits, "documents")
                for p in form.getlist("documents") if getattr(p, "filename", None)]
        cmd = meta.to_command(forwarder_id=user.party.id, documents=docs)
        result = await run_in_threadpool(
            submission.submit_shipment, cmd, inspector=services.inspector, uow_factory=services.uow,
            on_accepted=services.on_accepted, dossier=services.settings.dossier,
            payments=services.payments_view)
    except UploadError as exc:  # the form or a file cannot be read
        error = exc.detail or exc.title
    except ExchangeError as exc:  # a bad route, an expired form
        error = exc.message
    except ValueError as exc:  # a bad reference line
        error = str(exc)
    else:
        if result.created:
            return RedirectResponse(f"/ui/shipments/{result.shipment_id}?notice=created",
                                    status_code=303)
        error = result.refusal_detail
        results = _results(result)
    return render(request, "new_shipment.html", user, status=422, form=values, error=error,
                  results=results, modes=list(TransportMode), members=services.members.countries)
