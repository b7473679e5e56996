"""Benchmark: the outbox dispatcher against a plain httpx loop, side by side in one run.

    .venv/bin/python bench/dispatch.py [--deliveries 5000] [--engine sqlite|postgresql]

A customs simulator runs as its own process (`exchange simulate-customs`) on loopback.
Prints deliveries per second for
  (a) the dispatcher draining a queue of N deliveries (claim, envelope, push, record the
      outcome and its event) as configured by default (`dispatch.concurrency`, 8 worker
      threads), and for comparison with 1 worker thread;
  (b) a plain httpx loop posting the same rendered envelopes, one after another, run
      before and after (a) and averaged;
the ratio (a) / (b) (target >= 0.7, for the dispatcher as configured), and the time from
submission to delivery at p50 and p99 while shipments are submitted at a steady rate with
a dispatcher running.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.members import default_members_path, load_members
from exchange.bootstrap import build_adapters
from exchange.config import DatabaseSettings, DispatchSettings
from exchange.delivery.dispatcher import Dispatcher, RetryPolicy
from exchange.delivery.outbox import routing_hook
from exchange.delivery.routing import RoutingRules
from exchange.documents.pipeline import CreateShipment, DocumentInput, Inspected, create_shipment
from exchange.domain import PartyKind, Route, TransportMode
from exchange.parties.keys import add_party
from exchange.store import UnitOfWorkFactory, create_engines, upgrade

DOC = (REPO.parent / "shared/standards/ubl-2.4/xml/UBL-ExportCustomsDeclaration-2.3-Example.xml"
       ).read_bytes()
ROUTE = Route(origin="UZ", destination="KZ")  # the export declaration goes to UZ only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_database(engine: str, prefix: str):
    """A fresh data directory (``EXCHANGE_HOME``) and an empty database on *engine*: an
    SQLite file in it, or a database of a throwaway PostgreSQL (returned, to stop)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["EXCHANGE_HOME"] = str(work)
    if engine != "postgresql":
        return work, f"sqlite:///{work / 'exchange.db'}", None
    from tests.fixtures.postgres import PostgresServer
    pg = PostgresServer().start()
    return work, pg.create_database(), pg


def start_simulator(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "simulate-customs", "--country",
                             "UZ", "--port", str(port), "--follow-up", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/stats", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the customs simulator did not start")


def members_file(folder: Path, port: int):
    text = default_members_path().read_text(encoding="utf-8")
    start = text.index("[members.UZ.settings]")
    end = text.index("[members.", start + 10) if "[members." in text[start + 10:] else len(text)
    text = (text[:start] + f'[members.UZ.settings]\nendpoint = "http://127.0.0.1:{port}/v1/'
            f'deliveries"\ntimeout_seconds = 10.0\nsign = false\n\n' + text[end:])
    path = folder / "members.toml"
    path.write_text(text, encoding="utf-8")
    return load_members(path, base_dir=folder)


def inspected(n: int) -> Inspected:
    data = DOC.replace(b"</cbc:ID>", f"-{n}</cbc:ID>".encode(), 1)
    return Inspected(DocumentInput(data, "export.xml"), hashlib.sha256(data).hexdigest(),
                     len(data), {"decision": "accept"}, {"present": False}, None,
                     root="ExportCustomsDeclaration",
                     namespace="urn:oasis:names:specification:ubl:schema:xsd:"
                               "ExportCustomsDeclaration-2", pack="ubl-2.4", pack_version="2.4",
                     sealed=data)


def submit(store, hook, forwarder: str, n: int) -> None:
    with store.writing() as uow:
        create_shipment(CreateShipment(forwarder_id=forwarder, route=ROUTE,
                                       transport_mode=TransportMode.ROAD), [inspected(n)],
                        uow=uow, on_accepted=[hook])
        uow.commit()


def drain(dispatcher: Dispatcher) -> None:
    """As `exchange dispatch` runs (each outcome recorded as its push returns), until
    nothing is due."""
    while dispatcher.step():
        pass
    dispatcher.flush()


def plain_payloads(store, member, n: int) -> list[tuple[str, object]]:
    """The envelopes of the queued deliveries, rendered once (not timed)."""
    from adapters.contract import DeliveryEnvelope
    from exchange.store.models import DocumentRow, ShipmentRow
    adapter = build_adapters([member])[member.code]
    payloads = []
    with store.reading() as uow:
        for row in uow.deliveries.list(country=member.code, limit=n):
            doc = uow.session.get(DocumentRow, row.document_id)
            shp = uow.session.get(ShipmentRow, row.shipment_id)
            route = tuple(leg.country for leg in shp.legs)
            env = DeliveryEnvelope(delivery_id=row.id, document_id=doc.id,
                                   document_version=1, shipment_id=shp.id, route=route,
                                   sender_country=route[0], receiver_country=member.code,
                                   document_type=doc.root, document=doc.sealed,
                                   original_sha256=doc.sha256)
            payloads.append((row.id, adapter.render(env)))
    adapter.close()
    return payloads


def plain_loop(port: int, payloads, prefix: str) -> float:
    """(b): the same rendered envelopes posted one after another; posts per second. The
    delivery ids get *prefix*, so the simulator sees new deliveries, not replays."""
    with httpx.Client(timeout=10.0) as client:
        start = time.perf_counter()
        for delivery_id, payload in payloads:
            body = payload.body.replace(delivery_id.encode(), f"{prefix}-{delivery_id}".encode())
            r = client.post(f"http://127.0.0.1:{port}/v1/deliveries", content=body,
                            headers={"Content-Type": payload.media_type,
                                     "Idempotency-Key": f"{prefix}-{delivery_id}"})
            r.raise_for_status()
        return len(payloads) / (time.perf_counter() - start)


def threaded_rate(items, threads: int, post) -> float:
    """Items per second when ``post(client, item)`` runs from *threads* threads, one httpx
    client each (as the dispatcher's workers and the notifier's senders), with no store:
    what the sending alone reaches at that concurrency (line (e) here and in bench/notify)."""
    local = threading.local()
    clients: list[httpx.Client] = []

    def one(item) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=10.0, trust_env=False)
            clients.append(client)
        post(client, item)

    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(one, items))
        rate = len(items) / (time.perf_counter() - start)
    for client in clients:
        client.close()
    return rate


def threaded_posts(port: int, payloads, prefix: str, threads: int) -> float:
    """(e): (b)'s posts from *threads* threads."""
    def post(client: httpx.Client, item) -> None:
        delivery_id, payload = item
        body = payload.body.replace(delivery_id.encode(), f"{prefix}-{delivery_id}".encode())
        client.post(f"http://127.0.0.1:{port}/v1/deliveries", content=body,
                    headers={"Content-Type": payload.media_type,
                             "Idempotency-Key": f"{prefix}-{delivery_id}"}).raise_for_status()

    return threaded_rate(payloads, threads, post)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deliveries", type=int, default=5000)
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rate", type=float, default=40.0, help="submissions/s for latency")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    work, url, pg = bench_database(args.engine, "bench-dispatch-")
    port = free_port()
    sim = start_simulator(port)
    try:
        engines = create_engines(DatabaseSettings(url=url))
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        members = members_file(work, port)
        hook = routing_hook(RoutingRules.default(), members)
        with store.writing() as uow:
            party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="bench")
            uow.commit()
        n = args.deliveries
        for i in range(n):
            submit(store, hook, party.id, 1_000_000 + i)
        payloads = plain_payloads(store, members["UZ"], n)
        # (b) before and after (a), so that a change of load during the run shows
        plains = [plain_loop(port, payloads, "plain1")]
        results = {}
        default = DispatchSettings().concurrency
        for threads in (1, default):
            if threads != 1:
                for i in range(n):
                    submit(store, hook, party.id, threads * 1_000_000 + i)
            adapters = build_adapters([members["UZ"]])
            dispatcher = Dispatcher(store, adapters, policy=RetryPolicy(), batch_size=100,
                                    concurrency=threads)
            start = time.perf_counter()
            drain(dispatcher)
            results[threads] = n / (time.perf_counter() - start)
            dispatcher.close()
        plains.append(plain_loop(port, payloads, "plain2"))
        plain = statistics.mean(plains)
        threaded = threaded_posts(port, payloads, "threads", default)

        # (c) submission -> delivery latency under a steady submission load
        adapters = build_adapters([members["UZ"]])
        dispatcher = Dispatcher(store, adapters, policy=RetryPolicy(), batch_size=50,
                                concurrency=8)
        stop = threading.Event()
        runner = threading.Thread(target=dispatcher.run, args=(stop,),
                                  kwargs={"idle_sleep": 0.02})
        runner.start()
        t0 = time.perf_counter()
        count = 0
        while time.perf_counter() - t0 < args.seconds:
            submit(store, hook, party.id, 3_000_000 + count)
            count += 1
            time.sleep(max(0.0, t0 + count / args.rate - time.perf_counter()))
        deadline = time.perf_counter() + 60
        from sqlalchemy import select

        from exchange.store.deliveries import DeliveryRow
        while time.perf_counter() < deadline:
            with store.reading() as uow:
                left = uow.session.scalar(select(DeliveryRow.id).where(
                    DeliveryRow.status.in_(["pending", "sending", "retrying"])).limit(1))
            if left is None:
                break
            time.sleep(0.1)
        stop.set()
        runner.join()
        dispatcher.close()
        with store.reading() as uow:
            from exchange.store.models import DocumentRow as D
            rows = uow.session.execute(select(D.created_at, DeliveryRow.completed_at).join(
                DeliveryRow, DeliveryRow.document_id == D.id).order_by(D.created_at.desc())
                .limit(count)).all()
        lat = sorted((done - made).total_seconds() * 1000 for made, done in rows if done)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"engine: {args.engine}; deliveries: {n} (sealed UBL export declarations, "
              f"https-push to a loopback customs simulator process)")
        print(f"(a) dispatcher, {default} threads (default): {results[default]:8.0f} deliveries/s")
        print(f"(a) dispatcher, 1 thread:            {results[1]:8.0f} deliveries/s")
        print(f"(b) plain httpx loop:      {plain:8.0f} posts/s (before (a): {plains[0]:.0f}, "
              f"after: {plains[1]:.0f})")
        print(f"ratio (a, {default} threads, as configured) / (b): {results[default] / plain:.2f}"
              f"   (target >= 0.7)")
        print(f"(e) (b)'s posts from {default} threads, no store: {threaded:8.0f} posts/s, "
              f"(e) / (b) {threaded / plain:.2f}; (a, {default} threads) / (e) "
              f"{results[default] / threaded:.2f}")
        print(f"ratio (a, 1 thread) / (b): {results[1] / plain:.2f}   (for comparison: one "
              f"delivery on the wire at a time, like (b))")
        print(f"submission -> delivery at {args.rate:.0f} submissions/s for {args.seconds:.0f} s"
              f" ({len(lat)} deliveries): p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        engines.dispose()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
