"""The one write path of the ledger in the store: :func:`post_entries`.

The rules are :mod:`exchange.payments.ledger`'s; this module applies them to stored legs
without replaying entries:

1. lock the event streams of the shipments concerned (sorted, so concurrent writers never
   deadlock), then their leg rows (``ledger_legs``, ``FOR UPDATE`` on PostgreSQL);
2. read the earlier entries sharing an entry id or a (kind, reference) with the new ones;
3. :func:`~exchange.payments.ledger.check_entry` each entry against its leg's stored sums;
4. insert the new entries, update the legs' running sums, append one event per entry to
   the shipment's hash chain, all in the caller's transaction.

References are unique across all shipments in the database (``(kind, reference)``); two
writers racing with the same reference on different shipments make one of them fail on
the constraint, and :func:`retrying` runs its work again, which then answers the repeat or
the conflict.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from exchange.i18n import t
from exchange.payments.balances import Balance
from exchange.payments.entries import Adjustment, Entry, EntryKind, idempotency_key
from exchange.payments.errors import LedgerError, UnknownLegError
from exchange.payments.ledger import Posting, check_entry
from exchange.payments.money import Money
from exchange.payments.rows import entry_from_row, entry_values
from exchange.payments.views import balance_view, entry_view
from exchange.store.ledger import LedgerEntryRow, LegSums

if TYPE_CHECKING:
    from adapters.members import Members

    from exchange.store.ledger import LedgerRepository
    from exchange.store.models import ShipmentRow
    from exchange.store.uow import UnitOfWork

__all__ = ["EVENT_PREFIX", "currencies_of", "leg_sums_match", "post_entries", "retrying"]

T = TypeVar("T")
EVENT_PREFIX = "payments."
"""Events of the ledger in a shipment's chain: ``payments.<entry kind>``,
``payments.guarantee``."""


def currencies_of(shipment: ShipmentRow, members: Members) -> dict[str, str]:
    """Country -> the currency its customs accept, for the countries of the route."""
    out: dict[str, str] = {}
    for leg in shipment.legs:
        if leg.country in members:
            out[leg.country] = members[leg.country].currency
    return out


def _added(balance: Balance, entry: Entry) -> Balance:
    m = entry.money
    kind = entry.kind
    return Balance(
        balance.country, balance.currency,
        balance.assessed + m if kind is EntryKind.ASSESSMENT else balance.assessed,
        balance.adjusted + m if kind is EntryKind.ADJUSTMENT else balance.adjusted,
        balance.paid + m if kind is EntryKind.PAYMENT else balance.paid,
        balance.refunded + m if kind is EntryKind.REFUND else balance.refunded,
        balance.assessments + (kind is EntryKind.ASSESSMENT))


def _balance_of(country: str, sums: LegSums, zeros: dict[str, Money]) -> Balance:
    """The Balance of a leg from its stored row (see ``lock_leg_sums``); *zeros* shares
    one zero per currency (most legs have nothing adjusted or refunded)."""
    code, assessed, adjusted, paid, refunded, assessments, _ = sums
    zero = zeros.get(code)
    if zero is None:
        zero = zeros[code] = Money.from_minor(0, code)

    def money(units: int) -> Money:
        return Money.from_minor(units, code) if units else zero

    return Balance(country, code, money(assessed), money(adjusted), money(paid),
                   money(refunded), assessments)


def _leg_values(shipment_id: str, b: Balance, entries: int) -> dict[str, str | int]:
    return {"shipment_id": shipment_id, "country": b.country, "currency": b.currency,
            "assessed_minor": b.assessed.to_minor(), "adjusted_minor": b.adjusted.to_minor(),
            "paid_minor": b.paid.to_minor(), "refunded_minor": b.refunded.to_minor(),
            "assessments": b.assessments, "entries": entries}


def post_entries(uow: UnitOfWork, entries: Iterable[Entry], *,
                 currencies: Callable[[str], Mapping[str, str] | None],
                 actor_id: str | None, strict: bool = True,
                 due_after: timedelta | None = None) -> list[Posting | LedgerError]:
    """Check and record *entries* in the caller's transaction (see the module docstring).

    ``currencies(shipment_id)`` gives the accepted currency per country of that shipment
    (None: unknown shipment). Returns, per entry, a :class:`Posting` (``recorded`` False:
    a repeat, ``entry`` the earlier one) or, when not *strict*, the :class:`LedgerError`
    that refused it; when *strict* the first refusal is raised (the caller rolls back).
    ``due_after`` gives positive adjustments their due time (assessments carry theirs).
    The shipments' event streams are locked first (sorted), then the legs, and the events
    are chained in a few statements however many shipments the entries touch (a bank file).
    """
    entries = list(entries)
    if not entries:
        return []
    ledger: LedgerRepository = uow.ledger
    uow.events.lock_many({e.shipment_id for e in entries})
    legs = ledger.lock_leg_sums((e.shipment_id, e.country) for e in entries)
    zeros: dict[str, Money] = {}
    balances = {key: _balance_of(key[1], sums, zeros) for key, sums in legs.items()}
    counts = {key: sums[-1] for key, sums in legs.items()}
    keys = [(e.entry_id, (str(k[0]), k[1]) if k else None)
            for e, k in ((e, idempotency_key(e)) for e in entries)]
    recorded = ledger.earlier_entries(keys)
    by_id: dict[str, Entry | LedgerEntryRow] = {r.entry_id: r for r in recorded}
    by_ref: dict[tuple[str, str], Entry | LedgerEntryRow] = {
        (r.kind, r.reference): r for r in recorded if r.reference is not None}
    known: dict[str, Mapping[str, str] | None] = {}
    results: list[Posting | LedgerError] = []
    new: list[tuple[Entry, Balance]] = []

    def as_entry(found: Entry | LedgerEntryRow) -> Entry:
        return entry_from_row(found) if isinstance(found, LedgerEntryRow) else found

    for entry, (_, key) in zip(entries, keys):
        if entry.shipment_id not in known:
            known[entry.shipment_id] = currencies(entry.shipment_id)
        accepted = (known[entry.shipment_id] or {}).get(entry.country)
        leg = (entry.shipment_id, entry.country)
        earlier: dict[str, Entry] = {}
        for found in (by_id.get(entry.entry_id), by_ref.get(key) if key else None):
            if found is not None and found.entry_id not in earlier:
                earlier[found.entry_id] = as_entry(found)
        try:
            if known[entry.shipment_id] is None:
                raise UnknownLegError(t("no shipment {shipment_id}",
                                        shipment_id=entry.shipment_id))
            existing = check_entry(entry, shipment_id=entry.shipment_id,
                                   accepted_currency=accepted, balance=balances.get(leg),
                                   earlier=earlier.values())
        except LedgerError as exc:
            if strict:
                raise
            results.append(exc)
            continue
        if existing is not None:
            results.append(Posting(existing, recorded=False))
            continue
        # check_entry admitted it: its currency is the leg's
        balance = balances.get(leg) or Balance.from_sums(entry.country, entry.money.currency)
        balances[leg] = _added(balance, entry)
        counts[leg] = counts.get(leg, 0) + 1
        by_id[entry.entry_id] = entry
        if key is not None:
            by_ref[key] = entry
        new.append((entry, balances[leg]))
        results.append(Posting(entry, recorded=True))
    if not new:
        return results
    rows: list[dict[str, object]] = []
    for entry, _ in new:
        values = entry_values(entry, actor_id=actor_id)
        if isinstance(entry, Adjustment) and entry.money.is_positive() and due_after:
            values["due_at"] = entry.recorded_at + due_after
        rows.append(values)
    ledger.insert_entries(rows)
    touched = {(e.shipment_id, e.country) for e, _ in new}
    ledger.apply([_leg_values(s, balances[(s, c)], counts[(s, c)])
                  for s, c in sorted(touched) if (s, c) not in legs],
                 [_leg_values(s, balances[(s, c)], counts[(s, c)])
                  for s, c in sorted(touched) if (s, c) in legs])
    events = [(entry.shipment_id, f"{EVENT_PREFIX}{entry.kind}",
               {"entry": entry_view(entry), "balance": balance_view(after)}, actor_id)
              for entry, after in new]
    uow.events.append_many(events)
    return results


def retrying(work: Callable[[], T], *, attempts: int = 3) -> T:
    """Run *work* (which opens and commits its own unit of work) again when a concurrent
    writer took the same unique reference first: the next run reads it and answers the
    repeat or the conflict."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(attempts):
        try:
            return work()
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def leg_sums_match(uow: UnitOfWork, shipment_id: str) -> bool:
    """True when every stored leg sum equals the sum of the leg's stored entries."""
    ledger: LedgerRepository = uow.ledger
    recomputed = ledger.sums_from_entries(shipment_id)
    stored = {(r.country, r.currency): {
        "assessed_minor": r.assessed_minor, "adjusted_minor": r.adjusted_minor,
        "paid_minor": r.paid_minor, "refunded_minor": r.refunded_minor,
        "assessments": r.assessments, "entries": r.entries}
        for r in ledger.legs(shipment_id)}
    return stored == recomputed

