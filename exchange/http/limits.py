"""Refuse request bodies over the limit with 413, without reading them.

A declared ``Content-Length`` over the limit is refused before the application runs. A body
without one (chunked) is counted as it streams in; the moment the count passes the limit,
reading stops and the answer is 413 (if the application has not answered yet).
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.http.problems import PROBLEM_JSON, problem_body

__all__ = ["BodyLimit", "BodyTooLarge"]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, scope: Scope, send: Send, size: str) -> None:
        body = json.dumps(problem_body(
            413, "body-too-large", "Request body too large",
            f"the request body is {size}; the limit is {self.max_bytes:,} bytes",
            scope.get("path"), limit=self.max_bytes)).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

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
                    await self._refuse(scope, send, f"{declared:,} bytes")
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
            await self._refuse(scope, send, f"over {self.max_bytes:,} bytes")
