"""The HTTP edge in process: the connection guards of :mod:`exchange.http.edge` on a fake
transport, the body timeout, client disconnects, and database errors as 503 problems.
No sockets, no server (those are in tests/e2e/test_http_hardening.py)."""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sqlite3

import httpx
from fastapi import FastAPI, Request
from sqlalchemy import exc as db
from starlette.responses import PlainTextResponse

from exchange.config import LimitsSettings, ServerSettings
from exchange.http.edge import EDGE_STATE, Edge, EdgeProtocol
from exchange.http.limits import BodyTimeout
from exchange.http.logs import RequestIdMiddleware
from exchange.http.problems import database_unavailable, install_problem_handlers


# ------------------------------------------------------------------ the connection guards
class FakeTransport:
    def __init__(self, port: int = 50000):
        self.written = b""
        self.closed = self.eof = False
        self.port = port

    def get_extra_info(self, key, default=None):
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", self.port)
                }.get(key, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, *args, **kwargs) -> None:
        pass


class Connections:
    """Connections to an application that answers 200 and counts its calls."""

    def __init__(self, **limits):
        import uvicorn
        from uvicorn.server import ServerState

        self.calls = 0
        self.observed: list[tuple[str, str, int]] = []

        async def app(scope, receive, send):
            self.calls += 1
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})

        server = ServerSettings(**{k: v for k, v in limits.items()
                                   if k in ServerSettings.model_fields})
        limit = LimitsSettings(**{k: v for k, v in limits.items()
                                  if k in LimitsSettings.model_fields})
        self.edge = Edge.of(server, limit, observe=lambda m, r, s, _t:
                            self.observed.append((m, r, s)))
        self.config = uvicorn.Config(app, http=EdgeProtocol, lifespan="off",
                                     log_level="critical")
        self.state = ServerState()

    def connect(self, port: int = 50000) -> tuple[EdgeProtocol, FakeTransport]:
        protocol = EdgeProtocol(self.config, self.state, {EDGE_STATE: self.edge})
        transport = FakeTransport(port)
        protocol.connection_made(transport)  # type: ignore[arg-type]
        return protocol, transport


def status_of(written: bytes) -> int:
    return int(written.split(b" ", 2)[1])


def problem_of(written: bytes) -> dict:
    head, _, body = written.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head
    return json.loads(body)


def run(coro):
    """Run *coro* on a loop of its own thread: the dashboard tests' browser (Playwright's
    sync API) keeps an event loop running in the main thread for the whole session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_a_request_within_the_limits_reaches_the_application():
    async def go():
        side = Connections()
        protocol, transport = side.connect()
        protocol.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                               + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(90))
                               + b"\r\n")
        await asyncio.sleep(0.05)
        assert side.calls == 1 and status_of(transport.written) == 200
        assert not transport.closed
    run(go())


def test_too_many_header_fields_answer_431_and_never_reach_the_application():
    async def go():
        side = Connections(max_header_count=100)
        protocol, transport = side.connect()
        protocol.data_received(b"GET /healthz HTTP/1.1\r\n"
                               + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"\r\n")
        await asyncio.sleep(0.05)
        assert side.calls == 0 and status_of(transport.written) == 431
        body = problem_of(transport.written)
        assert body["type"] == "urn:carec-exchange:problem:headers-too-many"
        assert "more than 100 header fields" in body["detail"] and body["request_id"]
        assert transport.eof and not transport.closed  # lingering: the client reads it
        protocol.data_received(b"more of the same\r\n")  # read and dropped
        assert side.observed == [("GET", "(edge)", 431)]
    run(go())



def test_a_refusal_at_the_connection_is_said_in_the_language_the_head_asked_for():
    """The 431 and 408 answered before the application sees the request follow the
    ``Accept-Language`` that came in the head so far, and say so in ``Content-Language``
    (without one: English)."""
    async def go():
        side = Connections(max_header_count=100, header_timeout_seconds=0.2)
        many, many_transport = side.connect(50001)
        many.data_received(b"GET /healthz HTTP/1.1\r\nAccept-Language: ru\r\n"
                           + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n")
        slow, slow_transport = side.connect(50002)
        slow.data_received(b"GET /healthz HTTP/1.1\r\nAccept-Language: zh-CN;q=0.9\r\nX-")
        plain, plain_transport = side.connect(50003)
        plain.data_received(b"GET /healthz HTTP/1.1\r\n"
                            + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n")
        await asyncio.sleep(0.5)
        for transport, status, locale in ((many_transport, 431, "ru"),
                                          (slow_transport, 408, "zh-Hans"),
                                          (plain_transport, 431, "en")):
            assert status_of(transport.written) == status
            head = transport.written.partition(b"\r\n\r\n")[0].lower()
            assert b"content-language: " + locale.lower().encode() in head, head
            body = problem_of(transport.written)
            english = {431: "Too many request headers", 408: "Request headers too slow"}
            assert (body["title"] == english[status]) == (locale == "en"), body
        assert "100" in problem_of(many_transport.written)["detail"]
    run(go())


def test_a_huge_header_is_refused_as_it_streams_in():
    async def go():
        side = Connections(max_header_bytes=32 * 1024)
        protocol, transport = side.connect()
        protocol.data_received(b"GET /healthz HTTP/1.1\r\nX-Big: ")
        sent = 0
        while not transport.written and sent < 1024 * 1024:
            protocol.data_received(b"a" * 4096)
            sent += 4096
        assert sent <= 32 * 1024 + 2048 + 4096  # refused near the limit, not at 1 MiB
        assert status_of(transport.written) == 431 and side.calls == 0
        assert problem_of(transport.written)["type"].endswith(":headers-too-large")
    run(go())


def test_a_slow_head_answers_408_and_a_silent_connection_is_just_closed():
    async def go():
        side = Connections(header_timeout_seconds=0.2)
        slow, slow_transport = side.connect(50001)
        _silent, silent_transport = side.connect(50002)
        slow.data_received(b"GET /healthz HT")
        await asyncio.sleep(0.5)
        assert status_of(slow_transport.written) == 408 and slow_transport.eof
        assert problem_of(slow_transport.written)["type"].endswith(":request-timeout")
        assert silent_transport.closed and silent_transport.written == b""
        assert side.calls == 0 and side.observed == [("GET", "(edge)", 408)]
    run(go())


def test_past_the_connection_cap_the_longest_waiting_connection_makes_room():
    async def go():
        side = Connections(max_connections=2)
        first, first_transport = side.connect(50001)
        first.data_received(b"GET / HTTP/1.1\r\nX-Slow: a")
        await asyncio.sleep(0.01)
        second, second_transport = side.connect(50002)
        second.data_received(b"GET / HTTP/1.1\r\nX-Slow: a")
        third, third_transport = side.connect(50003)  # over the cap: the first goes
        assert status_of(first_transport.written) == 503
        assert b"retry-after: 1" in first_transport.written
        assert second_transport.written == b"" and third_transport.written == b""
        third.data_received(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.05)
        assert status_of(third_transport.written) == 200 and side.calls == 1
    run(go())


# ------------------------------------------------------------------ the body timeout
def _reader_app():
    async def app(scope, receive, send):
        request = Request(scope, receive)
        try:
            body = await request.body()
        except Exception:  # noqa: BLE001 - as FastAPI does with a body it cannot read
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"bad body"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})
    return app


async def _call(app, receive):
    sent = []

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": "POST", "path": "/x", "headers": []}, receive, send)
    return sent


def test_a_trickling_body_answers_408_whatever_the_application_made_of_it():
    async def trickle():
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"a", "more_body": True}

    async def go():
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = await _call(BodyTimeout(_reader_app(), timeout=0.3, min_rate=1000), trickle)
        assert 0.25 < loop.time() - started < 2
        assert sent[0]["status"] == 408 and len(sent) == 2  # the app's own 400 dropped
        body = json.loads(sent[1]["body"])
        assert body["type"].endswith(":request-timeout") and "1,000 bytes a second" in \
            body["detail"]
        assert (b"connection", b"close") in sent[0]["headers"]
    run(go())


def test_a_body_keeping_the_minimum_rate_is_read_to_the_end():
    chunks = [b"a" * 100] * 20

    async def steady():
        await asyncio.sleep(0.02)  # 5,000 bytes a second, over the 1,000 asked
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    async def go():
        sent = await _call(BodyTimeout(_reader_app(), timeout=0.1, min_rate=1000), steady)
        assert sent[0]["status"] == 200 and sent[1]["body"] == b"2000"
    run(go())


# ------------------------------------------------------------------ client disconnects
def test_a_client_gone_mid_upload_is_counted_499_on_one_line(caplog):
    observed = []
    messages = [{"type": "http.request", "body": b"{", "more_body": True},
                {"type": "http.disconnect"}]

    async def receive():
        return messages.pop(0)

    async def go():
        app = RequestIdMiddleware(_starlette_reader(), observe=lambda m, r, s, _t:
                                  observed.append((m, s)))
        return await _call(app, receive)

    with caplog.at_level(logging.INFO):
        sent = run(go())
    assert sent == [] and observed == [("POST", 499)]
    lines = [r for r in caplog.records if r.name == "exchange.http"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "closed the connection before the answer" in lines[0].getMessage()


def _starlette_reader():
    async def app(scope, receive, send):
        await Request(scope, receive).body()  # raises ClientDisconnect
    return app


# ------------------------------------------------------------------ database errors
def _locked_sqlite(tmp_path) -> sqlite3.OperationalError:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.close()
        other.close()
    raise AssertionError("the second writer got the lock")


def test_which_database_errors_mean_unavailable(tmp_path):
    import psycopg

    def wrapped(orig, cls=db.OperationalError, **kw):
        return cls("INSERT ...", {}, orig, **kw)

    unavailable = [
        wrapped(psycopg.errors.AdminShutdown("terminating connection due to administrator "
                                             "command")),
        wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")),
        wrapped(psycopg.errors.TooManyConnections("sorry, too many clients already")),
        wrapped(psycopg.OperationalError("connection refused")),  # no SQLSTATE
        wrapped(psycopg.errors.InternalError("whatever"), db.InternalError,
                connection_invalidated=True),
        wrapped(_locked_sqlite(tmp_path)),
        db.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
    ]
    for error in unavailable:
        found = database_unavailable(error)
        assert found is not None and found.code == "database.unavailable", error
    with sqlite3.connect(":memory:") as conn:
        try:
            conn.execute("SELECT * FROM nowhere")
        except sqlite3.OperationalError as exc:
            no_table = exc
    others = [wrapped(psycopg.errors.UniqueViolation("duplicate key"), db.IntegrityError),
              wrapped(psycopg.errors.UndefinedTable("no such table"), db.ProgrammingError),
              wrapped(no_table), ValueError("not a database error")]
    for error in others:
        assert database_unavailable(error) is None, error


def test_a_lost_database_answers_503_with_retry_after_and_no_cause(caplog):
    import psycopg

    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/lost")
    def lost() -> None:
        raise db.OperationalError("INSERT INTO shipments", {}, psycopg.errors.AdminShutdown(
            "terminating connection due to administrator command"))

    @app.post("/bug")
    def bug() -> None:
        raise db.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup key"))

    @app.get("/ok")
    def ok() -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def ask(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            return await client.post(path)

    r = run(ask("/lost"))
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:carec-exchange:problem:database-unavailable"
    assert "same Idempotency-Key" in body["detail"]
    assert "administrator" not in r.text  # the cause stays in the log
    r = run(ask("/bug"))
    assert r.status_code == 500 and "dup key" not in r.text
    assert any("administrator command" in rec.getMessage() and rec.exc_info is None
               for rec in caplog.records)
    assert any(rec.exc_info and "dup key" in str(rec.exc_info[1]) for rec in caplog.records)
