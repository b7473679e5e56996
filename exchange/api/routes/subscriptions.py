"""Event notifications: ``/v1/subscriptions`` (a party's webhooks) and what operators see
of them (:mod:`exchange.notifications.subscriptions`).

A forwarder, a customs authority or an operator registers a URL and the kinds of event it
wants; the answer to the creation carries the signing secret, once. Each notification is
a POST of the event's JSON signed with ``Exchange-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>">`` (see :mod:`exchange.notifications.signing`). A party sees and
deletes its own subscriptions (another's answers 404); an operator sees every party's,
e.g. ``?status=paused``, and may resume one. Bad URLs and unknown kinds are 422 problems
with their own codes (``subscription-url-scheme``, ``-url-credentials``, ``-url-private``,
``-url-invalid``, ``-url-unresolvable``, ``subscription-kind-unknown``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from exchange.api.deps import PrincipalDep, ServicesDep
from exchange.api.openapi import problems
from exchange.notifications import subscriptions as subs
from exchange.notifications.kinds import NotificationKind
from exchange.notifications.signing import SIGNATURE_HEADER

__all__ = ["router"]

router = APIRouter(tags=["subscriptions"], responses=problems(403, 404, 409))

KINDS = ", ".join(k.value for k in NotificationKind)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048,
                     description="http(s) URL the notifications are POSTed to; no user or "
                                 "password in it; a public address unless the operator "
                                 "allows private ones")
    kinds: list[str] = Field(min_length=1, max_length=20,
                             description=f"event kinds to be told of: {KINDS}",
                             examples=[["leg.released", "shipment.cleared"]])
    description: str | None = Field(default=None, max_length=200)


class SubscriptionOut(BaseModel):
    id: str
    party_id: str
    url: str
    kinds: list[str]
    description: str | None
    status: Literal["active", "paused"]
    failures: int = Field(description="failed attempts since the last delivered notification")
    last_error: str | None
    paused_reason: str | None
    created_at: datetime = Field(description="RFC 3339, with offset")
    updated_at: datetime
    paused_at: datetime | None
    last_delivered_at: datetime | None
    notifications: dict[str, int] = Field(
        description="notifications per status (pending, sending, retrying, delivered, dead)")

    @classmethod
    def of(cls, s: subs.Subscription) -> SubscriptionOut:
        return cls(id=s.id, party_id=s.party_id, url=s.url, kinds=s.kinds,
                   description=s.description, status=s.status,
                   failures=s.failures, last_error=s.last_error,
                   paused_reason=s.paused_reason, created_at=s.created_at,
                   updated_at=s.updated_at, paused_at=s.paused_at,
                   last_delivered_at=s.last_delivered_at, notifications=s.notifications)


class SignatureScheme(BaseModel):
    header: str = SIGNATURE_HEADER
    scheme: str = "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + raw body)>"
    tolerance_seconds: int = Field(description="refuse a t further than this from now")


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="the signing secret; shown this once, stored sealed")
    signature: SignatureScheme


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class TestEventOut(BaseModel):
    event_id: str
    delivered: bool
    status_code: int | None
    error: str | None


@router.post("/v1/subscriptions", status_code=201, response_model=SubscriptionCreated,
             operation_id="create_subscription",
             summary="Be told of events by signed HTTP requests (webhooks)")
async def create(body: SubscriptionIn, services: ServicesDep, principal: PrincipalDep
                 ) -> SubscriptionCreated:
    settings = services.settings.notifications
    created = await run_in_threadpool(
        subs.create_subscription,
        subs.CreateSubscription(url=body.url, kinds=body.kinds, description=body.description),
        principal=principal, store=services.uow, box=services.secrets, settings=settings)
    out = SubscriptionOut.of(created.subscription)
    return SubscriptionCreated(**out.model_dump(), secret=created.secret,
                               signature=SignatureScheme(
                                   tolerance_seconds=settings.tolerance_seconds))


@router.get("/v1/subscriptions", response_model=SubscriptionList,
            operation_id="list_subscriptions",
            summary="The caller's subscriptions (operators: every party's)")
def list_all(services: ServicesDep, principal: PrincipalDep,
             status: Annotated[Literal["active", "paused"] | None, Query()] = None
             ) -> SubscriptionList:
    items = subs.list_subscriptions(principal=principal, store=services.uow, status=status)
    return SubscriptionList(items=[SubscriptionOut.of(s) for s in items])


@router.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionOut,
            operation_id="get_subscription", summary="One subscription and its notifications")
def get_one(subscription_id: str, services: ServicesDep, principal: PrincipalDep
            ) -> SubscriptionOut:
    return SubscriptionOut.of(subs.get_subscription(subscription_id, principal=principal,
                                                    store=services.uow))


@router.delete("/v1/subscriptions/{subscription_id}", status_code=204,
               operation_id="delete_subscription",
               summary="Delete a subscription (nothing more is sent to it)")
async def delete(subscription_id: str, services: ServicesDep, principal: PrincipalDep
                 ) -> Response:
    await run_in_threadpool(subs.delete_subscription, subscription_id, principal=principal,
                            store=services.uow)
    return Response(status_code=204)


@router.post("/v1/subscriptions/{subscription_id}/resume", response_model=SubscriptionOut,
             operation_id="resume_subscription",
             summary="Resume a paused subscription; its dead notifications are sent again")
async def resume(subscription_id: str, services: ServicesDep, principal: PrincipalDep
                 ) -> SubscriptionOut:
    return SubscriptionOut.of(await run_in_threadpool(
        subs.resume_subscription, subscription_id, principal=principal, store=services.uow))


@router.post("/v1/subscriptions/{subscription_id}/test", response_model=TestEventOut,
             operation_id="test_subscription",
             summary="Send a signed test event now and say what the subscriber answered")
async def send_test(subscription_id: str, services: ServicesDep, principal: PrincipalDep
               ) -> TestEventOut:
    sent = await run_in_threadpool(
        subs.send_test_event, subscription_id, principal=principal, store=services.uow,
        box=services.secrets, settings=services.settings.notifications)
    return TestEventOut(event_id=sent.event_id, delivered=sent.delivered,
                        status_code=sent.status_code, error=sent.error)
