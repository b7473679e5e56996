"""The bad input listed in the issue, each refused with its own error and code, nothing kept."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from exchange.payments.camt054 import CamtMalformedError, CamtVersionError, read_camt054
from exchange.errors import ExchangeError
from exchange.payments.entries import Assessment, DutyLine, LedgerError, NegativeAmountError, Payment, WrongCurrencyError
from exchange.payments.ledger import Ledger
from exchange.payments.money import Money, TooManyDecimalsError, UnknownCurrencyError

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
CAMT = Path(__file__).resolve().parents[1] / "data" / "camt054" / "camt054-001.02-kzt.xml"


def ledger() -> Ledger:
    led = Ledger("S1", {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"})
    led.post(Assessment(shipment_id="S1", country="KZ", recorded_at=T0, customs_reference="C",
                        lines=(DutyLine(tax_type="duty", base=Decimal(1), rate=Decimal(1),
                                        amount=Money("100", "KZT")),)))
    return led


def pay(amount: str, currency: str) -> Payment:
    return Payment(shipment_id="S1", country="KZ", recorded_at=T0,
                   money=Money(amount, currency), provider_reference="P-1")


BAD = {
    "negative amount": (lambda: ledger().post(pay("-1", "KZT")), NegativeAmountError),
    "unknown currency": (lambda: ledger().post(pay("1", "XYZ")), UnknownCurrencyError),
    "wrong currency for the country": (lambda: ledger().post(pay("1", "UZS")),
                                       WrongCurrencyError),
    "too many decimals": (lambda: ledger().post(pay("1.001", "KZT")), TooManyDecimalsError),
    "truncated camt.054": (lambda: read_camt054(CAMT.read_bytes()[:3000]), CamtMalformedError),
    "malformed camt.054": (lambda: read_camt054(b"<Document><Ntry></Document>"),
                           CamtMalformedError),
    "camt.054 of a version not read": (lambda: read_camt054(CAMT.read_bytes().replace(
        b"camt.054.001.02", b"camt.054.001.01")), CamtVersionError),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_refused_with_its_own_error(case):
    action, error = BAD[case]
    with pytest.raises(error) as caught:
        action()
    assert type(caught.value) is error
    assert isinstance(caught.value, LedgerError) and isinstance(caught.value, ExchangeError)
    assert caught.value.code == error.code and str(caught.value)


def test_each_bad_input_has_a_distinct_code():
    codes = {error.code for _, error in BAD.values()}
    assert len(codes) == len({error for _, error in BAD.values()})


def test_nothing_is_recorded_by_a_refused_payment():
    led = ledger()
    before = led.entries
    for amount, currency in (("-1", "KZT"), ("1", "UZS"), ("0", "KZT")):
        with pytest.raises(LedgerError):
            led.post(pay(amount, currency))
    assert led.entries == before
