"""camt.054 import into the store (SQLite and PostgreSQL) and `exchange payments import`:
both versions, matched credits recorded once, the rest kept for an operator with a reason,
a broken file or a duplicate entry reference refusing the whole file with nothing recorded."""
from __future__ import annotations

import subprocess
import sys

import pytest

from exchange.payments.bank_files import import_camt054
from exchange.payments.errors import CamtDuplicateEntryError, CamtError, CamtMalformedError
from tests.e2e.test_payments_api import camt
from tests.integration.test_payments_store import (
    MEMBERS,
    assess,
    counts,
    leg,
    new_shipment,
    view,
)


def rf_of(store, sid, country="UZ"):
    from sqlalchemy import select

    from exchange.store.ledger import LedgerEntryRow

    with store.reading() as uow:
        return uow.session.scalars(select(LedgerEntryRow.rf_reference).where(
            LedgerEntryRow.shipment_id == sid, LedgerEntryRow.country == country,
            LedgerEntryRow.kind == "assessment")).one()


@pytest.mark.parametrize("version", ["02", "08"])
def test_import_matches_and_keeps_the_rest(store, version):
    a, b = new_shipment(store), new_shipment(store)
    assess(store, a, "700.00")
    assess(store, b, "300", "AF", "AFN")
    data = camt([(rf_of(store, a), "700.00", "UZS"), (rf_of(store, b, "AF"), "100.00", "AFN"),
                 (rf_of(store, b, "AF"), "5.00", "UZS"),          # wrong currency
                 ("RF19ZZUNKNOWN0001", "1.00", "UZS"),            # no such assessment
                 ("no reference at all", "2.00", "UZS")], msg=f"V{version}", version=version)
    first = import_camt054(data, store=store, members=MEMBERS).to_dict()
    assert first["counts"] == {"recorded": 2, "repeated": 0, "refused": 0, "unmatched": 3,
                               "unmatched_new": 3}
    assert sorted(u["reason"] for u in first["unmatched"]) == [
        "no-reference", "unknown-reference", "wrong-currency"]
    assert leg(store, a)["state"] == "paid"
    assert leg(store, b, "AF")["state"] == "partially_paid"
    second = import_camt054(data, store=store, members=MEMBERS).to_dict()
    assert second["counts"] == {"recorded": 0, "repeated": 2, "refused": 0, "unmatched": 3,
                                "unmatched_new": 0}
    assert counts(store) == (4, 0)
    with store.reading() as uow:
        assert len(uow.ledger.unmatched(limit=100)) == 3


@pytest.mark.parametrize("mangle,error", [
    (lambda d: d[: len(d) // 2], CamtMalformedError),
    (lambda d: d.replace(b"<NtryRef>D-1</NtryRef>", b"<NtryRef>D-0</NtryRef>"),
     CamtDuplicateEntryError),
    (lambda d: b"", CamtMalformedError),
])
def test_broken_file_refused_whole(store, mangle, error):
    sid = new_shipment(store)
    assess(store, sid, "10.00")
    data = camt([(rf_of(store, sid), "4.00", "UZS"), (rf_of(store, sid), "6.00", "UZS")],
                msg="D")
    before = counts(store)
    with pytest.raises(error) as info:
        import_camt054(mangle(data), store=store, members=MEMBERS)
    assert isinstance(info.value, CamtError) and info.value.code.startswith("camt054.")
    assert counts(store) == before
    with store.reading() as uow:
        assert not uow.ledger.unmatched(limit=10)
    assert leg(store, sid)["state"] == "assessed"


def test_cli_import(store, db_url, server_env, tmp_path):
    sid = new_shipment(store)
    assess(store, sid, "42.00")
    good = tmp_path / "good.xml"
    good.write_bytes(camt([(rf_of(store, sid), "42.00", "UZS")], msg="CLI"))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(good.read_bytes()[:-30])
    env = server_env(db_url)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "exchange", "payments", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    out = run("import", str(good))
    assert out.returncode == 0, out.stderr
    assert "1 recorded, 0 already recorded, 0 refused, 0 unmatched" in out.stdout
    out = run("import", str(good))
    assert "0 recorded, 1 already recorded" in out.stdout
    out = run("import", str(bad))
    assert out.returncode == 1 and "camt054.malformed" in out.stderr + out.stdout
    out = run("import", str(tmp_path / "missing.xml"))
    assert out.returncode == 2
    assert view(store, sid)["state"] == "paid"
