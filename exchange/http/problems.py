"""RFC 9457 problem details: every error of the API is ``application/problem+json``.

A problem has ``type`` (a URN naming the problem, stable), ``title``, ``status``, ``detail``,
``instance`` (the request path) and extension members with what the client needs (for a refused
document: ``validation`` and ``signature`` reports). The cause of an internal error is logged,
never sent.

A database that is lost or unavailable (a restart, a failover, a full connection pool, an
SQLite file locked past its busy timeout) is not an internal error: the request answers 503
``database-unavailable`` with ``Retry-After``, telling the client to send it again with the
same ``Idempotency-Key``; the driver's words stay in the log. The pool replaces its broken
connections by itself, so the retry finds the database again once it is back.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as db
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from exchange.errors import (
    AuthenticationError, ExchangeError, UnavailableError, field_message, http_status_of,
)
from exchange.http.logs import request_id
from exchange.i18n import DEFAULT_LOCALE, Text, negotiate, render, t
from exchange.store.outages import outage_cause, outage_of

__all__ = [
    "PROBLEM_JSON",
    "RETRY_AFTER_SECONDS",
    "Problem",
    "content_language",
    "database_unavailable",
    "field_errors",
    "invalid_request",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "problem_type",
    "reader_locale",
]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 2
"""``Retry-After`` of a 503 answer: a database restart takes about this long."""

_DATABASE_UNAVAILABLE = t(
    "the database is unavailable for a moment; send the request again in {seconds} seconds "
    "with the same Idempotency-Key (a request that was done before the loss is then answered "
    "as it was, never done twice)", seconds=RETRY_AFTER_SECONDS)
_DATABASE_UNAVAILABLE_LOG = "database unavailable on %s %s (answered 503): %s"
_INTERNAL_LOG = "internal error on %s %s"
_INTERNAL_TITLE = t("Internal error")
_HTTP_TITLES = {404: t("Not found"), 405: t("Method not allowed"), 401: t("Not authenticated")}
_HTTP_ERROR = t("HTTP error")
_INTERNAL_DETAIL = t("the server failed; the cause is in its log")


def problem_type(code: str) -> str:
    return f"urn:carec-exchange:problem:{code}"


def reader_locale(headers: Mapping[str, str] | None) -> str:
    """The language of the answer: the request's ``Accept-Language`` (weights honoured),
    else English."""
    return negotiate(headers.get("accept-language") if headers is not None else None)


def content_language(locale: str) -> dict[str, str]:
    """The headers of an answer whose words are in *locale* (it varies with the request's
    ``Accept-Language``)."""
    return {"Content-Language": locale.replace("_", "-"), "Vary": "Accept-Language"}


class Problem(Exception):
    """Raise anywhere in the API to answer with a problem document; ``title`` and ``detail``
    given as :class:`~exchange.i18n.Text` are answered in the reader's language."""

    def __init__(self, status: int, code: str, title: str | Text,
                 detail: str | Text | None = None, *,
                 headers: dict[str, str] | None = None,
                 **extra: Any):  # Any: JSON values of the answer's extension members
        super().__init__(str(detail or title))
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers, self.extra = headers or {}, extra


def field_errors(errors: Iterable[Mapping[str, Any]], prefix: Sequence[str | int] = ()
                 ) -> list[dict[str, Any]]:
    """Each error of a pydantic validation (``loc``, ``msg``, ``type``) as the problem's
    ``errors`` entry: ``field`` (``body.amount``, ``query.status``: *prefix* then the
    error's place), ``location`` (the same as a list), ``message`` (a :class:`Text` where the
    error's type is known, rendered in the reader's language with the answer) and ``type``."""
    out = []
    for e in errors:
        location = [*prefix, *e.get("loc", ())]
        out.append({"field": ".".join(map(str, location)) or "body", "location": location,
                    "message": field_message(e), "type": e.get("type")})
    return out


def invalid_request(errors: Iterable[Mapping[str, Any]], *, prefix: Sequence[str | int] = (),
                    code: str = "request-invalid",
                    title: str | Text = t("The request is not valid"),
                    kind: type[Problem] | None = None) -> Problem:
    """A 422 problem naming every bad field at once (``errors``; ``detail`` says them all in
    one line), as a :class:`Problem` (or its subclass *kind*)."""
    listed = field_errors(errors, prefix)
    detail = _Joined(tuple((e["field"], e["message"]) for e in listed))
    return (kind or Problem)(422, code, title, detail, errors=listed)


@dataclass(frozen=True)
class _Joined(Text):
    """``field: message; field: message`` rendered in the reader's language."""

    msgid: str = ""
    fields: tuple[tuple[str, str | Text], ...] = ()

    def __init__(self, fields: tuple[tuple[str, str | Text], ...]) -> None:
        object.__setattr__(self, "msgid", "")
        object.__setattr__(self, "params", {})
        object.__setattr__(self, "fields", fields)

    def render(self, locale: str | None = None) -> str:
        return "; ".join(f"{name}: {render(message, locale or DEFAULT_LOCALE)}"
                         for name, message in self.fields)


def _localized(value: Any, locale: str) -> Any:  # Any: JSON values
    """*value* with every :class:`Text` in it rendered in *locale*."""
    if isinstance(value, Text):
        return value.render(locale)
    if isinstance(value, dict):
        return {key: _localized(item, locale) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_localized(item, locale) for item in value]
    return value


def problem_body(status: int, code: str, title: str | Text, detail: str | Text | None = None,
                 instance: str | None = None, *, locale: str = DEFAULT_LOCALE,
                 **extra: Any) -> dict[str, Any]:
    """The problem document, its title and detail in *locale*."""
    body: dict[str, Any] = {"type": problem_type(code), "title": render(title, locale),
                            "status": status}
    if detail:
        body["detail"] = render(detail, locale)
    if instance:
        body["instance"] = instance
    body.update(_localized(extra, locale))
    return body


def problem_response(problem: Problem, instance: str | None = None,
                     locale: str = DEFAULT_LOCALE) -> Response:
    """The answer, in *locale* (``Content-Language``; it varies with ``Accept-Language``)."""
    body = problem_body(problem.status, problem.code, problem.title, problem.detail, instance,
                        locale=locale, **problem.extra)
    if (rid := request_id()) is not None:  # the X-Request-ID of this request (exchange.web)
        body.setdefault("request_id", rid)
    headers = {**problem.headers, **content_language(locale)}
    return Response(json.dumps(body), status_code=problem.status, media_type=PROBLEM_JSON,
                    headers=headers)


def from_exchange_error(exc: ExchangeError) -> Problem:
    """The problem answer of an error of the exchange, from the table in
    :mod:`exchange.errors` (an error of no known kind is a 500 whose cause is only logged;
    an :class:`UnavailableError` says when to retry, ``Retry-After``)."""
    status = http_status_of(exc)
    if status >= 500 and status != 503:
        return Problem(500, "internal", _INTERNAL_TITLE)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, UnavailableError):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Problem(status, exc.problem_code, exc.title, exc.text or exc.message,
                   headers=headers, **exc.extra)


def database_unavailable(exc: BaseException) -> UnavailableError | None:
    """The 503 error for a database error that says the database is lost or cannot take the
    request now, lost or busy (None for any other error: a bug, a constraint, a bad
    statement); see :func:`exchange.store.outages.outage_of`."""
    if outage_of(exc) is None:
        return None
    return UnavailableError(_DATABASE_UNAVAILABLE, code="database.unavailable")


def _internal(request: Request, exc: Exception) -> Response:
    log.error(_INTERNAL_LOG, request.method, request.url.path, exc_info=exc)
    return problem_response(Problem(500, "internal", _INTERNAL_TITLE, _INTERNAL_DETAIL),
                            request.url.path, reader_locale(request.headers))


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the application takes at the request's path (Starlette's
    405 names only those of the first route there; ``/v1/shipments`` has two)."""
    routes = request.app.router.routes
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                   for route in routes)]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request.url.path, reader_locale(request.headers))

    @app.exception_handler(ExchangeError)
    async def _exchange(request: Request, exc: ExchangeError) -> Response:
        problem = from_exchange_error(exc)
        if problem.status >= 500:
            log.error("unhandled exchange error", exc_info=exc)
        return problem_response(problem, request.url.path, reader_locale(request.headers))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        locale = reader_locale(request.headers)
        return problem_response(invalid_request(exc.errors()), request.url.path,
                                locale)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(Problem(exc.status_code, code,
                                        _HTTP_TITLES.get(exc.status_code, _HTTP_ERROR),
                                        str(exc.detail) if exc.detail else None,
                                        headers=headers), request.url.path,
                                reader_locale(request.headers))

    @app.exception_handler(db.SQLAlchemyError)
    async def _database(request: Request, exc: db.SQLAlchemyError) -> Response:
        lost = database_unavailable(exc)
        if lost is None:
            return _internal(request, exc)
        log.warning(_DATABASE_UNAVAILABLE_LOG, request.method, request.url.path,
                    outage_cause(exc))
        return problem_response(from_exchange_error(lost), request.url.path,
                                reader_locale(request.headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _internal(request, exc)
