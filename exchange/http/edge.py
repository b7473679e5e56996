"""The connection edge of ``exchange serve``: what uvicorn leaves unguarded.

:class:`EdgeProtocol` is uvicorn's httptools protocol (``uvicorn.Config(http=EdgeProtocol)``)
with, per connection:

- a **header timeout**: the request line and headers must arrive within
  ``header_timeout`` seconds of the connection (or of the first byte of a later request on a
  kept-alive one), else 408 and the connection closes (one that sent nothing is just closed);
- **header limits**: a head over ``max_header_bytes`` (request target and fields together)
  or with more than ``max_header_count`` fields answers 431, counted as it streams in, so
  a client cannot make the server hold an unbounded head;
- a **connection cap**: past ``max_connections`` open connections, the one that has waited
  longest without a request in progress (still sending its headers, or idle between
  requests) is closed to make room; when every connection is busy the new one answers 503;
- a **body nobody reads**: when the answer is sent before the request body is in (a 401, a
  404), the rest of the body must come within ``body_timeout`` seconds or the connection
  closes. A body the application reads is timed by :class:`exchange.http.limits.BodyTimeout`.

The limits come from the application: :func:`exchange.http.observability.install_observability`
puts an :class:`Edge` into the ASGI lifespan state (key :data:`EDGE_STATE`), which uvicorn
hands to every connection; without it (lifespan off) the settings' defaults hold. A refusal
answers problem+json (in the language of the ``Accept-Language`` received so far, said in
``Content-Language``), is logged on one line (``exchange.http``) and counted in the metrics
with the route ``(edge)``. It then closes gently: the answer is sent, the sending side shut,
and what the client still sends is read and dropped for :data:`LINGER_SECONDS`, so that the
client reads the answer rather than a connection reset.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from exchange.config import LimitsSettings, ServerSettings
from exchange.http.problems import PROBLEM_JSON, content_language, problem_body
from exchange.i18n import Text, negotiate, placeholders, t

__all__ = ["EDGE_STATE", "LINGER_SECONDS", "Edge", "EdgeProtocol"]

EDGE_STATE = "exchange.edge"
"""The key of the :class:`Edge` in the lifespan state."""
LINGER_SECONDS = 2.0
"""After a refusal, how long what the client still sends is read and dropped."""
EDGE_ROUTE = "(edge)"
"""The route label of requests refused at the connection, in the metrics."""
_HEAD_SLACK = 1024
"""Bytes of a head that the field count leaves out (method, version, line ends): the raw
count of an unfinished head may pass the limit by this much before it is refused."""

log = logging.getLogger("exchange.http")

# reason -> (status, problem code, title, detail); the detail's placeholders are the limits.
_REFUSALS: dict[str, tuple[int, str, Text, Text]] = {
    "header-timeout": (408, "request-timeout", t("Request headers too slow"), t(
        "the request line and headers did not arrive within {header_timeout:g} seconds; send "
        "the request again")),
    "header-bytes": (431, "headers-too-large", t("Request headers too large"), t(
        "the request target and header fields are over the limit of {max_header_bytes:,} "
        "bytes")),
    "header-count": (431, "headers-too-many", t("Too many request headers"), t(
        "the request has more than {max_header_count:,} header fields")),
    "connections-full": (503, "connections-full", t("Too many connections"), t(
        "the server has too many open connections and closed this one, which had not "
        "finished sending a request; send it again")),
}
_REFUSED_LOG = "%s refused at the connection (%s): %s"


@dataclass(frozen=True)
class Edge:
    """The limits of every connection, and who counts the refusals."""

    header_timeout: float
    body_timeout: float
    max_header_bytes: int
    max_header_count: int
    max_connections: int
    observe: Callable[[str, str, int, float], None] | None = None

    @classmethod
    def of(cls, server: ServerSettings, limits: LimitsSettings,
           observe: Callable[[str, str, int, float], None] | None = None) -> Edge:
        return cls(server.header_timeout_seconds, server.body_timeout_seconds,
                   limits.max_header_bytes, limits.max_header_count, server.max_connections,
                   observe)


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the guards of the module's docstring."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        edge = app_state.get(EDGE_STATE)
        self.edge = edge if isinstance(edge, Edge) else Edge.of(ServerSettings(),
                                                                LimitsSettings())
        self._in_head = True       # waiting for (or reading) a request line and headers
        self._head_begun = False   # a byte of that request has come
        self._target_seen = False  # its method is known
        self._head_raw = 0         # bytes of that head received (raw count)
        self._head_bytes = 0       # its target and fields (exact count)
        self._head_fields = 0
        self._accept_language: bytes | None = None  # of the head so far: the refusal's words
        self._heads_done = 0
        self._refusal: str | None = None
        self._since = 0.0          # when the connection last started waiting for a request
        self._head_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None
        self._closing = False

    # -------------------------------------------------------------- connection events
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        self._start_head_timer()
        if len(self.connections) > self.edge.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # after a refusal: read and drop
        was_in_head, heads_done = self._in_head, self._heads_done
        super().data_received(data)
        if self._closing or self.transport.is_closing():
            return
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        if self._in_head and self._head_begun:
            # a head that began inside this chunk is counted from the next chunk on (the
            # chunk, at most one socket read, is the bound until then)
            whole = was_in_head and heads_done == self._heads_done
            self._head_raw = self._head_raw + len(data) if whole else 0
            if self._head_raw > self.edge.max_header_bytes + _HEAD_SLACK:
                self._refuse("header-bytes")

    # -------------------------------------------------------------- parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun, self._target_seen = True, False
        self._head_raw = self._head_bytes = self._head_fields = 0
        self._accept_language = None
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        if self._refusal is not None:
            return
        self._target_seen = True
        self._head_bytes += len(url)
        if self._head_bytes > self.edge.max_header_bytes:
            self._refusal = "header-bytes"
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refusal is not None:
            return
        self._head_fields += 1
        self._head_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        if name.lower() == b"accept-language" and len(value) <= 256:
            self._accept_language = value
        if self._head_fields > self.edge.max_header_count:
            self._refusal = "header-count"
        elif self._head_bytes > self.edge.max_header_bytes:
            self._refusal = "header-bytes"
        else:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._heads_done += 1
        self._cancel_head_timer()
        if self._refusal is not None:
            return  # answered once the parser is done with this chunk
        self._in_head = self._head_begun = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is not None:
            return
        self._in_head = True
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._closing or self.transport.is_closing():
            return
        if self._in_head:
            self._since = self.loop.time()  # idle until the next request
        elif self._drain_timer is None:  # answered before the body came: it has a while
            self._drain_timer = self.loop.call_later(self.edge.body_timeout,
                                                     self._drain_timed_out)

    # -------------------------------------------------------------- timers and the cap
    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.edge.header_timeout,
                                                    self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_head_timer()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._closing or self.transport.is_closing() or not self._in_head:
            return
        if self._busy():  # a pipelined head is slow: close once the answer in progress is sent
            self.cycle.keep_alive = False
        elif self._head_begun:
            self._refuse("header-timeout")
        else:
            self._close()

    def _drain_timed_out(self) -> None:
        self._drain_timer = None
        if not self._in_head and not self._closing:
            self._close()

    def _waiting_since(self) -> float | None:
        """When this connection started waiting for a request (None: one is in progress)."""
        if self._closing or not self._in_head or self._busy():
            return None
        return self._since

    def _make_room(self) -> None:
        waiting = [(since, c) for c in self.connections
                   if c is not self and isinstance(c, EdgeProtocol)
                   and (since := c._waiting_since()) is not None]
        if not waiting:
            self._refuse("connections-full")
            return
        oldest = min(waiting, key=lambda pair: pair[0])[1]
        if oldest._head_begun:
            oldest._refuse("connections-full")
        else:
            oldest._close()

    # -------------------------------------------------------------- answers
    def _close(self) -> None:
        self._closing = True
        self._cancel_timers()
        self.transport.close()

    def _refuse(self, reason: str) -> None:
        """Answer the refusal, log and count it, then close gently."""
        if self._closing:
            return
        self._closing = True
        self._cancel_timers()
        if self._busy():  # an answer is being sent on this connection: close after it
            self.cycle.keep_alive = False
            return
        status, code, title, detail = _REFUSALS[reason]
        limits = {"header_timeout": self.edge.header_timeout,
                  "max_header_bytes": self.edge.max_header_bytes,
                  "max_header_count": self.edge.max_header_count}
        detail = t(detail.msgid, **{name: limits[name] for name in placeholders(detail.msgid)})
        rid = uuid.uuid4().hex
        asked = self._accept_language
        locale = negotiate(asked.decode("latin-1") if asked is not None else None)
        body = json.dumps(problem_body(status, code, title, detail, request_id=rid,
                                       locale=locale)).encode()
        headers = [*self.server_state.default_headers,
                   *((name.lower().encode(), value.encode())
                     for name, value in content_language(locale).items()),
                   (b"content-type", PROBLEM_JSON.encode()),
                   (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), (b"x-request-id", rid.encode())]
        if status == 503:
            headers.append((b"retry-after", b"1"))
        head = b"".join([STATUS_LINE[status],
                         *(b"%s: %s\r\n" % (name, value) for name, value in headers), b"\r\n"])
        self.transport.write(head + body)
        method = "-"
        if self._target_seen and self.parser is not None:
            method = self.parser.get_method().decode("ascii", "replace")
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
        log.warning(_REFUSED_LOG, status, client, detail, extra={
            "status": status, "reason": reason, "client": client, "request_id": rid})
        if self.edge.observe is not None:
            self.edge.observe(method, EDGE_ROUTE, status, self.loop.time() - self._since)
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._drain_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
