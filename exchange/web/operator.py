"""The operator's pages: members and adapters, parties and keys, dead deliveries with
replay (:mod:`exchange.delivery.deliveries`), the webhook subscriptions with what became of
their notifications (:mod:`exchange.notifications.subscriptions`), and the health page."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from exchange.delivery import deliveries
from exchange.delivery.deliveries import ReplayDelivery
from exchange.documents.errors import CursorInvalid
from exchange.domain import PartyKind
from exchange.errors import ExchangeError, NotFoundError
from exchange.http.metrics import read_health
from exchange.i18n import t
from exchange.notifications.subscriptions import list_subscriptions
from exchange.parties.keys import list_parties, party_names
from exchange.services import Services
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

__all__ = ["router"]

router = APIRouter(prefix="/ui/operator", route_class=PageRoute)


_SECRET_WORDS = ("token", "secret", "pass", "key")


def _members(services: Services) -> list[dict[str, Any]]:
    def shown(name: str, value: object) -> bool:
        return value is not None and not any(w in name.lower() for w in _SECRET_WORDS)

    return [{"code": m.code, "name": m.name, "currency": m.currency, "adapter": m.adapter,
             "require_signature": m.require_signature,
             "settings": {k: v for k, v in m.settings.items() if shown(k, v)}}
            for m in services.members]


def _overview(services: Services, filters: dict[str, str] | None = None) -> dict[str, Any]:
    """The operator page: a page of the dead letters (``after``: its cursor; the next page's
    address keeps the filters), their counts, the parties and their keys."""
    filters = {"country": "", "status": "", "after": ""} | (filters or {})
    parties = [{"id": item.party.id, "kind": item.party.kind, "name": item.party.name,
                "country": item.party.country,
                "keys": [{"key_id": k.key_id, "created_at": k.created_at,
                          "revoked_at": k.revoked_at} for k in item.keys]}
               for item in list_parties(services.uow)]
    try:
        page = deliveries.failed_page(deliveries.FailedQuery(
            country=filters["country"] or None, status=filters["status"] or None,
            limit=PAGE_SIZE, cursor=filters["after"] or None), uow=services.uow)
    except CursorInvalid:
        raise PageNotFound("page") from None
    failed = [{"id": d.id, "shipment_id": d.shipment_id, "country": d.country,
               "adapter": d.adapter, "status": d.status, "attempts": d.attempts,
               "reason": d.reason, "last_error": d.last_error, "updated_at": d.updated_at}
              for d in page.items]
    return {"parties": parties, "failed": failed, "failed_counts": page.counts,
            "failed_total": page.total, "filters": filters,
            "failed_next": next_page("/ui/operator", filters, page.next_cursor)}


def _filters(request: Request, services: Services) -> dict[str, str]:
    country = (request.query_params.get("country") or "").upper()
    status = request.query_params.get("status") or ""
    return {"country": country if country in services.member_codes else "",
            "status": status if status in ("dead", "rejected") else "",
            "after": (request.query_params.get("after") or "")[:200]}


@router.get("", name="ui_operator")
async def overview(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    data = await run_in_threadpool(_overview, services, _filters(request, services))
    return render(request, "operator.html", user, members=_members(services),
                  notice=request.query_params.get("notice"),
                  replayed=request.query_params.get("replayed"), **data)


@router.get("/health", name="ui_health")
async def health(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    figures = await run_in_threadpool(read_health, services)
    return render(request, "health.html", user, h=figures, members=_members(services))


_QUEUED = ("waiting", "pending", "sending")


def _subscriptions(services: Services, user: SignedIn) -> dict[str, Any]:
    """Every party's subscriptions (as ``exchange subscriptions list`` shows them), each
    with its notifications counted as delivered, queued, failing (to be retried) and dead."""
    found = list_subscriptions(principal=user.principal, store=services.uow)
    names = party_names(services.uow, {s.party_id for s in found})
    rows = [{"s": s, "party": names.get(s.party_id, s.party_id[:8]),
             "delivered": s.notifications.get("delivered", 0),
             "queued": sum(s.notifications.get(k, 0) for k in _QUEUED),
             "failing": s.notifications.get("retrying", 0),
             "dead": s.notifications.get("dead", 0)} for s in found]
    return {"subscriptions": rows,
            "paused": sum(1 for s in found if s.status == "paused")}


@router.get("/subscriptions", name="ui_subscriptions")
async def subscriptions(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    data = await run_in_threadpool(_subscriptions, services, user)
    return render(request, "subscriptions.html", user, **data)


def _replay_all(services: Services, ids: list[str], actor_id: str
                ) -> tuple[int, list[PageError]]:
    done, errors = 0, []
    for delivery_id in ids:
        try:
            deliveries.replay(ReplayDelivery(delivery_id, actor_id), uow=services.uow)
        except NotFoundError:
            errors.append(PageError(t("Delivery {delivery} was not found.",
                                      delivery=delivery_id[:8])))
        except ExchangeError as exc:
            errors.append(explain(exc))
        else:
            done += 1
    return done, errors


@router.post("/deliveries/replay", name="ui_replay_many")
async def replay_many(request: Request, services: ServicesDep, user: UserDep) -> Response:
    """Replay every delivery ticked in the dead-letter table."""
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    form = await request.form(max_files=0, max_fields=1001)
    csrf = form.get("csrf")
    check_csrf(user, csrf if isinstance(csrf, str) else None)
    ids = sorted({v for v in form.getlist("delivery") if isinstance(v, str) and v})
    if not ids:
        data = await run_in_threadpool(_overview, services)
        return render(request, "operator.html", user, status=422, members=_members(services),
                      error=PageError(t("Tick the deliveries to send again.")), **data)
    done, errors = await run_in_threadpool(_replay_all, services, ids, user.party.id)
    if not errors:
        return RedirectResponse(f"/ui/operator?replayed={done}", status_code=303)
    data = await run_in_threadpool(_overview, services)
    return render(request, "operator.html", user, status=409, members=_members(services),
                  error=errors[0], replayed=str(done), **data)


@router.post("/deliveries/{delivery_id}/replay", name="ui_replay")
async def replay(request: Request, delivery_id: str, services: ServicesDep,
                 user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    form = await request.form(max_files=0, max_fields=5)
    csrf = form.get("csrf")
    error = None
    try:
        check_csrf(user, csrf if isinstance(csrf, str) else None)
        await run_in_threadpool(deliveries.replay, ReplayDelivery(delivery_id, user.party.id),
                                uow=services.uow)
    except NotFoundError:
        raise PageNotFound(f"delivery {delivery_id}") from None
    except ExchangeError as exc:
        error = explain(exc)
    else:
        return RedirectResponse(f"/ui/operator?notice=replayed-{delivery_id}", status_code=303)
    data = await run_in_threadpool(_overview, services)
    return render(request, "operator.html", user, status=409, members=_members(services),
                  error=error, **data)
