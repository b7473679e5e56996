"""Exact-decimal money with the ISO 4217 minor units of its currency.

The minor units come from the ``iso4217`` package, which ships the ISO 4217 "list one"
maintained by SIX (the ISO 4217 maintenance agency) as published, not a hand-kept table.
CLDR digits (Babel) are *not* used: CLDR records the digits used in everyday cash
display, which differ from ISO 4217 for some currencies (AFN: CLDR 0, ISO 4217 2).

Rules
-----
* Only currencies of list one with numeric minor units are accepted; funds and metals
  whose minor units are "N.A." (XAU, XDR, ...), withdrawn and made-up codes are refused.
* An amount is a :class:`~decimal.Decimal`, an ``int`` or a decimal string. ``float`` is
  refused (binary floats are not exact). NaN and infinities are refused.
* An amount may not carry a *value* finer than the currency's minor unit: ``10.5 KZT``
  is fine, ``10.505 KZT`` and ``1.5 JPY`` are refused. Trailing zeros that change no value
  (``10.500 KZT``) are accepted and normalised to the minor unit (``10.50``).
* At most :data:`MAX_DIGITS` significant digits (the ISO 20022 amount limit).
* Money of two currencies never meets: adding, subtracting or comparing them raises
  :class:`CurrencyMismatchError`.

Errors (``money.*``, each a :class:`~exchange.payments.errors.MoneyError`) are drawn in
:mod:`exchange.payments.errors`.
"""
from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from exchange.i18n import t
from exchange.payments.errors import (
    AmountOutOfRangeError,
    CurrencyMismatchError,
    InvalidAmountError,
    LedgerError,
    MoneyError,
    NonFiniteAmountError,
    TooManyDecimalsError,
    UnknownCurrencyError,
)

__all__ = [
    "MAX_DIGITS", "AmountLike", "Currency", "Money", "currency", "known_currencies",
    # the errors raised here, also importable from here (their home: payments.errors)
    "AmountOutOfRangeError", "CurrencyMismatchError", "InvalidAmountError", "LedgerError",
    "MoneyError", "NonFiniteAmountError", "TooManyDecimalsError", "UnknownCurrencyError",
]

MAX_DIGITS = 18
"""Largest number of significant digits of an amount (ISO 20022 ``totalDigits``)."""

_CONTEXT = decimal.Context(prec=MAX_DIGITS + 12, rounding=decimal.ROUND_HALF_EVEN,
                           traps=[decimal.InvalidOperation, decimal.Inexact,
                                  decimal.Overflow, decimal.DivisionByZero])

_MINOR_LIMIT = 10 ** MAX_DIGITS

_OPERATIONS = {"add": t("add"), "subtract": t("subtract"), "compare": t("compare")}
"""The arithmetic that refuses two currencies, as a reader's error names it."""

_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

AmountLike = Decimal | int | str


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: alphabetic ``code``, ``number`` and ``minor_units``."""

    code: str
    number: int
    minor_units: int
    name: str

    @property
    def quantum(self) -> Decimal:
        """The minor unit as a Decimal exponent pattern: ``0.01`` for 2, ``1`` for 0."""
        return _QUANTUM[self.minor_units]

    def __str__(self) -> str:
        return self.code


class _Quanta(dict[int, Decimal]):
    """minor units -> ``Decimal(1).scaleb(-units)``, made once per number of units."""

    def __missing__(self, units: int) -> Decimal:
        value = self[units] = Decimal(1).scaleb(-units)
        return value


_QUANTUM = _Quanta()


@cache
def _table() -> dict[str, Currency]:
    import iso4217  # parses its packaged ISO table: done once, on first use

    table: dict[str, Currency] = {}
    for item in iso4217.Currency:
        exponent = item.exponent
        if exponent is None:  # "N.A.": funds, metals, XXX...
            continue
        table[item.code] = Currency(item.code, item.number, exponent, item.currency_name)
    return table


def known_currencies() -> frozenset[str]:
    """Codes of every currency that :func:`currency` accepts."""
    return frozenset(_table())


def currency(code: str | Currency) -> Currency:
    """The ISO 4217 currency with this alphabetic code (exact, upper case), or raise."""
    if isinstance(code, Currency):
        return code
    if not isinstance(code, str):
        raise UnknownCurrencyError(t("currency code must be a string, not {type}",
                                     type=type(code).__name__))
    found = _table().get(code)
    if found is None:
        raise UnknownCurrencyError(
            t("{code!r} is not an ISO 4217 currency with minor units (list one)", code=code))
    return found


def _to_decimal(amount: object) -> Decimal:
    if isinstance(amount, (bool, float)):
        raise InvalidAmountError(t("amount must be a Decimal, int or decimal string, not {type}",
                                   type=type(amount).__name__))
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, str):
        if not _DECIMAL_TEXT.fullmatch(amount):
            raise InvalidAmountError(t(
                "{amount!r} is not a decimal amount (digits, one optional '.' and sign)",
                amount=amount))
        value = Decimal(amount)
    else:
        raise InvalidAmountError(t("amount must be a Decimal, int or decimal string, not {type}",
                                   type=type(amount).__name__))
    if not value.is_finite():  # only a Decimal can get here non-finite
        raise NonFiniteAmountError(t("amount {amount!r} is not a finite number", amount=amount))
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, always held at the currency's minor unit.

    ``Money("12.5", "KZT")`` -> ``Money('12.50', 'KZT')``; comparisons and arithmetic work
    only between equal currencies. Signed: balances may be negative; the ledger decides
    where a negative amount is refused.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: AmountLike, currency_code: str | Currency):
        cur = _table().get(currency_code) if type(currency_code) is str else None
        if cur is None:
            cur = currency(currency_code)  # a Currency, or the error
        if type(amount) is str and _DECIMAL_TEXT.fullmatch(amount):  # the common case
            value = Decimal(amount)
        else:
            value = _to_decimal(amount)
        minor = cur.minor_units
        try:
            quantised = value.quantize(_QUANTUM[minor], context=_CONTEXT)
        except decimal.Inexact:
            raise TooManyDecimalsError(t(
                "{amount} {currency}: {currency} has {minor} decimal place(s)", amount=amount,
                currency=cur.code, minor=minor)) from None
        except decimal.InvalidOperation:
            raise AmountOutOfRangeError(t("{amount} {currency} is out of range", amount=amount,
                                          currency=cur.code)) from None
        if not quantised:
            quantised = abs(quantised)  # no "-0.00"
        elif quantised.adjusted() + minor + 1 > MAX_DIGITS:  # digits (exponent is -minor)
            raise AmountOutOfRangeError(t(
                "{amount} {currency} has more than {digits} significant digits", amount=amount,
                currency=cur.code, digits=MAX_DIGITS))
        object.__setattr__(self, "amount", quantised)
        object.__setattr__(self, "currency", cur.code)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def zero(cls, currency_code: str | Currency) -> Money:
        return cls(0, currency_code)

    @classmethod
    def from_minor(cls, units: int, currency_code: str | Currency) -> Money:
        """From an integer count of minor units: ``from_minor(1250, "KZT")`` is 12.50 KZT."""
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidAmountError(t("minor units must be an int, not {type}",
                                       type=type(units).__name__))
        cur = currency(currency_code)
        if -_MINOR_LIMIT < units < _MINOR_LIMIT and cls is Money:
            # exact at the minor unit by construction and within MAX_DIGITS: what the
            # constructor would check holds already
            money = object.__new__(Money)
            object.__setattr__(money, "amount", Decimal(units).scaleb(-cur.minor_units,
                                                                      context=_CONTEXT))
            object.__setattr__(money, "currency", cur.code)
            return money
        return cls(Decimal(units).scaleb(-cur.minor_units), cur)

    def to_minor(self) -> int:
        """The amount as an integer count of minor units (exact)."""
        return int(self.amount.scaleb(_table()[self.currency].minor_units))

    # -- predicates --------------------------------------------------------------------
    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def is_positive(self) -> bool:
        return self.amount > 0

    # -- arithmetic --------------------------------------------------------------------
    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(t(
                "cannot {op} {currency} and {other}: currencies never mix",
                op=_OPERATIONS.get(op, op),
                currency=self.currency, other=other.currency))
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other, "subtract").amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def to_dict(self) -> dict[str, str]:
        """JSON form: the amount as a string (never a float) and the currency code."""
        return {"amount": str(self.amount), "currency": self.currency}
