"""bench/soak: issue 17's soak. Steady load for N minutes while processes are killed, and
what was lost, doubled or grew at the end. Not a timed comparison: a run either keeps
everything it promised or it does not.

On a throwaway PostgreSQL 15 (tests/fixtures/postgres.py) the exchange runs as it would in
production on one host: `exchange serve --workers 2`, two `exchange dispatch` processes and
three customs simulators (`exchange simulate-customs` for KZ, UZ and AF, HTTP push, no
follow-up decisions of their own), all on 127.0.0.1. Through the public HTTP API only:

* shipments KZ -> UZ -> AF at a steady rate (``--rate`` a second), with one or two of the
  official UBL examples each (export, transit and import declarations, the Waybill), every
  copy with its own cbc:ID; a quarter as one JSON create and a document POST, a quarter as
  a multipart create and a second document POST. Every POST carries an Idempotency-Key and
  is retried with it on a connection error or a 503, as clients are told to;
* on a third of the shipments the UZ customs key records acknowledged, an assessment
  (170,000.00 UZS), accepted and released, with the duties paid in between by the
  forwarder (one payment) or a payment provider (two, HMAC-signed); on a sixth the KZ
  customs key records acknowledged, accepted, released. Decisions carry their own
  decision ids and payments their references, so their retries are idempotent too;
* every ``--kill-every`` minutes `kill -9` of one API worker process (uvicorn's master
  starts another; if it does not within 30 s the whole server is restarted and the run
  says so) and of one dispatcher (a new one is started at once); at ``--restart-at``
  minutes `pg_ctl restart -m fast`. The same slot is killed each time, so one worker and
  one dispatcher live through the whole run and their memory can be compared.

Printed: per minute the submissions answered 2xx, throughput, p50/p99 latency (from the
first attempt to the final answer, retries included), failures and retries, decisions
and payments, deliveries received by the simulators and the open outbox; the last
minute's throughput over the first (target >= 0.9); resident memory of each long-lived
process at minute 1 and at the end (target growth <= 20 %; PostgreSQL as the sum of its
processes' RSS, which counts shared buffers once per process, and of their PSS, which
does not); after the dispatchers drained: lost submissions (answered 2xx, not in the
database), lost deliveries (expected by the routing rules and never received by the
simulator, by delivery id), documents the simulators received under two delivery ids,
payments recorded twice (ledger entries sharing a reference), each target 0; decisions
and payments answered 2xx but not stored; deliveries recorded as acknowledged by their
receipt whose acknowledged decision was not stored; the re-sends (a delivery id pushed
again) after each dispatcher kill and the restart; `exchange audit verify`; tracebacks in
the processes' logs. Last line: the figures as JSON.

    .venv/bin/python bench/soak.py                                   # 10 minutes
    .venv/bin/python bench/soak.py --minutes 2 --kill-every 1 --restart-at 1.5   # smoke
    options: --rate 12 (shipments/s) --threads 4 --customs-threads 2 --lease 30
             --drain-seconds --logs DIR (keep the processes' logs)

The soak's members file points KZ, UZ and AF at the simulators (https-push, envelopes not
signed) and does not require KZ's senders to sign (the load generator would otherwise
spend a core signing XAdES). Dispatchers run with a ``--lease`` of 30 s (default 120 s)
so that what a killed one held comes back within the run.
"""
from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from submit_support import REPO, bench_home, percentile, server_env, start_server

from tests.fixtures.corridor import CORRIDOR_EXAMPLES
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.server import free_port

ROUTE = {"origin": "KZ", "transit": ["UZ"], "destination": "AF"}
CUSTOMS = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}  # simulated, with their currencies
DOCS = {root: (UBL_EXAMPLES / name).read_bytes() for root, name in CORRIDOR_EXAMPLES.items()}
# (documents in the create request, document POSTed after it), by shipment number % 4
PLANS = [(("Waybill", "ExportCustomsDeclaration"), None), (("TransitCustomsDeclaration",), None),
         ((), "ImportCustomsDeclaration"), (("Waybill",), "TransitCustomsDeclaration")]
DUTIES = [{"tax_type": "customs-duty", "base": "1000000.00", "rate": "5", "amount": "50000.00",
           "currency": "UZS"},
          {"tax_type": "vat", "base": "1000000.00", "rate": "12", "amount": "120000.00",
           "currency": "UZS"}]
OPEN = ("pending", "retrying", "sending")
LONG_LIVED = ("api master", "api worker (lives through)", "dispatcher (lives through)")


def varied(root: str, tag: str) -> bytes:
    """The official example of *root* with its first cbc:ID made unique by *tag*."""
    return DOCS[root].replace(b"</cbc:ID>", f"-{tag}</cbc:ID>".encode(), 1)


def multipart(meta: dict, docs: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="shipment"\r\n'
             f'Content-Type: application/json\r\n\r\n{json.dumps(meta)}\r\n'.encode()]
    for name, data in docs:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; '
                     f'filename="{name}"\r\nContent-Type: application/xml\r\n\r\n'.encode()
                     + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ------------------------------------------------------------------ processes, /proc
def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, command line) of *pid*, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1]), cmd


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) and st[0] == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(*pids: int, field: str = "VmRSS:", source: str = "status") -> int:
    """Sum of *field* (kB) in /proc/PID/*source* over *pids* (gone ones count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, StopIteration):
            lines = Path(f"/proc/{pid}/{source}").read_text().splitlines()
            total += int(next(l for l in lines if l.startswith(field)).split()[1])
    return total


def pss_kb(*pids: int) -> int:
    """Proportional set size: shared pages (PostgreSQL's shared buffers) split between the
    processes mapping them, so a sum over processes counts each page once."""
    return rss_kb(*pids, field="Pss:", source="smaps_rollup")


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ------------------------------------------------------------------ HTTP clients
class GaveUp(Exception):
    pass


@dataclass
class Reply:
    status: int
    body: bytes
    retries: Counter
    replayed: bool

    def json(self) -> dict:
        return json.loads(self.body)

    def label(self) -> str:
        try:
            return f"{self.status} {self.json().get('type', '').rsplit(':', 1)[-1]}"
        except ValueError:
            return str(self.status)


class Client:
    """One keep-alive HTTP/1.1 connection (http.client, as bench/submit.py) for one key,
    retrying a request as clients are told to: same body, same Idempotency-Key, on a
    connection error or a 503 (after its Retry-After, at most 2 s), for up to 60 s."""

    IDLE = 2.0  # a connection idle longer is reopened (the server may have closed it)

    def __init__(self, base_url: str, token: str):
        self.host, self.port = base_url.removeprefix("http://").split(":")
        self.auth = f"Bearer {token}"
        self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        self.used = 0.0

    def post(self, path: str, body: bytes, media_type: str, *, key: str | None = None,
             extra: dict[str, str] | None = None, deadline: float = 60.0) -> Reply:
        headers = {"Authorization": self.auth, "Content-Type": media_type, **(extra or {})}
        if key:
            headers["Idempotency-Key"] = key
        retries: Counter = Counter()
        give_up = time.monotonic() + deadline
        while True:
            if time.monotonic() - self.used > self.IDLE:
                self.conn.close()
            try:
                self.conn.request("POST", path, body, headers)
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                retries["connection"] += 1
                if time.monotonic() > give_up:
                    raise GaveUp(f"{type(exc).__name__}: {exc}") from None
                time.sleep(min(0.1 * retries["connection"], 1.0))
                continue
            finally:
                self.used = time.monotonic()
            if response.status == 503 and time.monotonic() < give_up:
                retries["503"] += 1
                time.sleep(min(float(response.getheader("Retry-After") or 1), 2.0))
                continue
            return Reply(response.status, data, retries,
                         response.getheader("Idempotent-Replayed") == "true")

    def close(self) -> None:
        self.conn.close()


def get_json(url: str) -> dict:
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", "/" + url.split("/", 3)[3])
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


# ------------------------------------------------------------------ what the load saw
@dataclass
class Minute:
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    failed: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    replayed: int = 0
    decisions: int = 0
    payments: int = 0
    customs_failed: Counter = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)


class Tally:
    def __init__(self, minutes: int):
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.minutes = [Minute() for _ in range(minutes)]
        self.shipments: set[str] = set()
        self.documents: set[str] = set()
        self.decisions: set[tuple[str, str]] = set()
        self.payments: set[str] = set()
        self.released: set[tuple[str, str]] = set()
        self.flows_started = 0
        self.flows_done = 0
        self.flows_abandoned = 0  # a step answered other than 2xx

    def now(self) -> float:
        return time.monotonic() - self.t0

    def minute(self) -> Minute:
        return self.minutes[max(0, min(int(self.now() // 60), len(self.minutes) - 1))]

    def submission(self, started: float, reply: Reply | None, failure: str | None) -> None:
        with self.lock:
            m = self.minute()
            if reply is not None:
                m.retries.update(reply.retries)
            if reply is not None and 200 <= reply.status < 300:
                m.ok += 1
                m.latencies.append(time.monotonic() - started)
                m.replayed += reply.replayed
            else:
                m.failed[failure or (reply.label() if reply else "?")] += 1

    def event(self, text: str) -> None:
        with self.lock:
            self.minute().events.append(f"{self.now():.0f}s {text}")
        print(f"  [{self.now():6.1f} s] {text}", flush=True)


# ------------------------------------------------------------------ the load
class Load:
    def __init__(self, base_url: str, keys: dict[str, str], secret: str, tally: Tally, *,
                 rate: float, duration: float, threads: int, customs_threads: int):
        self.base_url, self.keys, self.secret, self.tally = base_url, keys, secret, tally
        self.rate, self.duration = rate, duration
        self.run = uuid.uuid4().hex[:8]
        self.stop = threading.Event()
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.flows: list[tuple[float, int, list]] = []  # (due, tie-breaker, steps left)
        self.seq = itertools.count()
        self.flows_ready = threading.Condition()
        self.threads = [threading.Thread(target=self.submitter, name=f"submit-{n}")
                        for n in range(threads)]
        self.threads += [threading.Thread(target=self.customs, name=f"customs-{n}")
                         for n in range(customs_threads)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        with self.flows_ready:
            self.flows_ready.notify_all()
        for t in self.threads:
            t.join(timeout=120)

    def _post(self, client: Client, path: str, body: bytes, media: str, key: str) -> Reply | None:
        started = time.monotonic()
        try:
            reply = client.post(path, body, media, key=key)
        except GaveUp as exc:
            self.tally.submission(started, None, f"gave up ({exc})"[:80])
            return None
        self.tally.submission(started, reply, None)
        return reply if 200 <= reply.status < 300 else None

    # one shipment after another, each due at t0 + i / rate (a late one goes at once)
    def submitter(self) -> None:
        client = Client(self.base_url, self.keys["forwarder"])
        try:
            while not self.stop.is_set():
                with self.lock:
                    i = next(self.counter)
                due = i / self.rate
                if due >= self.duration:
                    return
                if (wait := due - self.tally.now()) > 0 and self.stop.wait(wait):
                    return
                started = time.monotonic()
                try:
                    self.shipment(client, i)
                except Exception as exc:  # noqa: BLE001 - counted, the load goes on
                    self.tally.submission(started, None, f"client: {exc!r}"[:80])
        finally:
            client.close()

    def shipment(self, client: Client, i: int) -> None:
        inline, after = PLANS[i % len(PLANS)]
        meta = {"route": ROUTE, "transport_mode": "road", "references": {"booking": f"SOAK-{i}"}}
        key = f"soak-{self.run}-{i}"
        if inline:
            body, media = multipart(meta, [(f"{root}.xml", varied(root, f"{self.run}-{i}-{n}"))
                                           for n, root in enumerate(inline)])
        else:
            body, media = json.dumps(meta).encode(), "application/json"
        reply = self._post(client, "/v1/shipments", body, media, f"{key}-create")
        if reply is None:
            return
        shipment = reply.json()
        sid = shipment["id"]
        with self.tally.lock:
            self.tally.shipments.add(sid)
            self.tally.documents.update(d["id"] for d in shipment.get("documents", ()))
        if after:
            doc = self._post(client, f"/v1/shipments/{sid}/documents",
                             varied(after, f"{self.run}-{i}-a"), "application/xml",
                             f"{key}-doc")
            if doc is not None:
                with self.tally.lock:
                    self.tally.documents.add(doc.json()["id"])
        if i % 3 == 0:
            self.schedule(self.uz_flow(sid, i))
        elif i % 6 == 1:
            self.schedule(self.kz_flow(sid))

    # customs decisions and payments: a flow is a list of steps, one every half second
    def uz_flow(self, sid: str, i: int) -> list:
        def decision(kind: str, **more) -> tuple:
            return ("customs_uz", f"/v1/customs/UZ/shipments/{sid}/decisions",
                    {"kind": kind, "decision_id": f"soak-{sid}-UZ-{kind}", **more})

        def payment(role: str, amount: str, n: int) -> tuple:
            return (role, f"/v1/shipments/{sid}/payments",
                    {"amount": amount, "currency": "UZS", "country": "UZ",
                     "reference": f"SOAK-{sid}-{n}", "payer": "Silk Road Forwarding"})

        pay = [payment("forwarder", "170000.00", 1)] if i % 2 == 0 else \
            [payment("provider", "100000.00", 1), payment("provider", "70000.00", 2)]
        return [decision("acknowledged"), decision("assessment", duty_lines=DUTIES), *pay,
                decision("accepted"), decision("released")]

    def kz_flow(self, sid: str) -> list:
        return [("customs_kz", f"/v1/customs/KZ/shipments/{sid}/decisions",
                 {"kind": kind, "decision_id": f"soak-{sid}-KZ-{kind}"})
                for kind in ("acknowledged", "accepted", "released")]

    def schedule(self, steps: list, delay: float = 3.0) -> None:
        with self.flows_ready:
            self.tally.flows_started += 1
            heapq.heappush(self.flows, (time.monotonic() + delay, next(self.seq), steps))
            self.flows_ready.notify()

    def customs(self) -> None:
        clients = {role: Client(self.base_url, key) for role, key in self.keys.items()}
        try:
            while not self.stop.is_set():
                with self.flows_ready:
                    while not self.stop.is_set() and (
                            not self.flows or self.flows[0][0] > time.monotonic()):
                        self.flows_ready.wait(
                            0.5 if not self.flows else max(0.01, self.flows[0][0] - time.monotonic()))
                    if self.stop.is_set():
                        return
                    _, _, steps = heapq.heappop(self.flows)
                try:
                    ok = self.step(clients, steps[0])
                except Exception as exc:  # noqa: BLE001 - counted, the load goes on
                    with self.tally.lock:
                        self.tally.minute().customs_failed[f"client: {exc!r}"[:80]] += 1
                    ok = False
                if ok and steps[1:]:
                    with self.flows_ready:
                        heapq.heappush(self.flows, (time.monotonic() + 0.5, next(self.seq),
                                                    steps[1:]))
                        self.flows_ready.notify()
                else:
                    with self.tally.lock:
                        self.tally.flows_done += ok
                        self.tally.flows_abandoned += not ok
        finally:
            for c in clients.values():
                c.close()

    def step(self, clients: dict[str, Client], step: tuple) -> bool:
        role, path, payload = step
        body = json.dumps(payload).encode()
        extra = {"X-Signature": sign(self.secret, body)} if role == "provider" else None
        try:
            reply = clients[role].post(path, body, "application/json", extra=extra)
        except GaveUp as exc:
            label, reply = f"gave up ({exc})"[:80], None
        ok = reply is not None and reply.status in (200, 201)
        with self.tally.lock:
            m = self.tally.minute()
            if reply is not None:
                m.retries.update(reply.retries)
            if not ok:
                what = "payment" if path.endswith("/payments") else payload["kind"]
                m.customs_failed[f"{what}: {reply.label() if reply else label}"] += 1
            elif path.endswith("/payments"):
                m.payments += 1
                self.tally.payments.add(payload["reference"])
            else:
                m.decisions += 1
                country = path.split("/")[3]
                self.tally.decisions.add((country, payload["decision_id"]))
                if payload["kind"] == "released":
                    self.tally.released.add((path.split("/")[5], country))
        return ok


def sign(secret: str, body: bytes) -> str:
    from exchange.payments.providers import sign_body

    return sign_body(secret, body)


# ------------------------------------------------------------------ the exchange's processes
class Exchange:
    """PostgreSQL, simulators, API server and dispatchers; what was started is stopped."""

    def __init__(self, home: Path, logs: Path, lease: float):
        self.home, self.logs, self.lease = home, logs, lease
        self.pg: PostgresServer | None = None
        self.sims: dict[str, tuple[subprocess.Popen, int]] = {}
        self.server = None
        self.dispatchers: list[subprocess.Popen] = []
        self.seen_workers: set[int] = set()
        self.kept_worker: int | None = None
        self.n_dispatchers = 0
        self.url = ""
        self.env: dict[str, str] = {}

    # --- start
    def start(self) -> dict[str, str]:
        self.pg = PostgresServer().start()
        self.url = self.pg.create_database("soak")
        for cc, currency in CUSTOMS.items():
            port = free_port()
            with open(self.logs / f"simulator-{cc}.log", "wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "exchange", "simulate-customs", "--country", cc,
                     "--port", str(port), "--follow-up", "none", "--currency", currency],
                    env=self._base_env(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
            self.sims[cc] = (proc, port)
        for cc, (proc, _) in self.sims.items():
            self._wait(lambda cc=cc: self.sim_stats(cc) is not None, f"the {cc} simulator",
                       proc)
        members = self._members_file()
        self.env = server_env(self.home, self.url) | {
            "EXCHANGE_MEMBERS_FILE": str(members),
            "EXCHANGE_DISPATCH_LEASE_SECONDS": str(self.lease)}
        keys, secret = self._parties(members)
        self.start_server()
        for _ in range(2):
            self.dispatchers.append(self.start_dispatcher())
        self._wait(lambda: len(self.api_workers()) == 2, "2 API workers", self.server.process)
        keys["_secret"] = secret
        return keys

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
        return env | {"EXCHANGE_HOME": str(self.home)}

    @staticmethod
    def _wait(predicate, what: str, proc: subprocess.Popen | None = None,
              timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what}")

    def _members_file(self) -> Path:
        """The shipped members file with KZ, UZ and AF pushed to the simulators (the same
        surgery as tests/fixtures/corridor.py, on three members)."""
        from adapters.members import default_members_path, load_members

        text = default_members_path().read_text(encoding="utf-8")
        blocks = re.split(r"(?m)^(?=\[members\.[A-Z]{2}\]\s*$)", text)
        out = []
        for block in blocks:
            found = re.match(r"\[members\.([A-Z]{2})\]", block)
            if found and found.group(1) in self.sims:
                cc, port = found.group(1), self.sims[found.group(1)][1]
                name = re.search(r"(?m)^name = .*$", block).group(0)
                currency = re.search(r"(?m)^currency = .*$", block).group(0)
                block = (f'[members.{cc}]\n{name}\n{currency}\ntrust_dir = "trust/{cc}"\n'
                         f'require_signature = false\nadapter = "https-push"\n\n'
                         f'[members.{cc}.settings]\n'
                         f'endpoint = "http://127.0.0.1:{port}/v1/deliveries"\n'
                         f'decisions_url = "http://127.0.0.1:{port}/v1/decisions"\n'
                         f'timeout_seconds = 10.0\nconnect_timeout_seconds = 3.0\n'
                         f'sign = false\n\n')
            elif found and re.search(r'(?m)^adapter = "https-push"', block):
                # no simulator behind it: an inbox member, so nobody polls a dead port
                block = re.sub(r'(?m)^adapter = "https-push"', 'adapter = "inbox"',
                               block.split(f"[members.{found.group(1)}.settings]")[0])
            out.append(block)
        path = self.home / "soak-members.toml"
        path.write_text("".join(out), encoding="utf-8")
        load_members(path, base_dir=self.home)  # refuses a file it cannot read
        return path

    def _parties(self, members_file: Path) -> tuple[dict[str, str], str]:
        from adapters.members import load_members
        from exchange.config import DatabaseSettings
        from exchange.domain import PartyKind
        from exchange.parties.keys import register_party
        from exchange.store import UnitOfWorkFactory, create_engines, upgrade

        engines = create_engines(DatabaseSettings(url=self.url))
        try:
            upgrade(engines)
            store = UnitOfWorkFactory(engines)
            countries = frozenset(load_members(members_file, base_dir=self.home).countries)
            keys, ids = {}, {}
            for role, kind, country in (
                    ("forwarder", PartyKind.FORWARDER, None),
                    ("customs_kz", PartyKind.CUSTOMS, "KZ"),
                    ("customs_uz", PartyKind.CUSTOMS, "UZ"),
                    ("provider", PartyKind.PAYMENT_PROVIDER, None)):
                party, key = register_party(store, kind=kind, name=f"soak {role}",
                                            country=country, members=countries)
                keys[role], ids[role] = key.token, party.id
        finally:
            engines.dispose()
        out = subprocess.run([sys.executable, "-m", "exchange", "payments", "provider-secret",
                              ids["provider"]], env=self.env, capture_output=True, text=True,
                             timeout=120, cwd=REPO, check=False)
        if out.returncode:
            raise RuntimeError(f"exchange payments provider-secret: {out.stderr}")
        return keys, out.stdout.split("(shown once): ")[1].split()[0]

    def start_server(self, port: int | None = None) -> None:
        n = len(list(self.logs.glob("server*.log")))
        self.server = start_server(self.env, log_path=self.logs / f"server-{n}.log",
                                   port=port, args=("--workers", "2"))

    def start_dispatcher(self) -> subprocess.Popen:
        with open(self.logs / f"dispatcher-{self.n_dispatchers}.log", "wb") as log:
            self.n_dispatchers += 1
            return subprocess.Popen([sys.executable, "-m", "exchange", "dispatch"],
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

    # --- look
    def api_workers(self) -> list[int]:
        master = self.server.process.pid
        found = [p for p in children(master) if "spawn_main" in (_stat(p) or (0, ""))[1]]
        self.seen_workers.update(found)
        return found

    def pg_pids(self) -> list[int]:
        try:
            master = int((self.pg.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master, *children(master)]

    def sim_stats(self, cc: str) -> dict | None:
        try:
            return get_json(f"http://127.0.0.1:{self.sims[cc][1]}/v1/admin/stats")
        except (OSError, http.client.HTTPException, ValueError):
            return None

    def memory(self, *, choose: bool = False) -> dict[str, int]:
        """RSS (kB) of each long-lived process. *choose*: the worker that will live through
        is the one that has served most so far (the larger; the kernel hands the shared
        socket's connections out unevenly, and a worker grows as it first serves each kind
        of request), so that its growth from here is not its warm-up."""
        workers = self.api_workers()
        if workers and (choose or self.kept_worker is None):
            self.kept_worker = max(workers, key=rss_kb)
        others = [w for w in workers if w != self.kept_worker]
        return {"api master": rss_kb(self.server.process.pid),
                "api worker (lives through)": rss_kb(self.kept_worker)
                if self.kept_worker in workers else 0,
                "api worker (killed slot)": rss_kb(*others),
                "dispatcher (lives through)": rss_kb(self.dispatchers[0].pid),
                "dispatcher (killed slot)": rss_kb(self.dispatchers[1].pid),
                "postgresql total (RSS)": rss_kb(*(pg := self.pg_pids())),
                "postgresql total (PSS)": pss_kb(*pg),
                "simulators total": rss_kb(*(p.pid for p, _ in self.sims.values()))}

    # --- stop
    def stop(self) -> None:
        for proc in self.dispatchers:
            with contextlib.suppress(Exception):
                stop_process(proc)
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop()
        for pid in self.seen_workers:  # workers the master left behind (they are ours)
            with contextlib.suppress(OSError):
                if alive(pid) and "spawn_main" in (_stat(pid) or (0, ""))[1]:
                    os.kill(pid, signal.SIGKILL)
        for proc, _ in self.sims.values():
            with contextlib.suppress(Exception):
                stop_process(proc, timeout=10)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()


# ------------------------------------------------------------------ the run
class Soak:
    def __init__(self, args: argparse.Namespace, exchange: Exchange, tally: Tally, db):
        self.args, self.x, self.tally, self.db = args, exchange, tally, db
        self.worker_kill: tuple[float, int] | None = None
        self.kills: list[dict] = []          # dispatcher kills and the restart, in order
        self.findings: list[str] = []
        self.uvicorn_restarts: list[float] = []
        self.server_restarted = False

    def duplicates(self) -> int:
        return sum((self.x.sim_stats(cc) or {}).get("duplicates", 0) for cc in CUSTOMS)

    def open_deliveries(self) -> dict[str, int]:
        from sqlalchemy import text

        try:
            with self.db.connect() as conn:
                return dict(conn.execute(text(
                    "SELECT status, count(*) FROM deliveries GROUP BY status")).all())
        except Exception as exc:  # noqa: BLE001 - during the restart
            return {"?": type(exc).__name__}

    def kill_worker(self) -> None:
        targets = [w for w in self.x.api_workers() if w != self.x.kept_worker]
        if not targets:
            self.tally.event("no API worker to kill (the master has fewer than 2)")
            return
        os.kill(targets[0], signal.SIGKILL)
        self.worker_kill = (time.monotonic(), targets[0])
        self.tally.event(f"kill -9 API worker {targets[0]}")

    def check_worker_back(self) -> None:
        if self.worker_kill is None:
            return
        since, pid = self.worker_kill
        workers = self.x.api_workers()
        if len(workers) == 2 and pid not in workers:
            took = time.monotonic() - since
            self.uvicorn_restarts.append(took)
            self.tally.event(f"uvicorn started API worker {max(workers)} in {took:.1f} s")
            self.worker_kill = None
        elif time.monotonic() - since > 30:
            self.findings.append("uvicorn did not replace a killed worker within 30 s; "
                                 "the whole server was restarted")
            port = int(self.x.server.base_url.rsplit(":", 1)[1])
            self.x.server.stop()
            self.x.start_server(port=port)
            self.x.kept_worker = None
            self.server_restarted = True
            self.tally.event("API server restarted (uvicorn did not replace the worker)")
            self.worker_kill = None

    def kill_dispatcher(self) -> None:
        from sqlalchemy import text

        victim = self.x.dispatchers[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        before = self.duplicates()
        try:
            with self.db.connect() as conn:
                held = conn.execute(text(
                    "SELECT count(*) FROM deliveries WHERE status = 'sending' AND "
                    "lease_owner LIKE :owner"), {"owner": f"%:{victim.pid}:%"}).scalar_one()
        except Exception:  # noqa: BLE001
            held = None
        self.x.dispatchers[1] = self.x.start_dispatcher()
        self.kills.append({"at_s": round(self.tally.now(), 1), "what": "dispatcher kill",
                           "held": held, "duplicates_before": before})
        self.tally.event(f"kill -9 dispatcher {victim.pid} ({held} deliveries claimed, "
                         f"not recorded); started dispatcher {self.x.dispatchers[1].pid}")

    def restart_postgres(self) -> None:
        before = self.duplicates()
        started = time.monotonic()
        self.x.pg.restart("fast")
        took = time.monotonic() - started
        self.kills.append({"at_s": round(self.tally.now(), 1), "what": "postgresql restart",
                           "held": None, "duplicates_before": before})
        self.tally.event(f"pg_ctl restart -m fast: accepting connections again after "
                         f"{took:.1f} s")

    def watch(self) -> None:
        """Processes that died without being killed are findings; a dead dispatcher is
        replaced so the run goes on."""
        if self.x.server.process.poll() is not None:
            raise RuntimeError(f"the API master exited ({self.x.server.process.returncode}):\n"
                               + self.x.server.log()[-3000:])
        for n, proc in enumerate(self.x.dispatchers):
            if proc.poll() is not None:
                self.findings.append(f"dispatcher {proc.pid} exited by itself "
                                     f"({proc.returncode}) at {self.tally.now():.0f} s")
                self.tally.event(f"dispatcher {proc.pid} exited by itself; started another")
                self.x.dispatchers[n] = self.x.start_dispatcher()
        for cc, (proc, _) in self.x.sims.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the {cc} simulator exited ({proc.returncode})")

    def minute_line(self, n: int, length: float, delivered: int, backlog: dict) -> dict:
        m = self.tally.minutes[n]
        p50 = percentile(m.latencies, 50) * 1000 if m.latencies else 0.0
        p99 = percentile(m.latencies, 99) * 1000 if m.latencies else 0.0
        tps = m.ok / length
        failed = ", ".join(f"{k} x{v}" for k, v in (m.failed + m.customs_failed).most_common(4))
        open_ = sum(v for k, v in backlog.items() if k in OPEN)
        print(f"minute {n + 1:2d}: {m.ok:5d} submissions 2xx {tps:6.2f}/s  p50 {p50:7.1f} ms  "
              f"p99 {p99:7.1f} ms  | failed {sum(m.failed.values())}, retried "
              f"{dict(m.retries) or 0}, replayed {m.replayed} | decisions {m.decisions}, "
              f"payments {m.payments}, customs failed {sum(m.customs_failed.values())} | "
              f"simulators have {delivered} deliveries, outbox open {open_}"
              + (f"\n           failures: {failed}" if failed else ""), flush=True)
        return {"minute": n + 1, "ok": m.ok, "tps": round(tps, 2), "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1), "failed": dict(m.failed),
                "retries": dict(m.retries), "replayed": m.replayed,
                "decisions": m.decisions, "payments": m.payments,
                "customs_failed": dict(m.customs_failed), "delivered": delivered,
                "outbox_open": open_, "events": m.events}

    def delivered(self) -> int:
        return sum((self.x.sim_stats(cc) or {}).get("deliveries", 0) for cc in CUSTOMS)

    def run(self, load: Load) -> tuple[list[dict], dict, dict]:
        duration = self.args.minutes * 60
        plan: list[tuple[float, str]] = []
        every = self.args.kill_every * 60
        k = 1
        while every > 0 and k * every < duration - 5:
            plan.append((k * every, "kill"))
            k += 1
        if self.args.restart_at is not None and 0 < self.args.restart_at * 60 < duration:
            plan.append((self.args.restart_at * 60, "restart"))
        plan.sort()
        per_minute, memory_first = [], {}
        self.x.memory()  # picks the worker that lives through
        self.tally.t0, self.tally.wall0 = time.monotonic(), time.time()
        load.start()
        next_minute = 1
        while True:
            now = self.tally.now()
            if now >= next_minute * 60 or now >= duration:  # (before a kill due now)
                length = min(60.0, duration - (next_minute - 1) * 60)
                if next_minute == 1:
                    memory_first = self.x.memory(choose=self.worker_kill is None
                                                 and not self.uvicorn_restarts)
                per_minute.append(self.minute_line(next_minute - 1, length, self.delivered(),
                                                   self.open_deliveries()))
                if now >= duration:
                    break
                next_minute += 1
            while plan and plan[0][0] <= now:
                _, what = plan.pop(0)
                if what == "kill":
                    self.kill_worker()
                    self.kill_dispatcher()
                else:
                    self.restart_postgres()
            self.check_worker_back()
            self.watch()
            time.sleep(0.2)
        memory_end = self.x.memory()
        load.finish()
        return per_minute, memory_first, memory_end


# ------------------------------------------------------------------ after the run
def drain(soak: Soak, timeout: float) -> tuple[float, dict]:
    started = time.monotonic()
    while True:
        counts = soak.open_deliveries()
        if not any(counts.get(s) for s in OPEN) and "?" not in counts:
            return time.monotonic() - started, counts
        if time.monotonic() - started > timeout:
            return time.monotonic() - started, counts
        soak.watch()
        time.sleep(1)


def final_counts(soak: Soak) -> dict:
    from sqlalchemy import text

    from exchange.delivery.routing import RoutingRules

    tally, rules = soak.tally, RoutingRules.default()
    with soak.db.connect() as conn:
        shipments = {r[0] for r in conn.execute(text("SELECT id FROM shipments"))}
        documents = {r[0]: r[1:] for r in conn.execute(text(
            "SELECT id, shipment_id, root FROM documents"))}
        routes: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for sid, seq, cc in conn.execute(text("SELECT shipment_id, seq, country FROM route_legs")):
            routes[sid].append((seq, cc))
        released = {(r[0], r[1]) for r in conn.execute(text(
            "SELECT shipment_id, country FROM route_legs WHERE status = 'released'"))}
        rows = {r[0]: r[1:] for r in conn.execute(text(
            "SELECT id, first_document_id, country, status, attempts FROM deliveries"))}
        decisions = {(r[0], r[1]) for r in conn.execute(text(
            "SELECT country, decision_id FROM customs_decisions"))}
        payment_refs = {r[0] for r in conn.execute(text(
            "SELECT reference FROM ledger_entries WHERE kind = 'payment'"))}
        # a push answered with a receipt carrying an acknowledgement: the delivery is
        # recorded acknowledged, the receipt's decision (its customs reference, the leg's
        # status, the customs.acknowledged event) in a later transaction
        no_ack = conn.execute(text(
            "SELECT d.id, d.country, d.completed_at FROM deliveries d "
            "WHERE d.status = 'acknowledged' AND NOT EXISTS (SELECT 1 FROM customs_decisions c"
            " WHERE c.delivery_id = d.id AND c.kind = 'acknowledged') ORDER BY d.completed_at"
            )).all()
        doubled_payments = conn.execute(text(
            "SELECT reference, count(*) FROM ledger_entries WHERE reference IS NOT NULL "
            "GROUP BY reference HAVING count(*) > 1")).all()
    received = {cc: set((soak.x.sim_stats(cc) or {}).get("delivery_ids", ())) for cc in CUSTOMS}
    stats = {cc: {k: v for k, v in (soak.x.sim_stats(cc) or {}).items() if k != "delivery_ids"}
             for cc in CUSTOMS}
    by_document = {(doc, cc): did for did, (doc, cc, _, _) in rows.items()}
    expected = {(doc_id, cc) for doc_id, (sid, root) in documents.items()
                for cc in rules.receivers(root, [c for _, c in sorted(routes[sid])])}
    never_queued = sorted(expected - set(by_document))
    lost = [(doc, cc, did) for (doc, cc), did in by_document.items() if did not in received[cc]]
    seen_as: dict[tuple[str, str], set[str]] = defaultdict(set)
    unknown = 0
    for cc, ids in received.items():
        for did in ids:
            if did in rows:
                seen_as[(rows[did][0], cc)].add(did)
            else:
                unknown += 1
    twice = {k: v for k, v in seen_as.items() if len(v) > 1}
    statuses = Counter(s for _, _, s, _ in rows.values())
    return {
        "answered_2xx": {"shipments": len(tally.shipments), "documents": len(tally.documents),
                         "decisions": len(tally.decisions), "payments": len(tally.payments)},
        "in_database": {"shipments": len(shipments), "documents": len(documents),
                        "deliveries": len(rows), "decisions": len(decisions),
                        "payments": len(payment_refs)},
        "lost_submissions": len(tally.shipments - shipments) + len(tally.documents - set(documents)),
        "lost_decisions": len(tally.decisions - decisions),
        "lost_payments": len(tally.payments - payment_refs),
        "released_not_released": len(tally.released - released),
        "deliveries_never_queued": len(never_queued),
        "lost_deliveries": len(lost) + len(never_queued),
        "lost_examples": [list(x) for x in (lost + never_queued)[:5]],
        "documents_received_under_two_ids": len(twice),
        "twice_examples": [[*k, sorted(v)] for k, v in list(twice.items())[:5]],
        "received_unknown_ids": unknown,
        "payments_recorded_twice": len(doubled_payments),
        "receipt_decisions_missing": len(no_ack),
        "receipt_decisions_missing_examples": [
            [did, cc, round(at.timestamp() - tally.wall0, 1) if at else None]
            for did, cc, at in no_ack[:8]],
        "delivery_statuses": dict(statuses),
        "most_attempts": max((a for *_, a in rows.values()), default=0),
        "simulators": stats,
    }


def log_findings(logs: Path) -> dict[str, list[str]]:
    """Per log: each traceback's last line (the exception), counted."""
    found = {}
    for path in sorted(logs.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        errors = Counter()
        for n, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = n + 1
                while end < len(lines) and (lines[end].startswith((" ", "\t"))
                                            or lines[end].startswith("Traceback")
                                            or not lines[end].strip()):
                    end += 1
                if end < len(lines):
                    errors[lines[end][:160]] += 1
        if errors:
            found[path.name] = [f"{v} x {k}" for k, v in errors.most_common(5)]
    return found


def audit_verify(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "exchange", "audit", "verify"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=REPO, check=False)
    return (out.stdout.strip().splitlines() or [""])[-1] + (f" (exit {out.returncode})"
                                                             if out.returncode else "")


def report(args, soak: Soak, per_minute, memory_first, memory_end, drained, counts) -> dict:
    first, last = per_minute[0], per_minute[-1]
    ratio = last["tps"] / first["tps"] if first["tps"] else 0.0
    print(f"throughput last minute / first: {last['tps']:.2f} / {first['tps']:.2f} = "
          f"{ratio:.2f} (target >= 0.9)")
    growth = {}
    print("resident memory (RSS, MB)      minute 1      end   growth")
    for role, kb in memory_first.items():
        end = memory_end.get(role, 0)
        g = (end - kb) / kb if kb else 0.0
        growth[role] = {"minute_1_kb": kb, "end_kb": end, "growth": round(g, 3)}
        note = {"api worker (killed slot)": "  (a new process since the kill)",
                "dispatcher (killed slot)": "  (a new process since the kill)",
                "postgresql total (RSS)": "  (shared buffers counted once per process)",
                "postgresql total (PSS)": "  (restarted in between)" if any(
                    k["what"].startswith("postgresql") for k in soak.kills) else "",
                "simulators total": "  (keep every delivery: not the exchange)"}.get(role, "")
        flag = " OVER 20 %" if g > 0.2 and role in LONG_LIVED else ""
        print(f"  {role:28s} {kb / 1024:8.1f} {end / 1024:8.1f} {g:+8.1%}{flag}{note}")
    total_dup = sum(s.get("duplicates", 0) for s in counts["simulators"].values())
    marks = soak.kills + [{"at_s": None, "duplicates_before": total_dup}]
    resends = []
    for k, after in zip(soak.kills, marks[1:]):
        k["resent"] = after["duplicates_before"] - k["duplicates_before"]
        resends.append(k)
    print(f"drained in {drained[0]:.1f} s; deliveries by status {counts['delivery_statuses']}"
          f" (most attempts of one: {counts['most_attempts']})")
    print(f"answered 2xx {counts['answered_2xx']}; in the database {counts['in_database']}")
    print(f"lost submissions: {counts['lost_submissions']} (target 0); lost decisions "
          f"{counts['lost_decisions']}, lost payments {counts['lost_payments']}, released legs "
          f"not released {counts['released_not_released']}")
    print(f"lost deliveries: {counts['lost_deliveries']} (target 0; never queued "
          f"{counts['deliveries_never_queued']}) {counts['lost_examples'] or ''}")
    print(f"documents received under two delivery ids: "
          f"{counts['documents_received_under_two_ids']} (target 0) "
          f"{counts['twice_examples'] or ''}; ids the exchange does not know: "
          f"{counts['received_unknown_ids']}")
    print(f"payments recorded twice: {counts['payments_recorded_twice']} (target 0)")
    print(f"deliveries acknowledged by a receipt whose acknowledged decision is not stored: "
          f"{counts['receipt_decisions_missing']} "
          f"{counts['receipt_decisions_missing_examples'] or ''} ([id, country, recorded at s]);"
          f" decisions the dispatchers logged as refused: {counts['decisions_refused']}")
    first_dup = soak.kills[0]["duplicates_before"] if soak.kills else total_dup
    print(f"re-sends (same delivery id pushed again): {first_dup} before the first kill")
    for k in resends:
        print(f"  {k['what']} at {k['at_s']:.0f} s: {k['resent']} re-sent until the next "
              "event" + (f" ({k['held']} deliveries claimed, not recorded, at the kill)"
                         if k["held"] is not None else ""))
    workers = ("uvicorn replaced each killed worker, in " + ", ".join(
        f"{t:.1f} s" for t in soak.uvicorn_restarts)) if soak.uvicorn_restarts else \
        "no worker was replaced by uvicorn"
    print(workers + (" (the server was restarted)" if soak.server_restarted else ""))
    print(f"customs flows: {soak.tally.flows_started} started, {soak.tally.flows_done} "
          f"finished, {soak.tally.flows_abandoned} abandoned on a refused step, the rest "
          "cut off by the end of the load")
    print(f"audit verify: {counts['audit']}")
    for name, lines in counts["tracebacks"].items():
        print(f"tracebacks in {name}: " + "; ".join(lines))
    for f in soak.findings:
        print(f"FINDING: {f}")
    return {"minutes": args.minutes, "rate": args.rate, "per_minute": [
        {k: v for k, v in m.items() if k in ("minute", "ok", "tps", "p50_ms", "p99_ms",
                                             "failed", "retries", "customs_failed")}
        for m in per_minute],
        "throughput_last_over_first": round(ratio, 2), "memory": growth,
        "drain_s": round(drained[0], 1),
        "lost_submissions": counts["lost_submissions"],
        "lost_deliveries": counts["lost_deliveries"],
        "documents_received_under_two_ids": counts["documents_received_under_two_ids"],
        "payments_recorded_twice": counts["payments_recorded_twice"],
        "lost_decisions": counts["lost_decisions"], "lost_payments": counts["lost_payments"],
        "receipt_decisions_missing": counts["receipt_decisions_missing"],
        "resends": [{k: v for k, v in r.items() if k != "duplicates_before"}
                    for r in resends], "resends_before_first_kill": first_dup,
        "uvicorn_worker_restart_s": [round(t, 1) for t in soak.uvicorn_restarts],
        "server_restarted": soak.server_restarted, "audit": counts["audit"],
        "tracebacks": counts["tracebacks"], "findings": soak.findings,
        "answered_2xx": counts["answered_2xx"], "in_database": counts["in_database"]}


def interrupted(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the run as Ctrl-C does: every process stopped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=12, help="shipments a second")
    ap.add_argument("--kill-every", type=float, default=2,
                    help="minutes between kills of an API worker and a dispatcher (0: none)")
    ap.add_argument("--restart-at", type=float, default=None,
                    help="minute of the PostgreSQL restart (default: the middle; <0: none)")
    ap.add_argument("--threads", type=int, default=4, help="submitting clients")
    ap.add_argument("--customs-threads", type=int, default=2)
    ap.add_argument("--lease", type=float, default=30.0,
                    help="EXCHANGE_DISPATCH_LEASE_SECONDS of the dispatchers")
    ap.add_argument("--drain-seconds", type=float, default=None,
                    help="longest wait for the outbox to empty (default: lease + 120)")
    ap.add_argument("--logs", type=Path, default=None,
                    help="keep the processes' logs in this folder (default: a temporary one)")
    args = ap.parse_args()
    if args.restart_at is None:
        args.restart_at = args.minutes / 2
    signal.signal(signal.SIGTERM, interrupted)
    from sqlalchemy import create_engine

    print(f"soak: {args.minutes:g} min, {args.rate:g} shipments/s KZ -> UZ -> AF, kills every "
          f"{args.kill_every:g} min, PostgreSQL restart at {args.restart_at:g} min", flush=True)
    with contextlib.ExitStack() as stack:
        home = stack.enter_context(bench_home())
        if args.logs is None:
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-logs-")))
        else:
            logs = args.logs
            logs.mkdir(parents=True, exist_ok=True)
        exchange = Exchange(home, logs, args.lease)
        stack.callback(exchange.stop)
        keys = exchange.start()
        secret = keys.pop("_secret")
        db = create_engine(exchange.url, pool_pre_ping=True, pool_size=2)
        stack.callback(db.dispose)
        print(f"started: PostgreSQL {exchange.pg.port}, API {exchange.server.base_url} "
              f"(master {exchange.server.process.pid}, workers {exchange.api_workers()}), "
              f"dispatchers {[p.pid for p in exchange.dispatchers]}, simulators "
              f"{ {cc: port for cc, (_, port) in exchange.sims.items()} }; logs in {logs}",
              flush=True)
        minutes = max(1, int(-(-args.minutes // 1)))
        tally = Tally(minutes)
        soak = Soak(args, exchange, tally, db)
        load = Load(exchange.server.base_url, keys, secret, tally, rate=args.rate,
                    duration=args.minutes * 60, threads=args.threads,
                    customs_threads=args.customs_threads)
        try:
            per_minute, memory_first, memory_end = soak.run(load)
        finally:
            load.finish()
        drained = drain(soak, args.drain_seconds or args.lease + 120)
        counts = final_counts(soak)
        for proc in exchange.dispatchers:
            stop_process(proc)
        counts["audit"] = audit_verify(exchange.env)
        exchange.stop()
        counts["tracebacks"] = log_findings(logs)
        counts["decisions_refused"] = sum(
            p.read_text(errors="replace").count("customs decision refused")
            for p in logs.glob("dispatcher-*.log"))
        result = report(args, soak, per_minute, memory_first, memory_end, drained, counts)
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: every process the soak started is stopped", file=sys.stderr)
        sys.exit(130)
