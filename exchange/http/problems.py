"""RFC 9457 problem details: every error of the API is ``application/problem+json``.

A problem has ``type`` (a URN naming the problem, stable), ``title``, ``status``, ``detail``,
``instance`` (the request path) and extension members with what the client needs (for a refused
document: ``validation`` and ``signature`` reports). The cause of an internal error is logged,
never sent.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from exchange.errors import AuthenticationError, ExchangeError, http_status_of
from exchange.http.logs import request_id

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "problem_type",
]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_type(code: str) -> str:
    return f"urn:carec-exchange:problem:{code}"


class Problem(Exception):
    """Raise anywhere in the API to answer with a problem document."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None, *,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers, self.extra = headers or {}, extra


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
    :mod:`exchange.errors` (an error of no known kind is a 500 whose cause is only logged)."""
    status = http_status_of(exc)
    if status >= 500 and status != 503:
        return Problem(500, "internal", "Internal error")
    headers = ({"WWW-Authenticate": exc.challenge}
               if isinstance(exc, AuthenticationError) else None)
    return Problem(status, exc.problem_code, exc.title, exc.message, headers=headers,
                   **exc.extra)


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
        errors = [{"location": list(e.get("loc", ())), "message": e.get("msg"),
                   "type": e.get("type")} for e in exc.errors()]
        return problem_response(Problem(422, "request-invalid", "The request is not valid",
                                        "; ".join(f"{'.'.join(map(str, e['location']))}: "
                                                  f"{e['message']}" for e in errors),
                                        errors=errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not authenticated"}
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(Problem(exc.status_code, code,
                                        titles.get(exc.status_code, "HTTP error"),
                                        str(exc.detail) if exc.detail else None,
                                        headers=dict(exc.headers or {})), request.url.path)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(Problem(500, "internal", "Internal error",
                                        "the server failed; the cause is in its log"),
                                request.url.path)
