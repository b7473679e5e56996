"""Benchmark: what one claim of the outbox costs as the queue behind it grows.

    .venv/bin/python bench/claim.py [--engine sqlite|postgresql] [--depths 300,3000,10000]

A dispatcher claims as many rows as it has free slots (8 by default) many times a second, so
a claim must cost the same whether 300 or 100,000 deliveries wait (after a receiver's
outage, say). For each queue depth, the median time of 40 claims of 8 rows (each in its own
transaction, rolled back so that the depth stays) and the reading of their envelopes; then
the ratio of the deepest queue's claim to the shallowest's (target: about 1, flat).

On PostgreSQL the outbox is analysed at each depth (``--no-analyze``: not), as autovacuum
does within a minute of a burst: right after a burst, with statistics that still count a
few rows, the planner may read and sort every pending row for one claim.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dispatch import bench_database, members_file, submit

from exchange.config import DatabaseSettings
from exchange.delivery.attempts import read_envelopes
from exchange.delivery.outbox import routing_hook
from exchange.delivery.routing import RoutingRules
from exchange.domain import PartyKind
from exchange.parties.keys import add_party
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from exchange.store.repositories import utcnow

CLAIMS = 40
SLOTS = 8


def claim_times(store: UnitOfWorkFactory) -> tuple[float, float]:
    """Median milliseconds of one claim of SLOTS rows, and of reading their envelopes."""
    claims, reads = [], []
    for _ in range(CLAIMS):
        with store.writing() as uow:
            start = time.perf_counter()
            rows = uow.deliveries.claim("bench", limit=SLOTS, lease=timedelta(seconds=60),
                                        now=utcnow())
            claimed = time.perf_counter()
            assert uow.session is not None and len(rows) == SLOTS
            read_envelopes(uow.session, rows)
            claims.append(claimed - start)
            reads.append(time.perf_counter() - claimed)
            uow.rollback()  # the rows stay due: the next claim sees the same depth
    return statistics.median(claims) * 1000, statistics.median(reads) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--depths", default="300,3000,10000")
    ap.add_argument("--analyze", action=argparse.BooleanOptionalAction, default=True,
                    help="PostgreSQL: ANALYZE the outbox at each depth, as autovacuum does "
                         "within a minute of a burst (--no-analyze: right after it)")
    args = ap.parse_args()
    depths = sorted(int(d) for d in args.depths.split(","))
    work, url, pg = bench_database(args.engine, "bench-claim-")
    try:
        engines = create_engines(DatabaseSettings(url=url))
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        hook = routing_hook(RoutingRules.default(), members_file(work, 9))
        with store.writing() as uow:
            party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="bench")
            uow.commit()
        queued, results = 0, {}
        for depth in depths:
            while queued < depth:  # one delivery per shipment (an export declaration to UZ)
                submit(store, hook, party.id, 1_000_000 + queued)
                queued += 1
            if args.engine == "postgresql" and args.analyze:
                with engines.write.begin() as conn:  # as autovacuum leaves it after a burst
                    conn.exec_driver_sql("ANALYZE deliveries")
            claim_times(store)  # warm: plans and caches at this depth
            results[depth] = claim_times(store)
        print(f"engine: {args.engine}; claims of {SLOTS} rows, median of {CLAIMS} per depth")
        for depth, (claim, read) in results.items():
            print(f"  {depth:7d} queued: claim {claim:6.2f} ms, envelopes {read:6.2f} ms")
        first, last = results[depths[0]][0], results[depths[-1]][0]
        print(f"claim at {depths[-1]} queued / at {depths[0]}: {last / first:.2f}"
              f"   (target: about 1, a claim's cost does not grow with the queue)")
        engines.dispose()
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
