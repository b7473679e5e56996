"""The entries of a shipment's payment ledger: what is recorded, never changed.

Pure domain code (stdlib, :mod:`exchange.payments.money` and python-stdnum): no database,
no clock, no configuration. Every change is a new entry:

    :class:`Assessment`  duty lines of a customs assessment; payable by its RF reference
    :class:`Payment`     money in, idempotent by ``provider_reference``
    :class:`Refund`      money back to the payer, idempotent by ``refund_reference``
    :class:`Adjustment`  signed change of the amount due (a correction by customs)
    :class:`Guarantee`   a guarantee accepted by customs (it covers, it does not pay)

An entry checks its own fields when made (:class:`~exchange.payments.errors.InvalidEntryError`,
``NegativeAmountError``, ``ZeroAmountError``...); whether it is admitted on a shipment is
:func:`exchange.payments.ledger.check_entry`'s decision. What follows from the entries of a
leg (its balance, state, due times) is in :mod:`exchange.payments.balances`.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from exchange.i18n import Text, t
from exchange.payments.errors import (
    InvalidEntryError,
    LedgerError,
    NegativeAmountError,
    WrongCurrencyError,
    ZeroAmountError,
)
from exchange.payments.money import Money

__all__ = [
    "Adjustment", "Assessment", "DutyLine", "Entry", "EntryKind", "Guarantee", "Payment",
    "PaymentSource", "Refund", "assessment_reference", "entry_id_for", "idempotency_key",
    "new_entry_id", "signed_amount",
    # the errors an entry raises when made (their home: exchange.payments.errors)
    "InvalidEntryError", "LedgerError", "NegativeAmountError", "WrongCurrencyError",
    "ZeroAmountError",
]

class EntryKind(StrEnum):
    ASSESSMENT = "assessment"
    PAYMENT = "payment"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


class PaymentSource(StrEnum):
    API = "api"
    CAMT054 = "camt054"


_ENTRY_ID = re.compile(r"[A-Z0-9]{1,21}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def new_entry_id() -> str:
    """A fresh entry id: 20 characters A-Z2-7 (96 random bits), short enough to be the
    body of an ISO 11649 RF reference (:func:`assessment_reference`)."""
    return base64.b32encode(secrets.token_bytes(12)).decode("ascii").rstrip("=")


def entry_id_for(*parts: str) -> str:
    """A deterministic entry id (20 characters A-Z2-7) for something that already has a
    stable identity, e.g. ``entry_id_for(country, decision_id)`` for the assessment of a
    customs decision: posting that decision again then yields the same entry, a repeat."""
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise InvalidEntryError(t("entry_id_for needs one or more non-empty strings"))
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return base64.b32encode(digest[:12]).decode("ascii").rstrip("=")


def assessment_reference(assessment_id: str) -> str:
    """The ISO 11649 RF creditor reference under which an assessment is paid.

    ``"RF" + two check digits (ISO 7064 MOD 97-10) + assessment id``; the id is 1 to 21
    characters A-Z0-9 (ids from :func:`new_entry_id` are 20). Banks carry it in
    camt.054 ``RmtInf/Strd/CdtrRefInf/Ref``; :mod:`exchange.payments.camt054` matches on it.
    """
    from stdnum.iso7064 import mod_97_10

    if not isinstance(assessment_id, str) or not _ENTRY_ID.fullmatch(assessment_id):
        raise InvalidEntryError(t("assessment id {id!r} must be 1 to 21 characters A-Z or 0-9",
                                  id=assessment_id))
    return "RF" + mod_97_10.calc_check_digits(assessment_id + "RF") + assessment_id


def _text(value: object, what: Text, *, max_len: int = 140) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidEntryError(t("{what} must be a non-empty string of at most {max_len} chars",
                                  what=what, max_len=max_len))
    return value


def _aware(value: object, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.tzinfo.utcoffset(value) is None:
        raise InvalidEntryError(t("{what} must be a timezone-aware datetime", what=what))


def _money(value: object, what: Text) -> Money:
    if not isinstance(value, Money):
        raise InvalidEntryError(t("{what} must be Money, not {type}", what=what,
                                  type=type(value).__name__))
    return value


def _positive(value: object, what: Text) -> None:
    money = _money(value, what)
    if money.is_negative():
        raise NegativeAmountError(t("{what} {money} is negative", what=what, money=money))
    if money.is_zero():
        raise ZeroAmountError(t("{what} is zero", what=what))


@dataclass(frozen=True, slots=True, kw_only=True)
class DutyLine:
    """One line of a customs assessment: ``amount`` of ``tax_type`` at ``rate`` on ``base``.

    ``base`` (customs value or quantity) and ``rate`` are kept as given by customs; the
    ledger does not recompute ``amount`` from them (specific and ad-valorem duties differ).
    """

    tax_type: str
    base: Decimal
    rate: Decimal
    amount: Money

    def __post_init__(self) -> None:
        _text(self.tax_type, t("tax type"), max_len=35)
        for name in ("base", "rate"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise InvalidEntryError(t("duty line {name} must be a finite Decimal",
                                          name=name))
            if value < 0:
                raise NegativeAmountError(t("duty line {name} {value} is negative", name=name,
                                            value=value))
        if _money(self.amount, t("duty line amount")).is_negative():
            raise NegativeAmountError(t("duty line amount {money} is negative",
                                        money=self.amount))


@dataclass(frozen=True, kw_only=True)
class _Entry:
    shipment_id: str
    country: str
    recorded_at: datetime
    entry_id: str = field(default_factory=new_entry_id)

    def __post_init__(self) -> None:
        _text(self.entry_id, t("entry id"), max_len=64)
        _text(self.shipment_id, t("shipment id"), max_len=64)
        if not isinstance(self.country, str) or not _COUNTRY.fullmatch(self.country):
            raise InvalidEntryError(t("country {country!r} must be an ISO 3166 alpha-2 code",
                                      country=self.country))
        _aware(self.recorded_at, "recorded_at")


@dataclass(frozen=True, kw_only=True)
class Assessment(_Entry):
    """Duties and fees assessed by customs of ``country``; ``customs_reference`` is theirs
    (several assessments may share it). A repeat is recognised by ``entry_id``: derive it
    with :func:`entry_id_for` from the customs decision's identity."""

    customs_reference: str
    lines: tuple[DutyLine, ...]
    due_at: datetime | None = None
    kind = EntryKind.ASSESSMENT

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _ENTRY_ID.fullmatch(self.entry_id):
            raise InvalidEntryError(t("an assessment id must be 1 to 21 characters A-Z or 0-9"))
        _text(self.customs_reference, t("customs reference"), max_len=128)
        if not isinstance(self.lines, tuple) or not self.lines \
                or not all(isinstance(line, DutyLine) for line in self.lines):
            raise InvalidEntryError(t("an assessment needs a tuple of one or more duty lines"))
        if len({line.amount.currency for line in self.lines}) != 1:
            raise WrongCurrencyError(t("the duty lines of one assessment are in one currency"))
        if self.due_at is not None:
            _aware(self.due_at, "due_at")

    @property
    def money(self) -> Money:
        total = Money.zero(self.lines[0].amount.currency)
        for line in self.lines:
            total += line.amount
        return total

    @property
    def reference(self) -> str:
        """The RF creditor reference the payer quotes (see :func:`assessment_reference`)."""
        return assessment_reference(self.entry_id)


@dataclass(frozen=True, kw_only=True)
class Payment(_Entry):
    """Money received; ``provider_reference`` is the payment provider's (or bank's) id."""

    money: Money
    provider_reference: str
    payer: str | None = None
    source: PaymentSource = PaymentSource.API
    booked_on: date | None = None
    kind = EntryKind.PAYMENT

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.money, t("payment"))
        _text(self.provider_reference, t("provider reference"))


@dataclass(frozen=True, kw_only=True)
class Refund(_Entry):
    """Money paid back (an overpayment, a reversal), under its own ``refund_reference``."""

    money: Money
    refund_reference: str
    reason: str = ""
    kind = EntryKind.REFUND

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.money, t("refund"))
        _text(self.refund_reference, t("refund reference"))


@dataclass(frozen=True, kw_only=True)
class Adjustment(_Entry):
    """A signed correction of the amount due: positive raises it, negative lowers it."""

    money: Money
    reason: str
    kind = EntryKind.ADJUSTMENT

    def __post_init__(self) -> None:
        super().__post_init__()
        if _money(self.money, t("adjustment")).is_zero():
            raise ZeroAmountError(t("adjustment is zero"))
        _text(self.reason, t("adjustment reason"), max_len=500)


Entry = Assessment | Payment | Refund | Adjustment


def signed_amount(entry: Entry) -> Money:
    """The entry's contribution to the balance (positive = more owed)."""
    if isinstance(entry, Payment):
        return -entry.money
    return entry.money


def idempotency_key(entry: Entry) -> tuple[EntryKind, str] | None:
    """The reference under which a repeat of ``entry`` is recognised besides its entry id:
    ``(payment, provider_reference)``, ``(refund, refund_reference)``; None for
    assessments and adjustments (by entry id: see :func:`entry_id_for`). The store keeps
    a unique index on it so that concurrent repeats count once."""
    if isinstance(entry, Payment):
        return (EntryKind.PAYMENT, entry.provider_reference)
    if isinstance(entry, Refund):
        return (EntryKind.REFUND, entry.refund_reference)
    return None


@dataclass(frozen=True, kw_only=True)
class Guarantee:
    """A guarantee accepted by customs of ``country`` (a customs decision of its own)."""

    guarantee_reference: str
    shipment_id: str
    country: str
    money: Money
    accepted_at: datetime

    def __post_init__(self) -> None:
        _text(self.guarantee_reference, t("guarantee reference"))
        _text(self.shipment_id, t("shipment id"), max_len=64)
        _positive(self.money, t("guarantee"))
        _aware(self.accepted_at, "accepted_at")
