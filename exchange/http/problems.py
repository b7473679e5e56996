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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as db
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from exchange.errors import AuthenticationError, ExchangeError, UnavailableError, http_status_of
from exchange.http.logs import request_id

__all__ = [
    "PROBLEM_JSON",
    "RETRY_AFTER_SECONDS",
    "Problem",
    "database_unavailable",
    "field_errors",
    "invalid_request",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "problem_type",
]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 2
"""``Retry-After`` of a 503 answer: a database restart takes about this long."""

_DATABASE_UNAVAILABLE = (
    "the database is unavailable for a moment; send the request again in "
    f"{RETRY_AFTER_SECONDS} seconds with the same Idempotency-Key (a request that was done "
    "before the loss is then answered as it was, never done twice)")
_DATABASE_UNAVAILABLE_LOG = "database unavailable on %s %s (answered 503): %s"
_INTERNAL_LOG = "internal error on %s %s"
_INTERNAL_DETAIL = "the server failed; the cause is in its log"

# What says the database is gone or cannot take the request now (not a bug of ours).
_PG_UNAVAILABLE = ("08",      # connection exception (refused, lost, failed)
                   "53",      # insufficient resources (too many connections, disk full)
                   "57P0")    # the server is shutting down, crashed, or still starting up
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR",
                       "SQLITE_FULL", "SQLITE_PROTOCOL")


def problem_type(code: str) -> str:
    return f"urn:carec-exchange:problem:{code}"


class Problem(Exception):
    """Raise anywhere in the API to answer with a problem document."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None, *,
                 headers: dict[str, str] | None = None,
                 **extra: Any):  # Any: JSON values of the answer's extension members
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers, self.extra = headers or {}, extra


def field_errors(errors: Iterable[Mapping[str, Any]], prefix: Sequence[str | int] = ()
                 ) -> list[dict[str, Any]]:
    """Each error of a pydantic validation (``loc``, ``msg``, ``type``) as the problem's
    ``errors`` entry: ``field`` (``body.amount``, ``query.status``: *prefix* then the
    error's place), ``location`` (the same as a list), ``message`` and ``type``."""
    out = []
    for e in errors:
        location = [*prefix, *e.get("loc", ())]
        out.append({"field": ".".join(map(str, location)) or "body", "location": location,
                    "message": e.get("msg"), "type": e.get("type")})
    return out


def invalid_request(errors: Iterable[Mapping[str, Any]], *, prefix: Sequence[str | int] = (),
                    code: str = "request-invalid", title: str = "The request is not valid",
                    kind: type[Problem] | None = None) -> Problem:
    """A 422 problem naming every bad field at once (``errors``; ``detail`` says them all in
    one line), as a :class:`Problem` (or its subclass *kind*)."""
    listed = field_errors(errors, prefix)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed)
    return (kind or Problem)(422, code, title, detail, errors=listed)


def problem_body(status: int, code: str, title: str, detail: str | None = None,
                 instance: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": problem_type(code), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    body = problem_body(problem.status, problem.code, problem.title, problem.detail, instance,
                        **problem.extra)
    if (rid := request_id()) is not None:  # the X-Request-ID of this request (exchange.web)
        body.setdefault("request_id", rid)
    return Response(json.dumps(body), status_code=problem.status, media_type=PROBLEM_JSON,
                    headers=problem.headers)


def from_exchange_error(exc: ExchangeError) -> Problem:
    """The problem answer of an error of the exchange, from the table in
    :mod:`exchange.errors` (an error of no known kind is a 500 whose cause is only logged;
    an :class:`UnavailableError` says when to retry, ``Retry-After``)."""
    status = http_status_of(exc)
    if status >= 500 and status != 503:
        return Problem(500, "internal", "Internal error")
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, UnavailableError):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Problem(status, exc.problem_code, exc.title, exc.message, headers=headers,
                   **exc.extra)


def database_unavailable(exc: BaseException) -> UnavailableError | None:
    """The 503 error for a database error that says the database is lost or cannot take the
    request now (None for any other error: a bug, a constraint, a bad statement).

    That is: the pool gave up waiting for a connection; SQLAlchemy saw the connection drop
    (``connection_invalidated``); PostgreSQL refused or ended the connection, is shutting
    down or starting up, or ran out of connections (SQLSTATE classes 08, 53, 57P0x, or the
    driver's connection errors, which carry no SQLSTATE); SQLite stayed busy or locked past
    its timeout or cannot open or write its file."""
    if isinstance(exc, db.TimeoutError):
        return UnavailableError(_DATABASE_UNAVAILABLE, code="database.unavailable")
    if not isinstance(exc, db.DBAPIError):
        return None
    orig = exc.orig
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if exc.connection_invalidated:
        gone = True
    elif isinstance(sqlite_name, str):
        gone = sqlite_name.startswith(_SQLITE_UNAVAILABLE)
    elif isinstance(sqlstate, str):
        gone = sqlstate.startswith(_PG_UNAVAILABLE)
    else:  # a driver error of the connection itself (refused, closed, lost mid-query)
        gone = isinstance(exc, (db.OperationalError, db.InterfaceError))
    return UnavailableError(_DATABASE_UNAVAILABLE, code="database.unavailable") if gone \
        else None


def _internal(request: Request, exc: Exception) -> Response:
    log.error(_INTERNAL_LOG, request.method, request.url.path, exc_info=exc)
    return problem_response(Problem(500, "internal", "Internal error", _INTERNAL_DETAIL),
                            request.url.path)


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
        return problem_response(exc, request.url.path)

    @app.exception_handler(ExchangeError)
    async def _exchange(request: Request, exc: ExchangeError) -> Response:
        problem = from_exchange_error(exc)
        if problem.status >= 500:
            log.error("unhandled exchange error", exc_info=exc)
        return problem_response(problem, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(invalid_request(exc.errors()), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not authenticated"}
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(Problem(exc.status_code, code,
                                        titles.get(exc.status_code, "HTTP error"),
                                        str(exc.detail) if exc.detail else None,
                                        headers=headers), request.url.path)

    @app.exception_handler(db.SQLAlchemyError)
    async def _database(request: Request, exc: db.SQLAlchemyError) -> Response:
        lost = database_unavailable(exc)
        if lost is None:
            return _internal(request, exc)
        cause = exc.orig if isinstance(exc, db.DBAPIError) else exc
        log.warning(_DATABASE_UNAVAILABLE_LOG, request.method, request.url.path,
                    " ".join(str(cause).split()) or type(cause).__name__)
        return problem_response(from_exchange_error(lost), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return _internal(request, exc)
