"""Benchmark of the payments core (no store): camt.054 reconciliation and status.

    .venv/bin/python bench/payments_core.py [--entries 10000] [--postgres | --database-url URL]

Prints, measured side by side in one run (best of --repeat):

1. reconciliation: read a generated camt.054.001.08 file of N credit entries (safe
   parse), match each to one of N open assessments by its RF reference and post the
   payments to the shipments' in-memory ledgers, against a bare bulk insert of N
   ledger-shaped rows through SQLAlchemy Core (a table of its own, SQLite file by
   default). The issue's target (>= 0.3 of the insert rate) is for the whole import with
   the store; the core's ratio shows how much of that budget it uses.
2. status of a shipment with 1,000 ledger entries against one with 10: replaying the
   entries (Ledger) and from stored totals (derive_leg_status), as the ratio of times.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from exchange.payments.balances import charges_of, derive_leg_status
from exchange.payments.camt054 import read_camt054
from exchange.payments.entries import Assessment, DutyLine, Payment
from exchange.payments.ledger import Ledger
from exchange.payments.money import Money
from exchange.payments.reconciliation import AssessmentIndex, reconcile
from signing.safexml import XmlLimits

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def assessments(n: int) -> list[Assessment]:
    return [Assessment(entry_id=f"BENCH{i:015d}", shipment_id=f"SHP-{i}", country="KZ",
                       recorded_at=T0, customs_reference=f"KZ-{i}", lines=(DutyLine(
                           tax_type="customs-duty", base=Decimal("10000"),
                           rate=Decimal("0.1"), amount=Money("1000.00", "KZT")),))
            for i in range(n)]


def camt_file(items: list[Assessment]) -> bytes:
    entries = "".join(f"""<Ntry><NtryRef>{i}</NtryRef><Amt Ccy="KZT">1000.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-05</Dt></BookgDt>
<AcctSvcrRef>BENCH{i:010d}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd>
<SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs>
<EndToEndId>E2E-{i}</EndToEndId></Refs><Amt Ccy="KZT">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<RltdPties><Dbtr><Pty><Nm>Forwarder {i}</Nm></Pty></Dbtr></RltdPties><RmtInf><Strd>
<CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{a.reference}</Ref>
</CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
""" for i, a in enumerate(items))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>BENCH</MsgId>
<CreDtTm>2026-11-05T18:00:00Z</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id><Acct><Id>
<IBAN>KZ86125KZT5004100100</IBAN></Id></Acct>
{entries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


def best(fn, repeat: int, setup=None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_reconcile(n: int, repeat: int, url: str | None) -> None:
    items = assessments(n)
    data = camt_file(items)
    index = AssessmentIndex.from_assessments(items)
    limits = XmlLimits(max_bytes=max(len(data) + 1, XmlLimits().max_bytes))

    books: dict[str, Ledger] = {}

    def open_books() -> None:  # the open assessments: set up, not timed
        books.clear()
        books.update((a.shipment_id, Ledger(a.shipment_id, {"KZ": "KZT"}, [a])) for a in items)

    def import_file() -> None:
        result = reconcile(read_camt054(data, limits=limits), index, recorded_at=T0)
        recorded = sum(books[p.shipment_id].post(p).recorded for p in result.payments)
        assert recorded == n, recorded

    from sqlalchemy import (Column, Integer, MetaData, Numeric, String, Table,
                            create_engine, insert)

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        meta = MetaData()
        table = Table("bench_ledger_rows", meta, Column("id", Integer, primary_key=True),
                      Column("entry_id", String(64)), Column("shipment_id", String(64)),
                      Column("country", String(2)), Column("kind", String(16)),
                      Column("amount", Numeric(20, 5)), Column("currency", String(3)),
                      Column("reference", String(140)))
        rows = [{"entry_id": f"E{i}", "shipment_id": f"SHP-{i}", "country": "KZ",
                 "kind": "payment", "amount": Decimal("1000.00"), "currency": "KZT",
                 "reference": f"camt054/KZ86125KZT5004100100/BENCH{i:010d}"}
                for i in range(n)]

        def bulk_insert() -> None:
            meta.drop_all(engine)
            meta.create_all(engine)
            with engine.begin() as conn:
                conn.execute(insert(table), rows)

        t_import = best(import_file, repeat, open_books)
        t_insert = best(bulk_insert, repeat)
        meta.drop_all(engine)
        engine.dispose()
    print(f"camt.054 file: {n:,} entries, {len(data) / 1e6:.1f} MB")
    print(f"core reconciliation (parse + match + post): {n / t_import:,.0f} entries/s")
    print(f"bulk insert through SQLAlchemy Core ({engine.dialect.name}): "
          f"{n / t_insert:,.0f} rows/s")
    print(f"ratio core reconciliation / bulk insert: {t_insert / t_import:.2f}")


def bench_status(repeat: int) -> None:
    def history(n_payments: int) -> list:
        a = Assessment(entry_id="STATUS1", shipment_id="S", country="KZ", recorded_at=T0,
                       customs_reference="KZ-1", lines=(DutyLine(
                           tax_type="customs-duty", base=Decimal(1), rate=Decimal(1),
                           amount=Money(str(n_payments * 10), "KZT")),))
        return [a] + [Payment(shipment_id="S", country="KZ", recorded_at=T0,
                              money=Money("1.00", "KZT"), provider_reference=f"P{i}")
                      for i in range(n_payments)]

    small, large = history(9), history(999)
    now = T0 + timedelta(days=1)

    def replay(entries):
        return lambda: Ledger("S", {"KZ": "KZT"}, entries).status(now=now)

    def totals(entries):
        balance = Ledger("S", {"KZ": "KZT"}, entries).balance("KZ")  # as SQL SUM gives it
        charges = charges_of(entries[:1])  # the store selects only the charges
        return lambda: [derive_leg_status("S", balance, now=now, charges=charges)
                        for _ in range(1000)]

    r_replay = best(replay(large), repeat) / best(replay(small), repeat)
    r_totals = best(totals(large), repeat) / best(totals(small), repeat)
    print(f"status 1,000 vs 10 entries, replaying the entries: ratio {r_replay:.1f}")
    print(f"status 1,000 vs 10 entries, from stored totals:    ratio {r_totals:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true",
                        help="compare with a throwaway PostgreSQL server (as the test suite's)")
    args = parser.parse_args()
    if args.postgres:
        from tests.fixtures.postgres import PostgresServer

        server = PostgresServer().start()
        try:
            bench_reconcile(args.entries, args.repeat, server.url())
        finally:
            server.stop()
    else:
        bench_reconcile(args.entries, args.repeat, args.database_url)
    bench_status(max(args.repeat, 5))


if __name__ == "__main__":
    main()
