"""The web dashboard (``/ui/``): pages for forwarders, customs officers, operators and payment
providers, in English, Russian and Chinese (:mod:`exchange.web.language`).

    from exchange.web import install_dashboard
    install_dashboard(app)      # in exchange.bootstrap.build_app, beside the API routers

Pages are rendered on the server with Jinja2 (templates/, one small CSS file in static/, no
build step). They authorise exactly as the API does (:mod:`exchange.parties`) and call the
same service functions as the API routes; they never import from :mod:`exchange.api`.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, RedirectResponse, Response

__all__ = ["install_dashboard"]


def install_dashboard(app: FastAPI) -> None:
    from exchange.web import auth, documents, inbox, language, operator, payments, shipments
    from exchange.web.inbox import new_decision_id
    from exchange.web.rendering import HERE, PageNotFound, install_page_errors, templates

    templates.env.globals["new_decision_id"] = new_decision_id
    install_page_errors(app)
    # documents first: its /shipments/new is not a shipment id
    for module in (language, auth, documents, shipments, inbox, operator, payments):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui_static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:  # the server's address leads a person to the dashboard
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for it on every page; an SVG icon serves all
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/ui/{path:path}", include_in_schema=False)
    def unknown_page(path: str) -> Response:  # after every page and the static files
        raise PageNotFound("page")
