"""What every HTTP request of the exchange gets, API and dashboard alike: a request id
(``X-Request-ID``) bound to every log line, one JSON log line per request, and the
Prometheus metrics at ``/metrics``."""
from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response

from exchange.http.logs import RequestIdMiddleware, configure_logging
from exchange.http.metrics import Metrics
from exchange.services import Services

__all__ = ["install_observability"]


def install_observability(app: FastAPI, services: Services) -> None:
    """Add request ids, logs and ``/metrics`` (after every router: the middleware wraps
    them all)."""
    configure_logging()
    metrics = Metrics(services)
    app.state.metrics = metrics

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, media = metrics.render()
        return Response(body, media_type=media)

    app.add_middleware(RequestIdMiddleware, observe=metrics.observe)
