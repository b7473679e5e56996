"""The API's documentation pages, served by the exchange itself: Swagger UI at ``/docs``,
ReDoc at ``/redoc``, over ``/openapi.json``.

Their scripts, stylesheet and icon come from the ``fastapi-offline`` package (its ``static``
folder: the Swagger UI and ReDoc bundles, refreshed with each of its releases), mounted at
``/docs/assets``; the pages are FastAPI's own (``get_swagger_ui_html``, ``get_redoc_html``)
pointed at those files, with no web fonts: nothing is loaded from another host, so the
pages work on a network without internet. Their Content-Security-Policy keeps it so: the
browser sends nothing to another host even where a bundle would (ReDoc's side menu shows
its maker's logo from a CDN; refused, the menu shows the link without it)."""
from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS", "CSP", "install_docs"]

ASSETS = "/docs/assets"
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
       "'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
"""Only the exchange itself (the pages' own inline start-up script and styles, ReDoc's search
worker from a blob)."""


def _own_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def install_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    static = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs_assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _own_only(get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} · API (Swagger UI)",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None}))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _own_only(get_redoc_html(
            openapi_url=openapi_url, title=f"{title} · API (ReDoc)",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False))
