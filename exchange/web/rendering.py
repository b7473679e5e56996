"""What every dashboard page shares: templates, the signed-in user, error pages."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, RedirectResponse, Response

from exchange.domain import PartyKind
from exchange.errors import (
    ConflictError,
    ExchangeError,
    ForbiddenError,
    NotFoundError,
    RefusedError,
    UnavailableError,
    UsageError,
    http_status_of,
)
from exchange.http.deps import ServicesDep, get_services
from exchange.http.logs import request_id
from exchange.http.problems import database_unavailable
from exchange.i18n import Text, t
from exchange.web.language import html_lang, install_helpers, reader_locale, reader_zone
from exchange.web.session import SignedIn, current

__all__ = [
    "PAGE_SIZE",
    "PageError",
    "PageNotFound",
    "ServicesDep",
    "SignInNeeded",
    "UserDep",
    "document_lines",
    "explain",
    "findings_of",
    "install_page_errors",
    "next_page",
    "render",
    "require_kind",
    "say",
    "templates",
]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False,
                                                       default=str)
install_helpers(templates.env)
access_log = logging.getLogger("exchange.api.access")
log = logging.getLogger(__name__)
_MAX_LINES = 5000
PAGE_SIZE = 25
"""Rows on a page of a list (shipments, a customs inbox, the dead letters)."""

@dataclass(frozen=True)
class PageError:
    """What a page says went wrong: a sentence in the reader's language and, when a service
    said more, its own words (a :class:`Text` in the reader's language; a plain string, a
    library's or a setting's words, is English and marked as such: ``lang="en"``)."""

    summary: Text
    detail: str | Text | None = None


_SUMMARIES: dict[str, Text] = {
    "decision.release-refused": t("Release refused: the duties of this leg are not paid or "
                                  "guaranteed yet."),
    "ledger.release-refused": t("Release refused: the duties of this leg are not paid or "
                                "guaranteed yet."),
    "decision.leg-released": t("This leg is already released; no other decision can follow."),
    "decision.invalid": t("The decision is not complete."),
    "decision.conflict": t("This decision was already recorded with other content."),
    "decision.wrong-currency": t("The amount is not in this country's currency."),
    "decision.guarantee-incomplete": t("A guarantee needs its reference, amount and currency."),
    "dashboard.csrf": t("The form has expired or did not come from this dashboard; reload the "
                        "page and try again."),
    "delivery.state": t("This delivery cannot be changed in its present state."),
    "customs.authority-only": t("Only the country's customs authority may do this."),
    "ledger.reference-conflict": t("This payment reference was already used for another "
                                   "payment."),
    "ledger.not-assessed": t("Nothing is assessed on this leg yet: there is nothing to pay."),
    "ledger.wrong-currency": t("The amount is not in the currency of the assessment."),
    "payments.country-needed": t("Choose the country the payment is for."),
    "route-invalid": t("The route is not valid."),
    "shipment.route-invalid": t("The route is not valid."),
}
_BY_KIND: tuple[tuple[type[ExchangeError], Text], ...] = (
    (NotFoundError, t("Not found.")),
    (ForbiddenError, t("Your role may not do this.")),
    (ConflictError, t("This cannot be done in the present state.")),
    (RefusedError, t("Refused by the exchange's rules.")),
    (UsageError, t("Some of what you entered is not valid.")),
    (UnavailableError, t("A part of the exchange is not available; try again in a moment.")),
)


def explain(exc: ExchangeError) -> PageError:
    """A service's error as a page shows it: a translated sentence for its code (else for
    its kind) and the service's own words beside it."""
    summary = _SUMMARIES.get(exc.code) or next(
        (text for kind, text in _BY_KIND if isinstance(exc, kind)),
        t("The request cannot be processed."))
    return PageError(summary, exc.text or exc.message)


class SignInNeeded(Exception):
    """Raised by pages when nobody (or a revoked key) is signed in."""


class PageNotFound(Exception):
    """Missing, or outside what the signed-in party may see: the same 404 page either way."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


async def _user(request: Request, services: ServicesDep) -> SignedIn:
    user = await current(request, services)
    if user is None:
        raise SignInNeeded()
    return user


UserDep = Annotated[SignedIn, Depends(_user)]


def require_kind(user: SignedIn, *kinds: PartyKind, what: str) -> None:
    """Pages of another role answer 404 (as the API does for other parties' shipments)."""
    if user.principal.kind not in kinds:
        access_log.warning("dashboard page %s refused to party %s (%s)", what,
                           user.party.id, user.kind)
        raise PageNotFound(what)


def render(request: Request, name: str, user: SignedIn | None = None, status: int = 200,
           **context: Any) -> HTMLResponse:
    """The page in the reader's language (:func:`~exchange.web.language.reader_locale`) with
    times in their zone; ``Content-Language`` says which."""
    locale = reader_locale(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = templates.TemplateResponse(
        request, name, {"user": user, "locale": locale, "lang": html_lang(locale),
                        "zone": reader_zone(request), "here": here, **context},
        status_code=status)
    response.headers["Content-Language"] = html_lang(locale)
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def say(request: Request, text: Text | str) -> str:
    """A message (or a service's plain words) in the reader's language, for a page's code."""
    return text.render(reader_locale(request)) if isinstance(text, Text) else text


class PageRoute(APIRoute):
    """Routes of pages: an error the user caused is a page in plain words (with the status of
    its kind, :data:`exchange.errors.HTTP_STATUS`), a database that cannot be reached a 503
    page that says to try again, any other failure a page with the request id to quote (500,
    cause logged), never JSON. A client that left before the answer is not an error of ours
    (the request log counts it as 499)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except (SignInNeeded, PageNotFound, HTTPException, RequestValidationError,
                    ClientDisconnect):
                raise
            except ExchangeError as exc:
                status = http_status_of(exc)
                if status >= 500 and not isinstance(exc, UnavailableError):
                    return await _server_failed(request, exc)
                user = await current(request, get_services(request))
                return render(request, "error.html", user, status=status, message=explain(exc))
            except Exception as exc:
                unavailable = database_unavailable(exc)
                if unavailable is None:
                    return await _server_failed(request, exc)
                log.warning("dashboard page %s: the database is unavailable (%s)",
                            request.url.path, type(exc).__name__)
                response = render(request, "error.html", None, status=503,
                                  message=explain(unavailable), request_id=request_id())
                response.headers["Retry-After"] = "2"
                return response

        return page_handler


async def _server_failed(request: Request, exc: BaseException) -> Response:
    """The 500 page (cause logged, the request id to quote)."""
    log.error("dashboard page %s failed", request.url.path, exc_info=exc)
    try:
        user = await current(request, get_services(request))
    except Exception:  # noqa: BLE001 - the page must render even when sign-in cannot be read
        user = None
    return render(request, "error.html", user, status=500,
                  message=PageError(t("Something went wrong on the server; nothing you did "
                                      "caused it.")),
                  request_id=request_id())


def install_page_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if request.method == "GET":
            return RedirectResponse(f"/ui/login?next={request.url.path}", status_code=303)
        return RedirectResponse("/ui/login", status_code=303)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        user = await current(request, get_services(request))
        return render(request, "not_found.html", user, status=404, what=exc.what)


def next_page(path: str, params: Mapping[str, str | None], cursor: str | None, *,
              name: str = "after") -> str | None:
    """The address of a list's next page (``_macros.pager``): the same filters (and the
    cursors of the page's other lists), and the cursor the service gave in *name*."""
    if not cursor:
        return None
    return f"{path}?{urlencode({k: v for k, v in params.items() if v} | {name: cursor})}"


def findings_of(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every finding of a validation report, with its layer, in line order."""
    out = []
    for layer in (report or {}).get("layers", []):
        for f in layer.get("findings", []):
            out.append({**f, "layer": layer.get("name")})
    return sorted(out, key=lambda f: (f.get("line") or 0, f.get("column") or 0))


def document_lines(data: bytes | None, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The document's text as numbered lines, each with the findings that point at it."""
    if not data:
        return []
    text = data.decode("utf-8", errors="replace")
    at: dict[int, list[dict[str, Any]]] = {}
    for f in findings:
        if f.get("line"):
            at.setdefault(int(f["line"]), []).append(f)
    lines = text.splitlines()[:_MAX_LINES]
    return [{"number": i, "text": line, "findings": at.get(i, [])}
            for i, line in enumerate(lines, start=1)]
