"""The payment ledger: rules, idempotency, derived balances and status, release gating."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from stdnum import iso11649

from exchange.errors import ExchangeError
from exchange.payments.balances import PaymentState
from exchange.payments.entries import (
    Adjustment, Assessment, DutyLine, Guarantee, Payment, Refund, assessment_reference,
    new_entry_id,
)
from exchange.payments.errors import (
    AdjustmentBelowZeroError, CurrencyMismatchError, InvalidEntryError, LedgerError,
    NegativeAmountError, NotAssessedError, ReferenceConflictError, RefundExceedsPaidError,
    ReleaseRefusedError, TooManyDecimalsError, UnknownLegError, WrongCurrencyError,
    WrongShipmentError, ZeroAmountError,
)
from exchange.payments.ledger import Ledger, check_release, require_release
from exchange.payments.money import Money

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
ROUTE = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}  # members[cc].currency of each leg


def assessment(amount: str, country: str = "KZ", *, ref: str = "CR-1", at=T0, due_at=None,
               shipment: str = "S1", **kw) -> Assessment:
    cur = ROUTE.get(country, "KZT")
    return Assessment(shipment_id=shipment, country=country, recorded_at=at,
                      customs_reference=ref, due_at=due_at, lines=(
                          DutyLine(tax_type="customs-duty", base=Decimal("1000"),
                                   rate=Decimal("0.05"), amount=Money(amount, cur)),), **kw)


def payment(amount: str, country: str = "KZ", *, ref: str = "P-1", currency=None,
            shipment: str = "S1", at=T0) -> Payment:
    return Payment(shipment_id=shipment, country=country, recorded_at=at,
                   money=Money(amount, currency or ROUTE[country]), provider_reference=ref)


def refund(amount: str, country: str = "KZ", *, ref: str = "R-1") -> Refund:
    return Refund(shipment_id="S1", country=country, recorded_at=T0,
                  money=Money(amount, ROUTE[country]), refund_reference=ref)


def adjustment(amount: str, country: str = "KZ", at=T0) -> Adjustment:
    return Adjustment(shipment_id="S1", country=country, recorded_at=at,
                      money=Money(amount, ROUTE[country]), reason="corrected customs value")


def ledger(*entries) -> Ledger:
    return Ledger("S1", ROUTE, entries)


# -- states ------------------------------------------------------------------------------
@pytest.mark.parametrize(("entries", "state"), [
    ((), PaymentState.NOT_ASSESSED),
    ((assessment("100"),), PaymentState.ASSESSED),
    ((assessment("100"), payment("40")), PaymentState.PARTIALLY_PAID),
    ((assessment("100"), payment("100")), PaymentState.PAID),
    ((assessment("100"), payment("120")), PaymentState.OVERPAID),
    ((assessment("100"), payment("120"), refund("20")), PaymentState.REFUNDED),
    ((assessment("100"), payment("100"), refund("100")), PaymentState.ASSESSED),
    ((assessment("100"), payment("100"), adjustment("10")), PaymentState.PARTIALLY_PAID),
    ((assessment("100"), payment("90"), adjustment("-10")), PaymentState.PAID),
    ((assessment("0"),), PaymentState.PAID),
])
def test_leg_state_follows_from_the_balance(entries, state):
    assert ledger(*entries).leg_status("KZ", now=T0).state is state


def test_balance_figures():
    b = ledger(assessment("100.10"), payment("60"), payment("70", ref="P-2"),
               refund("5.05"), adjustment("-0.05")).balance("KZ")
    assert (b.assessed, b.adjusted, b.paid, b.refunded) == (
        Money("100.10", "KZT"), Money("-0.05", "KZT"), Money("130", "KZT"),
        Money("5.05", "KZT"))
    assert b.due == Money("100.05", "KZT")
    assert b.balance == Money("-24.90", "KZT")
    assert b.overpaid == Money("24.90", "KZT") and b.outstanding.is_zero()


def test_shipment_state_and_outstanding_per_currency_never_mixed():
    led = ledger(assessment("1000", "KZ"), assessment("250000", "UZ", ref="UZ-1"),
                 assessment("700.50", "AF", ref="AF-1"), payment("1000", "KZ"),
                 payment("50000", "UZ", ref="P-UZ"))
    status = led.status(now=T0)
    assert [leg.state for leg in status.legs] == [
        PaymentState.PAID, PaymentState.PARTIALLY_PAID, PaymentState.ASSESSED]
    assert status.state is PaymentState.PARTIALLY_PAID
    assert status.outstanding == (Money("700.50", "AFN"), Money("0", "KZT"),
                                  Money("200000", "UZS"))
    data = status.to_dict()
    assert data["legs"][1]["outstanding"] == {"amount": "200000.00", "currency": "UZS"}


def test_shipment_state_aggregation():
    def state(*entries):
        return ledger(*entries).status(now=T0).state
    assert state() is PaymentState.NOT_ASSESSED
    assert state(assessment("1"), assessment("2", "UZ", ref="U")) is PaymentState.ASSESSED
    assert state(assessment("1"), payment("1")) is PaymentState.PAID
    assert state(assessment("1"), payment("2"), assessment("2", "UZ", ref="U"),
                 payment("2", "UZ", ref="P2")) is PaymentState.OVERPAID
    assert state(assessment("1"), payment("2"), refund("1")) is PaymentState.REFUNDED
    assert state(assessment("1"), payment("2"), refund("1"), assessment("2", "UZ", ref="U"),
                 payment("2", "UZ", ref="P2")) is PaymentState.PAID


# -- overdue -----------------------------------------------------------------------------
def test_overdue_when_due_time_passes_with_something_unpaid():
    led = ledger(assessment("100"), payment("40"))
    week = timedelta(days=7)
    assert not led.leg_status("KZ", now=T0 + timedelta(days=30)).overdue  # no due time
    assert not led.leg_status("KZ", now=T0 + week, due_after=week).overdue  # not yet passed
    late = led.leg_status("KZ", now=T0 + week + timedelta(seconds=1), due_after=week)
    assert late.overdue and late.due_at == T0 + week
    assert late.state is PaymentState.PARTIALLY_PAID  # overdue is a flag on the state
    assert led.status(now=T0 + timedelta(days=8), due_after=week).overdue
    paid = ledger(assessment("100"), payment("100"))
    assert not paid.leg_status("KZ", now=T0 + timedelta(days=99), due_after=week).overdue


def test_overdue_covers_the_oldest_charge_first_and_honours_explicit_due_at():
    week = timedelta(days=7)
    led = ledger(assessment("100", ref="A"), assessment("50", ref="B", at=T0 + timedelta(days=5)),
                 payment("100"))
    # the first assessment is paid, the second falls due 5 days later
    st = led.leg_status("KZ", now=T0 + timedelta(days=10), due_after=week)
    assert not st.overdue and st.due_at == T0 + timedelta(days=12)
    explicit = ledger(assessment("100", due_at=T0 + timedelta(hours=1)))
    assert explicit.leg_status("KZ", now=T0 + timedelta(hours=2)).overdue


def test_clock_must_be_timezone_aware():
    with pytest.raises(InvalidEntryError):
        ledger().leg_status("KZ", now=datetime(2026, 1, 1))


# -- idempotency -------------------------------------------------------------------------
def test_same_provider_reference_same_amount_is_one_payment():
    led = ledger(assessment("100"))
    first = led.post(payment("40", ref="PSP-77"))
    again = led.post(payment("40", ref="PSP-77"))  # a new entry id, same payment
    assert first.recorded and not again.recorded and again.entry is first.entry
    assert led.balance("KZ").paid == Money("40", "KZT")
    assert led.post(first.entry).recorded is False  # replaying the same entry


def test_same_provider_reference_other_amount_is_refused_and_changes_nothing():
    led = ledger(assessment("100"), payment("40", ref="PSP-77"))
    before = led.entries
    with pytest.raises(ReferenceConflictError) as caught:
        led.post(payment("41", ref="PSP-77"))
    assert caught.value.code == "ledger.reference-conflict"
    with pytest.raises(ReferenceConflictError):
        led.post(payment("40", "UZ", ref="PSP-77"))  # another leg: refused too
    assert led.entries == before


def test_refund_reference_and_entry_id_are_idempotent_too():
    led = ledger(assessment("100"), payment("120"))
    assert led.post(refund("20", ref="RF-1")).recorded
    assert not led.post(refund("20", ref="RF-1")).recorded
    with pytest.raises(ReferenceConflictError):
        led.post(refund("10", ref="RF-1"))
    adj = adjustment("5")
    assert led.post(adj).recorded and not led.post(adj).recorded
    with pytest.raises(ReferenceConflictError):
        led.post(Adjustment(shipment_id="S1", country="KZ", recorded_at=T0, entry_id=adj.entry_id,
                            money=Money("6", "KZT"), reason="other"))


# -- bad input ---------------------------------------------------------------------------
def refused(led: Ledger, build, error):
    before = led.entries
    with pytest.raises(error) as caught:
        led.post(build())
    assert isinstance(caught.value, LedgerError) and isinstance(caught.value, ExchangeError)
    assert caught.value.code == error.code
    assert led.entries == before
    return caught.value


def test_every_bad_entry_is_refused_with_its_own_error_and_nothing_recorded():
    led = ledger(assessment("100"), payment("50"))
    refused(led, lambda: payment("-5", ref="N"), NegativeAmountError)
    refused(led, lambda: payment("0", ref="Z"), ZeroAmountError)
    refused(led, lambda: refund("-1", ref="N"), NegativeAmountError)
    refused(led, lambda: assessment("-1", ref="N"), NegativeAmountError)
    refused(led, lambda: adjustment("0"), ZeroAmountError)
    refused(led, lambda: payment("5", "KZ", ref="C", currency="UZS"), WrongCurrencyError)
    refused(led, lambda: payment("5", "CN", ref="C", currency="CNY"), UnknownLegError)
    refused(led, lambda: payment("5", ref="O", shipment="S2"), WrongShipmentError)
    refused(led, lambda: payment("5", "UZ", ref="U"), NotAssessedError)
    refused(led, lambda: refund("60", ref="R-big"), RefundExceedsPaidError)
    refused(led, lambda: adjustment("-100.01"), AdjustmentBelowZeroError)
    refused(led, lambda: payment("5.001", ref="D"), TooManyDecimalsError)
    refused(led, lambda: Payment(shipment_id="S1", country="KZ", recorded_at=datetime(2026, 1, 1),
                                 money=Money("1", "KZT"), provider_reference="X"),
            InvalidEntryError)
    refused(led, lambda: Payment(shipment_id="S1", country="KZ", recorded_at=T0,
                                 money=Money("1", "KZT"), provider_reference=" "),
            InvalidEntryError)
    refused(led, lambda: Payment(shipment_id="S1", country="KZ", recorded_at=T0,
                                 money=Decimal("1"), provider_reference="X"), InvalidEntryError)
    assert led.balance("KZ").paid == Money("50", "KZT")


def test_assessment_shape_is_checked():
    with pytest.raises(InvalidEntryError):
        Assessment(shipment_id="S1", country="KZ", recorded_at=T0, customs_reference="C",
                   lines=())
    with pytest.raises(WrongCurrencyError):
        Assessment(shipment_id="S1", country="KZ", recorded_at=T0, customs_reference="C",
                   lines=(DutyLine(tax_type="duty", base=Decimal(1), rate=Decimal(1),
                                   amount=Money("1", "KZT")),
                          DutyLine(tax_type="vat", base=Decimal(1), rate=Decimal(1),
                                   amount=Money("1", "UZS"))))
    with pytest.raises(NegativeAmountError):
        DutyLine(tax_type="duty", base=Decimal(-1), rate=Decimal(1), amount=Money("1", "KZT"))
    with pytest.raises(InvalidEntryError):
        DutyLine(tax_type="duty", base=Decimal("NaN"), rate=Decimal(1), amount=Money("1", "KZT"))
    with pytest.raises(InvalidEntryError):
        assessment("1", entry_id="not-an-rf-body")
    with pytest.raises(InvalidEntryError):
        assessment("1", country="kz")


def test_ledger_replays_stored_entries_through_the_same_rules():
    good = [assessment("100"), payment("40")]
    assert Ledger("S1", ROUTE, good).balance("KZ").paid == Money("40", "KZT")
    with pytest.raises(NotAssessedError):
        Ledger("S1", ROUTE, [payment("40")])
    with pytest.raises(UnknownLegError):
        Ledger("S1", {"kz": "KZT"})


# -- RF references -----------------------------------------------------------------------
def test_assessment_reference_is_a_valid_iso_11649_creditor_reference():
    for _ in range(50):
        entry_id = new_entry_id()
        assert len(entry_id) == 20
        ref = assessment_reference(entry_id)
        assert iso11649.is_valid(ref) and ref.endswith(entry_id) and len(ref) == 24
    assert assessment_reference("539007547034") == "RF18539007547034"  # ISO 11649 example
    a = assessment("1")
    assert a.reference == assessment_reference(a.entry_id)
    for bad in ("", "A" * 22, "abc", "A-1"):
        with pytest.raises(InvalidEntryError):
            assessment_reference(bad)


# -- release gating ----------------------------------------------------------------------
def guarantee(amount: str, country: str = "KZ", ref: str = "G-1", currency=None) -> Guarantee:
    return Guarantee(guarantee_reference=ref, shipment_id="S1", country=country,
                     money=Money(amount, currency or ROUTE[country]), accepted_at=T0)


def test_release_refused_while_outstanding_unless_a_guarantee_covers_it():
    led = ledger(assessment("100"), payment("40"))
    d = check_release(led, "KZ")
    assert not d.allowed and d.code == "ledger.release.outstanding"
    assert d.outstanding == Money("60", "KZT") and "60.00 KZT" in d.reason
    d = check_release(led, "KZ", guarantees=[guarantee("50")])
    assert not d.allowed and d.code == "ledger.release.guarantee-insufficient"
    assert "G-1" in d.reason
    d = check_release(led, "KZ", guarantees=[guarantee("50"), guarantee("10", ref="G-2")])
    assert d.allowed and d.guarantees == ("G-1", "G-2")
    # a guarantee of another leg or another currency covers nothing here
    assert not check_release(led, "KZ", guarantees=[guarantee("999", "UZ")]).allowed
    assert not check_release(led, "KZ", guarantees=[guarantee("999", currency="UZS")]).allowed
    with pytest.raises(ReleaseRefusedError) as caught:
        require_release(led, "KZ")
    assert caught.value.code == "ledger.release-refused"
    assert caught.value.decision.outstanding == Money("60", "KZT")


def test_release_allowed_when_nothing_is_outstanding():
    assert check_release(ledger(assessment("100"), payment("100")), "KZ").allowed
    assert check_release(ledger(assessment("100"), payment("150")), "KZ").allowed
    assert require_release(ledger(), "UZ").allowed  # nothing assessed, nothing owed
    with pytest.raises(UnknownLegError):
        check_release(ledger(), "CN")


def test_money_of_two_legs_never_mixes_in_a_ledger():
    led = ledger(assessment("1", "KZ"), assessment("1", "UZ", ref="U"))
    with pytest.raises(CurrencyMismatchError):
        led.balance("KZ").outstanding + led.balance("UZ").outstanding  # noqa: B018


def test_an_assessment_is_repeated_by_its_entry_id_not_its_customs_reference():
    from exchange.payments.entries import entry_id_for
    entry_id = entry_id_for("KZ", "decision-42")
    assert entry_id == entry_id_for("KZ", "decision-42") != entry_id_for("UZ", "decision-42")
    led = ledger(assessment("100", entry_id=entry_id))
    later = assessment("100", entry_id=entry_id, at=T0 + timedelta(hours=1))
    assert not led.post(later).recorded  # the same decision posted again
    with pytest.raises(ReferenceConflictError):
        led.post(assessment("101", entry_id=entry_id))
    # a supplementary assessment under the same customs reference is a new entry
    assert led.post(assessment("20")).recorded
    assert led.balance("KZ").assessed == Money("120", "KZT")
    with pytest.raises(InvalidEntryError):
        entry_id_for()


# -- the store's path: rules and status without replaying the entries --------------------
def test_check_entry_with_balance_and_earlier_entries_as_the_store_has_them():
    from exchange.payments.balances import Balance
    from exchange.payments.entries import idempotency_key
    from exchange.payments.ledger import check_entry
    led = ledger(assessment("100"), payment("40", ref="PSP-1"))
    balance = led.balance("KZ")  # what SUM(...) GROUP BY kind gives the store
    new = payment("60", ref="PSP-2")
    assert idempotency_key(new) == ("payment", "PSP-2")
    assert check_entry(new, shipment_id="S1", accepted_currency="KZT", balance=balance) is None
    earlier = led.entries[1]
    repeat = payment("40", ref="PSP-1")
    assert check_entry(repeat, shipment_id="S1", accepted_currency="KZT", balance=balance,
                       earlier=[earlier]) is earlier
    with pytest.raises(ReferenceConflictError):
        check_entry(payment("41", ref="PSP-1"), shipment_id="S1", accepted_currency="KZT",
                    balance=balance, earlier=[earlier])
    with pytest.raises(UnknownLegError):
        check_entry(new, shipment_id="S1", accepted_currency=None, balance=None)
    with pytest.raises(NotAssessedError):
        check_entry(new, shipment_id="S1", accepted_currency="KZT", balance=None)
    empty = Balance("KZ", "KZT", *(Money.zero("KZT"),) * 4)
    with pytest.raises(NotAssessedError):
        check_entry(new, shipment_id="S1", accepted_currency="KZT", balance=empty)


def test_status_from_totals_equals_status_from_replay():
    from exchange.payments.balances import charges_of, derive_leg_status
    from exchange.payments.ledger import decide_release
    week = timedelta(days=7)
    entries = [assessment("100", ref="A"), payment("30"), adjustment("-10"),
               adjustment("25", at=T0 + timedelta(days=3)), payment("80", ref="P-2")]
    led = ledger(*entries)
    now = T0 + timedelta(days=11)
    replay = led.leg_status("KZ", now=now, due_after=week)
    direct = derive_leg_status("S1", led.balance("KZ"), now=now,
                               charges=charges_of(entries, due_after=week))
    assert direct == replay
    assert replay.state is PaymentState.PARTIALLY_PAID  # 115 due, 110 paid
    assert replay.overdue and replay.due_at == T0 + timedelta(days=10)  # the adjustment's
    assert not decide_release(led.balance("KZ")).allowed
    assert decide_release(led.balance("KZ"), [guarantee("5")]).allowed


def test_balance_from_the_sums_a_store_computes():
    from exchange.payments.balances import Balance, derive_leg_status
    led = ledger(assessment("100"), payment("40"), refund("5"), adjustment("-10"))
    sums = Balance.from_sums("KZ", "KZT", assessed=Decimal("100"), adjusted="-10.00",
                             paid=Decimal("40.00000"), refunded=5, assessments=1)
    assert sums == led.balance("KZ")
    assert derive_leg_status("S1", sums, now=T0).state is PaymentState.PARTIALLY_PAID
    with pytest.raises(TooManyDecimalsError):
        Balance.from_sums("KZ", "KZT", paid=Decimal("0.001"))
