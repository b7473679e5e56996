"""Payments in the store: the ledger's use cases over a unit of work.

The rules are :mod:`exchange.ledger`'s; this module applies them to stored legs without
replaying entries. Every write follows one path, :func:`post_entries`:

1. lock the event streams of the shipments concerned (sorted, so concurrent writers never
   deadlock), then their leg rows (``ledger_legs``, ``FOR UPDATE`` on PostgreSQL);
2. read the earlier entries sharing an entry id or a (kind, reference) with the new ones;
3. :func:`exchange.ledger.check_entry` each entry against its leg's stored sums;
4. insert the new entries, update the legs' running sums, append one event per entry to
   the shipment's hash chain, all in the caller's transaction.

References are unique across all shipments in the database (``(kind, reference)``); two
writers racing with the same reference on different shipments make one of them fail on
the constraint, and :func:`retrying` runs its work again, which then answers the repeat or
the conflict.

Use cases: :func:`ledger_gate` (customs assessments, guarantees, release gating, as a
:data:`exchange.customs.DecisionGate`), :func:`record_payment` (API payments and refunds),
:func:`import_camt054` (bank files), :func:`payment_status` / :func:`payments_view`.
"""
from __future__ import annotations

import gc
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from .camt054 import (
    AssessmentIndex,
    AssessmentTarget,
    ImportReport,
    find_rf_references,
    read_camt054,
    reconcile,
)
from .errors import ExchangeError
from .ledger import (
    Adjustment,
    Assessment,
    Balance,
    Charge,
    DutyLine,
    Entry,
    EntryKind,
    LedgerError,
    LegStatus,
    Payment,
    PaymentState,
    Posting,
    Refund,
    ShipmentStatus,
    UnknownLegError,
    check_entry,
    decide_release,
    derive_leg_status,
    derive_shipment_status,
    entry_id_for,
    idempotency_key,
    new_entry_id,
)
from .money import Money, MoneyError
from .secretbox import SecretBox, SecretBoxError
from .store.ledger import (
    GuaranteeRow,
    LedgerEntryRow,
    LedgerRepository,
    entry_from_row,
    entry_values,
)
from .store.models import LegRow, ShipmentRow
from .store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CamtImport",
    "PaymentRequest",
    "PaymentsError",
    "SignatureError",
    "check_signature",
    "currencies_of",
    "entry_view",
    "import_camt054",
    "ledger_gate",
    "leg_sums_match",
    "new_provider_secret",
    "payment_status",
    "payments_view",
    "post_entries",
    "provider_secret",
    "record_payment",
    "retrying",
    "seal_provider_secrets",
    "secret_box",
    "set_provider_secret",
    "sign_body",
]

T = TypeVar("T")
EVENT_PREFIX = "payments."


class PaymentsError(ExchangeError):
    code = "payments"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class SignatureError(PaymentsError):
    """The payment provider's request signature is missing or wrong (HTTP 401)."""

    code = "payments.signature-invalid"


def _now() -> datetime:
    return datetime.now(UTC)


# -- the one write path ----------------------------------------------------------------------
def currencies_of(shipment: ShipmentRow, members: Any) -> dict[str, str]:
    """Country -> the currency its customs accept, for the countries of the route."""
    out = {}
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


def _balance_of(country: str, sums: tuple[str, int, int, int, int, int, int],
                zeros: dict[str, Money]) -> Balance:
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


def _leg_values(shipment_id: str, b: Balance, entries: int) -> dict[str, Any]:
    return {"shipment_id": shipment_id, "country": b.country, "currency": b.currency,
            "assessed_minor": b.assessed.to_minor(), "adjusted_minor": b.adjusted.to_minor(),
            "paid_minor": b.paid.to_minor(), "refunded_minor": b.refunded.to_minor(),
            "assessments": b.assessments, "entries": entries}


def _balance_dict(b: Balance) -> dict[str, Any]:
    """:meth:`Balance.to_dict` computed on the Decimals (already in the currency's minor
    unit) without building a Money per figure: the same output, a fraction of the cost."""
    assessed, adjusted = b.assessed.amount, b.adjusted.amount
    paid, refunded = b.paid.amount, b.refunded.amount
    due, net = assessed + adjusted, paid - refunded
    balance = due - net
    zero = abs(balance) * 0  # +0 with the currency's exponent
    figures = {"assessed": assessed, "adjusted": adjusted, "due": due, "paid": paid,
               "refunded": refunded, "balance": balance,
               "outstanding": max(balance, zero), "overpaid": max(-balance, zero)}
    return {name: {"amount": str(value + zero), "currency": b.currency}
            for name, value in figures.items()}


def entry_view(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"entry_id": entry.entry_id, "kind": str(entry.kind),
                           "country": entry.country, "amount": entry.money.to_dict(),
                           "recorded_at": entry.recorded_at.isoformat()}
    if isinstance(entry, Assessment):
        out |= {"reference": entry.reference, "customs_reference": entry.customs_reference,
                "due_at": entry.due_at.isoformat() if entry.due_at else None,
                "lines": [{"tax_type": l.tax_type, "base": str(l.base), "rate": str(l.rate),
                           "amount": l.amount.to_dict()} for l in entry.lines]}
    elif isinstance(entry, Payment):
        out |= {"reference": entry.provider_reference, "payer": entry.payer,
                "source": str(entry.source),
                "booked_on": entry.booked_on.isoformat() if entry.booked_on else None}
    elif isinstance(entry, Refund):
        out |= {"reference": entry.refund_reference, "reason": entry.reason}
    else:
        out |= {"reason": entry.reason}
    return out


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
    uow.events.lock_many({e.shipment_id for e in entries})
    legs = uow.ledger.lock_leg_sums((e.shipment_id, e.country) for e in entries)
    zeros: dict[str, Money] = {}
    balances = {key: _balance_of(key[1], sums, zeros) for key, sums in legs.items()}
    counts = {key: sums[-1] for key, sums in legs.items()}
    keys = [(e.entry_id, (str(k[0]), k[1]) if k else None)
            for e, k in ((e, idempotency_key(e)) for e in entries)]
    recorded = uow.ledger.earlier_entries(keys)
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
        earlier = {}
        for found in (by_id.get(entry.entry_id), by_ref.get(key) if key else None):
            if found is not None and found.entry_id not in earlier:
                earlier[found.entry_id] = as_entry(found)
        try:
            if known[entry.shipment_id] is None:
                raise UnknownLegError(f"no shipment {entry.shipment_id}")
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
        balance = balances.get(leg) or Balance.from_sums(entry.country, accepted)
        balances[leg] = _added(balance, entry)
        counts[leg] = counts.get(leg, 0) + 1
        by_id[entry.entry_id] = entry
        if key is not None:
            by_ref[key] = entry
        new.append((entry, balances[leg]))
        results.append(Posting(entry, recorded=True))
    if not new:
        return results
    rows = []
    for entry, _ in new:
        values = entry_values(entry, actor_id=actor_id)
        if isinstance(entry, Adjustment) and entry.money.is_positive() and due_after:
            values["due_at"] = entry.recorded_at + due_after
        rows.append(values)
    uow.ledger.insert_entries(rows)
    touched = {(e.shipment_id, e.country) for e, _ in new}
    uow.ledger.apply([_leg_values(s, balances[(s, c)], counts[(s, c)])
                      for s, c in sorted(touched) if (s, c) not in legs],
                     [_leg_values(s, balances[(s, c)], counts[(s, c)])
                      for s, c in sorted(touched) if (s, c) in legs])
    events = [(entry.shipment_id, f"{EVENT_PREFIX}{entry.kind}",
               {"entry": entry_view(entry), "balance": _balance_dict(after)}, actor_id)
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
    recomputed = uow.ledger.sums_from_entries(shipment_id)
    stored = {(r.country, r.currency): {
        "assessed_minor": r.assessed_minor, "adjusted_minor": r.adjusted_minor,
        "paid_minor": r.paid_minor, "refunded_minor": r.refunded_minor,
        "assessments": r.assessments, "entries": r.entries}
        for r in uow.ledger.legs(shipment_id)}
    return stored == recomputed


# -- customs decisions: assessments, guarantees, release gating ------------------------------
def _refused(message: str, code: str):
    from .customs import DecisionRefused

    return DecisionRefused(message, code=code)


def ledger_gate(members: Any, *, due_days: int = 30,
                clock: Callable[[], datetime] = _now) -> Callable[..., None]:
    """A :data:`exchange.customs.DecisionGate`: an ``assessment`` records an Assessment
    entry (in the leg's member currency), ``guarantee-accepted`` records a guarantee
    (the decision's amount and currency, however it came: API, signed XML, an adapter),
    ``released`` is refused (``decision.release-refused``) while something is outstanding
    on the leg and not covered by accepted guarantees."""
    from adapters.contract import DecisionKind

    due_after = timedelta(days=due_days) if due_days else None

    def gate(uow: UnitOfWork, shipment: ShipmentRow, leg: LegRow, decision: Any,
             context: dict[str, Any]) -> None:
        if decision.kind is DecisionKind.ASSESSMENT:
            _assess(uow, shipment, leg, decision, members, clock(), due_after)
        elif decision.kind is DecisionKind.GUARANTEE_ACCEPTED:
            _guarantee(uow, shipment, leg, decision, members, clock())
        elif decision.kind is DecisionKind.RELEASED:
            _release(uow, shipment, leg)

    return gate


def _leg_currency(members: Any, country: str) -> str:
    if country not in members:
        raise _refused(f"{country} is not a member of this exchange", "decision.unknown-leg")
    return members[country].currency


def _assess(uow, shipment, leg, decision, members, now, due_after) -> None:
    currency = _leg_currency(members, leg.country)
    lines = []
    for n, line in enumerate(decision.duty_lines, 1):
        where = f"duty line {n} ({line.tax_type})"
        if line.currency != currency:
            raise _refused(f"{where} is in {line.currency}; {leg.country} customs assess in "
                           f"{currency} only", "decision.wrong-currency")
        try:
            lines.append(DutyLine(tax_type=line.tax_type, base=Decimal(line.base),
                                  rate=Decimal(line.rate), amount=Money(line.amount, currency)))
        except (LedgerError, InvalidOperation) as exc:
            code = getattr(exc, "code", "money.invalid-amount")
            raise _refused(f"{where}: {exc}", f"decision.{code}") from None
    try:
        assessment = Assessment(
            entry_id=entry_id_for(leg.country, decision.decision_id), shipment_id=shipment.id,
            country=leg.country, recorded_at=now,
            customs_reference=decision.customs_reference or decision.decision_id,
            lines=tuple(lines), due_at=now + due_after if due_after else None)
        post_entries(uow, [assessment], currencies=lambda _: {leg.country: currency},
                     actor_id=None)
    except LedgerError as exc:
        raise _refused(f"assessment refused: {exc}", f"decision.{exc.code}") from None


def _guarantee(uow, shipment, leg, decision, members, now) -> None:
    reference = decision.guarantee_reference
    amount, code = decision.guarantee_amount, decision.guarantee_currency
    if not reference or amount in (None, "") or not code:
        raise _refused("a guarantee-accepted decision needs guarantee_reference, "
                       "guarantee_amount and guarantee_currency",
                       "decision.guarantee-incomplete")
    currency = _leg_currency(members, leg.country)
    if code != currency:
        raise _refused(f"the guarantee is in {code}; {leg.country} takes {currency} only",
                       "decision.wrong-currency")
    try:
        money = Money(str(amount), currency)
    except MoneyError as exc:
        raise _refused(f"guarantee amount: {exc}", f"decision.{exc.code}") from None
    if not money.is_positive():
        raise _refused(f"guarantee amount {money} must be above zero",
                       "decision.negative-amount")
    uow.events.lock(shipment.id)
    for row in uow.ledger.guarantees(shipment.id, leg.country):
        if row.reference == reference:
            if row.amount_minor == money.to_minor():
                return
            raise _refused(f"guarantee {reference} was already accepted with "
                           f"{Money.from_minor(row.amount_minor, row.currency)}",
                           "decision.guarantee-conflict")
    uow.ledger.add_guarantee(GuaranteeRow(
        shipment_id=shipment.id, country=leg.country, reference=reference,
        currency=currency, amount_minor=money.to_minor(), decision_id=decision.decision_id,
        accepted_at=now))
    uow.events.append(shipment.id, f"{EVENT_PREFIX}guarantee", {
        "country": leg.country, "reference": reference, "amount": money.to_dict(),
        "decision_id": decision.decision_id}, actor_id=None)


def _release(uow, shipment, leg) -> None:
    uow.events.lock(shipment.id)
    row = uow.ledger.lock_legs([(shipment.id, leg.country)]).get((shipment.id, leg.country))
    if row is None:
        return  # never assessed: nothing owed
    guarantees = [g.guarantee() for g in uow.ledger.guarantees(shipment.id, leg.country)]
    decision = decide_release(row.balance(), guarantees)
    if not decision.allowed:
        raise _refused(f"release refused: {decision.reason}", "decision.release-refused")


# -- payments and refunds over the API -------------------------------------------------------
@dataclass(frozen=True)
class PaymentRequest:
    kind: str                  # payment | refund
    amount: str
    currency: str
    reference: str
    country: str | None = None
    payer: str | None = None
    reason: str | None = None


def _choose_country(uow, shipment: ShipmentRow, currency: str) -> str:
    legs = [r for r in uow.ledger.legs(shipment.id) if r.currency == currency
            and r.assessments]
    if len(legs) == 1:
        return legs[0].country
    raise PaymentsError(
        f"say which country this {currency} payment is for (field 'country'): "
        + ("no leg of this shipment is assessed in it" if not legs else
           "several legs are assessed in it"), code="payments.country-needed")


def record_payment(uow: UnitOfWork, shipment: ShipmentRow, request: PaymentRequest, *,
                   members: Any, actor_id: str | None, now: datetime | None = None
                   ) -> Posting:
    """Record one payment or refund on *shipment* (caller commits); raises a
    :class:`LedgerError` (or :class:`PaymentsError`) when refused."""
    now = now or _now()
    money = Money(request.amount, request.currency)
    country = request.country or _choose_country(uow, shipment, money.currency)
    currencies = currencies_of(shipment, members)
    if request.kind == "refund":
        entry: Entry = Refund(entry_id=new_entry_id(), shipment_id=shipment.id,
                              country=country, recorded_at=now, money=money,
                              refund_reference=request.reference,
                              reason=request.reason or "")
    else:
        entry = Payment(entry_id=entry_id_for("payment", request.reference),
                        shipment_id=shipment.id, country=country, recorded_at=now,
                        money=money, provider_reference=request.reference,
                        payer=request.payer)
    [posting] = post_entries(uow, [entry], currencies=lambda _: currencies,
                             actor_id=actor_id)
    return posting  # type: ignore[return-value]


# -- status -----------------------------------------------------------------------------------
def payment_status(ledger: LedgerRepository, shipment: ShipmentRow, *,
                   now: datetime | None = None) -> tuple[ShipmentStatus, list[str]]:
    """The shipment's payment status from the stored leg sums and charges (no replay);
    also the countries of the route with no ledger yet (not assessed)."""
    now = now or _now()
    rows = {r.country: r for r in ledger.legs(shipment.id)}
    charges: dict[str, list[Charge]] = {}
    for row in ledger.charges(shipment.id):
        due = row.due_at
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        charges.setdefault(row.country, []).append(
            Charge(Money.from_minor(row.amount_minor, row.currency), due))
    statuses: list[LegStatus] = []
    missing = []
    for leg in shipment.legs:
        row = rows.get(leg.country)
        if row is None:
            missing.append(leg.country)
            continue
        statuses.append(derive_leg_status(shipment.id, row.balance(), now=now,
                                          charges=charges.get(leg.country, ())))
    return derive_shipment_status(shipment.id, statuses), missing


def payments_view(ledger: LedgerRepository, shipment: ShipmentRow, *, members: Any = None,
                  now: datetime | None = None) -> dict[str, Any]:
    """The JSON of a shipment's payment status (legs in route order)."""
    status, missing = payment_status(ledger, shipment, now=now)
    legs = {leg.country: leg.to_dict() for leg in status.legs}
    for country in missing:
        legs[country] = {"country": country, "state": str(PaymentState.NOT_ASSESSED),
                         "overdue": False, "due_at": None,
                         "currency": members[country].currency
                         if members is not None and country in members else None}
    out = status.to_dict()
    out["legs"] = [legs[leg.country] for leg in shipment.legs]
    return out


# -- camt.054 import --------------------------------------------------------------------------
@dataclass(frozen=True)
class CamtImport:
    message_id: str
    version: str
    transactions: int
    report: ImportReport
    unmatched_new: int

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {"message_id": self.message_id, "version": self.version,
                "transactions": self.transactions,
                "counts": {"recorded": len(r.recorded), "repeated": len(r.repeated),
                           "refused": len(r.refused), "unmatched": len(r.unmatched),
                           "unmatched_new": self.unmatched_new},
                **r.to_dict()}


def _references(notification) -> set[str]:
    refs: set[str] = set()
    for tx in notification.transactions:
        for ref in tx.creditor_references:
            refs.add(ref.replace(" ", "").upper())
            refs.update(find_rf_references(ref)[0])
        for text in tx.unstructured:
            refs.update(find_rf_references(text)[0])
    return refs


def import_camt054(uow_factory: UnitOfWorkFactory, data: bytes, *, members: Any,
                   actor_id: str | None, max_bytes: int | None = None,
                   now: datetime | None = None) -> CamtImport:
    """Read a camt.054 file (a problem refuses the whole file: :class:`CamtError`),
    match its credits to assessments by RF reference, record the matched as payments and
    keep the unmatched for an operator, in one transaction."""
    with _bulk_allocation():
        return _import(uow_factory, data, members=members, actor_id=actor_id,
                       max_bytes=max_bytes, now=now or _now())


@contextmanager
def _bulk_allocation():
    """Pause the cyclic garbage collector while a bank file is imported: reading and
    matching 10,000 entries allocates hundreds of thousands of long-lived objects, and
    the collector's repeated full passes over them cost more than the import itself (3x
    on 10,000 entries). Reference counting still frees memory; the previous state is
    restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(uow_factory: UnitOfWorkFactory, data: bytes, *, members: Any,
            actor_id: str | None, max_bytes: int | None, now: datetime) -> CamtImport:
    from signing.safexml import XmlLimits

    notification = read_camt054(data, limits=XmlLimits(max_bytes=max_bytes)
                                if max_bytes else None)
    refs = _references(notification)

    def work() -> CamtImport:
        with uow_factory.writing() as uow:
            index = AssessmentIndex(AssessmentTarget(*target) for target in
                                    uow.ledger.targets_by_rf_references(refs))
            reconciliation = reconcile(notification, index, recorded_at=now)
            shipments = {p.shipment_id for p in reconciliation.payments}
            currencies = _route_currencies(uow, shipments, members)
            results = post_entries(uow, reconciliation.payments, currencies=currencies.get,
                                   actor_id=actor_id, strict=False)
            recorded, repeated, refused = [], [], []
            for payment, result in zip(reconciliation.payments, results):
                if isinstance(result, LedgerError):
                    refused.append((payment, result))
                else:
                    (recorded if result.recorded else repeated).append(payment)
            unmatched_new = uow.ledger.add_unmatched([{
                "key": u.transaction.idempotency_key[:255],
                "message_id": notification.message_id[:140], "reason": str(u.reason),
                "message": u.message, "data_json": json.dumps(u.to_dict()),
                "created_at": now} for u in reconciliation.unmatched])
            uow.commit()
        report = ImportReport(tuple(recorded), tuple(repeated), tuple(refused),
                              reconciliation.unmatched)
        return CamtImport(notification.message_id, notification.version,
                          len(notification.transactions), report, unmatched_new)

    return retrying(work)


def _route_currencies(uow: UnitOfWork, shipment_ids: set[str], members: Any
                      ) -> dict[str, dict[str, str]]:
    accepted: dict[str, str | None] = {}  # country -> its members' currency (None: none)
    out: dict[str, dict[str, str]] = {}
    for sid, country in uow.ledger.route_countries(shipment_ids):
        if country not in accepted:
            accepted[country] = members[country].currency if country in members else None
        code = accepted[country]
        if code is not None:
            out.setdefault(sid, {})[country] = code
    return out


# -- payment providers' signatures ------------------------------------------------------------
def secret_box(settings: Any) -> SecretBox:
    """The box sealing providers' secrets, from ``[payments] secrets_key_file`` (a
    :class:`~exchange.config.PaymentsSettings`); the default file is made on first use."""
    from .config import ConfigError

    try:
        return SecretBox.from_file(settings.resolved_secrets_key_file(),
                                   create=settings.secrets_key_file is None)
    except SecretBoxError as exc:
        raise ConfigError(exc.message, setting="EXCHANGE_PAYMENTS_SECRETS_KEY_FILE") from None


def _secret_row(party_id: str) -> str:
    return f"payment_provider_secrets:{party_id}"


def provider_secret(uow: UnitOfWork, box: SecretBox, party_id: str) -> str | None:
    """The provider's HMAC secret (None: none set). A value stored before secrets were
    sealed is read as it is, until :func:`seal_provider_secrets` seals it."""
    stored = uow.ledger.secret(party_id)
    if stored is None or not box.is_sealed(stored):
        return stored
    return box.open(stored, context=_secret_row(party_id))


def set_provider_secret(uow: UnitOfWork, box: SecretBox, party_id: str, secret: str,
                        now: datetime) -> None:
    uow.ledger.set_secret(party_id, box.seal(secret, context=_secret_row(party_id)), now)


def seal_provider_secrets(uow: UnitOfWork, box: SecretBox) -> int:
    """Seal the secrets stored in the clear by earlier versions; returns how many."""
    sealed = 0
    for row in uow.ledger.secrets():
        if not box.is_sealed(row.secret):
            row.secret = box.seal(row.secret, context=_secret_row(row.party_id))
            sealed += 1
    return sealed


def new_provider_secret() -> str:
    import secrets

    return secrets.token_urlsafe(32)


def sign_body(secret: str, body: bytes) -> str:
    """The header value a provider sends: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str | None, header: str | None, body: bytes, *,
                    required: bool, header_name: str = "X-Signature") -> None:
    """Raise :class:`SignatureError` unless *header* signs *body* with *secret*
    (nothing to check when there is no secret and signatures are not *required*)."""
    if secret is None:
        if required:
            raise SignatureError("this payment provider has no signing secret yet; an "
                                 "operator sets one with `exchange payments provider-secret`",
                                 code="payments.signature-not-configured")
        return
    if not header:
        raise SignatureError(f"this payment provider signs its requests: send {header_name}: "
                             "sha256=<hex HMAC-SHA256 of the body>",
                             code="payments.signature-missing")
    if not hmac.compare_digest(header.strip().encode(), sign_body(secret, body).encode()):
        raise SignatureError(f"the {header_name} header does not match the body "
                             "(HMAC-SHA256 with this provider's secret)",
                             code="payments.signature-invalid")
