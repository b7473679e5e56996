"""Shipment pages: the list (search, filters, paging, counts) and one shipment (what to do
next, the route, what is owed, documents, deliveries, decisions, the timeline).

Every page reads through the caller's :func:`exchange.parties.keys.scope_of` and the same
services as the API (:mod:`exchange.documents.tracking`); a shipment outside the scope is the
same 404 page as a missing one. A delivery's technical error is for the operator only: the
others read a category of it, in their language (:func:`delivery_note`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from exchange.documents import tracking
from exchange.documents.errors import CursorInvalid, ShipmentNotFound
from exchange.documents.status import shipment_state
from exchange.domain import PartyKind
from exchange.http.deps import ServicesDep
from exchange.i18n import Text, t
from exchange.parties.keys import party_names, scope_of
from exchange.payments.views import awaiting_payment
from exchange.services import Services
from exchange.web.language import reader_locale
from exchange.web.rendering import (
    PAGE_SIZE,
    PageNotFound,
    PageRoute,
    UserDep,
    next_page,
    render,
)
from exchange.web.session import SignedIn
from exchange.web.timeline import document_word, timeline

__all__ = ["DECISION_KINDS", "delivery_note", "next_steps", "router", "shipment_page"]

router = APIRouter(prefix="/ui", route_class=PageRoute)

DECISION_KINDS = ("acknowledged", "accepted", "rejected", "hold", "query", "assessment",
                  "guarantee-accepted", "released")
LEG_STATUSES = ("pending", "acknowledged", "accepted", "assessed", "guaranteed", "held",
                "query", "rejected", "released")


@dataclass(frozen=True)
class _Leg:
    country: str
    status: str


def _text(request: Request, name: str, *, max_len: int = 64) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    return value[:max_len] or None


def _list(services: Services, user: SignedIn, request: Request) -> dict[str, Any]:
    through = _text(request, "country", max_len=2)
    status = _text(request, "status")
    filters = {"q": _text(request, "q") or "", "country": (through or "").upper(),
               "status": status if status in LEG_STATUSES else ""}
    query = tracking.ShipmentsQuery(
        scope_of(user.principal), limit=PAGE_SIZE, cursor=_text(request, "after", max_len=200),
        with_legs=True, search=filters["q"] or None, through=filters["country"] or None,
        leg_status=filters["status"] or None, with_total=True)
    try:
        page = tracking.list_shipments(query, uow_factory=services.uow)
    except CursorInvalid:
        raise PageNotFound("page") from None
    for item in page.items:
        item["state"] = shipment_state([_Leg(leg["country"], leg["status"])
                                        for leg in item["legs"]])
    return {"items": page.items, "total": page.total, "filters": filters,
            "next_url": next_page("/ui/shipments", filters, page.next_cursor),
            "leg_statuses": LEG_STATUSES}


@router.get("/shipments", name="ui_shipments")
async def shipments(request: Request, services: ServicesDep, user: UserDep) -> Response:
    if user.principal.kind is PartyKind.PAYMENT_PROVIDER:
        raise PageNotFound("shipments")  # a payment provider's list is /ui/payments
    data = await run_in_threadpool(_list, services, user, request)
    return render(request, "shipments.html", user, members=services.members.countries,
                  **data)


def shipment_page(services: Services, user: SignedIn, shipment_id: str, locale: str
                  ) -> dict[str, Any]:
    """The shipment page's view (also the customs decision form's, :mod:`exchange.web.inbox`):
    the tracking view, what is owed (with the RF references), the timeline, what to do
    next."""
    query = tracking.ShipmentQuery(shipment_id, scope_of(user.principal))
    try:
        view = tracking.track_shipment(query, uow_factory=services.uow,
                                       dossier=services.settings.dossier,
                                       payments=services.payments_view,
                                       members=services.members)
        events = tracking.shipment_events(
            tracking.EventsQuery(shipment_id, query.scope, limit=1000),
            uow_factory=services.uow)
    except ShipmentNotFound:
        raise PageNotFound(f"shipment {shipment_id}") from None
    view["owed"] = awaiting_payment(principal=user.principal, store=services.uow,
                                    shipment_id=shipment_id)
    view["state"] = shipment_state([_Leg(leg["country"], leg["status"])
                                    for leg in view["legs"]])
    documents = {d["id"]: d for d in view["documents"]}
    for delivery in view["deliveries"]:
        doc = documents.get(delivery["document_id"])
        delivery["document_type"] = doc["document_type"] if doc else None
        delivery["note"] = delivery_note(delivery, operator=user.principal.kind
                                         is PartyKind.OPERATOR)
    for doc in view["documents"]:
        doc["word"] = document_word(doc["document_type"])
    actors = {e["actor_id"] for e in events["events"] if e.get("actor_id")}
    actors |= {d["actor_id"] for d in view["decisions"] if d.get("actor_id")}
    names = party_names(services.uow, actors)
    view["names"] = names
    view["timeline"] = timeline(events["events"], names=names, locale=locale)
    view["chain"] = events.get("chain")
    view["next"] = next_steps(view, user)
    return view


def delivery_note(delivery: dict[str, Any], *, operator: bool) -> Text | str | None:
    """What a reader is told of a delivery's trouble: the operator the technical error
    itself; everyone else its category, in words (an error may name a server's folders)."""
    status = delivery.get("status")
    if delivery.get("reason"):  # the customs system's own words about the document
        return str(delivery["reason"])
    if operator and delivery.get("last_error"):
        return str(delivery["last_error"])
    if status == "dead":
        return t("The customs system could not take it; the operator has been told and will "
                 "send it again.")
    if status == "retrying" or delivery.get("last_error"):
        return t("The customs system did not answer; the exchange will try again.")
    return None


def next_steps(view: dict[str, Any], user: SignedIn) -> list[Text]:
    """What the reader must do next on this shipment, in order (besides paying what is
    owed: the page lists it first, with its amounts, due dates and references)."""
    steps: list[Text] = []
    kind = user.principal.kind
    if kind is PartyKind.FORWARDER:
        for leg in view["legs"]:
            if leg["status"] == "rejected":
                steps.append(t("The customs of {country} refused the declaration: read the "
                               "reasons under Customs decisions, correct the document and "
                               "send the corrected version.", country=leg["country"]))
            elif leg["status"] == "query":
                steps.append(t("The customs of {country} asked a question: read it under "
                               "Customs decisions and answer it.", country=leg["country"]))
            elif leg["status"] == "held":
                steps.append(t("The goods are held for inspection in {country}: be ready to "
                               "present them.", country=leg["country"]))
        if any(d["status"] == "dead" for d in view["deliveries"]):
            steps.append(t("A delivery did not get through; the operator has been told. "
                           "Nothing is needed from you."))
        if view["owed"]:
            pass  # the page lists what to pay first, with the amounts and references
        elif not steps and view["legs"] and all(leg["status"] == "released"
                                              for leg in view["legs"]):
            steps.append(t("Nothing: every country has released the goods."))
        elif not steps:
            steps.append(t("Nothing now: the customs are working on it."))
    elif kind is PartyKind.CUSTOMS:
        mine = next((leg for leg in view["legs"] if leg["country"] == user.party.country),
                    None)
        if mine is not None and mine["status"] == "pending":
            steps.append(t("Acknowledge the documents, check them and record your decision."))
        elif mine is not None and mine["status"] == "assessed":
            steps.append(t("Duties are assessed: release once they are paid or guaranteed."))
        elif mine is not None and mine["status"] not in ("released", "rejected"):
            steps.append(t("Record your decision: release, hold, refuse or assess duties."))
    return steps


@router.get("/shipments/{shipment_id}", name="ui_shipment")
async def shipment(request: Request, shipment_id: str, services: ServicesDep,
                   user: UserDep) -> Response:
    view = await run_in_threadpool(shipment_page, services, user, shipment_id,
                                   reader_locale(request))
    my_leg = next((leg for leg in view["legs"] if user.party.kind is PartyKind.CUSTOMS
                   and leg["country"] == user.party.country), None)
    return render(request, "shipment.html", user, s=view, my_leg=my_leg,
                  decision_kinds=DECISION_KINDS, notice=request.query_params.get("notice"))
