"""The payment ledger of a shipment: append-only entries, derived balances and status.

Pure domain code (stdlib, :mod:`exchange.money` and python-stdnum): no database, no clock,
no configuration. Two ways to use it, with the same rules:

* in memory: :class:`Ledger` replays a shipment's entries; :meth:`Ledger.post` admits a
  new one (``Posting.recorded``) or recognises a repeat; :meth:`Ledger.status`.
* from a store, without replaying every entry: :func:`check_entry` takes the leg's
  current :class:`Balance` (sums per kind) and the earlier entries sharing the new one's
  entry id or :func:`idempotency_key`; :func:`derive_leg_status` takes the balance and
  the leg's :class:`Charge` list (:func:`charges_of` its assessments and adjustments);
  :func:`decide_release` takes the balance and the accepted guarantees.

Entries (frozen; nothing is ever updated, every change is a new entry)
    :class:`Assessment`  duty lines of a customs assessment; payable by its RF reference
    :class:`Payment`     money in, idempotent by ``provider_reference``
    :class:`Refund`      money back to the payer, idempotent by ``refund_reference``
    :class:`Adjustment`  signed change of the amount due (a correction by customs)

Balance of a leg (shipment, country, currency) = the sum of the signed entries:
``+assessment +adjustment -payment +refund``; positive means owed. The state follows from
it (:func:`derive_state`); overdue is a flag on top, from due times and a clock passed in.

Rules (each refused with its own :class:`~exchange.money.LedgerError` subclass)::

    NegativeAmountError      ledger.negative-amount      payment/refund/duty line below zero
    ZeroAmountError          ledger.zero-amount          payment/refund/adjustment of zero
    InvalidEntryError        ledger.invalid-entry        empty reference, naive time, bad id
    WrongShipmentError       ledger.wrong-shipment       entry of another shipment
    UnknownLegError          ledger.unknown-leg          country not on the shipment's route
    WrongCurrencyError       ledger.wrong-currency       a country takes only its own currency
    NotAssessedError         ledger.not-assessed         payment/refund/adjustment before any
                                                         assessment of that leg
    ReferenceConflictError   ledger.reference-conflict   same reference, other content
    RefundExceedsPaidError   ledger.refund-exceeds-paid  refund above what was paid
    AdjustmentBelowZeroError ledger.adjustment-below-zero  amount due would go below zero
    ReleaseRefusedError      ledger.release-refused      see :func:`check_release`
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Union

from exchange.money import LedgerError, Money

__all__ = [
    "LedgerError", "NegativeAmountError", "ZeroAmountError", "InvalidEntryError",
    "WrongShipmentError", "UnknownLegError", "WrongCurrencyError", "NotAssessedError",
    "ReferenceConflictError", "RefundExceedsPaidError", "AdjustmentBelowZeroError",
    "ReleaseRefusedError",
    "EntryKind", "PaymentState", "PaymentSource", "DutyLine", "Assessment", "Payment",
    "Refund", "Adjustment", "Entry", "Guarantee", "Posting", "Balance", "LegStatus",
    "ShipmentStatus", "ReleaseDecision", "Ledger",
    "Charge", "new_entry_id", "entry_id_for", "assessment_reference", "signed_amount",
    "idempotency_key", "check_entry", "charges_of", "earliest_unpaid_due", "derive_state",
    "derive_leg_status", "derive_shipment_status", "decide_release", "check_release",
    "require_release",
]


class NegativeAmountError(LedgerError):
    code = "ledger.negative-amount"


class ZeroAmountError(LedgerError):
    code = "ledger.zero-amount"


class InvalidEntryError(LedgerError):
    code = "ledger.invalid-entry"


class WrongShipmentError(LedgerError):
    code = "ledger.wrong-shipment"


class UnknownLegError(LedgerError):
    code = "ledger.unknown-leg"


class WrongCurrencyError(LedgerError):
    code = "ledger.wrong-currency"


class NotAssessedError(LedgerError):
    code = "ledger.not-assessed"


class ReferenceConflictError(LedgerError):
    code = "ledger.reference-conflict"


class RefundExceedsPaidError(LedgerError):
    code = "ledger.refund-exceeds-paid"


class AdjustmentBelowZeroError(LedgerError):
    code = "ledger.adjustment-below-zero"


class ReleaseRefusedError(LedgerError):
    code = "ledger.release-refused"

    def __init__(self, decision: ReleaseDecision):
        super().__init__(decision.reason or "release refused")
        self.decision = decision


class EntryKind(StrEnum):
    ASSESSMENT = "assessment"
    PAYMENT = "payment"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


class PaymentState(StrEnum):
    NOT_ASSESSED = "not_assessed"
    ASSESSED = "assessed"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    REFUNDED = "refunded"


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
        raise InvalidEntryError("entry_id_for needs one or more non-empty strings")
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return base64.b32encode(digest[:12]).decode("ascii").rstrip("=")


def assessment_reference(assessment_id: str) -> str:
    """The ISO 11649 RF creditor reference under which an assessment is paid.

    ``"RF" + two check digits (ISO 7064 MOD 97-10) + assessment id``; the id is 1 to 21
    characters A-Z0-9 (ids from :func:`new_entry_id` are 20). Banks carry it in
    camt.054 ``RmtInf/Strd/CdtrRefInf/Ref``; :mod:`exchange.camt054` matches on it.
    """
    from stdnum.iso7064 import mod_97_10

    if not isinstance(assessment_id, str) or not _ENTRY_ID.fullmatch(assessment_id):
        raise InvalidEntryError(
            f"assessment id {assessment_id!r} must be 1 to 21 characters A-Z or 0-9")
    return "RF" + mod_97_10.calc_check_digits(assessment_id + "RF") + assessment_id


def _text(value: object, what: str, *, max_len: int = 140) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidEntryError(f"{what} must be a non-empty string of at most {max_len} chars")
    return value


def _aware(value: object, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.tzinfo.utcoffset(value) is None:
        raise InvalidEntryError(f"{what} must be a timezone-aware datetime")


def _money(value: object, what: str) -> Money:
    if not isinstance(value, Money):
        raise InvalidEntryError(f"{what} must be Money, not {type(value).__name__}")
    return value


def _positive(value: object, what: str) -> None:
    money = _money(value, what)
    if money.is_negative():
        raise NegativeAmountError(f"{what} {money} is negative")
    if money.is_zero():
        raise ZeroAmountError(f"{what} is zero")


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
        _text(self.tax_type, "tax type", max_len=35)
        for name in ("base", "rate"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise InvalidEntryError(f"duty line {name} must be a finite Decimal")
            if value < 0:
                raise NegativeAmountError(f"duty line {name} {value} is negative")
        if _money(self.amount, "duty line amount").is_negative():
            raise NegativeAmountError(f"duty line amount {self.amount} is negative")


@dataclass(frozen=True, kw_only=True)
class _Entry:
    shipment_id: str
    country: str
    recorded_at: datetime
    entry_id: str = field(default_factory=new_entry_id)

    def __post_init__(self) -> None:
        _text(self.entry_id, "entry id", max_len=64)
        _text(self.shipment_id, "shipment id", max_len=64)
        if not isinstance(self.country, str) or not _COUNTRY.fullmatch(self.country):
            raise InvalidEntryError(f"country {self.country!r} must be an ISO 3166 alpha-2 code")
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
            raise InvalidEntryError("an assessment id must be 1 to 21 characters A-Z or 0-9")
        _text(self.customs_reference, "customs reference", max_len=128)
        if not isinstance(self.lines, tuple) or not self.lines \
                or not all(isinstance(line, DutyLine) for line in self.lines):
            raise InvalidEntryError("an assessment needs a tuple of one or more duty lines")
        if len({line.amount.currency for line in self.lines}) != 1:
            raise WrongCurrencyError("the duty lines of one assessment are in one currency")
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
        _positive(self.money, "payment")
        _text(self.provider_reference, "provider reference")


@dataclass(frozen=True, kw_only=True)
class Refund(_Entry):
    """Money paid back (an overpayment, a reversal), under its own ``refund_reference``."""

    money: Money
    refund_reference: str
    reason: str = ""
    kind = EntryKind.REFUND

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.money, "refund")
        _text(self.refund_reference, "refund reference")


@dataclass(frozen=True, kw_only=True)
class Adjustment(_Entry):
    """A signed correction of the amount due: positive raises it, negative lowers it."""

    money: Money
    reason: str
    kind = EntryKind.ADJUSTMENT

    def __post_init__(self) -> None:
        super().__post_init__()
        if _money(self.money, "adjustment").is_zero():
            raise ZeroAmountError("adjustment is zero")
        _text(self.reason, "adjustment reason", max_len=500)


Entry = Union[Assessment, Payment, Refund, Adjustment]


def signed_amount(entry: Entry) -> Money:
    """The entry's contribution to the balance (positive = more owed)."""
    if isinstance(entry, Payment):
        return -entry.money
    return entry.money


@dataclass(frozen=True, slots=True)
class Balance:
    """Totals of one leg in one currency; every figure is derived from the entries."""

    country: str
    currency: str
    assessed: Money
    adjusted: Money
    paid: Money
    refunded: Money
    assessments: int = 0

    @classmethod
    def from_sums(cls, country: str, currency: str, *, assessed: object = 0,
                  adjusted: object = 0, paid: object = 0, refunded: object = 0,
                  assessments: int = 0) -> Balance:
        """From per-kind sums as a store computes them (``SUM(amount) ... GROUP BY kind``,
        ``COUNT`` of assessments); amounts as Decimal, int or decimal string."""
        return cls(country, currency, Money(assessed, currency), Money(adjusted, currency),
                   Money(paid, currency), Money(refunded, currency), assessments)

    @property
    def due(self) -> Money:
        return self.assessed + self.adjusted

    @property
    def net_paid(self) -> Money:
        return self.paid - self.refunded

    @property
    def balance(self) -> Money:
        """Signed: positive is owed, negative is paid in excess."""
        return self.due - self.net_paid

    @property
    def outstanding(self) -> Money:
        return max(self.balance, Money.zero(self.currency))

    @property
    def overpaid(self) -> Money:
        return max(-self.balance, Money.zero(self.currency))

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name).to_dict() for name in (
            "assessed", "adjusted", "due", "paid", "refunded", "balance", "outstanding",
            "overpaid")}


def derive_state(balance: Balance) -> PaymentState:
    """The payment state of a leg, from its balance alone."""
    if balance.assessments == 0:
        return PaymentState.NOT_ASSESSED
    owed = balance.balance
    if owed.is_positive():
        return PaymentState.PARTIALLY_PAID if balance.net_paid.is_positive() \
            else PaymentState.ASSESSED
    if owed.is_negative():
        return PaymentState.OVERPAID
    return PaymentState.REFUNDED if balance.refunded.is_positive() else PaymentState.PAID


@dataclass(frozen=True, slots=True)
class LegStatus:
    shipment_id: str
    country: str
    state: PaymentState
    overdue: bool
    due_at: datetime | None
    """Earliest due time of what is still unpaid (None: nothing unpaid or no due time)."""
    balance: Balance

    @property
    def currency(self) -> str:
        return self.balance.currency

    @property
    def outstanding(self) -> Money:
        return self.balance.outstanding

    def to_dict(self) -> dict[str, object]:
        return {"country": self.country, "currency": self.currency, "state": str(self.state),
                "overdue": self.overdue,
                "due_at": self.due_at.isoformat() if self.due_at else None,
                **self.balance.to_dict()}


@dataclass(frozen=True, slots=True)
class ShipmentStatus:
    shipment_id: str
    state: PaymentState
    overdue: bool
    legs: tuple[LegStatus, ...]

    @property
    def outstanding(self) -> tuple[Money, ...]:
        """Outstanding amount per currency (never summed across currencies)."""
        totals: dict[str, Money] = {}
        for leg in self.legs:
            totals[leg.currency] = totals.get(leg.currency, Money.zero(leg.currency)) \
                + leg.outstanding
        return tuple(totals[c] for c in sorted(totals))

    def to_dict(self) -> dict[str, object]:
        return {"shipment_id": self.shipment_id, "state": str(self.state),
                "overdue": self.overdue,
                "outstanding": [m.to_dict() for m in self.outstanding],
                "legs": [leg.to_dict() for leg in self.legs]}


def _shipment_state(legs: Iterable[LegStatus]) -> PaymentState:
    states = [leg.state for leg in legs if leg.state is not PaymentState.NOT_ASSESSED]
    if not states:
        return PaymentState.NOT_ASSESSED
    unpaid = {PaymentState.ASSESSED, PaymentState.PARTIALLY_PAID}
    if any(s in unpaid for s in states):
        return PaymentState.ASSESSED if all(s is PaymentState.ASSESSED for s in states) \
            else PaymentState.PARTIALLY_PAID
    if PaymentState.OVERPAID in states:
        return PaymentState.OVERPAID
    if all(s is PaymentState.REFUNDED for s in states):
        return PaymentState.REFUNDED
    return PaymentState.PAID


@dataclass(frozen=True, slots=True)
class Charge:
    """Something that falls due: an assessment or a positive adjustment."""

    amount: Money
    due_at: datetime | None


def charges_of(entries: Iterable[Entry], *, due_after: timedelta | None = None
               ) -> tuple[Charge, ...]:
    """The charges among a leg's entries (in order), each with its due time: the
    assessment's ``due_at``, else ``recorded_at + due_after`` (None: no due time)."""
    found = []
    for entry in entries:
        if isinstance(entry, Assessment) or (isinstance(entry, Adjustment)
                                             and entry.money.is_positive()):
            due = getattr(entry, "due_at", None) or (
                entry.recorded_at + due_after if due_after is not None else None)
            found.append(Charge(entry.money, due))
    return tuple(found)


def earliest_unpaid_due(balance: Balance, charges: Iterable[Charge]) -> datetime | None:
    """Charges are covered oldest first by the credits (net payments and reductions);
    the earliest due time of what stays uncovered, or None."""
    # credits = net paid + reductions, where reductions = charges total - due
    charges = [c for c in charges if c.amount.currency == balance.currency]
    total = sum((c.amount.amount for c in charges), Decimal(0))
    credit = balance.net_paid.amount + (total - balance.due.amount)
    earliest: datetime | None = None
    for charge in charges:
        covered = min(charge.amount.amount, max(credit, Decimal(0)))
        credit -= covered
        if charge.amount.amount > covered and charge.due_at is not None \
                and (earliest is None or charge.due_at < earliest):
            earliest = charge.due_at
    return earliest


def derive_leg_status(shipment_id: str, balance: Balance, *, now: datetime,
                      charges: Iterable[Charge] = ()) -> LegStatus:
    """The status of a leg from its balance (e.g. sums kept or computed by the store) and
    its charges (only needed for overdue): no replay of the entries needed."""
    _aware(now, "now")
    due_at = earliest_unpaid_due(balance, charges)
    return LegStatus(shipment_id, balance.country, derive_state(balance),
                     due_at is not None and now > due_at, due_at, balance)


def derive_shipment_status(shipment_id: str, legs: Iterable[LegStatus]) -> ShipmentStatus:
    legs = tuple(legs)
    return ShipmentStatus(shipment_id, _shipment_state(legs), any(g.overdue for g in legs),
                          legs)


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


def _substance(entry: Entry) -> tuple[object, ...]:
    """What must be equal for a repeat to be the same thing (not when it was recorded)."""
    lines = entry.lines if isinstance(entry, Assessment) else None
    return (type(entry), entry.shipment_id, entry.country, entry.money, lines,
            idempotency_key(entry))


def check_entry(entry: Entry, *, shipment_id: str, accepted_currency: str | None,
                balance: Balance | None, earlier: Iterable[Entry] = ()) -> Entry | None:
    """Every rule for a new entry, without a :class:`Ledger` (for the store).

    ``accepted_currency``: the currency of ``entry.country`` on this shipment's route
    (None: not on the route); ``balance``: the leg's current balance (None: no entries);
    ``earlier``: the recorded entries with the same entry id or :func:`idempotency_key`.
    Returns None if ``entry`` is new and admissible, the earlier entry if it is a repeat;
    raises a :class:`LedgerError` subclass otherwise.
    """
    if not isinstance(entry, (Assessment, Payment, Refund, Adjustment)):
        raise InvalidEntryError(f"not a ledger entry: {type(entry).__name__}")
    if entry.shipment_id != shipment_id:
        raise WrongShipmentError(
            f"entry for shipment {entry.shipment_id!r} posted to {shipment_id!r}")
    if accepted_currency is None:
        raise UnknownLegError(f"{entry.country} is not on the route of shipment {shipment_id}")
    if entry.money.currency != accepted_currency:
        raise WrongCurrencyError(
            f"{entry.country} accepts only {accepted_currency}, not {entry.money.currency}")
    for other in earlier:
        if _substance(other) == _substance(entry):
            return other
        what = (f"entry id {entry.entry_id}" if other.entry_id == entry.entry_id else
                f"{other.kind} reference {idempotency_key(other)[1]!r}")  # type: ignore[index]
        raise ReferenceConflictError(
            f"{what} was already recorded with {other.money} on {other.country}; "
            f"refusing {entry.money} on {entry.country}")
    if isinstance(entry, Assessment):
        return None
    if balance is None or balance.assessments == 0:
        raise NotAssessedError(
            f"no assessment on {entry.country} for shipment {shipment_id}: "
            f"nothing to {entry.kind} yet")
    if isinstance(entry, Refund) and entry.money > balance.net_paid:
        raise RefundExceedsPaidError(
            f"refund {entry.money} exceeds the {balance.net_paid} paid on {entry.country}")
    if isinstance(entry, Adjustment) and (balance.due + entry.money).is_negative():
        raise AdjustmentBelowZeroError(
            f"adjustment {entry.money} would bring the amount due on {entry.country} "
            f"({balance.due}) below zero")
    return None


@dataclass(frozen=True, slots=True)
class Posting:
    """What :meth:`Ledger.post` decided: ``recorded`` False means an idempotent repeat,
    and ``entry`` is then the entry recorded earlier (insert nothing)."""

    entry: Entry
    recorded: bool


class Ledger:
    """The entries of one shipment, append-only, with the rules that admit a new one.

    ``currencies`` maps each country of the shipment's route to the one currency its
    customs accept (``members[cc].currency`` from the members file): it also defines the
    legs. ``entries`` (in recording order) are replayed through :meth:`post`, so a ledger
    loaded from the store obeys the same rules as one built in memory.
    """

    def __init__(self, shipment_id: str, currencies: Mapping[str, str],
                 entries: Iterable[Entry] = ()):
        from exchange.money import currency

        self.shipment_id = _text(shipment_id, "shipment id", max_len=64)
        self.currencies: dict[str, str] = {}
        for country, code in currencies.items():
            if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
                raise UnknownLegError(f"country {country!r} is not an ISO 3166 alpha-2 code")
            self.currencies[country] = currency(code).code
        self._entries: list[Entry] = []
        self._by_id: dict[str, Entry] = {}
        self._by_ref: dict[tuple[EntryKind, str], Entry] = {}
        self._sums: dict[tuple[str, str], dict[EntryKind, Decimal]] = {}
        self._assessed: dict[tuple[str, str], int] = {}
        for entry in entries:
            self.post(entry)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def leg_entries(self, country: str) -> tuple[Entry, ...]:
        return tuple(e for e in self._entries if e.country == country)

    def post(self, entry: Entry) -> Posting:
        """Check ``entry`` against every rule and append it, or recognise a repeat.

        Raises a :class:`LedgerError` subclass (nothing appended) when a rule refuses it.
        """
        existing = self.check(entry)
        if existing is not None:
            return Posting(existing, recorded=False)
        self._entries.append(entry)
        self._by_id[entry.entry_id] = entry
        key = idempotency_key(entry)
        if key is not None:
            self._by_ref[key] = entry
        leg = (entry.country, entry.money.currency)
        sums = self._sums.setdefault(leg, {kind: Decimal(0) for kind in EntryKind})
        sums[entry.kind] += entry.money.amount
        self._assessed[leg] = self._assessed.get(leg, 0) + (entry.kind is EntryKind.ASSESSMENT)
        return Posting(entry, recorded=True)

    def check(self, entry: Entry) -> Entry | None:
        """Validate without appending (see :func:`check_entry`)."""
        country = getattr(entry, "country", None)
        accepted = self.currencies.get(country) if isinstance(country, str) else None
        key = idempotency_key(entry) if isinstance(entry, _Entry) else None
        earlier = [e for e in (self._by_id.get(getattr(entry, "entry_id", "")),
                               self._by_ref.get(key) if key else None) if e is not None]
        return check_entry(entry, shipment_id=self.shipment_id, accepted_currency=accepted,
                           balance=self.balance(country) if accepted else None,
                           earlier=dict.fromkeys(earlier))

    def balance(self, country: str, currency: str | None = None) -> Balance:
        """Totals of one leg (in its accepted currency unless ``currency`` is given)."""
        code = currency or self.currencies.get(country)
        if code is None:
            raise UnknownLegError(f"{country} is not on the route of shipment {self.shipment_id}")
        sums = self._sums.get((country, code), {})
        money = {kind: Money(sums.get(kind, 0), code) for kind in EntryKind}
        return Balance(country, code, money[EntryKind.ASSESSMENT], money[EntryKind.ADJUSTMENT],
                       money[EntryKind.PAYMENT], money[EntryKind.REFUND],
                       self._assessed.get((country, code), 0))

    def leg_status(self, country: str, *, now: datetime,
                   due_after: timedelta | None = None) -> LegStatus:
        """State of one leg; overdue when something unpaid is past its due time: the
        assessment's ``due_at`` or else ``recorded_at + due_after`` (None: no due time)."""
        return derive_leg_status(self.shipment_id, self.balance(country), now=now,
                                 charges=charges_of(self.leg_entries(country),
                                                    due_after=due_after))

    def status(self, *, now: datetime, due_after: timedelta | None = None) -> ShipmentStatus:
        """Every leg (route order of ``currencies``) and the state of the whole shipment."""
        return derive_shipment_status(self.shipment_id, (
            self.leg_status(c, now=now, due_after=due_after) for c in self.currencies))

    def assessments(self) -> tuple[Assessment, ...]:
        return tuple(e for e in self._entries if isinstance(e, Assessment))


# -- release gating -------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Guarantee:
    """A guarantee accepted by customs of ``country`` (a customs decision of its own)."""

    guarantee_reference: str
    shipment_id: str
    country: str
    money: Money
    accepted_at: datetime

    def __post_init__(self) -> None:
        _text(self.guarantee_reference, "guarantee reference")
        _text(self.shipment_id, "shipment id", max_len=64)
        _positive(self.money, "guarantee")
        _aware(self.accepted_at, "accepted_at")


@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """The answer of :func:`check_release`. ``code`` is None when allowed, else one of
    ``ledger.release.outstanding`` (nothing covers it) or
    ``ledger.release.guarantee-insufficient`` (accepted guarantees cover too little)."""

    allowed: bool
    country: str
    outstanding: Money
    reason: str
    code: str | None = None
    guarantees: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"allowed": self.allowed, "country": self.country, "code": self.code,
                "reason": self.reason, "outstanding": self.outstanding.to_dict(),
                "guarantees": list(self.guarantees)}


def decide_release(balance: Balance, guarantees: Iterable[Guarantee] = ()) -> ReleaseDecision:
    """May customs release on this leg? Allowed when nothing is outstanding, or when the
    accepted guarantees of the leg (same country, same currency; the caller passes
    those of the shipment) together cover the outstanding amount."""
    country, outstanding = balance.country, balance.outstanding
    if outstanding.is_zero():
        return ReleaseDecision(True, country, outstanding, f"nothing outstanding on {country}")
    usable = [g for g in guarantees
              if g.country == country and g.money.currency == outstanding.currency]
    refs = tuple(g.guarantee_reference for g in usable)
    covered = Money.zero(outstanding.currency)
    for g in usable:
        covered += g.money
    if usable and covered >= outstanding:
        return ReleaseDecision(True, country, outstanding,
                               f"{outstanding} outstanding on {country} is covered by "
                               f"guarantee {', '.join(refs)}", None, refs)
    if usable:
        return ReleaseDecision(False, country, outstanding,
                               f"{outstanding} outstanding on {country}; guarantee "
                               f"{', '.join(refs)} covers only {covered}",
                               "ledger.release.guarantee-insufficient", refs)
    return ReleaseDecision(False, country, outstanding,
                           f"{outstanding} outstanding on {country} and no accepted "
                           f"guarantee in {outstanding.currency}", "ledger.release.outstanding")


def check_release(ledger: Ledger, country: str, *,
                  guarantees: Iterable[Guarantee] = ()) -> ReleaseDecision:
    """:func:`decide_release` on a ledger's leg (guarantees of other shipments ignored)."""
    return decide_release(ledger.balance(country),
                          [g for g in guarantees if g.shipment_id == ledger.shipment_id])


def require_release(ledger: Ledger, country: str, *,
                    guarantees: Iterable[Guarantee] = ()) -> ReleaseDecision:
    """:func:`check_release`, raising :class:`ReleaseRefusedError` when refused."""
    decision = check_release(ledger, country, guarantees=guarantees)
    if not decision.allowed:
        raise ReleaseRefusedError(decision)
    return decision
