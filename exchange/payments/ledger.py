"""The rules that admit an entry to a shipment's ledger, the in-memory :class:`Ledger`,
and release decisions.

Two ways to use the rules, with the same results:

* in memory: :class:`Ledger` replays a shipment's entries; :meth:`Ledger.post` admits a
  new one (``Posting.recorded``) or recognises a repeat; :meth:`Ledger.status`.
* from a store, without replaying every entry: :func:`check_entry` takes the leg's current
  :class:`~exchange.payments.balances.Balance` and the earlier entries sharing the new one's
  entry id or :func:`~exchange.payments.entries.idempotency_key`;
  :func:`decide_release` takes the balance and the accepted guarantees
  (:mod:`exchange.payments.posting` and :mod:`exchange.payments.gate` do so).

Each rule refuses with its own :class:`~exchange.payments.errors.LedgerError` subclass
(drawn in :mod:`exchange.payments.errors`); nothing is appended when one does.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from exchange.i18n import Text, t
from exchange.payments.balances import (
    Balance,
    LegStatus,
    ShipmentStatus,
    charges_of,
    derive_leg_status,
    derive_shipment_status,
)
from exchange.payments.entries import (
    Adjustment,
    Assessment,
    Entry,
    EntryKind,
    Guarantee,
    Payment,
    Refund,
    idempotency_key,
)
from exchange.payments.errors import (
    AdjustmentBelowZeroError,
    InvalidEntryError,
    NotAssessedError,
    ReferenceConflictError,
    RefundExceedsPaidError,
    ReleaseRefusedError,
    UnknownLegError,
    WrongCurrencyError,
    WrongShipmentError,
)
from exchange.payments.money import Money, currency

__all__ = [
    "Ledger", "Posting", "ReleaseDecision", "check_entry", "check_release",
    "decide_release", "require_release",
]

_COUNTRY = re.compile(r"[A-Z]{2}")
_ENTRIES = (Assessment, Payment, Refund, Adjustment)


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
    if not isinstance(entry, _ENTRIES):
        raise InvalidEntryError(t("not a ledger entry: {type}", type=type(entry).__name__))
    if entry.shipment_id != shipment_id:
        raise WrongShipmentError(t("entry for shipment {entry!r} posted to {shipment!r}",
                                   entry=entry.shipment_id, shipment=shipment_id))
    if accepted_currency is None:
        raise UnknownLegError(t("{country} is not on the route of shipment {shipment_id}",
                                country=entry.country, shipment_id=shipment_id))
    if entry.money.currency != accepted_currency:
        raise WrongCurrencyError(t("{country} accepts only {accepted}, not {currency}",
                                   country=entry.country, accepted=accepted_currency,
                                   currency=entry.money.currency))
    for other in earlier:
        if _substance(other) == _substance(entry):
            return other
        amounts = {"money": other.money, "country": other.country, "new_money": entry.money,
                   "new_country": entry.country}
        if other.entry_id == entry.entry_id:
            raise ReferenceConflictError(t(
                "entry id {entry_id} was already recorded with {money} on {country}; "
                "refusing {new_money} on {new_country}", entry_id=entry.entry_id, **amounts))
        raise ReferenceConflictError(t(
            "{kind} reference {reference!r} was already recorded with {money} on {country}; "
            "refusing {new_money} on {new_country}", kind=str(other.kind),
            reference=idempotency_key(other)[1], **amounts))  # type: ignore[index]
    if isinstance(entry, Assessment):
        return None
    if balance is None or balance.assessments == 0:
        raise NotAssessedError(t(
            "no assessment on {country} for shipment {shipment_id}: nothing to {kind} yet",
            country=entry.country, shipment_id=shipment_id, kind=str(entry.kind)))
    if isinstance(entry, Refund) and entry.money > balance.net_paid:
        raise RefundExceedsPaidError(t("refund {money} exceeds the {paid} paid on {country}",
                                       money=entry.money, paid=balance.net_paid,
                                       country=entry.country))
    if isinstance(entry, Adjustment) and (balance.due + entry.money).is_negative():
        raise AdjustmentBelowZeroError(t(
            "adjustment {money} would bring the amount due on {country} ({due}) below zero",
            money=entry.money, country=entry.country, due=balance.due))
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
        if not isinstance(shipment_id, str) or not shipment_id.strip() \
                or len(shipment_id) > 64:
            raise InvalidEntryError(
                t("shipment id must be a non-empty string of at most 64 chars"))
        self.shipment_id = shipment_id
        self.currencies: dict[str, str] = {}
        for country, code in currencies.items():
            if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
                raise UnknownLegError(t("country {country!r} is not an ISO 3166 alpha-2 code",
                                        country=country))
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
        country = getattr(entry, "country", None)  # check_entry refuses a non-entry
        leg = country if isinstance(country, str) else None
        accepted = self.currencies.get(leg) if leg is not None else None
        key = idempotency_key(entry) if isinstance(entry, _ENTRIES) else None
        earlier = [e for e in (self._by_id.get(getattr(entry, "entry_id", "")),
                               self._by_ref.get(key) if key else None) if e is not None]
        return check_entry(entry, shipment_id=self.shipment_id, accepted_currency=accepted,
                           balance=self.balance(leg) if leg is not None and accepted else None,
                           earlier=dict.fromkeys(earlier))

    def balance(self, country: str, currency: str | None = None) -> Balance:
        """Totals of one leg (in its accepted currency unless ``currency`` is given)."""
        code = currency or self.currencies.get(country)
        if code is None:
            raise UnknownLegError(t("{country} is not on the route of shipment {shipment_id}",
                                    country=country, shipment_id=self.shipment_id))
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
@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """The answer of :func:`check_release`. ``code`` is None when allowed, else one of
    ``ledger.release.outstanding`` (nothing covers it) or
    ``ledger.release.guarantee-insufficient`` (accepted guarantees cover too little);
    ``why`` says so in the reader's language, ``reason`` in English."""

    allowed: bool
    country: str
    outstanding: Money
    why: Text
    code: str | None = None
    guarantees: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return str(self.why)

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
        return ReleaseDecision(True, country, outstanding,
                               t("nothing outstanding on {country}", country=country))
    usable = [g for g in guarantees
              if g.country == country and g.money.currency == outstanding.currency]
    refs = tuple(g.guarantee_reference for g in usable)
    covered = Money.zero(outstanding.currency)
    for g in usable:
        covered += g.money
    if usable and covered >= outstanding:
        return ReleaseDecision(True, country, outstanding, t(
            "{outstanding} outstanding on {country} is covered by guarantee {guarantees}",
            outstanding=outstanding, country=country, guarantees=", ".join(refs)), None, refs)
    if usable:
        return ReleaseDecision(False, country, outstanding, t(
            "{outstanding} outstanding on {country}; guarantee {guarantees} covers only "
            "{covered}", outstanding=outstanding, country=country, guarantees=", ".join(refs),
            covered=covered), "ledger.release.guarantee-insufficient", refs)
    return ReleaseDecision(False, country, outstanding, t(
        "{outstanding} outstanding on {country} and no accepted guarantee in {currency}",
        outstanding=outstanding, country=country, currency=outstanding.currency),
        "ledger.release.outstanding")


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
