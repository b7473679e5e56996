"""Benchmark of payments in the store: bank file import and the payments endpoint.

    .venv/bin/python bench/payments.py [--entries 10000] [--engines sqlite,postgresql]
        [--version-entries 2000] [--rounds 3] [--only import,get,versions]

For each engine (an SQLite file; a throwaway PostgreSQL 15 from tests.fixtures.postgres):

1. import: N open assessments on N shipments (KZ -> UZ -> AF, assessed on UZ in UZS), a
   generated camt.054.001.08 file of N booked credits quoting their RF references, imported
   through the real path (:func:`exchange.payments.bank_files.import_camt054`: safe parse,
   XSD, read, match, lock, check, insert, leg sums, one hash-chained event per payment, unmatched
   kept, one transaction), against a bare bulk insert of N ledger-shaped rows with
   SQLAlchemy Core into a table of the same shape on the same database. Prints entries/s
   and the ratio (target >= 0.3), and where the import's time goes.
2. ``GET /v1/shipments/{id}/payments`` (in-process ASGI client, the real app and routes)
   for a shipment with 1,000 ledger entries against one with 10 (median of --requests;
   target ratio < 3).
3. versions: the same import (safe parse, XSD of the file's own version from the
   iso20022-camt pack, read, match, record) of --version-entries booked credits, as a
   camt.054 notification and a camt.053 statement of .001.02, .001.04 and .001.08
   (tests.fixtures.camt), each on its own open assessments; the versions take turns for
   --rounds rounds (the starting one rotating) and each keeps its best. Prints entries/s
   side by side and the ratio to camt.054.001.08 (target: none below 0.8).

Steps 1 and 3 validate against the XSDs: the camt pack is installed from
../shared/interop/iso20022-genkgo into a temporary schema store first.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
)

from adapters.members import load_members
from exchange.config import DatabaseSettings
from exchange.domain import PartyKind
from exchange.payments.entries import Assessment, DutyLine, Payment, entry_id_for
from exchange.payments.money import Money
from exchange.parties.keys import add_party
from exchange.payments.bank_files import import_camt054
from exchange.payments.posting import post_entries
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from exchange.store.models import LegRow, ShipmentRow
from exchange.validation import Validator
from exchange.validation.packs import SchemaStore
from tests.fixtures.camt import VERSIONS, camt_file
from tests.fixtures.packs import CAMT_SOURCE

MEMBERS = load_members()
CURRENCIES = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def shipments(store: UnitOfWorkFactory, n: int) -> tuple[str, list[str]]:
    with store.writing() as uow:
        party, key = add_party(uow, kind=PartyKind.FORWARDER, name="Bench forwarder")
        uow.commit()
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with store.engines.write.begin() as conn:
        conn.execute(insert(ShipmentRow.__table__), [
            {"id": s, "forwarder_id": party.id, "transport_mode": "road",
             "references_json": "{}", "origin": "KZ", "destination": "AF", "created_at": T0}
            for s in ids])
        conn.execute(insert(LegRow.__table__), [
            {"shipment_id": s, "seq": i, "country": cc, "role": role, "status": "pending"}
            for s in ids for i, (cc, role) in enumerate(
                (("KZ", "origin"), ("UZ", "transit"), ("AF", "destination")))])
    return key.token, ids


def assess_all(store: UnitOfWorkFactory, ids: list[str], amount: str = "1000.00"
               ) -> list[Assessment]:
    items = [Assessment(entry_id=entry_id_for("UZ", f"BENCH-{s}"), shipment_id=s,
                        country="UZ", recorded_at=T0, customs_reference=f"UZ-{i}",
                        lines=(DutyLine(tax_type="customs-duty", base=Decimal(10000),
                                        rate=Decimal(10), amount=Money(amount, "UZS")),),
                        due_at=T0 + timedelta(days=30)) for i, s in enumerate(ids)]
    for i in range(0, len(items), 1000):
        with store.writing() as uow:
            post_entries(uow, items[i:i + 1000], currencies=lambda _: CURRENCIES,
                         actor_id=None)
            uow.commit()
    return items


def credits(items: list[Assessment]) -> list[tuple[str, str, str]]:
    return [(a.reference, "1000.00", "UZS") for a in items]


def bulk_insert(store: UnitOfWorkFactory, n: int) -> float:
    """A bare insert of n ledger-shaped rows, one Core executemany, one transaction."""
    meta = MetaData()
    table = Table(f"bench_rows_{uuid.uuid4().hex[:8]}", meta,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("entry_id", String(32), unique=True),
                  Column("shipment_id", String(36)), Column("country", String(2)),
                  Column("kind", String(16)), Column("currency", String(3)),
                  Column("amount_minor", BigInteger), Column("reference", String(140)),
                  Column("recorded_at", DateTime(timezone=True)), Column("data_json", Text))
    meta.create_all(store.engines.write)
    rows = [{"entry_id": f"E{i:020d}", "shipment_id": str(uuid.uuid4()), "country": "UZ",
             "kind": "payment", "currency": "UZS", "amount_minor": 100000,
             "reference": f"camt054/ACC/{i}", "recorded_at": T0, "data_json": "{}"}
            for i in range(n)]
    start = time.perf_counter()
    with store.engines.write.begin() as conn:
        conn.execute(insert(table), rows)
    elapsed = time.perf_counter() - start
    meta.drop_all(store.engines.write)
    return elapsed


def bench_import(store: UnitOfWorkFactory, n: int, validator: Validator) -> dict[str, float]:
    from exchange.payments.camt054 import read_camt054
    from exchange.payments.reconciliation import AssessmentIndex, reconcile
    from signing.safexml import XmlLimits

    _, ids = shipments(store, n)
    items = assess_all(store, ids)
    data = camt_file(credits(items), msg="IMP", account="UZ86125KZT5004100100")
    gc.disable()  # as the import does while it reads a file (exchange.payments.bank_files)
    try:
        start = time.perf_counter()
        note = read_camt054(data, limits=XmlLimits(max_bytes=len(data) + 1))
        reconcile(note, AssessmentIndex.from_assessments(items), recorded_at=T0)
        core = time.perf_counter() - start
    finally:
        gc.enable()
    del note
    start = time.perf_counter()
    result = import_camt054(data, store=store, members=MEMBERS, validator=validator,
                            max_bytes=len(data) + 1)
    full = time.perf_counter() - start
    assert len(result.report.recorded) == n, result.to_dict()["counts"]
    start = time.perf_counter()
    again = import_camt054(data, store=store, members=MEMBERS, validator=validator,
                           max_bytes=len(data) + 1)
    repeat = time.perf_counter() - start
    assert len(again.report.repeated) == n
    return {"import": full, "core": core, "repeat": repeat, "insert": bulk_insert(store, n)}


def bench_get(store: UnitOfWorkFactory, requests: int) -> tuple[float, float]:
    from fastapi.testclient import TestClient

    from exchange.bootstrap import build_app
    from exchange.config import Settings
    from exchange.payments.secretbox import SecretBox
    from exchange.services import Services

    token, (big, small) = shipments(store, 2)
    assess_all(store, [big, small], amount="100000.00")
    for sid, count in ((big, 999), (small, 9)):
        payments = [Payment(entry_id=entry_id_for("payment", f"{sid}-{i}"), shipment_id=sid,
                            country="UZ", recorded_at=T0 + timedelta(seconds=i),
                            money=Money("10.00", "UZS"), provider_reference=f"{sid}-{i}")
                    for i in range(count)]
        with store.writing() as uow:
            post_entries(uow, payments, currencies=lambda _: CURRENCIES, actor_id=None)
            uow.commit()
    services = Services(settings=Settings(), engines=store.engines, uow=store, validator=None,
                        members=MEMBERS, sealer=None, checker=None,
                        secrets=SecretBox(os.urandom(32)))  # GET .../payments reads no secret
    app = build_app(services.settings, services=services)  # the API and dashboard, as served
    times: dict[str, list[float]] = {big: [], small: []}
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(requests):
            for sid in (big, small):
                start = time.perf_counter()
                r = client.get(f"/v1/shipments/{sid}/payments")
                times[sid].append(time.perf_counter() - start)
                assert r.status_code == 200, r.text
    return statistics.median(times[big]), statistics.median(times[small])


def bench_versions(store: UnitOfWorkFactory, n: int, rounds: int, validator: Validator
                   ) -> dict[tuple[str, str], tuple[float, float]]:
    """Best (import, core) times of n credits per (message, version), the versions taking
    turns. The core is what differs by version: safe parse, XSD, read, match (no store),
    repeated 3 times as often as the import (it needs no new assessments)."""
    from exchange.payments.bank_files import check_schema
    from exchange.payments.camt054 import parse_camt, read_camt054_tree
    from exchange.payments.reconciliation import AssessmentIndex, reconcile
    from signing.safexml import XmlLimits

    def turns(r: int) -> list[tuple[str, str]]:  # every version, the first one rotating
        return VERSIONS[r % len(VERSIONS):] + VERSIONS[:r % len(VERSIONS)]

    best: dict[tuple[str, str], tuple[float, float]] = {}

    def keep(key: tuple[str, str], elapsed: float | None, core: float | None) -> None:
        was = best.get(key, (float("inf"), float("inf")))
        best[key] = (min(was[0], elapsed or was[0]), min(was[1], core or was[1]))

    _, ids = shipments(store, n)
    items = assess_all(store, ids)  # for the core: matched, never recorded
    index = AssessmentIndex.from_assessments(items)
    files = {key: camt_file(credits(items), message=key[0], version=key[1], msg="CORE",
                            account="UZ86125KZT5004100100") for key in VERSIONS}
    for data in files.values():  # compile every version's XSD first: not timed
        check_schema(parse_camt(data, limits=XmlLimits(max_bytes=len(data) + 1)), validator)
    for r in range(rounds * 3):
        for key in turns(r):
            data = files[key]
            gc.disable()  # as the import does
            try:
                start = time.perf_counter()
                tree = parse_camt(data, limits=XmlLimits(max_bytes=len(data) + 1))
                check_schema(tree, validator)
                reconcile(read_camt054_tree(tree), index, recorded_at=T0)
                keep(key, None, time.perf_counter() - start)
            finally:
                gc.enable()
            del tree
    for r in range(rounds):
        for key in turns(r):
            _, ids = shipments(store, n)
            data = camt_file(credits(assess_all(store, ids)), message=key[0], version=key[1],
                             msg=f"R{r}-{key[0]}-{key[1]}", account="UZ86125KZT5004100100")
            start = time.perf_counter()
            result = import_camt054(data, store=store, members=MEMBERS, validator=validator,
                                    max_bytes=len(data) + 1)
            keep(key, time.perf_counter() - start, None)
            assert len(result.report.recorded) == n, result.to_dict()["counts"]
    return best


def run(name: str, url: str, args: argparse.Namespace, validator: Validator) -> None:
    n, only = args.entries, args.only.split(",")
    engines = create_engines(DatabaseSettings(url=url))
    try:
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        if "import" in only:
            t = bench_import(store, n, validator)
            rate, bulk = n / t["import"], n / t["insert"]
            print(f"{name}: import of {n} camt.054 entries: {t['import']:.2f} s = {rate:,.0f} "
                  f"entries/s; bare bulk insert: {t['insert']:.3f} s = {bulk:,.0f} rows/s; "
                  f"ratio {rate / bulk:.3f} (target >= 0.3)")
            print(f"{name}:   of which read+match (core, no store): {t['core']:.2f} s "
                  f"({t['core'] / t['import']:.0%}); importing the same file again: "
                  f"{t['repeat']:.2f} s (records nothing)")
        if "get" in only:
            big, small = bench_get(store, args.requests)
            print(f"{name}: GET /v1/shipments/{{id}}/payments: 1,000 entries "
                  f"{big * 1000:.1f} ms, 10 entries {small * 1000:.1f} ms, ratio "
                  f"{big / small:.2f} (target < 3)")
        if "versions" in only:
            m = args.version_entries
            best = bench_versions(store, m, args.rounds, validator)
            base, base_core = (m / t for t in best[("camt.054", "08")])
            print(f"{name}: bank file versions, {m:,} credits each; import (safe parse, XSD, "
                  f"read, match, record; best of {args.rounds} rounds) and its core (the same "
                  f"without the store; best of {args.rounds * 3}):")
            for (message, version), (elapsed, core) in best.items():
                rate, rate_core = m / elapsed, m / core
                print(f"{name}:   {message}.001.{version}  import {rate:7,.0f} entries/s, "
                      f"ratio {rate / base:.2f} (target >= 0.8); core {rate_core:7,.0f} "
                      f"entries/s, ratio {rate_core / base_core:.2f}")
    finally:
        engines.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--version-entries", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="import,get,versions",
                        help="comma-separated: import, get, versions")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the app's request logs would drown the figures
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory() as schemas:
        store = SchemaStore(Path(schemas))
        store.install("iso20022-camt", str(CAMT_SOURCE))
        validator = Validator(store)
        if "sqlite" in engines:
            with tempfile.TemporaryDirectory() as folder:
                run("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args, validator)
        if "postgresql" in engines:
            from tests.fixtures.postgres import PostgresServer

            server = PostgresServer().start()
            try:
                run("postgresql", server.create_database(), args, validator)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
