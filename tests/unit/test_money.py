"""Money: ISO 4217 minor units from the iso4217 package, exact decimals, no mixing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ExchangeError
from exchange.payments.errors import (
    AmountOutOfRangeError, CurrencyMismatchError, InvalidAmountError, LedgerError,
    NonFiniteAmountError, TooManyDecimalsError, UnknownCurrencyError,
)
from exchange.payments.money import Money, currency, known_currencies

# ISO 4217 list one (SIX, published 2026-01-01). CLDR (Babel) says 0 for AFN: not used.
ISO_MINOR_UNITS = {
    "KZT": 2, "UZS": 2, "AFN": 2, "CNY": 2, "GEL": 2, "AZN": 2, "KGS": 2, "MNT": 2,
    "PKR": 2, "TJS": 2, "TMT": 2, "JPY": 0, "BHD": 3,
}


@pytest.mark.parametrize(("code", "units"), sorted(ISO_MINOR_UNITS.items()))
def test_minor_units_are_those_of_iso_4217(code, units):
    assert currency(code).minor_units == units
    assert Money.from_minor(1, code).amount == Decimal(1).scaleb(-units)


def test_every_carec_currency_is_known():
    assert set(ISO_MINOR_UNITS) <= known_currencies()


def test_amount_is_held_at_the_minor_unit():
    assert str(Money("12.5", "KZT")) == "12.50 KZT"
    assert str(Money("10.500", "KZT")) == "10.50 KZT"  # trailing zeros change no value
    assert str(Money(3, "BHD")) == "3.000 BHD"
    assert str(Money("-0", "JPY")) == "0 JPY"
    assert Money("12.5", "KZT") == Money(Decimal("12.50"), "KZT")
    assert hash(Money("12.5", "KZT")) == hash(Money("12.50", "KZT"))
    assert Money("12.5", "KZT").to_minor() == 1250
    assert Money.from_minor(-705, "BHD") == Money("-0.705", "BHD")
    assert Money("1.25", "UZS").to_dict() == {"amount": "1.25", "currency": "UZS"}


@pytest.mark.parametrize(("amount", "code", "error"), [
    ("1.5", "JPY", TooManyDecimalsError),
    ("1.005", "KZT", TooManyDecimalsError),
    ("0.0001", "BHD", TooManyDecimalsError),
    (Decimal("0.001"), "AFN", TooManyDecimalsError),
    ("NaN", "KZT", InvalidAmountError),
    (Decimal("NaN"), "KZT", NonFiniteAmountError),
    (Decimal("-Infinity"), "KZT", NonFiniteAmountError),
    (Decimal("sNaN"), "KZT", NonFiniteAmountError),
    (1.5, "KZT", InvalidAmountError),
    (True, "KZT", InvalidAmountError),
    (None, "KZT", InvalidAmountError),
    ("1e3", "KZT", InvalidAmountError),
    ("1_000", "KZT", InvalidAmountError),
    (" 1", "KZT", InvalidAmountError),
    ("", "KZT", InvalidAmountError),
    (Decimal("1E+30"), "KZT", AmountOutOfRangeError),
    ("1234567890123456789", "JPY", AmountOutOfRangeError),
    ("1", "XAU", UnknownCurrencyError),  # minor units N.A.
    ("1", "XXX", UnknownCurrencyError),
    ("1", "kzt", UnknownCurrencyError),
    ("1", "ZZZ", UnknownCurrencyError),
    ("1", "", UnknownCurrencyError),
    ("1", 398, UnknownCurrencyError),
])
def test_bad_amounts_and_currencies_are_refused_with_their_own_error(amount, code, error):
    with pytest.raises(error) as caught:
        Money(amount, code)
    assert isinstance(caught.value, LedgerError)
    assert isinstance(caught.value, ExchangeError)
    assert caught.value.code == error.code


def test_error_codes_are_distinct_and_stable():
    errors = [TooManyDecimalsError, InvalidAmountError, NonFiniteAmountError,
              AmountOutOfRangeError, UnknownCurrencyError, CurrencyMismatchError]
    assert len({e.code for e in errors}) == len(errors)
    assert all(e.code.startswith("money.") for e in errors)


def test_currencies_never_mix():
    kzt, uzs = Money("1", "KZT"), Money("1", "UZS")
    for op in (lambda: kzt + uzs, lambda: kzt - uzs, lambda: kzt < uzs,
               lambda: kzt >= uzs):
        with pytest.raises(CurrencyMismatchError):
            op()
    assert kzt != uzs
    with pytest.raises(TypeError):
        kzt + 1  # noqa: B018


amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2,
                      allow_nan=False, allow_infinity=False)


@given(amounts, amounts)
def test_arithmetic_is_exact(a, b):
    assert (Money(a, "KZT") + Money(b, "KZT")).amount == a + b
    assert (Money(a, "KZT") - Money(b, "KZT")).amount == a - b
    assert Money.from_minor(Money(a, "KZT").to_minor(), "KZT") == Money(a, "KZT")
