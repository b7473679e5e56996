"""Adapter overhead: https-push deliveries vs a plain httpx loop, same payloads, same receiver.

    .venv/bin/python bench/adapters_push.py [--n 1000] [--rounds 3] [--threads 4]

Starts `exchange simulate-customs` as a separate process (so the receiver does not share the
client's GIL), then in one run:
  * plain: POST pre-rendered envelope bytes with httpx.Client (Idempotency-Key header);
  * adapter: HttpsPushAdapter.deliver(envelope) (render, XSD-check, POST, parse + XSD-check
    the receipt, map it).
Prints deliveries per second of each and the ratio adapter / plain (the dispatcher's budget
is 0.7 of a plain loop end to end, so the adapter alone should stay well above that).

Then the same two loops against httpx's in-memory transport (no network, no receiver), which
isolates the client-side cost per delivery: the figure that drifts least on a busy machine.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.testing.conformance import sample_envelope  # noqa: E402
from adapters.messages import ENVELOPE_MEDIA_TYPE, render_envelope  # noqa: E402
from adapters.registry import default_registry  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(label: str, work, items, threads: int, *, quiet: bool = False) -> float:
    start = time.perf_counter()
    if threads == 1:
        for item in items:
            work(item)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, items))
    rate = len(items) / (time.perf_counter() - start)
    if not quiet:
        print(f"  {label:<8} {rate:8.0f} deliveries/s")
    return rate


def in_memory(n: int) -> None:
    from adapters.messages import Receipt, render_receipt

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=render_receipt(
            Receipt(request.headers["idempotency-key"], "received", reference="R")))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    adapter = default_registry().create("https-push", country="UZ",
                                        settings={"endpoint": "http://customs/v1/deliveries"})
    adapter._client = httpx.Client(transport=httpx.MockTransport(answer))  # noqa: SLF001
    envelopes = [sample_envelope("UZ") for _ in range(n)]
    bodies = [(e.delivery_id, render_envelope(e)) for e in envelopes]
    best = {"plain": float("inf"), "adapter": float("inf")}
    for _ in range(3):
        start = time.perf_counter()
        for key, body in bodies:
            client.post("http://customs/v1/deliveries", content=body,
                        headers={"Idempotency-Key": key})
        best["plain"] = min(best["plain"], (time.perf_counter() - start) / n)
        start = time.perf_counter()
        for envelope in envelopes:
            adapter.deliver(envelope)
        best["adapter"] = min(best["adapter"], (time.perf_counter() - start) / n)
    print(f"in-memory transport, {n} deliveries, best of 3: plain "
          f"{best['plain'] * 1e3:.3f} ms, adapter {best['adapter'] * 1e3:.3f} ms per delivery "
          f"(adapter adds {(best['adapter'] - best['plain']) * 1e3:.3f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "exchange", "simulate-customs", "--country",
                            "UZ", "--port", str(port), "--follow-up", "none"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1/deliveries"
    try:
        for _ in range(400):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/admin/stats")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        client = httpx.Client(timeout=10, trust_env=False)
        adapter = default_registry().create("https-push", country="UZ",
                                            settings={"endpoint": url})
        def plain(body: bytes) -> None:
            key = body.split(b"<DeliveryId>", 1)[1].split(b"<", 1)[0].decode()
            r = client.post(url, content=body, headers={
                "Content-Type": ENVELOPE_MEDIA_TYPE, "Idempotency-Key": key})
            r.raise_for_status()

        for threads in sorted({1, args.threads}):
            print(f"{args.n} deliveries x {args.rounds} rounds, {threads} thread(s):")
            # warm up both paths, then alternate rounds so that drift hits both alike
            run("warm-up", plain, [render_envelope(sample_envelope("UZ"))
                                   for _ in range(200)], threads, quiet=True)
            run("warm-up", adapter.deliver, [sample_envelope("UZ") for _ in range(200)],
                threads, quiet=True)
            totals = {"plain": 0.0, "adapter": 0.0}
            for _ in range(args.rounds):
                totals["plain"] += run("plain", plain, [
                    render_envelope(sample_envelope("UZ")) for _ in range(args.n)], threads)
                totals["adapter"] += run("adapter", adapter.deliver, [
                    sample_envelope("UZ") for _ in range(args.n)], threads)
            print(f"  mean plain {totals['plain'] / args.rounds:.0f}/s, adapter "
                  f"{totals['adapter'] / args.rounds:.0f}/s, "
                  f"ratio adapter/plain: {totals['adapter'] / totals['plain']:.2f}")
        adapter.close()
        client.close()
        in_memory(args.n)
    finally:
        sim.terminate()
        sim.wait(timeout=15)


if __name__ == "__main__":
    main()
