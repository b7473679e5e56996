"""Properties of the ledger for any sequence of assessments, payments, refunds, adjustments.

* the derived balance of each leg equals the signed sum of the entries recorded on it;
* the state follows from that balance (re-derived here independently of the ledger);
* an entry refused by a rule changes nothing; a repeat records nothing;
* a shipment crossing KZ (KZT), UZ (UZS) and AF (AFN) never mixes its currencies.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.payments.balances import PaymentState
from exchange.payments.entries import (
    Adjustment, Assessment, DutyLine, Payment, Refund, signed_amount,
)
from exchange.payments.errors import LedgerError
from exchange.payments.ledger import Ledger
from exchange.payments.money import Money

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
ROUTE = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}
LEGS = tuple(sorted(ROUTE))

amounts = st.one_of(
    st.sampled_from([Decimal(v) for v in ("10", "20", "50", "100")]),  # so sums meet exactly
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
    st.decimals(min_value=Decimal("-100"), max_value=Decimal("0"), places=2),  # bad or a cut
)
references = st.sampled_from([f"R{i}" for i in range(8)])  # small pool: repeats happen
minutes = st.integers(min_value=0, max_value=60 * 24 * 30)


@st.composite
def operations(draw, kinds=("assessment", "payment", "payment", "refund", "adjustment"),
               legs=LEGS):
    kind = draw(st.sampled_from(kinds))
    country = draw(st.sampled_from(legs))
    # now and then the wrong currency for the country (must be refused)
    currency = ROUTE[country] if draw(st.integers(0, 9)) else draw(st.sampled_from(
        ["KZT", "UZS", "AFN"]))
    # a refund of exactly the overpaid amount (resolved when posted) reaches "refunded"
    amount = "overpaid" if kind == "refund" and draw(st.booleans()) else draw(amounts)
    at = T0 + timedelta(minutes=draw(minutes))
    return (kind, country, currency, amount, draw(references), at)


@st.composite
def histories(draw):
    """Some assessments first, then anything; often on one leg so that states vary."""
    legs = draw(st.sampled_from([("KZ",), ("UZ",), LEGS]))
    first = draw(st.lists(operations(kinds=("assessment",), legs=legs), max_size=3))
    return first + draw(st.lists(operations(legs=legs), max_size=40))


def build(op, ledger):
    kind, country, currency, amount, ref, at = op
    if amount == "overpaid":
        amount = ledger.balance(country).overpaid.amount
    common = dict(shipment_id="S1", country=country, recorded_at=at)
    money = Money(amount, currency)
    if kind == "assessment":
        return Assessment(**common, customs_reference=f"{country}-{ref}", lines=(
            DutyLine(tax_type="duty", base=Decimal(1000), rate=Decimal("0.1"), amount=money),))
    if kind == "payment":
        return Payment(**common, money=money, provider_reference=ref)
    if kind == "refund":
        return Refund(**common, money=money, refund_reference=ref)
    return Adjustment(**common, money=money, reason="correction")


def expected_state(assessed: int, balance: Decimal, net_paid: Decimal, refunded: Decimal):
    if not assessed:
        return PaymentState.NOT_ASSESSED
    if balance > 0:
        return PaymentState.PARTIALLY_PAID if net_paid > 0 else PaymentState.ASSESSED
    if balance < 0:
        return PaymentState.OVERPAID
    return PaymentState.REFUNDED if refunded > 0 else PaymentState.PAID


@settings(max_examples=300, deadline=None)
@given(histories())
def test_balance_is_the_sum_of_entries_and_state_follows_from_it(ops):
    ledger = Ledger("S1", ROUTE)
    recorded = []
    for op in ops:
        before = ledger.entries
        try:
            posting = ledger.post(build(op, ledger))
        except LedgerError:
            assert ledger.entries == before  # refused: nothing changed
            continue
        if posting.recorded:
            recorded.append(posting.entry)
        else:
            assert ledger.entries == before  # idempotent repeat: nothing new
    assert list(ledger.entries) == recorded

    for country, currency in ROUTE.items():
        leg = [e for e in recorded if e.country == country]
        # a country only ever holds its own currency
        assert all(e.money.currency == currency for e in leg)
        total = sum((signed_amount(e).amount for e in leg), Decimal(0))
        balance = ledger.balance(country)
        assert balance.balance == Money(total, currency)
        assert balance.outstanding.amount == max(total, Decimal(0))
        assert balance.overpaid.amount == max(-total, Decimal(0))
        paid = sum((e.money.amount for e in leg if isinstance(e, Payment)), Decimal(0))
        refunded = sum((e.money.amount for e in leg if isinstance(e, Refund)), Decimal(0))
        assessed = sum(1 for e in leg if isinstance(e, Assessment))
        assert refunded <= paid  # never more refunded than paid
        due = sum((e.money.amount for e in leg if isinstance(e, (Assessment, Adjustment))),
                  Decimal(0))
        assert due >= 0  # adjustments never push the amount due below zero
        status = ledger.leg_status(country, now=T0, due_after=timedelta(days=7))
        assert status.state is expected_state(assessed, total, paid - refunded, refunded)
        assert status.currency == currency

    shipment = ledger.status(now=T0 + timedelta(days=60), due_after=timedelta(days=7))
    assert [m.currency for m in shipment.outstanding] == sorted(ROUTE.values())
    assert shipment.overdue == any(m.is_positive() for m in shipment.outstanding)
    unpaid = [leg for leg in shipment.legs
              if leg.state in (PaymentState.ASSESSED, PaymentState.PARTIALLY_PAID)]
    if unpaid:
        assert shipment.state in (PaymentState.ASSESSED, PaymentState.PARTIALLY_PAID)
    # replaying the recorded entries gives the same ledger
    again = Ledger("S1", ROUTE, recorded)
    assert [again.balance(c) for c in ROUTE] == [ledger.balance(c) for c in ROUTE]
