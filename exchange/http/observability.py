"""What every HTTP request of the exchange gets, API and dashboard alike: a request id
(``X-Request-ID``) bound to every log line, one JSON log line per request, and the
Prometheus metrics; and what every connection gets: the limits of :mod:`exchange.http.edge`,
handed to the server through the lifespan state.

Who may read the metrics is ``EXCHANGE_SERVER_METRICS``:

- ``operator`` (the default): ``/metrics`` with an operator's API key
  (``Authorization: Bearer <key>``, as the API); another key answers 403, none 401;
- ``open``: ``/metrics`` without a key (behind a proxy that keeps it private);
- ``loopback``: no ``/metrics`` on the main port; a listener of its own on
  127.0.0.1:``EXCHANGE_SERVER_METRICS_PORT`` serves it without a key, from startup to
  shutdown of the application.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from exchange.domain import PartyKind
from exchange.errors import ForbiddenError
from exchange.http.edge import EDGE_STATE, Edge
from exchange.http.logs import RequestIdMiddleware, configure_logging
from exchange.http.metrics import Metrics, MetricsListener
from exchange.i18n import t
from exchange.parties.keys import authenticate
from exchange.services import Services

__all__ = ["install_observability"]

def _check_operator(services: Services, authorization: str | None) -> None:
    with services.uow.lookups() as uow:
        principal = authenticate(uow, authorization)
    if principal.kind is not PartyKind.OPERATOR:
        raise ForbiddenError(t("only operators read the metrics; this key belongs to a {kind} party",
                               kind=str(principal.kind)))


def install_observability(app: FastAPI, services: Services) -> None:
    """Add request ids, logs, the metrics (as the settings say) and the connection limits
    (after every router: the middleware wraps them all)."""
    configure_logging()
    metrics = Metrics(services)
    app.state.metrics = metrics
    server = services.settings.server
    if server.metrics != "loopback":
        operators_only = server.metrics == "operator"

        @app.get("/metrics", include_in_schema=False)
        def prometheus(request: Request) -> Response:
            if operators_only:
                _check_operator(services, request.headers.get("authorization"))
            body, media = metrics.render()
            return Response(body, media_type=media)

    edge = Edge.of(server, services.settings.limits, observe=metrics.observe)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(this: Any) -> AsyncIterator[dict[str, Any]]:
        listener = None
        if server.metrics == "loopback":
            listener = MetricsListener(metrics, server.metrics_port)
            listener.start()
        try:
            async with inner(this) as state:
                yield {**(state or {}), EDGE_STATE: edge}
        finally:
            if listener is not None:
                listener.stop()

    app.router.lifespan_context = lifespan
    app.add_middleware(RequestIdMiddleware, observe=metrics.observe)
