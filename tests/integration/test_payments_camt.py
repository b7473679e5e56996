"""Bank files into the store (SQLite and PostgreSQL) and `exchange payments import`: camt.054
notifications and camt.053 statements of versions .001.02, .001.04 and .001.08, each checked
against its own XSD from the installed iso20022-camt pack; matched credits recorded once
(also when the same entries come again in another file, of another message or version), every
other transaction kept for an operator with a reason; only a file that is itself broken (not
well-formed, not valid against its XSD, of a version with no pinned XSD) refused whole, with
its line and nothing recorded. Every third-party file of ../shared/interop/iso20022-genkgo
imports."""
from __future__ import annotations

import subprocess
import sys

import pytest

from exchange.payments.bank_files import import_camt054
from exchange.payments.errors import (
    CamtError,
    CamtMalformedError,
    CamtSchemaError,
    CamtVersionError,
)
from tests.fixtures.camt import VERSIONS, camt_file
from tests.fixtures.packs import CAMT_SOURCE
from tests.integration.test_payments_store import (
    MEMBERS,
    assess,
    counts,
    leg,
    new_shipment,
    view,
)

# The third-party files, what each holds (read from the files, not from the reader): the
# reason of every transaction, in file order. None of them quotes an RF reference of ours.
GENKGO = {
    "camt053.v2.minimal.xml": ["no-entry-reference"],  # a credit with no reference at all
    "camt053.v2.multi.statement.xml": ["no-reference", "debit"],
    "camt053.v4.xml": ["no-reference"],
    "camt053.v8.xml": ["no-reference"],  # the same AcctSvcrRef and account as the .v4
    "camt054.v2.xml": ["debit"] * 3,     # a debit batch, no amounts in its TxDtls
    "camt054.v4.xml": ["debit"] * 3,
    "camt054.v8-with-financial-institution.xml": ["debit"],
    "camt054.v8.xml": ["debit"] * 3,     # the same entry (AcctSvcrRef) as the .v4
}
GENKGO_DISTINCT = 11  # 15 transactions, 4 of them again in another file


def rf_of(store, sid, country="UZ"):
    from sqlalchemy import select

    from exchange.store.ledger import LedgerEntryRow

    with store.reading() as uow:
        return uow.session.scalars(select(LedgerEntryRow.rf_reference).where(
            LedgerEntryRow.shipment_id == sid, LedgerEntryRow.country == country,
            LedgerEntryRow.kind == "assessment")).one()


def unmatched_rows(store) -> int:
    with store.reading() as uow:
        return len(uow.ledger.unmatched(limit=1000))


@pytest.mark.parametrize(("message", "version"), VERSIONS)
def test_import_matches_and_keeps_the_rest(store, validator, message, version):
    a, b = new_shipment(store), new_shipment(store)
    assess(store, a, "700.00")
    assess(store, b, "300", "AF", "AFN")
    data = camt_file([(rf_of(store, a), "700.00", "UZS"),
                      (rf_of(store, b, "AF"), "100.00", "AFN"),
                      (rf_of(store, b, "AF"), "5.00", "UZS"),          # wrong currency
                      ("RF19ZZUNKNOWN0001", "1.00", "UZS"),            # no such assessment
                      ("no reference at all", "2.00", "UZS")],
                     message=message, version=version, msg=f"V{version}")
    first = import_camt054(data, store=store, members=MEMBERS, validator=validator).to_dict()
    assert (first["message"], first["version"]) == (message, f"001.{version}")
    assert first["counts"] == {"recorded": 2, "repeated": 0, "refused": 0, "unmatched": 3,
                               "unmatched_new": 3}
    assert sorted(u["reason"] for u in first["unmatched"]) == [
        "no-reference", "unknown-reference", "wrong-currency"]
    assert leg(store, a)["state"] == "paid"
    assert leg(store, b, "AF")["state"] == "partially_paid"
    second = import_camt054(data, store=store, members=MEMBERS, validator=validator).to_dict()
    assert second["counts"] == {"recorded": 0, "repeated": 2, "refused": 0, "unmatched": 3,
                                "unmatched_new": 0}
    assert counts(store) == (4, 0)
    assert unmatched_rows(store) == 3


def test_the_same_entries_in_a_statement_after_the_notification(store, validator):
    sid = new_shipment(store)
    assess(store, sid, "50.00")
    entries = [(rf_of(store, sid), "20.00", "UZS"), ("RF19ZZUNKNOWN0001", "1.00", "UZS")]
    day = camt_file(entries, message="camt.054", version="04", msg="DAY", svcr="BANK")
    evening = camt_file(entries, message="camt.053", version="08", msg="EOD", svcr="BANK")
    first = import_camt054(day, store=store, members=MEMBERS, validator=validator)
    again = import_camt054(evening, store=store, members=MEMBERS, validator=validator)
    assert first.to_dict()["counts"]["recorded"] == 1
    assert again.to_dict()["counts"] == {"recorded": 0, "repeated": 1, "refused": 0,
                                         "unmatched": 1, "unmatched_new": 0}
    assert leg(store, sid)["paid"]["amount"] == "20.00"
    assert unmatched_rows(store) == 1


def test_entries_of_other_accounts_are_listed(store, validator):
    sid = new_shipment(store)
    assess(store, sid, "30.00")
    data = camt_file([(rf_of(store, sid), "30.00", "UZS")], msg="ACC", account="UZ00 OTHER")
    other = import_camt054(data, store=store, members=MEMBERS, validator=validator,
                           accounts=["UZ11DUTIES"]).to_dict()
    assert other["counts"]["recorded"] == 0
    assert [u["reason"] for u in other["unmatched"]] == ["other-account"]
    ours = import_camt054(data, store=store, members=MEMBERS, validator=validator,
                          accounts=["UZ11DUTIES", "uz00other"]).to_dict()
    assert ours["counts"]["recorded"] == 1 and leg(store, sid)["state"] == "paid"


def test_every_third_party_file_imports_once(store, validator):
    before = counts(store)
    for attempt in (1, 2):
        new = 0
        for name, reasons in GENKGO.items():
            result = import_camt054((CAMT_SOURCE / name).read_bytes(), store=store,
                                    members=MEMBERS, validator=validator).to_dict()
            assert [u["reason"] for u in result["unmatched"]] == reasons, name
            assert all(u["message"] for u in result["unmatched"])
            assert result["counts"]["recorded"] == result["counts"]["refused"] == 0
            new += result["counts"]["unmatched_new"]
        assert new == (GENKGO_DISTINCT if attempt == 1 else 0)
    assert unmatched_rows(store) == GENKGO_DISTINCT
    assert counts(store) == before


def _drop_indicator(d: bytes) -> bytes:
    return d.replace(b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<Sts>", 1)


@pytest.mark.parametrize(("mangle", "error", "line"), [
    (lambda d: d[: len(d) // 2], CamtMalformedError, None),
    (lambda d: b"", CamtMalformedError, 1),
    (_drop_indicator, CamtSchemaError, 3),                      # Ntry without CdtDbtInd
    (lambda d: d.replace(b">4.00<", b">-4.00<"), CamtSchemaError, 3),
    (lambda d: d.replace(b"camt.054.001.08", b"camt.054.001.05"), CamtVersionError, 2),
    (lambda d: d.replace(b"camt.054.001.08", b"camt.054.001.01"), CamtVersionError, 2),
])
def test_broken_file_refused_whole(store, validator, mangle, error, line):
    sid = new_shipment(store)
    assess(store, sid, "10.00")
    data = camt_file([(rf_of(store, sid), "4.00", "UZS"), (rf_of(store, sid), "6.00", "UZS")],
                     msg="D")
    before = counts(store)
    with pytest.raises(error) as info:
        import_camt054(mangle(data), store=store, members=MEMBERS, validator=validator)
    assert isinstance(info.value, CamtError) and info.value.code.startswith("camt054.")
    assert info.value.line is not None
    assert line is None or info.value.line == line
    if error is CamtVersionError and b"001.05" in mangle(data):
        assert "pinned: camt.053.001.02" in info.value.message
    assert counts(store) == before
    assert unmatched_rows(store) == 0
    assert leg(store, sid)["state"] == "assessed"


def test_cli_import(store, db_url, server_env, tmp_path):
    sid = new_shipment(store)
    assess(store, sid, "42.00")
    good = tmp_path / "good.xml"
    good.write_bytes(camt_file([(rf_of(store, sid), "42.00", "UZS")], msg="CLI",
                               message="camt.053", version="02"))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_drop_indicator(good.read_bytes()))
    env = server_env(db_url)
    third_party = [str(CAMT_SOURCE / name) for name in GENKGO]

    def run(*args):
        return subprocess.run([sys.executable, "-m", "exchange", "payments", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    out = run("import", str(good), *third_party)
    assert out.returncode == 0, out.stderr
    assert "good.xml: camt.053.001.02 CLI, 1 transactions: 1 recorded, 0 already recorded, " \
           "0 refused, 0 unmatched" in out.stdout
    for name, reasons in GENKGO.items():
        assert f"{name}: camt.05" in out.stdout
    assert out.stdout.count("\tno-entry-reference\t") == 1
    assert out.stdout.count("\tdebit\t") == 11
    out = run("import", str(good), *third_party)
    assert "0 recorded, 1 already recorded" in out.stdout
    assert unmatched_rows(store) == GENKGO_DISTINCT
    # a broken file among good ones: refused with its line, the others still imported
    out = run("import", str(bad), str(good))
    assert out.returncode == 1
    assert "bad.xml: refused, nothing recorded: camt054.schema-invalid: line 3" in out.stderr
    assert "good.xml: camt.053.001.02 CLI" in out.stdout
    out = run("import", str(tmp_path / "missing.xml"))
    assert out.returncode == 2
    assert view(store, sid)["state"] == "paid"
