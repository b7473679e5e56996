"""The HTTP API (``/v1/``): one router per resource over :class:`~exchange.services.Services`.

:func:`exchange.bootstrap.build_app` puts it beside the dashboard (:mod:`exchange.web`)."""
from __future__ import annotations

from fastapi import FastAPI

from exchange.http.limits import BodyLimit
from exchange.services import Services
from exchange.http.problems import install_problem_handlers

__all__ = ["create_api"]


def create_api(services: Services) -> FastAPI:
    from exchange.api.routes import (
        customs,
        deliveries,
        documents,
        events,
        payments,
        shipments,
        subscriptions,
    )

    app = FastAPI(
        title="CAREC e-logistics document exchange",
        version="0.1.0",
        description="Submit a shipment's trade documents once; every document is validated, "
                    "verified, sealed by the hub and tracked. Errors are RFC 9457 "
                    "problem details (application/problem+json).",
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
    )
    app.state.services = services
    install_problem_handlers(app)
    for module in (shipments, documents, events, customs, deliveries, payments,
                   subscriptions):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodyLimit, max_bytes=services.settings.limits.max_body_bytes)
    return app
