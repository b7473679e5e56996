"""Payments: ``/v1/shipments/{id}/payments`` (status, entries, payments and refunds in),
``/v1/payments/camt054`` (bank notifications) and ``/v1/payments/unmatched`` (operators).

Who may do what:

* forwarders pay their own shipments (any other shipment: 404, as everywhere);
* payment providers pay any shipment and post camt.054 files; when the provider has a
  signing secret (or ``[payments] require_signature``), the request must carry
  ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (401 otherwise);
* refunds (``"kind": "refund"``) come from an operator or the customs of the leg's country;
* the status and entries are seen by whoever sees the shipment, and by payment providers.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ...bootstrap import Services
from ...camt054 import CamtError
from ...domain import PartyKind
from ...ledger import LedgerError, ReferenceConflictError
from ...parties import Principal
from ...payments import (
    PaymentRequest,
    PaymentsError,
    SignatureError,
    check_signature,
    entry_view,
    import_camt054,
    payments_view,
    provider_secret,
    record_payment,
    retrying,
)
from ...secretbox import SecretBoxError
from ...store import Scope
from ...store.ledger import entry_from_row
from ..deps import PrincipalDep, ServicesDep, not_found
from ..problems import Problem

__all__ = ["router"]

router = APIRouter(tags=["payments"])
log = logging.getLogger("exchange.api.access")


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


def _scope(principal: Principal) -> Scope:
    from ...parties import scope_of

    if principal.kind is PartyKind.PAYMENT_PROVIDER:
        return Scope(everything=True)
    return scope_of(principal)


def _ledger_problem(exc: Exception) -> Problem:
    code = getattr(exc, "code", "payments").replace(".", "-")
    if isinstance(exc, ReferenceConflictError):
        return Problem(409, code, "The reference was already used", str(exc))
    return Problem(422, code, "The payment is refused", str(exc))


def _signature(services: Services, principal: Principal, request: Request, body: bytes
               ) -> None:
    if principal.kind is not PartyKind.PAYMENT_PROVIDER:
        return
    settings = services.settings.payments
    try:
        with services.uow.reading() as uow:
            secret = provider_secret(uow, services.secrets, principal.party.id)
    except SecretBoxError as exc:  # another key than the one the secret was sealed with
        log.error("payment provider %s: %s", principal.party.id, exc.message)
        raise Problem(503, "signature-key-unavailable", "Signature cannot be checked",
                      "the hub cannot open this provider's signing secret; an operator "
                      "must check the secrets key") from None
    try:
        check_signature(secret, request.headers.get(settings.signature_header), body,
                        required=settings.require_signature,
                        header_name=settings.signature_header)
    except SignatureError as exc:
        log.warning("payment provider %s: %s", principal.party.id, exc.code)
        raise Problem(401, exc.code.replace(".", "-"), "Signature refused", exc.message,
                      headers={"WWW-Authenticate": "HMAC-SHA256"}) from None


def _view(services: Services, shipment_id: str, principal: Principal, limit: int,
          before: int | None) -> dict[str, Any]:
    with services.uow.reading() as uow:
        shipment = uow.shipments.get(shipment_id, _scope(principal))
        if shipment is None:
            raise not_found(principal, shipment_id)
        out = payments_view(uow.ledger, shipment, members=services.members)
        rows = uow.ledger.entries(shipment.id, limit=limit + 1, before=before)
        more = len(rows) > limit
        rows = rows[:limit]
        out["entries"] = [entry_view(entry_from_row(r)) | {"seq": r.id} for r in rows]
        out["next_before"] = rows[-1].id if more and rows else None
        out["guarantees"] = [{"country": g.country, "reference": g.reference,
                              "amount": g.guarantee().money.to_dict(),
                              "decision_id": g.decision_id}
                             for g in uow.ledger.guarantees(shipment.id)]
        out["links"] = {"self": f"/v1/shipments/{shipment.id}/payments",
                        "shipment": f"/v1/shipments/{shipment.id}"}
        return out


@router.get("/v1/shipments/{shipment_id}/payments",
            summary="Payment status per leg and for the shipment, and its ledger entries")
def get_payments(shipment_id: str, services: ServicesDep, principal: PrincipalDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 before: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    return _view(services, shipment_id, principal, limit, before)


def _pay(services: Services, shipment_id: str, principal: Principal, body: PaymentIn
         ) -> tuple[int, dict[str, Any]]:
    def work() -> tuple[int, dict[str, Any]]:
        with services.uow.writing() as uow:
            shipment = uow.shipments.get(shipment_id, _scope(principal))
            if shipment is None:
                raise not_found(principal, shipment_id)
            if body.kind == "refund" and not (
                    principal.kind is PartyKind.OPERATOR or (
                        principal.kind is PartyKind.CUSTOMS
                        and principal.party.country == (body.country or ""))):
                raise Problem(403, "forbidden", "Forbidden",
                              "refunds are recorded by an operator or by the customs of the "
                              "leg's country (give 'country')")
            if body.kind == "payment" and principal.kind not in (
                    PartyKind.FORWARDER, PartyKind.PAYMENT_PROVIDER, PartyKind.OPERATOR):
                raise Problem(403, "forbidden", "Forbidden",
                              f"a {principal.kind} party does not post payments")
            try:
                posting = record_payment(uow, shipment, PaymentRequest(
                    kind=body.kind, amount=body.amount, currency=body.currency,
                    reference=body.reference, country=body.country, payer=body.payer,
                    reason=body.reason), members=services.members,
                    actor_id=principal.party.id)
            except (LedgerError, PaymentsError) as exc:
                raise _ledger_problem(exc) from None
            out = {"recorded": posting.recorded, "entry": entry_view(posting.entry),
                   "payments": payments_view(uow.ledger, shipment, members=services.members)}
            uow.commit()
            return (201 if posting.recorded else 200), out

    return retrying(work)


@router.post("/v1/shipments/{shipment_id}/payments", status_code=201,
             summary="Record a payment (idempotent by its reference) or a refund")
async def post_payment(shipment_id: str, request: Request, services: ServicesDep,
                       principal: PrincipalDep) -> Any:
    raw = await request.body()
    await run_in_threadpool(_signature, services, principal, request, raw)
    try:
        body = PaymentIn.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Problem(422, "payment-invalid", "The payment is not valid",
                      f"{where}: {first['msg']}") from None
    status, out = await run_in_threadpool(_pay, services, shipment_id, principal, body)
    return JSONResponse(out, status_code=status)


@router.post("/v1/payments/camt054",
             summary="Import an ISO 20022 camt.054 notification (operator, payment provider)")
async def post_camt054(request: Request, services: ServicesDep,
                       principal: PrincipalDep) -> Any:
    if principal.kind not in (PartyKind.OPERATOR, PartyKind.PAYMENT_PROVIDER):
        raise Problem(403, "forbidden", "Forbidden",
                      "bank notifications are imported by operators and payment providers")
    raw = await request.body()
    await run_in_threadpool(_signature, services, principal, request, raw)
    try:
        result = await run_in_threadpool(
            import_camt054, services.uow, raw, members=services.members,
            actor_id=principal.party.id, max_bytes=services.settings.payments.camt_max_bytes)
    except CamtError as exc:
        extra = {k: v for k, v in (("line", exc.line), ("column", exc.column)) if v}
        raise Problem(422, exc.code.replace(".", "-"), "The camt.054 file is refused; "
                      "nothing of it was recorded", exc.message, **extra) from None
    return JSONResponse(result.to_dict(), status_code=200)


@router.get("/v1/payments/unmatched",
            summary="Bank transactions that matched no assessment (operators)")
def unmatched(services: ServicesDep, principal: PrincipalDep,
              reason: Annotated[str | None, Query(max_length=32)] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    import json

    if principal.kind is not PartyKind.OPERATOR:
        raise Problem(403, "forbidden", "Forbidden", "only operators see unmatched payments")
    with services.uow.reading() as uow:
        rows = uow.ledger.unmatched(limit=limit, reason=reason)
        return {"items": [{"key": r.key, "message_id": r.message_id, "reason": r.reason,
                           "message": r.message, "received_at": r.created_at.isoformat(),
                           "transaction": json.loads(r.data_json)["transaction"]}
                          for r in rows]}
