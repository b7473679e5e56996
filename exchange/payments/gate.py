"""Customs decisions and the ledger: assessments, guarantees and the release gate.

:func:`ledger_gate` makes the :data:`exchange.delivery.decisions.DecisionGate` every customs
decision passes, wherever it comes from (API, dashboard, an adapter's answer):

* ``assessment`` records an :class:`~exchange.payments.entries.Assessment` in the leg's
  member currency (the same decision again is a repeat: its entry id derives from it);
* ``guarantee-accepted`` records a guarantee (the decision's amount and currency);
* ``released`` is refused while something is outstanding on the leg and not covered by
  accepted guarantees.

Every refusal is a :class:`~exchange.delivery.errors.DecisionRefused` whose ``code`` says
why (``decision.release-refused``, ``decision.wrong-currency``, ``decision.<ledger code>``);
the decision is then not stored.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from adapters.contract import CustomsDecision, DecisionKind

from exchange.delivery.errors import DecisionRefused
from exchange.errors import ExchangeError
from exchange.i18n import Text, t
from exchange.payments.entries import Assessment, DutyLine, entry_id_for
from exchange.payments.errors import LedgerError, MoneyError
from exchange.payments.ledger import decide_release
from exchange.payments.money import Money
from exchange.payments.posting import EVENT_PREFIX, post_entries
from exchange.payments.rows import guarantee_of, leg_balance
from exchange.store.ledger import GuaranteeRow
from exchange.store.repositories import utcnow

if TYPE_CHECKING:
    from adapters.members import Members

    from exchange.delivery.decisions import DecisionGate
    from exchange.store.ledger import LedgerRepository
    from exchange.store.models import LegRow, ShipmentRow
    from exchange.store.uow import UnitOfWork

__all__ = ["ledger_gate"]


def ledger_gate(members: Members, *, due_days: int = 30,
                clock: Callable[[], datetime] = utcnow) -> DecisionGate:
    """The payments ledger's gate (see the module docstring); an assessment falls due
    *due_days* after *clock* says it was recorded (0: no due time)."""
    due_after = timedelta(days=due_days) if due_days else None

    def gate(uow: UnitOfWork, shipment: ShipmentRow, leg: LegRow, decision: CustomsDecision,
             context: dict[str, Any]) -> None:  # Any: DecisionGate's context, unused here
        if decision.kind is DecisionKind.ASSESSMENT:
            _assess(uow, shipment, leg, decision, _leg_currency(members, leg.country),
                    clock(), due_after)
        elif decision.kind is DecisionKind.GUARANTEE_ACCEPTED:
            _guarantee(uow, shipment, leg, decision, members, clock())
        elif decision.kind is DecisionKind.RELEASED:
            _release(uow, shipment, leg)

    return gate


def _why(exc: Exception) -> Text | str:
    """An error's message in the reader's language (a library's own words as they are)."""
    return exc.text or exc.message if isinstance(exc, ExchangeError) else str(exc)


def _leg_currency(members: Members, country: str) -> str:
    if country not in members:
        raise DecisionRefused(t("{country} is not a member of this exchange", country=country),
                              code="decision.unknown-leg")
    return members[country].currency


def _assess(uow: UnitOfWork, shipment: ShipmentRow, leg: LegRow, decision: CustomsDecision,
            currency: str, now: datetime, due_after: timedelta | None) -> None:
    lines = []
    for n, line in enumerate(decision.duty_lines, 1):
        if line.currency != currency:
            raise DecisionRefused(t(
                "duty line {n} ({tax_type}) is in {currency}; {country} customs assess in "
                "{accepted} only", n=n, tax_type=line.tax_type, currency=line.currency,
                country=leg.country, accepted=currency), code="decision.wrong-currency")
        try:
            lines.append(DutyLine(tax_type=line.tax_type, base=Decimal(line.base),
                                  rate=Decimal(line.rate), amount=Money(line.amount, currency)))
        except (LedgerError, InvalidOperation) as exc:
            code = exc.code if isinstance(exc, LedgerError) else "money.invalid-amount"
            raise DecisionRefused(t("duty line {n} ({tax_type}): {reason}", n=n,
                                    tax_type=line.tax_type, reason=_why(exc)),
                                  code=f"decision.{code}") from None
    try:
        assessment = Assessment(
            entry_id=entry_id_for(leg.country, decision.decision_id), shipment_id=shipment.id,
            country=leg.country, recorded_at=now,
            customs_reference=decision.customs_reference or decision.decision_id,
            lines=tuple(lines), due_at=now + due_after if due_after else None)
        post_entries(uow, [assessment], currencies=lambda _: {leg.country: currency},
                     actor_id=None)
    except LedgerError as exc:
        raise DecisionRefused(t("assessment refused: {reason}", reason=_why(exc)),
                              code=f"decision.{exc.code}") from None


def _guarantee(uow: UnitOfWork, shipment: ShipmentRow, leg: LegRow,
               decision: CustomsDecision, members: Members, now: datetime) -> None:
    reference = decision.guarantee_reference
    amount, code = decision.guarantee_amount, decision.guarantee_currency
    if not reference or amount in (None, "") or not code:
        raise DecisionRefused(t("a guarantee-accepted decision needs guarantee_reference, "
                                "guarantee_amount and guarantee_currency"),
                              code="decision.guarantee-incomplete")
    currency = _leg_currency(members, leg.country)
    if code != currency:
        raise DecisionRefused(t("the guarantee is in {currency}; {country} takes {accepted} "
                                "only", currency=code, country=leg.country, accepted=currency),
                              code="decision.wrong-currency")
    try:
        money = Money(str(amount), currency)
    except MoneyError as exc:
        raise DecisionRefused(t("guarantee amount: {reason}", reason=_why(exc)),
                              code=f"decision.{exc.code}") from None
    if not money.is_positive():
        raise DecisionRefused(t("guarantee amount {money} must be above zero", money=money),
                              code="decision.negative-amount")
    ledger: LedgerRepository = uow.ledger
    uow.events.lock(shipment.id)
    for row in ledger.guarantees(shipment.id, leg.country):
        if row.reference == reference:
            if row.amount_minor == money.to_minor():
                return
            raise DecisionRefused(t("guarantee {reference} was already accepted with {money}",
                                    reference=reference,
                                    money=Money.from_minor(row.amount_minor, row.currency)),
                                  code="decision.guarantee-conflict")
    ledger.add_guarantee(GuaranteeRow(
        shipment_id=shipment.id, country=leg.country, reference=reference,
        currency=currency, amount_minor=money.to_minor(), decision_id=decision.decision_id,
        accepted_at=now))
    uow.events.append(shipment.id, f"{EVENT_PREFIX}guarantee", {
        "country": leg.country, "reference": reference, "amount": money.to_dict(),
        "decision_id": decision.decision_id}, actor_id=None)


def _release(uow: UnitOfWork, shipment: ShipmentRow, leg: LegRow) -> None:
    ledger: LedgerRepository = uow.ledger
    uow.events.lock(shipment.id)
    row = ledger.lock_legs([(shipment.id, leg.country)]).get((shipment.id, leg.country))
    if row is None:
        return  # never assessed: nothing owed
    guarantees = [guarantee_of(g) for g in ledger.guarantees(shipment.id, leg.country)]
    decision = decide_release(leg_balance(row), guarantees)
    if not decision.allowed:
        raise DecisionRefused(t("release refused: {reason}", reason=decision.why),
                              code="decision.release-refused")
