"""Payments: ``/v1/shipments/{id}/payments`` (status, entries, payments and refunds in),
``/v1/payments/camt054`` (bank notifications) and ``/v1/payments/camt053`` (bank
statements: the same import, either message to either) and ``/v1/payments/unmatched``
(operators).

Who may do what is :mod:`exchange.payments.access`'s; the routes parse the request, call one
use case and answer with its result. Errors of the payments are problems by their kind
(:mod:`exchange.payments.errors`): a refused payment 422 (``ledger-*``, ``money-*``), a
reference used before 409, a refused bank file 422 (``camt054-*``, with ``line`` and
``column``), a role that may not 403, a shipment out of scope 404, the bank files' schema
pack not installed 503.

A payment provider with a signing secret (or every one, with ``[payments]
require_signature``) signs the raw body of its POSTs: ``X-Signature: sha256=<hex
HMAC-SHA256>`` (:func:`exchange.payments.providers.verify_provider_signature`), checked
before the body is parsed; 401 with ``WWW-Authenticate: HMAC-SHA256`` otherwise.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from exchange.api.deps import PrincipalDep, ServicesDep
from exchange.api.models import CamtImportOut, PaymentAnswerOut, PaymentsOut, UnmatchedOut
from exchange.api.openapi import problems, request_body
from exchange.http.problems import invalid_request
from exchange.i18n import t
from exchange.payments.reconciliation import UnmatchedReason
from exchange.payments import paying
from exchange.payments.bank_files import import_camt054, unmatched_transactions
from exchange.payments.providers import verify_provider_signature
from exchange.payments.views import payments_page

__all__ = ["router"]

router = APIRouter(tags=["payments"])


class PaymentIn(BaseModel):
    model_config = {"extra": "forbid"}

    kind: Literal["payment", "refund"] = "payment"
    amount: str = Field(min_length=1, max_length=40, description="decimal, e.g. 1250.50")
    currency: str = Field(min_length=3, max_length=3)
    reference: str = Field(min_length=1, max_length=140,
                           description="the provider's payment reference (idempotency) or "
                                       "the refund's own reference")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    payer: str | None = Field(default=None, max_length=140)
    reason: str | None = Field(default=None, max_length=500)

    def request(self) -> paying.PaymentRequest:
        return paying.PaymentRequest(
            kind=self.kind, amount=self.amount, currency=self.currency,
            reference=self.reference, country=self.country, payer=self.payer,
            reason=self.reason)


async def signed_body(request: Request, services: ServicesDep, principal: PrincipalDep
                      ) -> bytes:
    """The raw body, once a payment provider's signature of it is checked."""
    body = await request.body()
    settings = services.settings.payments
    await run_in_threadpool(
        verify_provider_signature, body, request.headers.get(settings.signature_header),
        principal=principal, store=services.uow, box=services.secrets, settings=settings)
    return body


SignedBodyDep = Annotated[bytes, Depends(signed_body)]


MAX_SEQ = 2**63 - 1
"""The largest entry number a database stores (BIGINT)."""

PAYMENT_EXAMPLES = {
    "payment": {"kind": "payment", "amount": "7500.00", "currency": "UZS", "country": "UZ",
                "reference": "PSP-2026-000123", "payer": "Silk Road Forwarding LLC"},
    "refund": {"kind": "refund", "amount": "50.00", "currency": "UZS", "country": "UZ",
               "reference": "REF-1", "reason": "overpaid"}}
CAMT_BODY = request_body(
    xml="an ISO 20022 camt.054 bank-to-customer debit/credit notification (versions "
        "001.02 to 001.13)")


@router.get("/v1/shipments/{shipment_id}/payments", operation_id="get_payments",
            response_model=PaymentsOut, responses=problems(404),
            summary="Payment status per leg and for the shipment, and its ledger entries")
def get_payments(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None
                 ) -> dict[str, Any]:
    page = payments_page(shipment_id, principal=principal, store=services.uow,
                         members=services.members, limit=limit, before=before)
    return page | {"links": {"self": f"/v1/shipments/{shipment_id}/payments",
                             "shipment": f"/v1/shipments/{shipment_id}"}}


@router.post("/v1/shipments/{shipment_id}/payments", status_code=201,
             operation_id="post_payment", response_model=PaymentAnswerOut,
             openapi_extra=request_body(json=PaymentIn, json_examples=PAYMENT_EXAMPLES),
             responses=problems(403, 404, 409) | {200: {
                 "description": "This reference was recorded before: the payment as it was",
                 "model": PaymentAnswerOut}},
             summary="Record a payment (idempotent by its reference) or a refund")
async def post_payment(shipment_id: str, body: SignedBodyDep, services: ServicesDep,
                       principal: PrincipalDep) -> JSONResponse:
    try:
        payment = PaymentIn.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_request(exc.errors(), prefix=("body",), code="payment-invalid",
                              title=t("The payment is not valid")) from None
    answer = await run_in_threadpool(paying.post_payment, shipment_id, payment.request(),
                                     principal=principal, store=services.uow,
                                     members=services.members)
    return JSONResponse(answer.to_dict(), status_code=201 if answer.recorded else 200)


@router.post("/v1/payments/camt054", operation_id="import_camt054",
             response_model=CamtImportOut, openapi_extra=CAMT_BODY,
             responses=problems(403, 409, 415),
             summary="Import an ISO 20022 camt.054 notification or camt.053 statement "
                     "(operator, payment provider)")
async def post_camt054(body: SignedBodyDep, services: ServicesDep,
                       principal: PrincipalDep) -> JSONResponse:
    settings = services.settings.payments
    result = await run_in_threadpool(
        import_camt054, body, store=services.uow, members=services.members,
        validator=services.validator, principal=principal,
        max_bytes=settings.camt_max_bytes, accounts=settings.bank_accounts)
    return JSONResponse(result.to_dict(), status_code=200)


router.add_api_route(
    "/v1/payments/camt053", post_camt054, methods=["POST"], operation_id="import_camt053",
    response_model=CamtImportOut, openapi_extra=CAMT_BODY, responses=problems(403, 409, 415),
    summary="Import an ISO 20022 camt.053 statement or camt.054 notification (operator, "
            "payment provider)")


@router.get("/v1/payments/unmatched", operation_id="list_unmatched",
            response_model=UnmatchedOut, responses=problems(403),
            summary="Bank transactions that matched no assessment (operators)")
def unmatched(services: ServicesDep, principal: PrincipalDep,
              reason: Annotated[UnmatchedReason | None, Query()] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    items = unmatched_transactions(store=services.uow, principal=principal, reason=reason,
                                   limit=limit)
    return {"items": [item.to_dict() for item in items]}
