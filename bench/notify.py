"""Benchmark: event notifications (webhooks) through the exchange against a plain httpx loop
posting the same signed payloads, side by side in one run.

    .venv/bin/python bench/notify.py [--events 3000] [--engine sqlite|postgresql]

A subscriber runs as its own process on loopback (http.server, HTTP/1.1 keep-alive; it
answers 200 and notes when each event id arrived). Prints
  (a) events delivered per second by the notifier, from events in the log to their 2xx:
      fan-out to notification rows, claim, sign, POST, record (as configured by default,
      ``notifications.concurrency`` 8), N shipments with one accepted document each;
  (b) a plain httpx loop posting the same bodies, signed the same way, one after another,
      run before and after (a) and averaged;
the ratio (a) / (b) (target >= 0.7); (e) the same POSTs from as many threads as the
notifier sends with (one client each) and no store: the ceiling of the sending alone at that
concurrency; (d) the same notifier with a sender that answers "delivered" at once: the CPU
time per event of the store path (fan-out, claim, record, promote), which added to (e)'s time
per event bounds what one notifier process (one GIL) can reach; and the time from a customs decision's commit to its
notification's arrival at p50 / p99 while shipments are submitted and decided at a steady
40 per second with a notifier running as ``exchange dispatch`` runs it.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exchange.notifications.sender import SendResult


# ------------------------------------------------------------------ the subscriber process
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals: ClassVar[dict[str, float]] = {}
    posts: ClassVar[list[int]] = [0]
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        at = time.time()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        event_id = self.headers.get("Exchange-Event-Id", "")
        with self.lock:
            self.posts[0] += 1
            self.arrivals.setdefault(event_id, at)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        with self.lock:  # /count while (a) runs: /stats is O(arrivals), it would slow (a)
            body = json.dumps({"posts": self.posts[0], "arrivals": self.arrivals}).encode() \
                if self.path == "/stats" else json.dumps({"posts": self.posts[0]}).encode() \
                if self.path == "/count" else b"{}"
            if self.path == "/reset":
                self.arrivals.clear()
                self.posts[0] = 0
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _cpu_busy() -> float:
    """Seconds of CPU the whole machine has been busy (every process: the notifier, the
    database server, the subscriber), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """Seconds of CPU process *pid* has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Delivered:
    """A sender that answers "delivered" at once: the notifier's store path alone."""

    def __init__(self, settings: object) -> None:
        pass

    def send(self, url: str, secret: str, body: bytes, *, event_id: str, attempt: int
             ) -> SendResult:
        return SendResult(True, 200, None, False)

    def close(self) -> None:
        pass



def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.serve_forever()


# ------------------------------------------------------------------------- the benchmark
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rate", type=float, default=40.0, help="submissions/s for latency")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--concurrency", type=int, help="notifications.concurrency (default: the setting's)")
    ap.add_argument("--ahead", type=int, help="rows claimed per sending slot (default: AHEAD)")
    ap.add_argument("--record-window", type=float, help="ms the loop waits for more outcomes "
                    "before a write (default: the notifier's)")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return

    from adapters.contract import CustomsDecision, DecisionKind
    from bench.dispatch import bench_database, free_port, members_file, submit, threaded_rate
    from exchange.config import DatabaseSettings, NotificationsSettings
    from exchange.delivery.decisions import record_decision
    from exchange.delivery.outbox import routing_hook
    from exchange.delivery.routing import RoutingRules
    from exchange.domain import Party, PartyKind
    from exchange.notifications import notifier as notifier_module
    from exchange.notifications import subscriptions as subs
    from exchange.notifications.notifier import Notifier
    from exchange.notifications.sender import event_body
    from exchange.notifications.signing import SIGNATURE_HEADER, sign
    from exchange.parties.keys import Principal, add_party
    from exchange.payments.secretbox import SecretBox
    from exchange.store import UnitOfWorkFactory, create_engines, upgrade
    from exchange.store.notifications import ClaimedNotification

    if args.ahead:
        notifier_module.AHEAD = args.ahead  # read by every step
    tuning = {"record_window": args.record_window / 1000} if args.record_window is not None \
        else {}
    work, url, pg = bench_database(args.engine, "bench-notify-")
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/stats", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        engines = create_engines(DatabaseSettings(url=url))
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        members = members_file(work, free_port())  # UZ's customs is not contacted here
        hook = routing_hook(RoutingRules.default(), members)
        box = SecretBox(os.urandom(32))
        settings = NotificationsSettings(allow_private_targets=True, **({"concurrency": args.concurrency} if args.concurrency else {}))
        with store.writing() as uow:
            forwarder, _ = add_party(uow, kind=PartyKind.FORWARDER, name="bench")
            operator, _ = add_party(uow, kind=PartyKind.OPERATOR, name="ops")
            uow.commit()
        ops = Principal(Party(id=operator.id, kind=PartyKind.OPERATOR, name="ops"), "k")
        made = subs.create_subscription(
            subs.CreateSubscription(f"{base}/hook", ["document.accepted", "decision.recorded"]),
            principal=ops, store=store, box=box, settings=settings)
        n = args.events
        for i in range(n):
            submit(store, hook, forwarder.id, 1_000_000 + i)

        # the same bodies the notifier will send, for the plain loop (not timed)
        with store.reading() as uow:
            from sqlalchemy import select

            from exchange.store.models import EventRow
            rows = uow.session.scalars(select(EventRow).where(
                EventRow.kind == "document.accepted").order_by(EventRow.id)).all()
            bodies = [(str(e.id), event_body(ClaimedNotification(
                id=0, subscription_id=made.subscription.id, stream=e.stream, seq=e.seq,
                event_id=e.id, types_json='["document.accepted"]', attempts=1, url="",
                secret="", kind=e.kind, actor_id=e.actor_id, occurred_at=e.occurred_at,
                data_json=e.data_json, hash=e.hash, prev_hash=e.prev_hash))) for e in rows]

        plain_cpu: list[float] = []
        plain_busy: list[float] = []
        plain_sub: list[float] = []

        def plain_loop() -> float:
            with httpx.Client(timeout=10.0, trust_env=False) as client:
                start, cpu, busy = time.perf_counter(), time.process_time(), _cpu_busy()
                sub_cpu = _process_cpu(proc.pid)
                for event_id, body in bodies:
                    r = client.post(f"{base}/plain", content=body, headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign(made.secret, body),
                        "Exchange-Event-Id": f"plain-{event_id}", "Exchange-Attempt": "1"})
                    r.raise_for_status()
                plain_cpu.append((time.process_time() - cpu) / len(bodies))
                plain_busy.append((_cpu_busy() - busy) / len(bodies))
                plain_sub.append((_process_cpu(proc.pid) - sub_cpu) / len(bodies))
                return len(bodies) / (time.perf_counter() - start)

        def threaded_posts(threads: int) -> float:
            """(e) the same POSTs from *threads* threads, no store."""
            def post(client: httpx.Client, item: tuple[str, bytes]) -> None:
                event_id, body = item
                client.post(f"{base}/threads", content=body, headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(made.secret, body),
                    "Exchange-Event-Id": f"threads-{event_id}", "Exchange-Attempt": "1"}
                    ).raise_for_status()

            return threaded_rate(bodies, threads, post)

        plains = [plain_loop()]
        threaded = threaded_posts(settings.concurrency)
        httpx.get(f"{base}/reset")
        notifier = Notifier(store, box=box, settings=settings, **tuning)
        stop = threading.Event()
        start, busy = time.perf_counter(), _cpu_busy()
        own_cpu, sub_cpu = time.process_time(), _process_cpu(proc.pid)
        runner = threading.Thread(target=notifier.run, args=(stop,))
        runner.start()
        while httpx.get(f"{base}/count").json()["posts"] < n:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        exchange_rate = n / elapsed
        exchange_busy = _cpu_busy() - busy
        exchange_own = time.process_time() - own_cpu
        exchange_sub = _process_cpu(proc.pid) - sub_cpu
        stop.set()
        runner.join()
        notifier.close()
        plains.append(plain_loop())
        plain = statistics.mean(plains)

        # (d) the ceiling: the same notifier on n new events with a sender that answers
        # "delivered" at once (no HTTP): what the store path alone costs, in CPU time
        for i in range(n):
            submit(store, hook, forwarder.id, 2_000_000 + i)
        notifier = Notifier(store, box=box, settings=settings, sender=_Delivered(settings),
                            **tuning)
        stop = threading.Event()
        start, cpu = time.perf_counter(), time.process_time()
        runner = threading.Thread(target=notifier.run, args=(stop,))
        runner.start()
        while notifier.attempted < n:
            time.sleep(0.01)
        store_rate = n / (time.perf_counter() - start)
        store_cpu = (time.process_time() - cpu) / n
        stop.set()
        runner.join()
        notifier.close()
        post_cpu = statistics.mean(plain_cpu)
        # the sending at the configured concurrency (e) holds the one GIL all the time, so
        # the store path's CPU adds to each event's time: the most one notifier process can do
        ceiling = 1 / (1 / threaded + store_cpu)

        # (c) decision -> notification under 40 submissions (and decisions) per second
        httpx.get(f"{base}/reset")
        notifier = Notifier(store, box=box, settings=settings)
        stop = threading.Event()
        runner = threading.Thread(target=notifier.run, args=(stop,))
        runner.start()
        decided: list[tuple[str, float]] = []
        t0, count = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds:
            submit(store, hook, forwarder.id, 3_000_000 + count)
            with store.writing() as uow:
                [shipment] = uow.shipments.page(
                    __import__("exchange.store", fromlist=["Scope"]).Scope(
                        forwarder_id=forwarder.id), limit=1)[0]
                record_decision(uow, CustomsDecision(
                    kind=DecisionKind.ACCEPTED, country="UZ", decision_id=uuid.uuid4().hex,
                    shipment_id=shipment.id), actor_id=None, source="api")
                uow.commit()
                event = uow.events.list(shipment.id)[-1]
            decided.append((str(event.id), datetime.fromisoformat(
                event.occurred_at).timestamp()))
            count += 1
            time.sleep(max(0.0, t0 + count / args.rate - time.perf_counter()))
        ids = {i for i, _ in decided}
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            arrivals = httpx.get(f"{base}/stats").json()["arrivals"]
            if ids <= set(arrivals):
                break
            time.sleep(0.1)
        stop.set()
        runner.join()
        notifier.close()
        lat = sorted((arrivals[i] - at) * 1000 for i, at in decided if i in arrivals)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"engine: {args.engine}; events: {n} (document.accepted, one per shipment), "
              f"to a loopback subscriber process")
        print(f"(a) exchange notifier ({settings.concurrency} threads, "
              f"{notifier_module.AHEAD} rows ahead per thread): "
              f"{exchange_rate:8.0f} events/s")
        print(f"(b) plain httpx loop:  {plain:8.0f} posts/s (before (a): {plains[0]:.0f}, "
              f"after: {plains[1]:.0f})")
        print(f"ratio (a) / (b): {exchange_rate / plain:.2f}   (target >= 0.7)")
        cores = os.cpu_count() or 1
        print(f"    machine CPU per event (every process): (a) {exchange_busy / n * 1e3:.2f} ms "
              f"({exchange_busy / elapsed:.1f} of {cores} cores busy), (b) "
              f"{statistics.mean(plain_busy) * 1e3:.2f} ms; of which the notifier's (the "
              f"plain loop's) process {exchange_own / n * 1e3:.2f} ms ({post_cpu * 1e3:.2f}), "
              f"the subscriber's {exchange_sub / n * 1e3:.2f} ms "
              f"({statistics.mean(plain_sub) * 1e3:.2f})")
        print(f"(e) the same POSTs from {settings.concurrency} threads, no store: "
              f"{threaded:8.0f} posts/s, (e) / (b) {threaded / plain:.2f}: the most the notifier "
              f"can reach at this concurrency; (a) / (e) {exchange_rate / threaded:.2f}")
        print(f"(d) the store path alone (sender answers at once, no HTTP): {store_rate:8.0f} "
              f"events/s, {store_cpu * 1e3:.3f} ms CPU each; a POST costs the plain loop "
              f"{post_cpu * 1e3:.3f} ms CPU")
        print(f"    ceiling of one notifier process (the sending of (e) plus the store "
              f"path's CPU per event, on one GIL): {ceiling:8.0f} events/s, (a) / (b) <= "
              f"{ceiling / plain:.2f}; (a) reaches {exchange_rate / ceiling:.2f} of it")
        print(f"decision -> notification at {args.rate:.0f} submissions+decisions/s for "
              f"{args.seconds:.0f} s ({len(lat)} of {len(decided)} arrived; notifier poll "
              f"{settings.poll_seconds:g} s): p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        engines.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
