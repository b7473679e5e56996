"""The HTTP API (``/v1/``): one router per resource over :class:`~exchange.services.Services`.

:func:`exchange.bootstrap.build_app` puts it beside the dashboard (:mod:`exchange.web`)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from exchange.api.docs import install_docs
from exchange.api.openapi import install_openapi
from exchange.http.limits import BodyLimit
from exchange.services import Services
from exchange.http.problems import install_problem_handlers

__all__ = ["create_api"]

TAGS = [
    {"name": "shipments", "description": "Create a shipment (with its documents), list and "
                                          "track shipments"},
    {"name": "documents", "description": "Submit a document or an amended version; fetch one "
                                         "as received or as sealed by the hub"},
    {"name": "events", "description": "A shipment's hash-chained event log"},
    {"name": "customs", "description": "A customs authority's inbox, acknowledgements and "
                                       "decisions"},
    {"name": "deliveries", "description": "Where each document went; dead letters and "
                                          "replays (operators)"},
    {"name": "payments", "description": "Duties and fees: payments, refunds, camt.054 bank "
                                        "notifications"},
]


def _as_configured(document: dict[str, Any], services: Services) -> None:
    """The bounds of this exchange's configuration in its document: the member countries a
    route may name, the documents one request may carry."""
    schemas = document["components"]["schemas"]
    schemas["MemberCountry"] = {
        "type": "string", "enum": sorted(services.member_codes), "title": "MemberCountry",
        "description": "ISO 3166-1 alpha-2 code of a member of this exchange"}
    member = {"$ref": "#/components/schemas/MemberCountry"}
    route = schemas["RouteIn"]["properties"]
    route["origin"] = route["destination"] = member
    route["transit"]["items"] = member
    route["transit"]["uniqueItems"] = True
    schemas["ShipmentForm"]["properties"]["documents"]["maxItems"] = \
        services.settings.limits.max_documents_per_request


def create_api(services: Services) -> FastAPI:
    from exchange.api.routes import (
        customs, deliveries, documents, events, hub, payments, shipments, subscriptions)

    app = FastAPI(
        title="CAREC e-logistics document exchange",
        version="0.1.0",
        description="Submit a shipment's trade documents once; every document is validated, "
                    "verified, sealed by the hub and tracked. Errors are RFC 9457 "
                    "problem details (application/problem+json).",
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,
        openapi_tags=TAGS,
    )
    app.state.services = services
    install_problem_handlers(app)
    for module in (shipments, documents, events, customs, deliveries, payments, hub,
                   subscriptions):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    install_openapi(app, adjust=lambda document: _as_configured(document, services))
    install_docs(app)
    app.add_middleware(BodyLimit, max_bytes=services.settings.limits.max_body_bytes)
    return app
