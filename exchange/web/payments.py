"""The payment provider's pages (operators see them too): the assessments awaiting payment
across shipments, with their RF references and due dates; recording a payment against one;
the bank transactions that matched no assessment.

They call the same use cases as ``/v1/shipments/{id}/payments`` and ``/v1/payments/unmatched``
(:mod:`exchange.payments`), which decide who may do what.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from exchange.domain import PartyKind
from exchange.errors import ExchangeError, NotFoundError
from exchange.i18n import t
from exchange.payments import paying
from exchange.payments.bank_files import unmatched_transactions
from exchange.payments.views import awaiting_payment
from exchange.services import Services
from exchange.web.rendering import (
    PageError,
    PageNotFound,
    PageRoute,
    ServicesDep,
    UserDep,
    explain,
    render,
    require_kind,
)
from exchange.web.session import SignedIn, check_csrf

__all__ = ["router"]

router = APIRouter(prefix="/ui/payments", route_class=PageRoute)
_WHO = (PartyKind.PAYMENT_PROVIDER, PartyKind.OPERATOR)


def _page(services: Services, user: SignedIn, country: str | None) -> dict[str, Any]:
    awaiting = awaiting_payment(principal=user.principal, store=services.uow,
                                country=country)
    unmatched = unmatched_transactions(store=services.uow, principal=user.principal, limit=50)
    return {"awaiting": awaiting, "unmatched": unmatched,
            "overdue": sum(1 for a in awaiting if a.overdue)}


def _country(request: Request, services: Services) -> str | None:
    country = (request.query_params.get("country") or "").upper()
    return country if country in services.member_codes else None


async def _render(request: Request, services: Services, user: SignedIn, *, status: int = 200,
                  country: str | None = None, **context: Any) -> Response:
    data = await run_in_threadpool(_page, services, user, country)
    return render(request, "payments.html", user, status=status, country=country or "",
                  members=services.members.countries, **data, **context)


@router.get("", name="ui_payments")
async def payments(request: Request, services: ServicesDep, user: UserDep) -> Response:
    require_kind(user, *_WHO, what="payments")
    return await _render(request, services, user, country=_country(request, services),
                         recorded=request.query_params.get("recorded"))


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


@router.post("/{shipment_id}", name="ui_record_payment")
async def record(request: Request, shipment_id: str, services: ServicesDep,
                 user: UserDep) -> Response:
    """Record a payment received for one leg of a shipment (idempotent by its reference)."""
    require_kind(user, *_WHO, what="payments")
    form = await request.form(max_files=0, max_fields=10)
    error: PageError | None = None
    try:
        check_csrf(user, _text(form, "csrf"))
        payment = paying.PaymentRequest(
            kind="payment", amount=_text(form, "amount") or "",
            currency=(_text(form, "currency") or "").upper(),
            reference=_text(form, "reference") or "", country=_text(form, "country"),
            payer=_text(form, "payer"))
        if not payment.reference:
            raise _Missing()
        await run_in_threadpool(paying.post_payment, shipment_id, payment,
                                principal=user.principal, store=services.uow,
                                members=services.members)
    except NotFoundError:
        raise PageNotFound(f"shipment {shipment_id}") from None
    except _Missing:
        error = PageError(t("Enter the payment's own reference (from your bank or system)."))
    except ExchangeError as exc:
        error = explain(exc)
    else:
        return RedirectResponse(f"/ui/payments?recorded={shipment_id}", status_code=303)
    return await _render(request, services, user, status=422, error=error,
                         failed=shipment_id, form={k: v for k, v in form.items()
                                                   if isinstance(v, str)})


class _Missing(Exception):
    """The form left out the payment's reference."""
