"""The customs officer's pages: the country's inbox and the decision forms.

Acknowledgements and decisions go through the same services as the API
(:mod:`exchange.delivery.customs`), which record a decision with the services' decision
gates, so a refused decision (release before payment, a released leg) is refused here with
the same words.
"""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from adapters.contract import Reason
from exchange.delivery import customs
from exchange.delivery.customs import (
    AcknowledgeDelivery,
    DecisionFields,
    DutyLineFields,
    RecordDecision,
    customs_actor,
)
from exchange.documents.errors import CursorInvalid
from exchange.domain import PartyKind
from exchange.errors import ExchangeError, NotFoundError
from exchange.i18n import t
from exchange.services import Services
from exchange.web.language import reader_locale
from exchange.web.rendering import (
    PAGE_SIZE,
    PageError,
    PageNotFound,
    PageRoute,
    ServicesDep,
    UserDep,
    explain,
    next_page,
    render,
    require_kind,
)
from exchange.web.session import SignedIn, check_csrf
from exchange.web.shipments import DECISION_KINDS, LEG_STATUSES, shipment_page

__all__ = ["FormRefused", "check_release", "decision_body", "new_decision_id", "router"]

router = APIRouter(prefix="/ui", route_class=PageRoute)
DUTY_ROWS = 3


def _own_country(user: SignedIn) -> str:
    """A customs officer's country (every customs party has one: :class:`~exchange.domain.
    Party` refuses one without)."""
    if user.party.country is None:
        raise PageNotFound("customs inbox")
    return user.party.country


def _country_of(user: SignedIn, services: Services, asked: str | None) -> str:
    if user.party.kind is PartyKind.CUSTOMS and user.party.country:
        return user.party.country
    country = (asked or services.members.countries[0]).upper()
    if country not in services.member_codes:
        raise PageNotFound(f"customs inbox {country}")
    return country


DELIVERY_STATUSES = ("pending", "sending", "sent", "delivered", "delivered-with-warnings",
                     "acknowledged", "rejected", "retrying", "dead")


def _inbox(services: Services, country: str, filters: dict[str, str] | None = None, *,
           operator: bool = False) -> dict[str, Any]:
    """A page of each of the inbox's lists (``after``: the shipments', ``documents_after``:
    the deliveries'), the next pages' addresses keeping the filters and the other list's
    place, and the counts."""
    filters = {"q": "", "leg": "", "delivery": "", "after": "", "documents_after": ""} | (
        filters or {})
    try:
        overview = customs.customs_overview(
            country, uow=services.uow, limit=PAGE_SIZE,
            delivery_status=filters["delivery"] or None, leg_status=filters["leg"] or None,
            search=filters["q"] or None, deliveries_after=filters["documents_after"] or None,
            shipments_after=filters["after"] or None)
    except CursorInvalid:
        raise PageNotFound("page") from None
    deliveries = [{"id": e.delivery.id, "shipment_id": e.delivery.shipment_id,
                   "document_id": e.delivery.document_id, "document_type": e.document_type,
                   "status": e.delivery.status, "adapter": e.delivery.adapter,
                   "updated_at": e.delivery.updated_at, "reason": e.delivery.reason}
                  for e in overview.deliveries]
    here = filters | ({"country": country} if operator else {})
    return {"deliveries": deliveries, "shipments": overview.shipments,
            "delivery_counts": overview.delivery_counts, "leg_counts": overview.leg_counts,
            "deliveries_total": overview.deliveries_total,
            "shipments_total": overview.shipments_total,
            "shipments_next": next_page("/ui/customs", here, overview.shipments_next),
            "deliveries_next": next_page("/ui/customs", here, overview.deliveries_next,
                                         name="documents_after"),
            "filters": filters, "leg_statuses": LEG_STATUSES,
            "delivery_statuses": DELIVERY_STATUSES}


def _filters(request: Request) -> dict[str, str]:
    leg = request.query_params.get("leg") or ""
    delivery = request.query_params.get("delivery") or ""
    return {"q": (request.query_params.get("q") or "").strip()[:64],
            "leg": leg if leg in LEG_STATUSES else "",
            "delivery": delivery if delivery in DELIVERY_STATUSES else "",
            "after": (request.query_params.get("after") or "")[:200],
            "documents_after": (request.query_params.get("documents_after") or "")[:200]}


@router.get("/customs", name="ui_inbox")
async def inbox(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.CUSTOMS, PartyKind.OPERATOR, what="customs inbox")
    country = _country_of(user, services, request.query_params.get("country"))
    data = await run_in_threadpool(_inbox, services, country, _filters(request),
                                   operator=user.principal.kind is PartyKind.OPERATOR)
    return render(request, "inbox.html", user, country=country,
                  members=services.members.countries,
                  notice=request.query_params.get("notice"), **data)


@router.post("/customs/deliveries/{delivery_id}/ack", name="ui_ack")
async def acknowledge(request: Request, delivery_id: str, services: ServicesDep,
                      user: UserDep) -> Response:
    """Acknowledge a delivery to this officer's country."""
    require_kind(user, PartyKind.CUSTOMS, what="customs inbox")
    country = _own_country(user)
    form = await request.form(max_files=0, max_fields=5)
    error = None
    try:
        check_csrf(user, _text(form, "csrf"))
        actor = customs_actor(user.principal, country, members=services.members)
        cmd = AcknowledgeDelivery(actor, delivery_id, _text(form, "reference"))
        await run_in_threadpool(customs.acknowledge, cmd, uow=services.uow)
    except NotFoundError:
        raise PageNotFound(f"delivery {delivery_id}") from None
    except ExchangeError as exc:
        error = explain(exc)
    else:
        return RedirectResponse(f"/ui/customs?notice=acknowledged-{delivery_id}",
                                status_code=303)
    data = await run_in_threadpool(_inbox, services, country)
    return render(request, "inbox.html", user, status=409, country=country,
                  members=services.members.countries, error=error, **data)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


class FormRefused(ValueError):
    """The decision form is not filled in as it must be (the service is not asked)."""

    def __init__(self, error: PageError):
        super().__init__(error.detail or str(error.summary))
        self.error = error


def check_release(form: FormData, leg_status: str | None) -> None:
    """The safeguards of a release from the dashboard: the customs reference of the release,
    the officer's explicit confirmation, and a leg that customs has at least received (a
    release straight from pending skips the documents)."""
    if _text(form, "kind") != "released":
        return
    if leg_status == "pending":
        raise FormRefused(PageError(t("Acknowledge the documents (or accept the declaration) "
                                      "before releasing the goods.")))
    if not _text(form, "customs_reference"):
        raise FormRefused(PageError(t("A release needs its customs reference.")))
    if _text(form, "confirm") != "yes":
        raise FormRefused(PageError(t("Tick the box to confirm the release: it cannot be "
                                      "undone.")))


def decision_body(form: FormData) -> DecisionFields:
    """The decision form's fields (ValueError in plain words for a duty line half filled
    in; the service says what else is wrong)."""
    reasons = []
    for line in (_text(form, "reasons") or "").splitlines():
        if line.strip():
            code, sep, text = line.partition(":")
            if not sep:
                code, text = "other", line
            reasons.append(Reason(code.strip() or "other", text.strip()))
    duty_lines = []
    for i in range(DUTY_ROWS):
        row = {k: _text(form, f"duty_{k}_{i}") for k in
               ("tax_type", "base", "rate", "amount", "currency")}
        if any(row.values()):
            missing = [k.replace("_", " ") for k, v in row.items() if not v]
            if missing:
                raise FormRefused(PageError(
                    t("Duty line {line} is not complete: fill in every field of it.",
                      line=i + 1), f"duty line {i + 1}: fill in {', '.join(missing)}"))
            duty_lines.append(DutyLineFields(
                tax_type=str(row["tax_type"]), base=str(row["base"]), rate=str(row["rate"]),
                amount=str(row["amount"]), currency=str(row["currency"]).upper()))
    guarantee_currency = _text(form, "guarantee_currency")
    return DecisionFields(
        kind=_text(form, "kind") or "", decision_id=_text(form, "decision_id"),
        customs_reference=_text(form, "customs_reference"),
        delivery_id=_text(form, "delivery_id"), reasons=tuple(reasons),
        duty_lines=tuple(duty_lines), guarantee_reference=_text(form, "guarantee_reference"),
        guarantee_amount=_text(form, "guarantee_amount"),
        guarantee_currency=guarantee_currency.upper() if guarantee_currency else None,
        text=_text(form, "text"))


@router.post("/customs/shipments/{shipment_id}/decisions", name="ui_decide")
async def decide(request: Request, shipment_id: str, services: ServicesDep,
                 user: UserDep) -> Response:
    require_kind(user, PartyKind.CUSTOMS, what="decision form")
    country = _own_country(user)
    form = await request.form(max_files=0, max_fields=60)
    error: PageError | None = None
    try:
        check_csrf(user, _text(form, "csrf"))
        actor = customs_actor(user.principal, country, members=services.members)
        legs = await run_in_threadpool(_leg_status, services, user, shipment_id, country)
        check_release(form, legs)
        decision = customs.decision_from_fields(decision_body(form), country=country,
                                                shipment_id=shipment_id)
        await run_in_threadpool(customs.decide, RecordDecision(decision, actor),
                                uow=services.uow, checker=services.checker,
                                gates=services.decision_gates)
    except NotFoundError:
        raise PageNotFound(f"shipment {shipment_id}") from None
    except ExchangeError as exc:
        error = explain(exc)
    except FormRefused as exc:
        error = exc.error
    except ValueError as exc:
        error = PageError(t("The decision is not complete."), str(exc))
    else:
        return RedirectResponse(f"/ui/shipments/{shipment_id}?notice=decision-{decision.kind}",
                                status_code=303)
    view = await run_in_threadpool(shipment_page, services, user, shipment_id,
                                   reader_locale(request))
    my_leg = next((leg for leg in view["legs"] if leg["country"] == country), None)
    return render(request, "shipment.html", user, status=422, s=view, my_leg=my_leg,
                  decision_kinds=DECISION_KINDS, decision_error=error,
                  decision_form={k: v for k, v in form.items() if isinstance(v, str)})


def _leg_status(services: Services, user: SignedIn, shipment_id: str, country: str
                ) -> str | None:
    from exchange.documents import tracking
    from exchange.documents.errors import ShipmentNotFound
    from exchange.parties.keys import scope_of

    try:
        view = tracking.read_shipment(
            tracking.ShipmentQuery(shipment_id, scope_of(user.principal)),
            uow_factory=services.uow, dossier=services.settings.dossier,
            payments=services.payments_view)
    except ShipmentNotFound:
        raise PageNotFound(f"shipment {shipment_id}") from None
    return next((leg["status"] for leg in view["legs"] if leg["country"] == country), None)


def new_decision_id(country: str) -> str:
    return f"{country}-ui-{uuid.uuid4().hex}"
