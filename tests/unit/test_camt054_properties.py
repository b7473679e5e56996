"""Properties of camt.054 import over generated files of both versions.

For any set of entries (credits and debits, booked or pending, quoting a known, unknown or
no reference, in the leg's currency or another): what is read is what was written; exactly
the booked credits quoting a known reference in the leg's currency become payments, each
in the currency of its leg; importing the file again records nothing; a duplicated
reference is listed for an operator and changes nothing else.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.payments.camt054 import read_camt054
from exchange.payments.entries import Assessment, DutyLine
from exchange.payments.ledger import Ledger
from exchange.payments.money import Money
from exchange.payments.reconciliation import (
    AssessmentIndex, Match, UnmatchedReason, match_transaction, reconcile,
)

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
ROUTE = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}  # origin, transit, destination
ASSESSMENTS = [
    Assessment(entry_id=f"{cc}PROP{n}", shipment_id=f"SHP-{n}", country=cc, recorded_at=T0,
               customs_reference=f"{cc}-{n}", lines=(DutyLine(
                   tax_type="duty", base=Decimal(1), rate=Decimal(1),
                   amount=Money("1000000", cur)),))
    for n in range(3) for cc, cur in ROUTE.items()
]
KNOWN = {a.reference: a for a in ASSESSMENTS}
UNKNOWN = "RF19ZZUNKNOWN0001"


@st.composite
def entries(draw):
    target = draw(st.sampled_from(ASSESSMENTS))
    ref_kind = draw(st.sampled_from(["structured", "text", "unknown", "none"]))
    currency = draw(st.sampled_from([ROUTE[target.country]] * 4 + ["USD", "KZT"]))
    amount = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999"),
                              places=2))
    return {"target": target, "ref": ref_kind, "currency": currency, "amount": amount,
            "credit": draw(st.booleans()) or draw(st.booleans()),
            "booked": draw(st.integers(0, 4)) > 0}


def render(items, version: str) -> bytes:
    v08 = version == "08"
    out = []
    for i, e in enumerate(items):
        ref = e["target"].reference
        rmt = {"structured": f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>",
               "text": f"<Ustrd>duties {ref[:4]} {ref[4:]} thanks</Ustrd>",
               "unknown": f"<Strd><CdtrRefInf><Ref>{UNKNOWN}</Ref></CdtrRefInf></Strd>",
               "none": "<Ustrd>customs</Ustrd>"}[e["ref"]]
        status = "BOOK" if e["booked"] else "PDNG"
        sts = f"<Sts><Cd>{status}</Cd></Sts>" if v08 else f"<Sts>{status}</Sts>"
        amt = f'<Amt Ccy="{e["currency"]}">{e["amount"]}</Amt>'
        ind = f"<CdtDbtInd>{'CRDT' if e['credit'] else 'DBIT'}</CdtDbtInd>"
        tx_amt = amt + ind if v08 else f"<AmtDtls><TxAmt>{amt}</TxAmt></AmtDtls>"
        out.append(f"<Ntry><NtryRef>{i}</NtryRef>{amt}{ind}{sts}"
                   f"<BookgDt><Dt>2026-11-05</Dt></BookgDt><AcctSvcrRef>SVC{i}</AcctSvcrRef>"
                   "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd>"
                   "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E</EndToEndId>"
                   f"</Refs>{tx_amt}<RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls></Ntry>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}">'
            "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>P</MsgId><CreDtTm>2026-11-05T10:00:00"
            "</CreDtTm></GrpHdr><Ntfctn><Id>N</Id><Acct><Id><Othr><Id>ACC-1</Id></Othr></Id>"
            f"</Acct>{''.join(out)}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def should_match(e) -> bool:
    return (e["credit"] and e["booked"] and e["ref"] in ("structured", "text")
            and e["currency"] == ROUTE[e["target"].country])


@settings(max_examples=150, deadline=None)
@given(st.lists(entries(), max_size=25), st.sampled_from(["02", "08"]))
def test_import_matches_exactly_what_it_should_and_only_once(items, version):
    data = render(items, version)
    notification = read_camt054(data)
    assert notification.version == f"001.{version}"
    assert [(t.money, t.credit, t.booked) for t in notification.transactions] == [
        (Money(e["amount"], e["currency"]), e["credit"], e["booked"]) for e in items]

    index = AssessmentIndex.from_assessments(ASSESSMENTS)
    outcomes = [match_transaction(t, index) for t in notification.transactions]
    assert [isinstance(o, Match) for o in outcomes] == [should_match(e) for e in items]
    for outcome, e in zip(outcomes, items):
        if isinstance(outcome, Match):
            assert outcome.target.assessment_id == e["target"].entry_id

    books = {s: Ledger(s, ROUTE) for s in {a.shipment_id for a in ASSESSMENTS}}
    for a in ASSESSMENTS:
        books[a.shipment_id].post(a)
    first = reconcile(notification, index, recorded_at=T0)
    assert all(p.money.currency == ROUTE[p.country] for p in first.payments)  # never mixed
    recorded = sum(books[p.shipment_id].post(p).recorded for p in first.payments)
    assert recorded == sum(should_match(e) for e in items)
    again = reconcile(read_camt054(data), index, recorded_at=T0)
    assert sum(books[p.shipment_id].post(p).recorded for p in again.payments) == 0
    for shipment, book in books.items():
        for country, currency in ROUTE.items():
            paid = sum((e["amount"] for e in items if should_match(e)
                        and e["target"].shipment_id == shipment
                        and e["target"].country == country), Decimal(0))
            assert book.balance(country).paid == Money(paid, currency)


@settings(max_examples=50, deadline=None)
@given(st.lists(entries(), min_size=2, max_size=10), st.sampled_from(["02", "08"]),
       st.data())
def test_a_duplicated_reference_is_listed_and_changes_nothing_else(items, version, data):
    i = data.draw(st.integers(1, len(items) - 1))
    j = data.draw(st.integers(0, i - 1))
    text = render(items, version).decode()
    text = text.replace(f"<AcctSvcrRef>SVC{i}</AcctSvcrRef>",
                        f"<AcctSvcrRef>SVC{j}</AcctSvcrRef>")
    index = AssessmentIndex.from_assessments(ASSESSMENTS)
    transactions = read_camt054(text.encode()).transactions
    outcomes = [match_transaction(t, index) for t in transactions]
    for n, (outcome, e) in enumerate(zip(outcomes, items)):
        if n == i:
            assert isinstance(outcome, Match) is False
            assert transactions[n].duplicate
            assert transactions[n].duplicate_of == transactions[j].line
            if e["credit"] and e["booked"]:
                assert outcome.reason is UnmatchedReason.DUPLICATE
        else:
            assert isinstance(outcome, Match) == should_match(e)
