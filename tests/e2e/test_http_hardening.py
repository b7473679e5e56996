"""The HTTP edge of a real `exchange serve` (issue 17): clients that leave mid-upload, a
database restarted under a burst of submissions, slow clients, oversized heads, and who may
read the metrics. Real servers on 127.0.0.1, real sockets; short timeouts come from the
environment, and every bound is generous (a loaded 2-core CI machine)."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.server import (
    ROUTE,
    RunningServer,
    add_party_cli,
    assert_problem,
    free_port,
    start_server,
)

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 3.0
MARGIN = 15.0
"""How late past its timeout a slow connection may be closed before the test fails."""


@dataclass
class Served:
    server: RunningServer
    keys: dict[str, str]
    db_url: str

    @property
    def base(self) -> str:
        return self.server.base_url

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.base.removeprefix("http://").split(":")
        return host, int(port)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def metrics(self) -> str:
        r = httpx.get(f"{self.base}/metrics", headers=self.auth("operator"), timeout=30)
        assert r.status_code == 200, r.text
        return r.text


def serve(server_env, folder: Path, db_url: str, **env: str) -> Served:
    env_ = server_env(db_url, **env)
    keys = {role: add_party_cli(env_, role, role)[2] for role in ("forwarder", "operator")}
    server = start_server(env_, log_path=folder / "server.log")
    return Served(server, keys, db_url)


@pytest.fixture(scope="module")
def guarded(server_env, tmp_path_factory):
    """Short header and body timeouts; metrics for operators (the default)."""
    folder = tmp_path_factory.mktemp("guarded")
    served = serve(server_env, folder, f"sqlite:///{folder / 'exchange.db'}",
                   EXCHANGE_SERVER_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
                   EXCHANGE_SERVER_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
                   EXCHANGE_SERVER_BODY_MIN_RATE="500")
    yield served
    served.server.stop()


CAP = 60


@pytest.fixture(scope="module")
def capped(server_env, tmp_path_factory):
    """A small connection cap, long timeouts (only the cap sheds); metrics open."""
    folder = tmp_path_factory.mktemp("capped")
    served = serve(server_env, folder, f"sqlite:///{folder / 'exchange.db'}",
                   EXCHANGE_SERVER_MAX_CONNECTIONS=str(CAP),
                   EXCHANGE_SERVER_HEADER_TIMEOUT_SECONDS="120",
                   EXCHANGE_SERVER_METRICS="open")
    yield served
    served.server.stop()


def count(metrics: str, route: str, status: int, method: str | None = "POST") -> float:
    """Requests counted with that route and status (and method; None: any)."""
    methods = re.escape(method) if method else '[^"]*'
    pattern = (r"^exchange_http_requests_total\{"
               rf'method="{methods}",route="{re.escape(route)}",status="{status}"'
               r"\} (\S+)$")
    return sum(float(v) for v in re.findall(pattern, metrics, re.MULTILINE))


# ------------------------------------------------------------------ slow and raw clients
@dataclass
class RawClient:
    """A socket that sends *head* at once, then *trickle* one byte at a time."""

    address: tuple[str, int]
    head: bytes
    trickle: bytes
    kind: str
    opened: float = 0.0
    closed_after: float | None = None
    received: bytes = b""
    sock: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(self.address, timeout=10)
        self.opened = time.monotonic()
        if self.head:
            self.sock.sendall(self.head)
        self.sock.setblocking(False)
        self.send_byte()

    def _closed(self) -> None:
        if self.closed_after is None:
            self.closed_after = time.monotonic() - self.opened
            self.sock.close()

    def poll(self) -> None:
        if self.closed_after is not None:
            return
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self._closed()
                    return
                self.received += data
        except BlockingIOError:
            pass
        except OSError:
            self._closed()

    def send_byte(self) -> None:
        if self.closed_after is not None or not self.trickle:
            return
        try:
            self.sock.send(self.trickle[:1])
            self.trickle = self.trickle[1:]
        except BlockingIOError:
            pass
        except OSError:
            self.poll()
            self._closed()

    def close(self) -> None:
        if self.closed_after is None:
            self.sock.close()


def trickle_until_closed(clients: list[RawClient], seconds: float,
                         while_waiting=lambda: None) -> None:
    """A byte a second to every open client until all are closed or *seconds* passed."""
    deadline = time.monotonic() + seconds
    next_byte = time.monotonic() + 1
    while time.monotonic() < deadline and any(c.closed_after is None for c in clients):
        for c in clients:
            c.poll()
        if time.monotonic() >= next_byte:
            next_byte += 1
            for c in clients:
                c.send_byte()
            while_waiting()
        time.sleep(0.05)


class NormalClient(threading.Thread):
    """Asks the server for a health check and a shipment list, on new connections, until
    stopped; keeps every status and time."""

    def __init__(self, served: Served):
        super().__init__(daemon=True)
        self.served, self.stop = served, threading.Event()
        self.answers: list[tuple[int, float]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            for path, headers in (("/healthz", {}),
                                  ("/v1/shipments?limit=1", self.served.auth("forwarder"))):
                started = time.monotonic()
                try:
                    r = httpx.get(self.served.base + path, headers=headers, timeout=30)
                    self.answers.append((r.status_code, time.monotonic() - started))
                except httpx.HTTPError as exc:
                    self.errors.append(f"{path}: {exc!r}")
            self.stop.wait(0.3)


def slow_head(served: Served) -> RawClient:
    return RawClient(served.address, b"", b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: "
                     + b"a" * 500, "head")


def slow_body(served: Served, *, key: bool) -> RawClient:
    auth = f"Authorization: Bearer {served.keys['forwarder']}\r\n".encode() if key else b""
    head = (b"POST /v1/shipments HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n" + auth + b"\r\n")
    return RawClient(served.address, head, b'{"route": ' + b" " * 99_000,
                     "body" if key else "body-unread")


def test_slow_clients_are_closed_in_time_while_normal_clients_are_served(guarded):
    """Hundreds of connections sending a byte a second, in the headers or in a declared
    100 kB body, are all closed within their timeout (408); a normal client keeps getting
    its answers throughout."""
    normal = NormalClient(guarded)
    normal.start()
    try:
        clients = [slow_head(guarded) for _ in range(200)]
        clients += [slow_body(guarded, key=True) for _ in range(100)]
        clients += [slow_body(guarded, key=False) for _ in range(100)]
        trickle_until_closed(clients, max(HEADER_TIMEOUT, BODY_TIMEOUT) + MARGIN + 5)
    finally:
        normal.stop.set()
        normal.join(timeout=60)
        for c in clients:
            c.close()
    still_open = [c.kind for c in clients if c.closed_after is None]
    assert not still_open, f"{len(still_open)} slow connections still open: {still_open[:5]}"
    for c in clients:
        timeout = HEADER_TIMEOUT if c.kind == "head" else BODY_TIMEOUT
        assert timeout - 0.5 <= c.closed_after <= timeout + MARGIN, (c.kind, c.closed_after)
        expected = {"head": b"HTTP/1.1 408 ", "body": b"HTTP/1.1 408 ",
                    "body-unread": b"HTTP/1.1 401 "}[c.kind]
        assert c.received.startswith(expected), (c.kind, c.received[:200])
    assert not normal.errors, normal.errors[:3]
    assert len(normal.answers) >= 6
    assert {status for status, _ in normal.answers} == {200}
    assert max(seconds for _, seconds in normal.answers) < 10
    metrics = guarded.metrics()
    assert count(metrics, "(edge)", 408, method=None) >= 200
    assert count(metrics, "/v1/shipments", 408) >= 100


def test_past_the_connection_cap_slow_connections_make_room_for_normal_ones(capped):
    """Three times the cap of connections stuck in their headers: the longest waiting are
    shed (503) and never more than the cap stay open; every normal request is answered."""
    normal = NormalClient(capped)
    clients: list[RawClient] = []
    try:
        for _ in range(3 * CAP):
            clients.append(slow_head(capped))
        normal.start()
        trickle_until_closed(clients, 8)
    finally:
        normal.stop.set()
        normal.join(timeout=60)
        for c in clients:
            c.close()
    still_open = [c for c in clients if c.closed_after is None]
    shed = [c for c in clients if c.closed_after is not None]
    assert len(still_open) <= CAP and len(shed) >= 2 * CAP
    assert all(c.received == b"" or c.received.startswith(b"HTTP/1.1 503 ") for c in shed)
    assert sum(c.received.startswith(b"HTTP/1.1 503 ") for c in shed) >= CAP
    assert not normal.errors, normal.errors[:3]
    assert normal.answers and {status for status, _ in normal.answers} == {200}


# ------------------------------------------------------------------ clients that leave
def test_clients_leaving_mid_upload_are_counted_apart_without_a_traceback(capped):
    """100 uploads (JSON and multipart) cut off mid-body: 499 in the metrics, no 500, one
    log line each and no traceback."""
    before = httpx.get(f"{capped.base}/metrics", timeout=30).text
    auth = f"Authorization: Bearer {capped.keys['forwarder']}\r\n".encode()
    json_head = (b"POST /v1/shipments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 100000\r\n" + auth + b"\r\n")
    multipart_head = (b"POST /v1/shipments HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/"
                      b"form-data; boundary=XyZ\r\nContent-Length: 100000\r\n" + auth + b"\r\n")
    multipart_start = (b'--XyZ\r\nContent-Disposition: form-data; name="shipment"\r\n\r\n'
                       + json.dumps({"route": ROUTE, "transport_mode": "road"}).encode()
                       + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="documents"; '
                       b'filename="waybill.xml"\r\nContent-Type: application/xml\r\n\r\n<a>')
    for batch in range(4):  # 25 at a time: under the server's connection cap
        socks = []
        for i in range(25):
            s = socket.create_connection(capped.address, timeout=10)
            if (batch + i) % 2:
                s.sendall(json_head + b'{"route": {"origin": "KG", ' + b" " * 5000)
            else:
                s.sendall(multipart_head + multipart_start + b"<b/>" * 2000)
            socks.append(s)
        time.sleep(1.0)  # each request is reading its body by now
        for s in socks:
            s.close()
    deadline = time.monotonic() + 60
    while True:
        metrics = httpx.get(f"{capped.base}/metrics", timeout=30).text
        gone = count(metrics, "/v1/shipments", 499) - count(before, "/v1/shipments", 499)
        if gone >= 100 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert gone == 100
    assert 'status="500"' not in metrics
    log = capped.server.log()
    assert "Traceback" not in log and "ClientDisconnect" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    left = [line for line in lines if line.get("status") == 499]
    assert len(left) == 100
    assert all("closed the connection before the answer" in line["message"] and
               "exception" not in line for line in left)


# ------------------------------------------------------------------ oversized heads
def test_oversized_heads_answer_431(guarded):
    r = httpx.get(f"{guarded.base}/healthz", headers={"X-Big": "a" * (1024 * 1024)},
                  timeout=60)
    body = assert_problem(r, 431, "headers-too-large")
    assert "32,768 bytes" in body["detail"] and body["request_id"]
    r = httpx.get(f"{guarded.base}/healthz",
                  headers=[(f"X-Extra-{i}", "v") for i in range(2000)], timeout=60)
    assert "more than 100 header fields" in assert_problem(r, 431, "headers-too-many")["detail"]
    r = httpx.get(f"{guarded.base}/healthz",
                  headers=[(f"X-Extra-{i}", "v" * 200) for i in range(80)], timeout=60)
    assert r.status_code == 200  # 80 fields, 17 kB: within both limits
    assert count(guarded.metrics(), "(edge)", 431, method=None) >= 2


# ------------------------------------------------------------------ who reads the metrics
def test_metrics_need_an_operators_key_by_default(guarded):
    r = httpx.get(f"{guarded.base}/metrics", timeout=30)
    assert_problem(r, 401, "auth-missing")
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = httpx.get(f"{guarded.base}/metrics", headers=guarded.auth("forwarder"), timeout=30)
    assert "only operators" in assert_problem(r, 403, "forbidden")["detail"]
    assert "exchange_http_requests_total" in guarded.metrics()


def test_metrics_can_be_open(capped):
    r = httpx.get(f"{capped.base}/metrics", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_metrics_can_move_to_a_loopback_listener(server_env, tmp_path):
    port = free_port()
    served = serve(server_env, tmp_path, f"sqlite:///{tmp_path / 'exchange.db'}",
                   EXCHANGE_SERVER_METRICS="loopback", EXCHANGE_SERVER_METRICS_PORT=str(port))
    try:
        assert httpx.get(f"{served.base}/healthz", timeout=30).status_code == 200
        assert_problem(httpx.get(f"{served.base}/metrics", headers=served.auth("operator"),
                                 timeout=30), 404, "not-found")
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
        assert r.status_code == 200
        assert count(r.text, "/healthz", 200, method="GET") >= 1
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=30).status_code == 404
    finally:
        served.server.stop()


# ------------------------------------------------------------------ a database restart
@pytest.mark.postgres
def test_a_database_restart_answers_503_and_retries_with_the_key_succeed(server_env,
                                                                          tmp_path):
    """A burst of submissions while PostgreSQL restarts (``pg_ctl restart -m fast``): every
    answer is 201 or 503 with Retry-After; retrying each 503 with its Idempotency-Key
    succeeds; every key made exactly one shipment."""
    from tests.fixtures.postgres import PostgresServer

    pg = PostgresServer().start()
    served = None
    try:
        served = serve(server_env, tmp_path, pg.create_database())
        answers: dict[str, list[httpx.Response]] = {}
        unexpected: list[str] = []
        stop = threading.Event()

        def submit(key: str) -> httpx.Response:
            return httpx.post(f"{served.base}/v1/shipments", timeout=60, json={
                "route": ROUTE, "transport_mode": "road", "references": {"booking": key}},
                headers={**served.auth("forwarder"), "Idempotency-Key": key})

        def burst() -> None:
            while not stop.is_set():
                key = uuid.uuid4().hex
                try:
                    answers[key] = [submit(key)]
                except httpx.HTTPError as exc:
                    unexpected.append(repr(exc))

        threads = [threading.Thread(target=burst, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answers) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        pg.restart("fast")
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        assert not unexpected, unexpected[:3]
        unavailable = 0
        for key, (r,) in answers.items():
            if r.status_code == 503:
                unavailable += 1
                body = assert_problem(r, 503, "database-unavailable")
                assert int(r.headers["retry-after"]) > 0
                assert "same Idempotency-Key" in body["detail"]
                assert "administrator" not in r.text and "connection" not in body["detail"]
            else:
                assert r.status_code == 201, r.text
        assert unavailable, "no submission met the restart"
        for key, tries in answers.items():
            while tries[-1].status_code == 503 and len(tries) < 30:
                time.sleep(int(tries[-1].headers["retry-after"]))
                tries.append(submit(key))
            assert tries[-1].status_code == 201, tries[-1].text
        ids = {tries[-1].json()["id"] for tries in answers.values()}
        assert len(ids) == len(answers)  # one shipment per key, whatever the retries
        engine = create_engine(served.db_url)
        try:
            with engine.connect() as conn:
                stored = set(conn.execute(text("SELECT id FROM shipments")).scalars())
                keys = conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
        finally:
            engine.dispose()
        assert {str(i) for i in stored} == ids and keys == len(answers)
        assert "Traceback" not in served.server.log()
    finally:
        if served is not None:
            served.server.stop()
        pg.stop()
