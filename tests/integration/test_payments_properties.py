"""Properties of the stored ledger (SQLite file per example): for random sequences of
assessments, payments, refunds and adjustments on a three-currency route, the store admits
and refuses exactly what the in-memory :class:`~exchange.payments.entries.Ledger` does, its stored
leg sums equal the sums of its stored entries, and the status it derives without replaying
entries is the one the replay gives."""
from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.config import DatabaseSettings
from exchange.domain import PartyKind
from exchange.parties.keys import add_party
from exchange.payments.entries import (
    Adjustment,
    Assessment,
    DutyLine,
    Payment,
    Refund,
    entry_id_for,
)
from exchange.payments.errors import LedgerError
from exchange.payments.ledger import Ledger, Posting
from exchange.payments.money import Money
from exchange.payments.posting import leg_sums_match, post_entries
from exchange.payments.views import payment_status
from exchange.store import UnitOfWorkFactory, create_engines, upgrade
from exchange.store.models import LegRow, ShipmentRow
from exchange.store.repositories import utcnow

CURRENCIES = {"KZ": "KZT", "UZ": "UZS", "AF": "AFN"}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@st.composite
def operations(draw):
    kind = draw(st.sampled_from(["assessment", "payment", "payment", "refund", "adjustment"]))
    country = draw(st.sampled_from(list(CURRENCIES)))
    amount = draw(st.integers(1, 500_00))
    if kind == "adjustment" and draw(st.booleans()):
        amount = -amount
    return {"kind": kind, "country": country, "minor": amount,
            "ref": draw(st.integers(0, 6)), "wrong_currency": draw(st.integers(0, 9)) == 0}


def build(sid: str, n: int, op: dict):
    cc = op["country"]
    currency = "USD" if op["wrong_currency"] else CURRENCIES[cc]
    money = Money.from_minor(op["minor"], currency)
    common = {"shipment_id": sid, "country": cc, "recorded_at": T0 + timedelta(minutes=n)}
    if op["kind"] == "assessment":
        return Assessment(**common, entry_id=entry_id_for(cc, f"D{op['ref']}"),
                          customs_reference=f"C{op['ref']}", due_at=T0 + timedelta(days=1),
                          lines=(DutyLine(tax_type="duty", base=Decimal(1), rate=Decimal(1),
                                          amount=money),))
    if op["kind"] == "payment":
        return Payment(**common, entry_id=entry_id_for("payment", f"P{op['ref']}"),
                       money=money, provider_reference=f"P{op['ref']}")
    if op["kind"] == "refund":
        return Refund(**common, money=money, refund_reference=f"R{op['ref']}")
    return Adjustment(**common, money=money, reason="correction")


def outcome(result):
    if isinstance(result, Posting):
        return ("recorded" if result.recorded else "repeat", result.entry.entry_id)
    return ("refused", result.code)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(operations(), min_size=1, max_size=25), st.integers(1, 4))
def test_store_agrees_with_the_ledger(ops, batch):
    with tempfile.TemporaryDirectory() as folder:
        engines = create_engines(DatabaseSettings(url=f"sqlite:///{Path(folder) / 'x.db'}"))
        try:
            upgrade(engines)
            store = UnitOfWorkFactory(engines)
            sid = str(uuid.uuid4())
            with store.writing() as uow:
                party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="F")
                uow.shipments.add(ShipmentRow(id=sid, forwarder_id=party.id,
                                              transport_mode="road", origin="KZ",
                                              destination="AF", created_at=utcnow()),
                                  [LegRow(seq=i, country=cc, role="transit")
                                   for i, cc in enumerate(CURRENCIES)])
                uow.commit()
            ledger = Ledger(sid, CURRENCIES)
            entries = [build(sid, n, op) for n, op in enumerate(ops)]
            expected = []
            for entry in entries:
                try:
                    expected.append(outcome(ledger.post(entry)))
                except LedgerError as exc:
                    expected.append(outcome(exc))
            got = []
            for i in range(0, len(entries), batch):  # several entries per transaction too
                with store.writing() as uow:
                    got += [outcome(r) for r in post_entries(
                        uow, entries[i:i + batch], currencies=lambda _: CURRENCIES,
                        actor_id=None, strict=False)]
                    uow.commit()
            assert got == expected
            now = T0 + timedelta(days=2)
            with store.reading() as uow:
                assert leg_sums_match(uow, sid)
                status, _ = payment_status(uow.ledger, uow.session.get(ShipmentRow, sid),
                                           now=now)
                recorded = len([e for e in expected if e[0] == "recorded"])
                assert len(uow.events.list(sid)) == recorded
            replay = ledger.status(now=now)
            assessed = [leg for leg in replay.legs if leg.state != "not_assessed"]
            assert {leg.country: (leg.state, leg.balance, leg.overdue) for leg in status.legs} \
                == {leg.country: (leg.state, leg.balance, leg.overdue) for leg in assessed}
            assert status.state == replay.state
        finally:
            engines.dispose()
