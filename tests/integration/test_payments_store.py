"""The ledger in the store, on SQLite and PostgreSQL: customs assessments, guarantees and
release gating through ``record_decision``; payments and refunds; stored leg sums equal to
the entries; every change an event; bad input refused with its own error, nothing recorded."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from adapters.contract import CustomsDecision, DecisionKind, DutyLine
from adapters.members import load_members
from exchange.delivery.decisions import DecisionRefused, record_decision
from exchange.domain import PartyKind
from exchange.parties.keys import add_party
from exchange.payments.errors import LedgerError
from exchange.payments.gate import ledger_gate
from exchange.payments.paying import PaymentRequest, record_payment
from exchange.payments.posting import leg_sums_match
from exchange.payments.views import payments_view
from exchange.store.ledger import GuaranteeRow, LedgerEntryRow
from exchange.store.models import LegRow, ShipmentRow
from exchange.store.repositories import utcnow

MEMBERS = load_members()
ROUTE = ("KZ", "UZ", "AF")


def new_shipment(store, route=ROUTE) -> str:
    with store.writing() as uow:
        party, _ = add_party(uow, kind=PartyKind.FORWARDER, name="Forwarder")
        sid = str(uuid.uuid4())
        roles = ["origin"] + ["transit"] * (len(route) - 2) + ["destination"]
        uow.shipments.add(
            ShipmentRow(id=sid, forwarder_id=party.id, transport_mode="road",
                        origin=route[0], destination=route[-1], created_at=utcnow()),
            [LegRow(seq=i, country=cc, role=roles[i]) for i, cc in enumerate(route)])
        uow.commit()
    return sid


def decide(store, sid, kind, country="UZ", decision_id=None, context=None, **kw):
    decision = CustomsDecision(kind=kind, country=country,
                               decision_id=decision_id or uuid.uuid4().hex, shipment_id=sid,
                               **kw)
    with store.writing() as uow:
        recorded = record_decision(uow, decision, actor_id=None, source="api",
                                   gates=[ledger_gate(MEMBERS)], context=context or {})
        uow.commit()
    return recorded


def assess(store, sid, amount="5000.00", country="UZ", currency="UZS", decision_id=None):
    return decide(store, sid, DecisionKind.ASSESSMENT, country, decision_id,
                  duty_lines=(DutyLine("customs-duty", "50000", "10", amount, currency),))


def pay(store, sid, amount, reference, country="UZ", currency="UZS", kind="payment"):
    with store.writing() as uow:
        shipment = uow.session.get(ShipmentRow, sid)
        posting = record_payment(PaymentRequest(
            kind=kind, amount=amount, currency=currency, reference=reference,
            country=country), uow=uow, shipment=shipment, members=MEMBERS, actor_id=None)
        uow.commit()
    return posting


def view(store, sid):
    with store.reading() as uow:
        return payments_view(uow.ledger, uow.session.get(ShipmentRow, sid), members=MEMBERS)


def leg(store, sid, country="UZ"):
    return next(l for l in view(store, sid)["legs"] if l["country"] == country)


def counts(store):
    with store.reading() as uow:
        return (uow.session.scalar(select(func.count()).select_from(LedgerEntryRow)),
                uow.session.scalar(select(func.count()).select_from(GuaranteeRow)))


def test_assess_pay_release(store):
    sid = new_shipment(store)
    assert view(store, sid)["state"] == "not_assessed"
    assess(store, sid, "5000.00")
    assert leg(store, sid)["state"] == "assessed"
    assert leg(store, sid)["outstanding"] == {"amount": "5000.00", "currency": "UZS"}
    with pytest.raises(DecisionRefused, match="5000.00 UZS outstanding on UZ") as info:
        decide(store, sid, DecisionKind.RELEASED)
    assert info.value.code == "decision.release-refused"
    assert pay(store, sid, "3000.00", "PSP-1").recorded
    assert leg(store, sid)["state"] == "partially_paid"
    with pytest.raises(DecisionRefused, match="2000.00 UZS outstanding"):
        decide(store, sid, DecisionKind.RELEASED)
    pay(store, sid, "2500.00", "PSP-2")
    assert leg(store, sid)["state"] == "overpaid"
    assert pay(store, sid, "500.00", "REFUND-1", kind="refund").recorded
    state = leg(store, sid)
    assert state["state"] == "refunded" and state["outstanding"]["amount"] == "0.00"
    assert decide(store, sid, DecisionKind.RELEASED).created
    # other legs untouched, never mixed
    assert leg(store, sid, "KZ")["state"] == "not_assessed"
    assert leg(store, sid, "KZ")["currency"] == "KZT"
    with store.reading() as uow:
        kinds = [e.kind for e in uow.events.list(sid)]
        assert leg_sums_match(uow, sid)
    assert kinds.count("payments.payment") == 2 and "payments.refund" in kinds
    assert "payments.assessment" in kinds and kinds[-1] == "customs.released"


def test_guarantee_covers_release(store):
    sid = new_shipment(store)
    assess(store, sid, "1200.00", "AF", "AFN")
    with pytest.raises(DecisionRefused) as info:
        decide(store, sid, DecisionKind.GUARANTEE_ACCEPTED, "AF", guarantee_reference="G-1")
    assert info.value.code == "decision.guarantee-incomplete"
    decide(store, sid, DecisionKind.GUARANTEE_ACCEPTED, "AF", guarantee_reference="G-1",
           guarantee_amount="1000.00", guarantee_currency="AFN")
    with pytest.raises(DecisionRefused, match="covers only 1000.00 AFN"):
        decide(store, sid, DecisionKind.RELEASED, "AF")
    decide(store, sid, DecisionKind.GUARANTEE_ACCEPTED, "AF", guarantee_reference="G-2",
           guarantee_amount="200", guarantee_currency="AFN")
    assert decide(store, sid, DecisionKind.RELEASED, "AF").created
    assert leg(store, sid, "AF")["outstanding"]["amount"] == "1200.00"  # still owed


def test_repeats_count_once(store):
    sid = new_shipment(store)
    assess(store, sid, "100.00", decision_id="D-1")
    assess(store, sid, "100.00", decision_id="D-1")  # the same decision again
    assert pay(store, sid, "40.00", "PSP-9").recorded
    again = pay(store, sid, "40.00", "PSP-9")
    assert not again.recorded and again.entry.money.amount == 40
    with pytest.raises(LedgerError) as info:
        pay(store, sid, "41.00", "PSP-9")
    assert info.value.code == "ledger.reference-conflict"
    other = new_shipment(store)
    assess(store, other, "100.00")
    with pytest.raises(LedgerError) as info:  # references are unique across shipments
        pay(store, other, "40.00", "PSP-9")
    assert info.value.code == "ledger.reference-conflict"
    assert leg(store, sid)["paid"]["amount"] == "40.00"
    assert counts(store) == (3, 0)


@pytest.mark.parametrize("amount,currency,country,code", [
    ("-5.00", "UZS", "UZ", "ledger.negative-amount"),
    ("0", "UZS", "UZ", "ledger.zero-amount"),
    ("5.00", "XYZ", "UZ", "money.unknown-currency"),
    ("5.00", "KZT", "UZ", "ledger.wrong-currency"),
    ("5.001", "UZS", "UZ", "money.too-many-decimals"),
    ("5.00", "TJS", "TJ", "ledger.unknown-leg"),
    ("5.00", "KZT", "KZ", "ledger.not-assessed"),
    ("abc", "UZS", "UZ", "money.invalid-amount"),
])
def test_bad_payments_refused_nothing_recorded(store, amount, currency, country, code):
    sid = new_shipment(store)
    assess(store, sid, "100.00")
    before = counts(store)
    with store.reading() as uow:
        events = len(uow.events.list(sid))
    with pytest.raises(LedgerError) as info:
        pay(store, sid, amount, "BAD-1", country=country, currency=currency)
    assert info.value.code == code, info.value
    assert counts(store) == before
    with store.reading() as uow:
        assert len(uow.events.list(sid)) == events


def test_refund_rules(store):
    sid = new_shipment(store)
    assess(store, sid, "100.00")
    pay(store, sid, "100.00", "P-1")
    with pytest.raises(LedgerError) as info:
        pay(store, sid, "100.01", "R-1", kind="refund")
    assert info.value.code == "ledger.refund-exceeds-paid"
    pay(store, sid, "10.00", "R-1", kind="refund")
    assert not pay(store, sid, "10.00", "R-1", kind="refund").recorded
    assert leg(store, sid)["refunded"]["amount"] == "10.00"


@pytest.mark.parametrize("line,code", [
    (DutyLine("vat", "100", "12", "12.00", "KZT"), "decision.wrong-currency"),
    (DutyLine("vat", "100", "12", "12.001", "UZS"), "decision.money.too-many-decimals"),
    (DutyLine("vat", "100", "12", "-12.00", "UZS"), "decision.ledger.negative-amount"),
])
def test_bad_assessments_refused(store, line, code):
    sid = new_shipment(store)
    with pytest.raises(DecisionRefused) as info:
        decide(store, sid, DecisionKind.ASSESSMENT, duty_lines=(line,))
    assert info.value.code == code
    assert counts(store) == (0, 0)
    with store.reading() as uow:
        assert not uow.decisions.for_shipment(sid)


def test_overdue_after_due_time(store):
    sid = new_shipment(store)
    decision = CustomsDecision(kind=DecisionKind.ASSESSMENT, country="UZ", decision_id="D-o",
                               shipment_id=sid,
                               duty_lines=(DutyLine("fee", "1", "100", "10.00", "UZS"),))
    past = datetime.now(UTC) - timedelta(days=3)
    with store.writing() as uow:
        record_decision(uow, decision, actor_id=None, source="api",
                        gates=[ledger_gate(MEMBERS, due_days=2, clock=lambda: past)])
        uow.commit()
    status = view(store, sid)
    assert status["overdue"] and leg(store, sid)["overdue"]
    pay(store, sid, "10.00", "P-o")
    assert not view(store, sid)["overdue"] and view(store, sid)["state"] == "paid"


def test_provider_secrets_are_sealed_at_rest(store, tmp_path):
    from exchange.payments.errors import SecretBoxError
    from exchange.payments.providers import (
        provider_secret, seal_provider_secrets, set_provider_secret,
    )
    from exchange.payments.secretbox import SecretBox
    from exchange.store.ledger import ProviderSecretRow

    box = SecretBox.from_file(tmp_path / "secrets.key", create=True)
    with store.writing() as uow:
        new, _ = add_party(uow, kind=PartyKind.PAYMENT_PROVIDER, name="psp-new")
        old, _ = add_party(uow, kind=PartyKind.PAYMENT_PROVIDER, name="psp-old")
        set_provider_secret(uow, box, new.id, "fresh-secret", utcnow())
        uow.ledger.set_secret(old.id, "stored-in-the-clear", utcnow())  # an earlier version
        uow.commit()

    def stored() -> dict[str, str]:
        with store.reading() as uow:
            return {r.party_id: r.secret for r in uow.session.scalars(select(ProviderSecretRow))}

    assert "fresh-secret" not in stored()[new.id] and box.is_sealed(stored()[new.id])
    with store.writing() as uow:
        assert provider_secret(uow, box, old.id) == "stored-in-the-clear"
        assert seal_provider_secrets(uow, box) == 1
        uow.commit()
    assert all(box.is_sealed(v) and "clear" not in v for v in stored().values())
    with store.writing() as uow:
        assert seal_provider_secrets(uow, box) == 0  # nothing left in the clear
        assert provider_secret(uow, box, old.id) == "stored-in-the-clear"
        assert provider_secret(uow, box, new.id) == "fresh-secret"
        other = SecretBox.from_file(tmp_path / "another.key", create=True)
        with pytest.raises(SecretBoxError):
            provider_secret(uow, other, new.id)
