"""Benchmark of payments in the store: camt.054 import and the payments endpoint.

    .venv/bin/python bench/payments.py [--entries 10000] [--engines sqlite,postgresql]

For each engine (an SQLite file; a throwaway PostgreSQL 15 from tests.fixtures.postgres):

1. import: N open assessments on N shipments (KZ -> UZ -> AF, assessed on UZ in UZS), a
   generated camt.054.001.08 file of N booked credits quoting their RF references, imported
   through the real path (:func:`exchange.payments.bank_files.import_camt054`: safe parse, read,
   match, lock, check, insert, leg sums, one hash-chained event per payment, unmatched
   kept, one transaction), against a bare bulk insert of N ledger-shaped rows with
   SQLAlchemy Core into a table of the same shape on the same database. Prints entries/s
   and the ratio (target >= 0.3), and where the import's time goes.
2. ``GET /v1/shipments/{id}/payments`` (in-process ASGI client, the real app and routes)
   for a shipment with 1,000 ledger entries against one with 10 (median of --requests;
   target ratio < 3).
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

MEMBERS = load_members()
CURRENCIES = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


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


def camt_file(items: list[Assessment], tag: str) -> bytes:
    entries = "".join(
        f"<Ntry><NtryRef>{tag}{i}</NtryRef><Amt Ccy=\"UZS\">1000.00</Amt>"
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-05</Dt>"
        f"</BookgDt><AcctSvcrRef>{tag}S{i:010d}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd>"
        "<Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls>"
        f"<TxDtls><Refs><EndToEndId>E2E-{i}</EndToEndId></Refs><Amt Ccy=\"UZS\">1000.00"
        "</Amt><CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Forwarder</Nm></Pty>"
        "</Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd>"
        f"</CdOrPrtry></Tp><Ref>{a.reference}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
        "</NtryDtls></Ntry>\n" for i, a in enumerate(items))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}">'
            f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{tag}</MsgId><CreDtTm>"
            "2026-11-05T18:00:00Z</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id><Acct><Id><IBAN>"
            f"UZ86125KZT5004100100</IBAN></Id></Acct>\n{entries}</Ntfctn>"
            "</BkToCstmrDbtCdtNtfctn></Document>").encode()


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


def bench_import(store: UnitOfWorkFactory, n: int) -> dict[str, float]:
    from exchange.payments.camt054 import read_camt054
    from exchange.payments.reconciliation import AssessmentIndex, reconcile
    from signing.safexml import XmlLimits

    _, ids = shipments(store, n)
    items = assess_all(store, ids)
    data = camt_file(items, "IMP")
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
    result = import_camt054(data, store=store, members=MEMBERS, max_bytes=len(data) + 1)
    full = time.perf_counter() - start
    assert len(result.report.recorded) == n, result.to_dict()["counts"]
    start = time.perf_counter()
    again = import_camt054(data, store=store, members=MEMBERS, max_bytes=len(data) + 1)
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


def run(name: str, url: str, n: int, requests: int) -> None:
    engines = create_engines(DatabaseSettings(url=url))
    try:
        upgrade(engines)
        store = UnitOfWorkFactory(engines)
        t = bench_import(store, n)
        rate, bulk = n / t["import"], n / t["insert"]
        print(f"{name}: import of {n} camt.054 entries: {t['import']:.2f} s = {rate:,.0f} "
              f"entries/s; bare bulk insert: {t['insert']:.3f} s = {bulk:,.0f} rows/s; "
              f"ratio {rate / bulk:.3f} (target >= 0.3)")
        print(f"{name}:   of which read+match (core, no store): {t['core']:.2f} s "
              f"({t['core'] / t['import']:.0%}); importing the same file again: "
              f"{t['repeat']:.2f} s (records nothing)")
        big, small = bench_get(store, requests)
        print(f"{name}: GET /v1/shipments/{{id}}/payments: 1,000 entries {big * 1000:.1f} ms, "
              f"10 entries {small * 1000:.1f} ms, ratio {big / small:.2f} (target < 3)")
    finally:
        engines.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # the app's request logs would drown the figures
    engines = args.engines.split(",")
    if "sqlite" in engines:
        with tempfile.TemporaryDirectory() as folder:
            run("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args.entries, args.requests)
    if "postgresql" in engines:
        from tests.fixtures.postgres import PostgresServer

        server = PostgresServer().start()
        try:
            run("postgresql", server.create_database(), args.entries, args.requests)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
