"""One notification request: the body of an event, signed, posted to a subscriber.

    sender = Sender(settings)                                   # one pooled httpx client
    body = event_body(claimed)                                  # the same bytes every attempt
    result = sender.send(url, secret, body, event_id="123", attempt=1)

The body is the event as the shipment's log holds it (the same id, chain hash and previous
hash as ``GET /v1/shipments/{id}/events``) with the notification ``types`` it matched::

    {"id": "4711", "types": ["leg.released", "decision.recorded"], "shipment_id": "...",
     "seq": 12, "kind": "customs.released", "occurred_at": "2026-12-06T23:41:07.123456+00:00",
     "actor_id": "...", "data": {...}, "hash": "...", "prev_hash": "...",
     "subscription_id": "..."}

Headers: ``Exchange-Signature`` (:mod:`.signing`), ``Exchange-Event-Id`` (the ``id``: drop a
notification whose id was seen), ``Exchange-Attempt``. Any 2xx answer is a delivery. A 410
(the receiver says the endpoint is gone) or a URL that now fails the target checks is a
refusal for good; anything else (another status, a redirect, a time-out, a connection
refused) is tried again with backoff.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from exchange.audit import canonical_json
from exchange.config import NotificationsSettings
from exchange.errors import ExchangeError
from exchange.notifications.signing import SIGNATURE_HEADER, sign
from exchange.notifications.targets import check_target
from exchange.store.notifications import ClaimedNotification

__all__ = ["SendResult", "Sender", "event_body"]

USER_AGENT = "carec-exchange-notifications/1"


def event_body(n: ClaimedNotification) -> bytes:
    """The notification's JSON body (canonical: the same bytes on every attempt)."""
    body: dict[str, Any] = {  # Any: the event's data is JSON of any shape
        "id": str(n.event_id), "types": json.loads(n.types_json), "shipment_id": n.stream,
        "seq": n.seq, "kind": n.kind, "occurred_at": n.occurred_at, "actor_id": n.actor_id,
        "data": json.loads(n.data_json), "hash": n.hash, "prev_hash": n.prev_hash,
        "subscription_id": n.subscription_id}
    return canonical_json(body).encode()


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    status_code: int | None
    error: str | None
    retry: bool


class Sender:
    """Posts signed notifications, from any number of threads. Proxies from the environment
    are not used (``trust_env=False``), redirects are not followed."""

    def __init__(self, settings: NotificationsSettings):
        self.settings = settings
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    @property
    def _client(self) -> httpx.Client:
        """This thread's client: one per sending thread, as the customs ``https-push``
        adapter does (a shared pool's lock, taken for every request and every response,
        cost a third of the time with 8 threads)."""
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            timeout = self.settings.timeout_seconds
            client = self._local.client = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
                follow_redirects=False, trust_env=False,
                headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"})
            with self._lock:
                self._clients.append(client)
        return client

    def send(self, url: str, secret: str, body: bytes, *, event_id: str, attempt: int
             ) -> SendResult:
        try:
            check_target(url, allow_private=self.settings.allow_private_targets)
        except ExchangeError as exc:
            return SendResult(False, None, f"{exc.code}: {exc.message}", False)
        headers = {SIGNATURE_HEADER: sign(secret, body), "Exchange-Event-Id": event_id,
                   "Exchange-Attempt": str(attempt)}
        try:
            answer = self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return SendResult(False, None, f"no answer within "
                              f"{self.settings.timeout_seconds:g} s", True)
        except httpx.HTTPError as exc:
            return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500], True)
        code = answer.status_code
        if 200 <= code < 300:
            return SendResult(True, code, None, False)
        error = f"HTTP {code} {answer.reason_phrase}".strip()
        return SendResult(False, code, error, code != 410)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
