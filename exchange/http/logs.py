"""Structured logs and request ids.

Every HTTP request gets an id: the caller's ``X-Request-ID`` if it is a short visible token,
else a new one. It is answered in the ``X-Request-ID`` header, put in problem+json bodies
(``request_id``) and on every log line written while the request runs (a context variable,
copied into worker threads by Starlette's thread pool).

A client that goes away before its answer (a closed tab, a cancelled upload) is no error of
the server's: the request is logged on its one access line and counted with status
:data:`CLIENT_CLOSED` (499, as nginx does), without a traceback, whatever the application
did when its body stopped coming.

Log lines are JSON (one object per line) when stderr is not a terminal, plain text when it
is. :func:`configure_logging` only acts when nobody configured the root logger before it
(like :func:`logging.basicConfig`): tests capturing logs, or a host application, keep theirs.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CLIENT_CLOSED",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestIdMiddleware",
    "configure_logging",
    "request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_CLOSED = 499
"""The status a request is logged and counted with when its client left before the answer."""
_ACCESS = "%s %s %s"
_ACCESS_CLIENT_CLOSED = "%s %s %s: the client closed the connection before the answer"
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                      default=None)
access_log = logging.getLogger("exchange.http")

# LogRecord attributes that are not "extra" context.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _current.get()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: int = logging.INFO, *, stream: TextIO | None = None) -> bool:
    """Send logs to stderr (JSON unless it is a terminal); False if logging was set up."""
    root = logging.getLogger()
    if root.handlers:
        return False
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    tty = bool(getattr(stream, "isatty", lambda: False)())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s") if tty
        else JsonFormatter())
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    return True


class RequestIdMiddleware:
    """Pure ASGI middleware: request id in and out, one access log line, an observer hook."""

    def __init__(self, app: ASGIApp,
                 observe: Callable[[str, str, int, float], None] | None = None):
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                      if k == b"x-request-id"), "")
        rid = given if _ID.match(given) else uuid.uuid4().hex
        _current.set(rid)
        status = 500
        answered = left = False
        started = time.perf_counter()

        async def watch_receive() -> Message:
            nonlocal left
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                left = True  # gone before the answer: whatever comes next reaches nobody
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ())
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, watch_receive, send_with_id)
        except ClientDisconnect:
            left = True  # not re-raised: nothing failed, and nobody is there to answer
        finally:
            if left:
                status = CLIENT_CLOSED
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            access_log.info(_ACCESS_CLIENT_CLOSED if left else _ACCESS, scope["method"],
                            scope["path"], status, extra={
                                "method": scope["method"], "path": scope["path"],
                                "status": status, "duration_ms": round(elapsed * 1000, 2),
                                "request_id": rid})
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
