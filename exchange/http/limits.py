"""Request bodies: refuse those over the limit (413) and those that come too slowly (408).

:class:`BodyLimit`: a declared ``Content-Length`` over the limit is refused before the
application runs. A body without one (chunked) is counted as it streams in; the moment the
count passes the limit, reading stops and the answer is 413 (if the application has not
answered yet).

:class:`BodyTimeout`: every wait for the next part of a body ends after ``timeout`` seconds,
and the whole body has an allowance of ``timeout`` seconds plus one second per ``min_rate``
bytes received (a trickle of a byte a second runs out of it after ``timeout`` seconds; a
client keeping up ``min_rate`` never does). A body that misses either answers 408 and the
connection closes, whatever the application made of the interrupted read. A body the
application never reads is left to the connection (:mod:`exchange.http.edge`).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.http.logs import request_id
from exchange.http.problems import PROBLEM_JSON, problem_body, reader_locale
from exchange.i18n import Text, t

__all__ = ["BodyLimit", "BodyTimedOut", "BodyTimeout", "BodyTooLarge"]

_TOO_LARGE = t("Request body too large")
_TOO_SLOW = t("Request body too slow")


class BodyTooLarge(Exception):
    pass


class BodyTimedOut(Exception):
    pass


async def _answer(scope: Scope, send: Send, status: int, code: str, title: Text, detail: Text,
                  **extra: Any) -> None:
    """A problem answer that closes the connection (the rest of the body is not read)."""
    rid = request_id()
    if rid is not None:
        extra.setdefault("request_id", rid)
    locale = reader_locale({name.decode("latin-1"): value.decode("latin-1")
                            for name, value in scope.get("headers", ())})
    body = json.dumps(problem_body(status, code, title, detail, scope.get("path"),
                                   locale=locale, **extra)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode()),
                            (b"content-language", locale.replace("_", "-").encode()),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, scope: Scope, send: Send, size: int | None) -> None:
        """413; *size* is the declared length (None: a streamed body passed the limit)."""
        detail = t("the request body is over the limit of {limit:,} bytes",
                   limit=self.max_bytes) if size is None else t(
            "the request body is {size:,} bytes; the limit is {limit:,} bytes", size=size,
            limit=self.max_bytes)
        await _answer(scope, send, 413, "body-too-large", _TOO_LARGE, detail,
                      limit=self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(scope, send, declared)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, send, None)


class BodyTimeout:
    """408 for a request body that stops coming or trickles (see the module's docstring)."""

    def __init__(self, app: ASGIApp, timeout: float, min_rate: int):
        self.app, self.timeout, self.min_rate = app, timeout, min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        first: float | None = None
        received = 0
        complete = timed_out = started = refused = False

        async def timed_receive() -> Message:
            nonlocal first, received, complete, timed_out
            if timed_out:
                raise BodyTimedOut()
            if complete:  # waiting for a disconnect is not reading the body
                return await receive()
            now = loop.time()
            first = now if first is None else first
            allowance = first + self.timeout + received / self.min_rate - now
            try:
                message = await asyncio.wait_for(receive(), max(0.0, min(self.timeout,
                                                                          allowance)))
            except TimeoutError:
                timed_out = True
                raise BodyTimedOut() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
            return message

        async def refuse() -> None:
            nonlocal refused
            refused = True
            await _answer(scope, send, 408, "request-timeout", _TOO_SLOW, t(
                "the request body stopped coming or came slower than {rate:,} bytes a second "
                "after its first {timeout:g} seconds; send the request again",
                rate=self.min_rate, timeout=self.timeout))

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:  # the application's own answer to the broken read
                if not refused:
                    await refuse()
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except BodyTimedOut:
            if not started and not refused:
                await refuse()
