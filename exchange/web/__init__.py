"""The web dashboard (``/ui/``), Prometheus metrics (``/metrics``), request ids and logs.

    from exchange.web import install_dashboard
    install_dashboard(app)      # in exchange.api.create_api, after the API routers

Pages are rendered on the server with Jinja2 (templates/, one small CSS file in static/, no
build step). They authorise exactly as the API does (:mod:`exchange.parties`) and call the
same service functions as the API routes.
"""
from __future__ import annotations

from typing import Any

__all__ = ["install_dashboard"]


def install_dashboard(app: Any) -> None:
    from fastapi.staticfiles import StaticFiles
    from starlette.responses import Response

    from . import auth, inbox, operator, shipments
    from .inbox import new_decision_id
    from .logs import RequestIdMiddleware, configure_logging
    from .metrics import Metrics
    from .rendering import HERE, PageNotFound, install_page_errors, templates

    configure_logging()
    metrics = Metrics(app.state.services)
    app.state.metrics = metrics
    templates.env.globals["new_decision_id"] = new_decision_id
    install_page_errors(app)
    for module in (auth, shipments, inbox, operator):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui_static")

    @app.get("/ui/{path:path}", include_in_schema=False)
    def unknown_page(path: str) -> Response:  # after every page and the static files
        raise PageNotFound("page")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, media = metrics.render()
        return Response(body, media_type=media)

    app.add_middleware(RequestIdMiddleware, observe=metrics.observe)
