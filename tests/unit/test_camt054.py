"""camt.054 reading (001.02 and 001.08, the project's files; the third-party files of every
version are tests/unit/test_camt_interop.py's), matching by RF reference, idempotent import,
the transactions that cannot be used listed with a reason instead of refusing the file."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from exchange.errors import ExchangeError
from exchange.payments.camt054 import read_camt054, read_camt054_tree
from exchange.payments.entries import Assessment, DutyLine, PaymentSource
from exchange.payments.errors import (
    CamtError, CamtMalformedError, CamtStructureError, CamtUnsafeError, CamtVersionError,
    LedgerError,
)
from exchange.payments.ledger import Ledger
from exchange.payments.money import Money
from exchange.payments.reconciliation import (
    AssessmentIndex, Match, Unmatched, UnmatchedReason, find_rf_references, match_transaction,
    reconcile,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "camt054"
V02 = DATA / "camt054-001.02-kzt.xml"
V08 = DATA / "camt054-001.08-uzs-afn.xml"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 11, 7, 12, 0, tzinfo=timezone.utc)
ROUTE = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}


def assessment(entry_id: str, shipment: str, country: str, amount: str) -> Assessment:
    return Assessment(entry_id=entry_id, shipment_id=shipment, country=country, recorded_at=T0,
                      customs_reference=f"{country}-{entry_id}", lines=(DutyLine(
                          tax_type="customs-duty", base=Decimal("10000"), rate=Decimal("0.1"),
                          amount=Money(amount, ROUTE[country])),))


ASSESSMENTS = [
    assessment("KZASSESS0001", "SHP-1", "KZ", "232.00"),
    assessment("KZASSESS0002", "SHP-2", "KZ", "100.00"),
    assessment("UZASSESS0001", "SHP-1", "UZ", "250000.00"),
    assessment("AFASSESS0001", "SHP-1", "AF", "700.50"),
]


def ledgers() -> dict[str, Ledger]:
    books = {s: Ledger(s, ROUTE) for s in ("SHP-1", "SHP-2")}
    for a in ASSESSMENTS:
        books[a.shipment_id].post(a)
    return books


def index() -> AssessmentIndex:
    return AssessmentIndex.from_assessments(ASSESSMENTS)


# -- reading -----------------------------------------------------------------------------
def test_reads_version_02():
    n = read_camt054(V02.read_bytes())
    assert n.version == "001.02" and n.message_id == "STEPPEBANK-054-20261105-0001"
    assert len(n.transactions) == 8  # 7 entries, one of them a batch of two
    first = n.transactions[0]
    assert first.idempotency_key == "camt054/KZ86125KZT5004100100/STEP20261105000001"
    assert first.entry_reference == "1"
    assert first.account_servicer_reference == "STEP20261105000001"
    assert first.money == Money("232.00", "KZT") and first.credit and first.booked
    assert first.booking_date == date(2026, 11, 5)
    assert first.creditor_references == ("RF91KZASSESS0001",)
    assert first.debtor == "Silk Road Forwarding LLP"
    assert first.end_to_end_id == "SILKROAD-INV-2026-0117"
    batch = n.transactions[1:3]
    assert [t.money for t in batch] == [Money("100", "KZT"), Money("50", "KZT")]
    assert [t.idempotency_key.rsplit("/", 1)[1] for t in batch] == [
        "STEP20261105000002-1", "STEP20261105000002-2"]
    assert batch[0].unstructured[0].startswith("Customs duty shipment SHP-2")
    assert not n.transactions[3].credit  # the bank charges
    assert n.transactions[5].status == "PDNG" and n.transactions[5].booking_date is None


def test_reads_version_08():
    n = read_camt054(V08.read_bytes())
    assert n.version == "001.08"
    uzs, usd, afn, reversal = n.transactions
    assert uzs.money == Money("250000", "UZS") and uzs.status == "BOOK"
    assert uzs.idempotency_key == "camt054/20208000900412345001/AMU2611070000001-TX"
    assert uzs.booking_date == date(2026, 11, 7)  # from BookgDt/DtTm
    assert uzs.debtor == "Silk Road Forwarding LLP"  # Dbtr/Pty/Nm
    assert usd.money == Money("150", "USD")
    assert afn.account == "0042-1000-7731-AFN" and afn.entry_reference is None
    assert afn.unstructured == ("Payment for customs assessment rf80afassess0001",)
    assert reversal.reversal


def test_reads_a_tree_parsed_by_safexml():
    from signing.safexml import parse_xml
    assert read_camt054_tree(parse_xml(V08.read_bytes())).version == "001.08"


# -- matching ----------------------------------------------------------------------------
def test_matches_and_lists_the_rest_with_reasons_version_02():
    n = read_camt054(V02.read_bytes())
    outcomes = [match_transaction(t, index()) for t in n.transactions]
    summary = [(o.target.shipment_id, o.target.country) if isinstance(o, Match)
               else str(o.reason) for o in outcomes]
    assert summary == [
        ("SHP-1", "KZ"),        # structured creditor reference
        ("SHP-2", "KZ"),        # print-format RF in free text followed by more words
        "no-reference",
        "debit",
        "unknown-reference",
        "not-booked",
        "ambiguous",
        "invalid-reference",
    ]
    ambiguous = outcomes[6]
    assert {c.shipment_id for c in ambiguous.candidates} == {"SHP-1", "SHP-2"}
    assert "SHP-1/KZ" in ambiguous.message and "SHP-2/KZ" in ambiguous.message
    assert ambiguous.to_dict()["transaction"]["line"] == n.transactions[6].line


def test_matches_and_lists_the_rest_with_reasons_version_08():
    n = read_camt054(V08.read_bytes())
    outcomes = [match_transaction(t, index()) for t in n.transactions]
    assert isinstance(outcomes[0], Match) and outcomes[0].target.country == "UZ"
    assert outcomes[1].reason is UnmatchedReason.WRONG_CURRENCY
    assert "UZ accepts UZS" in outcomes[1].message
    assert isinstance(outcomes[2], Match) and outcomes[2].target.country == "AF"
    assert outcomes[3].reason is UnmatchedReason.REVERSAL


def test_rf_references_in_free_text():
    assert find_rf_references("pay RF18 5390 0754 7034 now") == (("RF18539007547034",), ())
    assert find_rf_references("rf18539007547034") == (("RF18539007547034",), ())
    assert find_rf_references("RF19 5390 0754 7034") == ((), ("RF19539007547034",))
    # a reference right after another one's run-on text is still found
    assert find_rf_references("Duties RF91KZASSESS0001 and RF64KZASSESS0002") == (
        ("RF91KZASSESS0001", "RF64KZASSESS0002"), ())
    assert find_rf_references("no reference, PERF12 is not one") == ((), ())
    assert find_rf_references("RF91KZASSESS0001, RF91KZASSESS0001") == (
        ("RF91KZASSESS0001",), ())


# -- reconciliation and idempotent import ------------------------------------------------
def post_all(books, payments):
    return sum(books[p.shipment_id].post(p).recorded for p in payments)


def test_reconcile_records_payments_once_even_when_imported_twice():
    books = ledgers()
    for path in (V02, V08):
        result = reconcile(read_camt054(path.read_bytes()), index(), recorded_at=NOW)
        assert all(p.source is PaymentSource.CAMT054 for p in result.payments)
        assert post_all(books, result.payments) == len(result.payments) == 2
        again = reconcile(read_camt054(path.read_bytes()), index(), recorded_at=NOW)
        assert post_all(books, again.payments) == 0  # same file again: nothing new
    shp1 = books["SHP-1"].status(now=NOW)
    assert [leg.state.value for leg in shp1.legs] == ["paid", "paid", "paid"]
    assert books["SHP-2"].leg_status("KZ", now=NOW).state.value == "paid"
    payment = books["SHP-1"].leg_entries("KZ")[1]
    assert payment.provider_reference == "camt054/KZ86125KZT5004100100/STEP20261105000001"
    assert payment.payer == "Silk Road Forwarding LLP"
    assert payment.booked_on == date(2026, 11, 5)


def test_unmatched_entries_are_listed_for_an_operator():
    result = reconcile(read_camt054(V02.read_bytes()), index(), recorded_at=NOW)
    assert len(result.matches) == 2 and len(result.unmatched) == 6
    reasons = [u.to_dict()["reason"] for u in result.unmatched]
    assert reasons == ["no-reference", "debit", "unknown-reference", "not-booked",
                       "ambiguous", "invalid-reference"]
    assert all(u.message for u in result.unmatched)


# -- bad files ---------------------------------------------------------------------------
def good() -> str:
    return V02.read_text(encoding="utf-8")


def refused(data: bytes | str, error: type[CamtError]) -> CamtError:
    with pytest.raises(error) as caught:
        read_camt054(data.encode("utf-8") if isinstance(data, str) else data)
    assert isinstance(caught.value, LedgerError) and isinstance(caught.value, ExchangeError)
    assert caught.value.code == error.code
    return caught.value


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(cut):
    data = V02.read_bytes()
    err = refused(data[: int(len(data) * cut)], CamtMalformedError)
    assert err.line is not None and err.code == "camt054.malformed"


def reasons(text: str) -> list[str]:
    result = reconcile(read_camt054(text.encode()), index(), recorded_at=NOW)
    return [str(u.reason) for u in result.unmatched]


def test_duplicate_reference_is_listed_and_the_rest_still_read():
    # entry 4 (a credit) carries entry 1's account servicer reference
    text = good().replace("<AcctSvcrRef>STEP20261105000004</AcctSvcrRef>",
                          "<AcctSvcrRef>STEP20261105000001</AcctSvcrRef>")
    n = read_camt054(text.encode())
    first, again = n.transactions[0], n.transactions[4]
    assert not first.duplicate and again.duplicate and again.duplicate_of == first.line
    assert again.idempotency_key == first.idempotency_key + "#2"
    result = reconcile(n, index(), recorded_at=NOW)
    assert len(result.payments) == 2  # entry 1 and the batch's first: still recorded
    dup = [u for u in result.unmatched if u.reason is UnmatchedReason.DUPLICATE]
    assert [u.transaction for u in dup] == [again]
    assert f"line {first.line}" in dup[0].message
    # NtryRef is a fallback reference only: the same NtryRef twice changes nothing
    text = good().replace("<NtryRef>2</NtryRef>", "<NtryRef>1</NtryRef>")
    assert reasons(text) == reasons(good())
    # the same transaction reference twice in a batch
    text = good().replace("STEP20261105000002-2", "STEP20261105000002-1")
    assert reasons(text) == ["duplicate-reference", "debit", "unknown-reference",
                             "not-booked", "ambiguous", "invalid-reference"]


def test_amount_that_is_no_amount_lists_the_transaction():
    for bad in ('<Amt Ccy="KZT">232.001</Amt>', '<Amt Ccy="XYZ">232.00</Amt>',
                '<Amt Ccy="KZT">-232.00</Amt>', '<Amt>232.00</Amt>'):
        text = good().replace('<Amt Ccy="KZT">232.00</Amt>', bad)
        n = read_camt054(text.encode())
        first = n.transactions[0]
        assert first.money is None and first.amount_problem
        assert f"line {first.line + 6}" in first.amount_problem  # the TxAmt's own line
        outcome = match_transaction(first, index())
        assert isinstance(outcome, Unmatched)
        assert outcome.reason is UnmatchedReason.INVALID_AMOUNT
        # entries 1, 5 and 7 are of 232.00 (5 is pending: that is said first)
        assert reasons(text) == ["invalid-amount", "no-reference", "debit",
                                 "unknown-reference", "not-booked", "ambiguous",
                                 "invalid-amount"]


@pytest.mark.parametrize(("old", "new", "error"), [
    ('<Amt Ccy="KZT">232.00</Amt>', '', CamtStructureError),
    ("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CREDIT</CdtDbtInd>", CamtStructureError),
    ("<Sts>BOOK</Sts>", "<Sts></Sts>", CamtStructureError),
    ("<Dt>2026-11-05</Dt>", "<Dt>05.11.2026</Dt>", CamtStructureError),
    ("<IBAN>KZ86125KZT5004100100</IBAN>", "", CamtStructureError),
    ("<MsgId>STEPPEBANK-054-20261105-0001</MsgId>", "", CamtStructureError),
    ("<NtryRef>3</NtryRef>", "", None),  # still has AcctSvcrRef: fine
    ("camt.054.001.02", "camt.054.001.04", None),  # the same structure: read
    ("camt.054.001.02", "camt.054.001.01", CamtVersionError),
    ("camt.054.001.02", "camt.052.001.02", CamtVersionError),
    ("camt.054.001.02", "camt.053.001.02", CamtStructureError),  # no BkToCstmrStmt
    ("BkToCstmrDbtCdtNtfctn>", "BkToCstmrStmt>", CamtStructureError),
])
def test_each_fault_is_refused_with_its_own_error(old, new, error):
    text = good()
    assert old in text
    text = text.replace(old, new)
    if error is None:
        read_camt054(text.encode())
    else:
        refused(text, error)


def test_entry_identified_by_its_best_reference():
    # entry 4 (a credit quoting an unknown RF) without NtryRef and AcctSvcrRef: its
    # EndToEndId; without that either: listed as unidentified, never refusing the file
    text = good().replace("<NtryRef>4</NtryRef>", "").replace(
        "<AcctSvcrRef>STEP20261105000004</AcctSvcrRef>", "")
    tx = read_camt054(text.encode()).transactions[4]
    assert (tx.reference_kind, tx.idempotency_key) == (
        "EndToEndId", "camt054/KZ86125KZT5004100100/e2e:E2E-0004")
    assert reasons(text) == reasons(good())
    text = text.replace("<EndToEndId>E2E-0004</EndToEndId>", "<TxId>TX-4</TxId>")
    assert read_camt054(text.encode()).transactions[4].idempotency_key.endswith("/txid:TX-4")
    text = text.replace("<TxId>TX-4</TxId>", "")
    tx = read_camt054(text.encode()).transactions[4]
    assert not tx.identified and "/unidentified:" in tx.idempotency_key
    assert tx.idempotency_key == read_camt054(text.encode()).transactions[4].idempotency_key
    assert reasons(text)[2] == "no-entry-reference"
    assert len(reconcile(read_camt054(text.encode()), index(), recorded_at=NOW).payments) == 2
    # a payer's NOTPROVIDED end-to-end id is no reference; a UETR comes before it
    assert read_camt054(good().encode()).transactions[1].reference_kind == "AcctSvcrRef"
    v08 = read_camt054(V08.read_bytes().replace(
        b"<AcctSvcrRef>AMU2611070000001-TX</AcctSvcrRef>", b"").replace(
        b"<AcctSvcrRef>AMU2611070000001</AcctSvcrRef>", b""))
    assert v08.transactions[0].idempotency_key.endswith(
        "/uetr:7b8d7f33-5e0b-4d5a-9a43-0f3b5c1d2e6f")


def test_other_accounts_are_listed():
    n = read_camt054(good().encode())
    result = reconcile(n, index(), recorded_at=NOW, accounts={"KZ00OTHER"})
    assert not result.payments
    assert {str(u.reason) for u in result.unmatched} == {"other-account"}
    ours = reconcile(n, index(), recorded_at=NOW, accounts={"KZ86125KZT5004100100"})
    assert len(ours.payments) == 2


def test_unsafe_and_foreign_xml_is_refused():
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&x;</Document>')
    refused(xxe, CamtUnsafeError)
    refused(b"", CamtMalformedError)
    refused(b"not xml at all", CamtMalformedError)
    refused('<Document xmlns="urn:other"/>', CamtVersionError)
    refused('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
            "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId><CreDtTm>2026-11-05T00:00:00"
            "</CreDtTm></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>", CamtStructureError)


def test_a_refused_file_records_nothing():
    books = ledgers()
    before = {s: b.entries for s, b in books.items()}
    text = good().replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>")
    with pytest.raises(CamtStructureError):
        result = reconcile(read_camt054(text.encode()), index(), recorded_at=NOW)
        post_all(books, result.payments)
    assert {s: b.entries for s, b in books.items()} == before


def test_unmatched_has_no_payment():
    result = reconcile(read_camt054(V08.read_bytes()), AssessmentIndex(), recorded_at=NOW)
    assert result.payments == () and result.matches == ()
    assert all(isinstance(u, Unmatched) for u in result.unmatched)
    assert [u.reason.value for u in result.unmatched] == [
        "unknown-reference", "unknown-reference", "unknown-reference", "reversal"]


def test_post_payments_reports_recorded_repeated_and_refused():
    from exchange.payments.entries import Payment
    from exchange.payments.errors import ReferenceConflictError
    from exchange.payments.reconciliation import post_payments
    books = ledgers()
    # the bank's reference of entry 1 was recorded before with another amount
    books["SHP-1"].post(Payment(shipment_id="SHP-1", country="KZ", recorded_at=T0,
                                money=Money("1", "KZT"),
                                provider_reference="camt054/KZ86125KZT5004100100/"
                                                   "STEP20261105000001"))
    result = reconcile(read_camt054(V02.read_bytes()), index(), recorded_at=NOW)
    report = post_payments(result, lambda p: books[p.shipment_id].post(p).recorded)
    assert [p.shipment_id for p in report.recorded] == ["SHP-2"]
    assert len(report.refused) == 1
    assert isinstance(report.refused[0][1], ReferenceConflictError)
    assert len(report.unmatched) == 6
    again = post_payments(result, lambda p: books[p.shipment_id].post(p).recorded)
    assert [p.shipment_id for p in again.repeated] == ["SHP-2"] and not again.recorded
    data = report.to_dict()
    assert data["refused"][0]["code"] == "ledger.reference-conflict"
    assert data["recorded"][0]["amount"] == {"amount": "100.00", "currency": "KZT"}
