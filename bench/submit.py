"""bench/submit: document submissions over loopback HTTP vs the same pipeline in-process.

For each engine (SQLite, PostgreSQL) a fresh `exchange serve` receives N `POST
/v1/shipments/{id}/documents` of a mid-size UBL document (the official Waybill example, 22 KB,
each copy with its own ID so none is a duplicate) from C concurrent clients. In the same run
the same pipeline (safe parse, validate, verify, seal, facts) is called in-process with the
same concurrency, without HTTP and without the database. Prints submissions per second,
p50/p99 latency and the ratio HTTP-and-store / in-process. Targets: ratio >= 0.5, p99 < 5 x p50.
An "HTTP floor" line shows a bare FastAPI app taking the same requests: what HTTP and the
framework cost alone.

    .venv/bin/python bench/submit.py [--requests 400] [--concurrency 4] [--engines sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from submit_support import (
    bench_home,
    database_server,
    server_env,
    start_server,
    summary,
    tree_cpu_seconds,
)

WAYBILL = Path(__file__).resolve().parents[2] / "shared/standards/ubl-2.4/xml/" \
    "UBL-Waybill-2.0-Example-International.xml"
MARK = b"<cbc:ID>KHN23-44044-1</cbc:ID>"


def documents(template: bytes):
    for i in itertools.count():
        yield template.replace(MARK, f"<cbc:ID>KHN23-{i:09d}</cbc:ID>".encode(), 1)


class Client:
    """One keep-alive HTTP/1.1 connection (the standard library's http.client).

    The load generator shares the machine's cores with the server; httpx spent about 1 ms
    of CPU per request here (its transport, header and URL models), http.client about a
    quarter of that, which the server then has. The requests are the same bytes either way.
    """

    def __init__(self, base_url: str, token: str):
        url = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        self.auth = f"Bearer {token}"

    def post(self, path: str, body: bytes, media_type: str, expect: int) -> bytes:
        self.conn.request("POST", path, body, {"Authorization": self.auth,
                                               "Content-Type": media_type})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != expect:
            raise RuntimeError(f"{response.status} {data[:300]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


def run_threads(n: int, concurrency: int, work) -> tuple[float, list[float]]:
    lock = threading.Lock()
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []

    def worker(slot: int) -> None:
        while True:
            with lock:
                i = next(counter)
            if i >= n:
                return
            t0 = time.perf_counter()
            try:
                work(slot, i)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"errors: {errors[:3]}")
    return elapsed, latencies


def in_process(home: Path, template: bytes, n: int, concurrency: int) -> tuple[float, float]:
    """(documents per second, CPU milliseconds per document)."""
    import os

    os.environ["EXCHANGE_HOME"] = str(home)
    from adapters.members import load_members
    from exchange.config import load_settings
    from exchange.documents.pipeline import DocumentInput, inspect_document
    from exchange.validation.packs import SchemaStore
    from exchange.documents.signatures import hub_sealer, member_checker
    from exchange.validation import Validator

    settings = load_settings(hub={"key_file": home / "hub/hub-key.pem",
                                  "cert_file": home / "hub/hub-cert.pem",
                                  "key_passphrase": "hub-pass"})
    validator = Validator(SchemaStore(home / "schemas"))
    sealer = hub_sealer(settings.hub, schema_path=validator.schema_path)
    checker = member_checker(load_members(base_dir=home))
    docs = list(itertools.islice(documents(template), n + 20))

    def work(_slot: int, i: int) -> None:
        ins = inspect_document(DocumentInput(docs[i], "waybill.xml"), validator=validator,
                               checker=checker, sealer=sealer, origin="KG",
                               require_signature=False)
        assert not ins.refused, ins.refusal

    run_threads(20, concurrency, work)  # warm-up: schema compiled, key loaded
    cpu = time.process_time()
    elapsed, _ = run_threads(n, concurrency, work)
    return n / elapsed, (time.process_time() - cpu) / n * 1000


def over_http(home: Path, engine: str, template: bytes, n: int, concurrency: int,
              workers: int) -> tuple[float, float, float, dict[str, float]]:
    """(submissions per second, p50 ms, p99 ms, CPU milliseconds per submission of the
    server's processes, the database server's and this load generator's)."""
    from exchange.config import DatabaseSettings
    from exchange.domain import PartyKind
    from exchange.parties.keys import add_party
    from exchange.store import UnitOfWorkFactory, create_engines, upgrade

    with tempfile.TemporaryDirectory() as tmp, \
            database_server(engine, Path(tmp)) as (url, db_pid):
        engines = create_engines(DatabaseSettings(url=url))
        upgrade(engines)
        with UnitOfWorkFactory(engines).writing() as uow:
            _, key = add_party(uow, kind=PartyKind.FORWARDER, name="bench")
            uow.commit()
        engines.dispose()
        server = start_server(server_env(home, url), log_path=Path(tmp) / "server.log",
                              args=("--workers", str(workers)))
        try:
            clients = [Client(server.base_url, key.token) for _ in range(concurrency)]
            shipments = [json.loads(c.post("/v1/shipments", json.dumps({
                "route": {"origin": "KG", "transit": ["UZ"], "destination": "AF"},
                "transport_mode": "road"}).encode(), "application/json", 201))["id"]
                for c in clients]
            docs = list(itertools.islice(documents(template), n + 20))

            def work(slot: int, i: int) -> None:
                clients[slot].post(f"/v1/shipments/{shipments[slot]}/documents", docs[i],
                                   "application/xml", 201)

            run_threads(20, concurrency, lambda s, i: work(s, n + i))  # warm-up
            pids = {"server": server.process.pid, "database": db_pid}
            before = {k: tree_cpu_seconds(p) for k, p in pids.items() if p}
            client = time.process_time()
            elapsed, latencies = run_threads(n, concurrency, work)
            cpu = {k: (tree_cpu_seconds(pids[k]) - v) / n * 1000 for k, v in before.items()}
            cpu["client"] = (time.process_time() - client) / n * 1000
            for c in clients:
                c.close()
        finally:
            server.stop()
    p50, p99, _ = summary(latencies)
    return n / elapsed, p50, p99, cpu


FLOOR_APP = """
import sys
sys.setswitchinterval(0.001)  # as exchange serve
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

app = FastAPI()
ANSWER = b'{"status": "accepted", "pad": "%s"}' % (b"x" * 1500)


def same(value):
    return value


@app.post("/v1/shipments/{shipment_id}/documents", status_code=201)
async def submit(shipment_id: str, request: Request) -> Response:
    await run_in_threadpool(same, request.headers.get("authorization"))
    await run_in_threadpool(same, await request.body())
    return Response(ANSWER, status_code=201, media_type="application/json")
"""


def http_floor(template: bytes, n: int, concurrency: int) -> tuple[float, float]:
    """The same POSTs against a bare FastAPI app under uvicorn (one worker) that reads the
    body, makes the route's two worker-thread calls and answers 1.5 kB of JSON: what HTTP
    and the framework cost on their own. (requests per second, server CPU ms per request)."""
    import socket
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "floor_app.py").write_text(FLOOR_APP)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "floor_app:app", "--host",
                                 "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                 "--no-access-log"], cwd=tmp)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            clients = [Client(f"http://127.0.0.1:{port}", "floor") for _ in range(concurrency)]
            docs = list(itertools.islice(documents(template), n + 20))

            def work(slot: int, i: int) -> None:
                clients[slot].post("/v1/shipments/floor/documents", docs[i], "application/xml",
                                   201)

            run_threads(20, concurrency, lambda s, i: work(s, n + i))
            before = tree_cpu_seconds(proc.pid)
            elapsed, _ = run_threads(n, concurrency, work)
            cpu = (tree_cpu_seconds(proc.pid) - before) / n * 1000
            for c in clients:
                c.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return n / elapsed, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--document", type=Path, default=WAYBILL)
    ap.add_argument("--workers", default="sqlite=1,postgresql=2",
                    help="`exchange serve --workers` per engine (SQLite has one writer: its "
                         "writes queue in-process with one worker; PostgreSQL scales out)")
    args = ap.parse_args()
    template = args.document.read_bytes()
    assert MARK in template, "the document needs the Waybill example's cbc:ID to vary"
    results = {}
    with bench_home() as home:
        # The in-process run is repeated before and after each HTTP run and averaged, so
        # that load drifting on a shared machine hits both sides alike.
        base_runs = [in_process(home, template, args.requests, args.concurrency)]
        print(f"in-process pipeline: {base_runs[0][0]:8.1f} documents/s "
              f"({args.requests} documents of {len(template):,} bytes, "
              f"concurrency {args.concurrency}; CPU {base_runs[0][1]:.1f} ms per document)",
              flush=True)
        floor_rate, floor_cpu = http_floor(template, args.requests, args.concurrency)
        print(f"HTTP floor (bare FastAPI app, same requests): {floor_rate:8.1f} requests/s, "
              f"server CPU {floor_cpu:.2f} ms per request", flush=True)
        results["http_floor"] = dict(rps=round(floor_rate, 1), cpu_ms=round(floor_cpu, 2))
        for engine in args.engines.split(","):
            workers = int(dict(w.split("=") for w in args.workers.split(","))[engine])
            tps, p50, p99, cpu = over_http(home, engine, template, args.requests,
                                           args.concurrency, workers)
            base_runs.append(in_process(home, template, args.requests, args.concurrency))
            base = (base_runs[-2][0] + base_runs[-1][0]) / 2
            base_cpu = (base_runs[-2][1] + base_runs[-1][1]) / 2
            ratio = tps / base
            results[engine] = dict(workers=workers, tps=round(tps, 1), p50_ms=round(p50, 1), p99_ms=round(p99, 1),
                                   in_process_tps=round(base, 1), ratio=round(ratio, 2),
                                   p99_over_p50=round(p99 / p50, 2),
                                   cpu_ms_per_submission={k: round(v, 2) for k, v in cpu.items()},
                                   in_process_cpu_ms=round(base_cpu, 2))
            print(f"{engine:10s} HTTP+store: {tps:8.1f} submissions/s  p50 {p50:7.1f} ms  "
                  f"p99 {p99:7.1f} ms  p99/p50 {p99 / p50:4.2f}  in-process around it "
                  f"{base:6.1f}/s  ratio HTTP+store/in-process {ratio:4.2f} (target >= 0.5)",
                  flush=True)
            print(f"{'':10s} CPU per submission: " + ", ".join(
                f"{k} {v:.1f} ms" for k, v in cpu.items()) +
                f"; in-process pipeline {base_cpu:.1f} ms per document", flush=True)
    print(json.dumps({"concurrency": args.concurrency, **results}))


if __name__ == "__main__":
    main()
