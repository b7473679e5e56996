"""The operator's pages: members and adapters, parties and keys, dead deliveries with
replay (:mod:`exchange.delivery.deliveries`), and the health page."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from exchange.delivery import deliveries
from exchange.delivery.deliveries import ReplayDelivery
from exchange.domain import PartyKind
from exchange.parties.keys import list_parties
from exchange.errors import ExchangeError, NotFoundError
from exchange.http.metrics import read_health
from exchange.services import Services
from exchange.web.rendering import (
    PageNotFound,
    PageRoute,
    ServicesDep,
    UserDep,
    render,
    require_kind,
)
from exchange.web.session import check_csrf

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


def _overview(services: Services) -> dict[str, Any]:
    parties = [{"id": item.party.id, "kind": item.party.kind, "name": item.party.name,
                "country": item.party.country,
                "keys": [{"key_id": k.key_id, "created_at": k.created_at,
                          "revoked_at": k.revoked_at} for k in item.keys]}
               for item in list_parties(services.uow)]
    failed = [{"id": d.id, "shipment_id": d.shipment_id, "country": d.country,
               "adapter": d.adapter, "status": d.status, "attempts": d.attempts,
               "reason": d.reason, "last_error": d.last_error, "updated_at": d.updated_at}
              for d in deliveries.failed_deliveries(uow=services.uow)]
    return {"parties": parties, "failed": failed}


@router.get("", name="ui_operator")
async def overview(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    data = await run_in_threadpool(_overview, services)
    return render(request, "operator.html", user, members=_members(services),
                  notice=request.query_params.get("notice"), **data)


@router.get("/health", name="ui_health")
async def health(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, PartyKind.OPERATOR, what="operator page")
    figures = await run_in_threadpool(read_health, services)
    return render(request, "health.html", user, h=figures)


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
        error = exc.message
    else:
        return RedirectResponse(f"/ui/operator?notice=replayed-{delivery_id}", status_code=303)
    data = await run_in_threadpool(_overview, services)
    return render(request, "operator.html", user, status=409, members=_members(services),
                  error=error, **data)
