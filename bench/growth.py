"""bench/growth: tracking latency as the store grows from 10,000 to 1,000,000 shipments.

Fills a fresh store through the store layer (SQLAlchemy Core bulk inserts into the store's
tables: shipment, route legs, one small document with its sealed copy and reports, two chained
events), not over HTTP. At each size it starts a real `exchange serve` and times, one request
at a time, `GET /v1/shipments/{id}` for random shipments and `GET /v1/shipments?limit=50` (a
forwarder's filtered list) for random forwarders. Prints p50/p99 per size and the ratio of the
largest to the smallest size (target: at most 2), on SQLite and PostgreSQL.

    .venv/bin/python bench/growth.py [--sizes 10000,1000000] [--forwarders 100]
                                     [--samples 300] [--engines sqlite,postgresql]
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from submit_support import bench_home, database, server_env, start_server, summary

SMALL = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Waybill xmlns="urn:oasis:names:'
         b'specification:ubl:schema:xsd:Waybill-2" xmlns:cbc="urn:oasis:names:specification:'
         b'ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>W-%d</cbc:ID></Waybill>\n')
ROUTES = [("KZ", "UZ", "AF"), ("CN", "KG", "UZ"), ("KZ", None, "UZ"), ("GE", "AZ", "TM")]


def fill(engines, forwarders: list[str], start: int, stop: int, batch: int = 5000) -> None:
    import hashlib

    from exchange.audit import GENESIS, canonical_json, event_hash
    from exchange.store.models import DocumentRow, EventHeadRow, EventRow, LegRow, ShipmentRow

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    report = json.dumps({"decision": "accept", "layers": []})
    sig = json.dumps({"present": False, "required": False})
    for lo in range(start, stop, batch):
        ships, legs, docs, events, heads = [], [], [], [], []
        for n in range(lo, min(stop, lo + batch)):
            sid, did = str(uuid.UUID(int=n + 1)), str(uuid.UUID(int=(1 << 100) + n))
            fwd = forwarders[n % len(forwarders)]
            created = t0 + timedelta(seconds=n)
            origin, transit, dest = ROUTES[n % len(ROUTES)]
            ships.append(dict(id=sid, forwarder_id=fwd, transport_mode="road",
                              references_json="{}", origin=origin, destination=dest,
                              created_at=created))
            countries = [c for c in (origin, transit, dest) if c]
            for i, cc in enumerate(countries):
                legs.append(dict(shipment_id=sid, seq=i, country=cc, status="pending",
                                 role="origin" if i == 0 else "destination"
                                 if i == len(countries) - 1 else "transit"))
            data = SMALL % n
            sha = hashlib.sha256(data).hexdigest()
            docs.append(dict(id=did, shipment_id=sid, submitted_by=fwd, version=1,
                             supersedes_id=None, filename="w.xml", media_type="application/xml",
                             root="Waybill", namespace="urn:oasis:names:specification:ubl:"
                             "schema:xsd:Waybill-2", pack="ubl-2.4", pack_version="2.4",
                             sha256=sha, size=len(data), original=data, sealed=data,
                             sealed_sha256=sha, validation_report=report, signature_report=sig,
                             facts_json='{"root": "Waybill"}', created_at=created))
            prev = GENESIS
            at = created.isoformat(timespec="microseconds")
            for seq, (kind, payload) in enumerate(
                    (("shipment.created", {"route": countries}),
                     ("document.accepted", {"document_id": did, "sha256": sha})), start=1):
                dj = canonical_json(payload)
                h = event_hash(prev, stream=sid, seq=seq, kind=kind, actor=fwd, occurred_at=at,
                               data_json=dj)
                events.append(dict(stream=sid, seq=seq, kind=kind, actor_id=fwd,
                                   occurred_at=at, data_json=dj, prev_hash=prev, hash=h))
                prev = h
            heads.append(dict(stream=sid, seq=2, hash=prev))
        with engines.write.begin() as conn:
            for table, rows in ((ShipmentRow, ships), (LegRow, legs), (DocumentRow, docs),
                                (EventRow, events), (EventHeadRow, heads)):
                conn.execute(table.__table__.insert(), rows)


def measure(home: Path, url: str, tokens: dict[str, str], size: int, samples: int,
            log: Path) -> dict[str, tuple[float, float]]:
    server = start_server(server_env(home, url), log_path=log)
    rng = random.Random(size)
    out = {}
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as c:
            fwds = list(tokens)

            def get_one() -> None:
                n = rng.randrange(size)
                fwd = fwds[n % len(fwds)]
                r = c.get(f"/v1/shipments/{uuid.UUID(int=n + 1)}",
                          headers={"Authorization": f"Bearer {tokens[fwd]}"})
                assert r.status_code == 200, r.text

            def list_one() -> None:
                fwd = rng.choice(fwds)
                r = c.get("/v1/shipments", params={"limit": 50},
                          headers={"Authorization": f"Bearer {tokens[fwd]}"})
                assert r.status_code == 200 and r.json()["items"], r.text

            for name, fn in (("get", get_one), ("list", list_one)):
                for _ in range(30):
                    fn()  # warm-up
                lat = []
                for _ in range(samples):
                    t = time.perf_counter()
                    fn()
                    lat.append(time.perf_counter() - t)
                p50, p99, _ = summary(lat)
                out[name] = (p50, p99)
    finally:
        server.stop()
    return out


def run(engine: str, home: Path, sizes: list[int], n_forwarders: int, samples: int) -> dict:
    from exchange.config import DatabaseSettings
    from exchange.domain import PartyKind
    from exchange.parties.keys import add_party
    from exchange.store import UnitOfWorkFactory, create_engines, upgrade

    results = {}
    with tempfile.TemporaryDirectory() as tmp, database(engine, Path(tmp)) as url:
        engines = create_engines(DatabaseSettings(url=url))
        upgrade(engines)
        tokens = {}
        with UnitOfWorkFactory(engines).writing() as uow:
            for i in range(n_forwarders):
                party, key = add_party(uow, kind=PartyKind.FORWARDER, name=f"forwarder {i}")
                tokens[party.id] = key.token
            uow.commit()
        filled = 0
        for size in sizes:
            t = time.perf_counter()
            fill(engines, list(tokens), filled, size)
            if engine == "postgresql":
                with engines.write.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
            print(f"{engine}: filled {filled:,} -> {size:,} shipments in "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
            filled = size
            results[size] = measure(home, url, tokens, size, samples,
                                    Path(tmp) / f"server-{size}.log")
            for name, (p50, p99) in results[size].items():
                print(f"{engine:10s} {size:>9,} shipments  {name:4s} p50 {p50:6.2f} ms  "
                      f"p99 {p99:6.2f} ms", flush=True)
        engines.dispose()
    small, large = sizes[0], sizes[-1]
    for name in ("get", "list"):
        ratio = results[large][name][0] / results[small][name][0]
        print(f"{engine:10s} {name:4s} p50 ratio {large:,} / {small:,} shipments: {ratio:4.2f} "
              "(target <= 2)")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--forwarders", type=int, default=100)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with bench_home() as home:
        for engine in args.engines.split(","):
            run(engine, home, sizes, args.forwarders, args.samples)


if __name__ == "__main__":
    main()
