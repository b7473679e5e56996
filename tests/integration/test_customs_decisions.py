"""Customs answers flow back into tracking: through the push answer, the decisions URL and a
CUSRES inbox folder; bad answers are refused with their own reason and change nothing."""
from __future__ import annotations

import json

import pytest

from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason
from adapters.edifact import render_cusres
from exchange.delivery.decisions import record_decision
from exchange.delivery.errors import DecisionConflict, DecisionRefused, ShipmentNotRouted
from exchange.documents.status import shipment_status
from exchange.delivery.collector import DecisionCollector
from exchange.delivery.dispatcher import Dispatcher, RetryPolicy
from tests.integration.test_dispatch import (
    adapters_for,
    corridor_members,
    deliveries,
    submit_corridor,
)


def legs(store, shipment_id):
    from exchange.store.models import ShipmentRow
    with store.reading() as uow:
        return {l.country: l.status for l in uow.session.get(ShipmentRow, shipment_id).legs}


def test_decisions_flow_back_from_three_adapter_kinds(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, doc_ids = submit_corridor(store, members)
    adapters = adapters_for(members)
    collector = DecisionCollector(store, adapters)
    dispatcher = Dispatcher(store, adapters, policy=RetryPolicy(), on_answers=collector.drain)
    try:
        dispatcher.run_once()
        # UZ: the push answer carried an acknowledgement; the assessment waits at the
        # simulator's decisions URL.
        assert legs(store, shipment_id)["UZ"] == "acknowledged"
        # AF: the national system drops a CUSRES file in the inbox folder.
        af_delivery = next(r for (doc, cc), r in deliveries(store, shipment_id).items()
                           if cc == "AF" and doc == doc_ids["ImportCustomsDeclaration"])
        cusres = render_cusres([CustomsDecision(
            kind=DecisionKind.ACCEPTED, country="AF", decision_id="AF-0001",
            customs_reference="AFKBL2026-17", delivery_id=af_delivery.id,
            shipment_id=shipment_id)], sender_id="AFCUSTOMS", recipient_id="CARECHUB",
            control_ref="R1")
        inbox = tmp_path / "af" / "in"
        inbox.mkdir(parents=True, exist_ok=True)
        (inbox / "answer-1.edi").write_bytes(cusres if isinstance(cusres, bytes)
                                             else cusres.encode())
        (inbox / "broken.edi").write_bytes(b"UNB+UNOC:3+AFCUSTOMS+CARECHUB'UNH+1+CUSRES")
        assert collector.collect() == 3   # UZ assesses each of its 2 documents; AF accepts
        assert collector.collect() == 0   # nothing new: collected batches were confirmed
    finally:
        dispatcher.close()
    status = legs(store, shipment_id)
    assert status == {"KZ": "pending", "UZ": "assessed", "AF": "accepted"}
    assert any("broken.edi" in r for r in collector.refused)
    assert (inbox / "failed" / "broken.edi").exists()
    assert (inbox / "processed" / "answer-1.edi").exists()
    with store.reading() as uow:
        assessment = [d for d in uow.decisions.for_shipment(shipment_id, "UZ")
                      if d.kind == "assessment"]
        kinds = [e.kind for e in uow.events.list(shipment_id)]
    assert len(assessment) == 2 and all("UZS" in a.decision_json for a in assessment)
    assert "customs.assessment" in kinds and "customs.accepted" in kinds


def test_decisions_that_came_with_answers_survive_a_dispatcher_that_stops_after_the_outcome(
        store, tmp_path, simulator):
    """The acknowledgement in a push's receipt is kept in the transaction that records the
    delivery's outcome: a dispatcher that dies right after (here: one that never records the
    answers) loses nothing; the next drain records it, once."""
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    adapters = adapters_for(members)
    dispatcher = Dispatcher(store, adapters, policy=RetryPolicy())  # no one drains
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    uz = [r for (_, cc), r in deliveries(store, shipment_id).items() if cc == "UZ"]
    assert uz and all(r.status == "acknowledged" for r in uz)  # the outcome is recorded
    assert legs(store, shipment_id)["UZ"] == "pending"         # the decision not yet
    with store.reading() as uow:
        kept = uow.decisions.received(100)
        assert {k.delivery_id for k in kept} == {r.id for r in uz}
        assert not uow.decisions.for_shipment(shipment_id, "UZ")
    collector = DecisionCollector(store, adapters)
    assert collector.drain() == len(uz)
    assert collector.drain() == 0
    assert legs(store, shipment_id)["UZ"] == "acknowledged"
    with store.reading() as uow:
        assert not uow.decisions.received(100)
        stored = uow.decisions.for_shipment(shipment_id, "UZ")
        assert len(stored) == len(uz) and {d.source for d in stored} == {"adapter:https-push"}


def test_a_kept_decision_that_is_refused_is_logged_and_dropped(store, tmp_path, simulator):
    from datetime import UTC, datetime

    from exchange.store.deliveries import ReceivedDecisionRow

    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    submit_corridor(store, members)
    refused = CustomsDecision(kind=DecisionKind.ACCEPTED, country="UZ", decision_id="UZ-X",
                              shipment_id="no-such-shipment")
    with store.writing() as uow:
        uow.decisions.keep_received([ReceivedDecisionRow(
            delivery_id="d-1", country="UZ", source="adapter:https-push",
            decision_json=json.dumps(refused.to_dict()), signed_xml=None,
            received_at=datetime.now(UTC))])
        uow.commit()
    collector = DecisionCollector(store, adapters_for(members))
    assert collector.drain() == 0
    assert any("UZ-X" in r and "not routed" in r for r in collector.refused)
    with store.reading() as uow:
        assert not uow.decisions.received(100)


def decision(kind, country="UZ", decision_id="D1", shipment_id=None, **kw):
    return CustomsDecision(kind=kind, country=country, decision_id=decision_id,
                           shipment_id=shipment_id, **kw)


def test_decision_rules(store, tmp_path, simulator):
    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    with store.writing() as uow:
        # a country that is not on the route
        with pytest.raises(ShipmentNotRouted, match="not routed to TJ"):
            record_decision(uow, decision(DecisionKind.ACCEPTED, "TJ", shipment_id=shipment_id),
                            actor_id=None, source="api")
        first = record_decision(uow, decision(DecisionKind.HOLD, shipment_id=shipment_id,
                                              text="x-ray"), actor_id=None, source="api")
        again = record_decision(uow, decision(DecisionKind.HOLD, shipment_id=shipment_id,
                                              text="x-ray"), actor_id=None, source="api")
        assert first.created and not again.created and again.row.id == first.row.id
        with pytest.raises(DecisionConflict, match="cannot be reused"):
            record_decision(uow, decision(DecisionKind.ACCEPTED, shipment_id=shipment_id),
                            actor_id=None, source="api")
        record_decision(uow, decision(DecisionKind.RELEASED, decision_id="D2",
                                      shipment_id=shipment_id), actor_id=None, source="api")
        with pytest.raises(DecisionRefused, match="already released"):
            record_decision(uow, decision(DecisionKind.REJECTED, decision_id="D3",
                                          shipment_id=shipment_id,
                                          reasons=(Reason("R1", "late"),)),
                            actor_id=None, source="api")
        uow.commit()
    assert legs(store, shipment_id)["UZ"] == "released"


class _Leg:
    def __init__(self, country, status):
        self.country, self.status = country, status


@pytest.mark.parametrize("statuses, expected", [
    (["pending", "pending", "pending"], "submitted"),
    (["acknowledged", "pending", "pending"], "in export clearance"),
    (["released", "pending", "pending"], "in transit through UZ"),
    (["released", "released", "assessed"], "at destination"),
    (["released", "released", "released"], "cleared"),
    (["released", "held", "pending"], "held for inspection in UZ"),
    (["released", "released", "rejected"], "rejected by AF customs"),
])
def test_shipment_status_follows_the_legs(statuses, expected):
    assert shipment_status([_Leg(c, s) for c, s in zip(("KZ", "UZ", "AF"), statuses)]) \
        == expected


def test_duty_line_amounts_are_exact():
    line = DutyLine("customs-duty", "1000.00", "15", "150.00", "UZS")
    assert str(line.amount_value) == "150.00"


def test_a_guarantee_from_a_cusres_file_covers_the_release(store, tmp_path, simulator):
    """AF's legacy system answers in CUSRES files: an assessment, a guarantee with its
    amount (MOA+ZZZ), then the release, which the ledger lets through because the
    guarantee covers what is outstanding. A guarantee without an amount is refused with
    its reason and records nothing."""
    from exchange.payments.gate import ledger_gate

    members = corridor_members(tmp_path, uz_push_url=simulator.push_url)
    shipment_id, _, _ = submit_corridor(store, members)
    collector = DecisionCollector(store, adapters_for(members), gates=(ledger_gate(members),))
    inbox = tmp_path / "af" / "in"
    inbox.mkdir(parents=True, exist_ok=True)

    def answer(name: str, *decisions: CustomsDecision) -> None:
        text = render_cusres(decisions, sender_id="AFCUSTOMS", recipient_id="CARECHUB",
                             control_ref=name.upper())
        (inbox / f"{name}.edi").write_bytes(text)

    af = {"country": "AF", "shipment_id": shipment_id}
    answer("g0", CustomsDecision(kind=DecisionKind.GUARANTEE_ACCEPTED, decision_id="x",
                                 guarantee_reference="GAR-0", **af))
    assert collector.collect() == 0
    assert any("guarantee_amount" in r for r in collector.refused)
    answer("a1",
           CustomsDecision(kind=DecisionKind.ASSESSMENT, decision_id="x", **af,
                           duty_lines=(DutyLine("customs-duty", "12000", "10", "1200.00",
                                                "AFN"),)),
           CustomsDecision(kind=DecisionKind.GUARANTEE_ACCEPTED, decision_id="x", **af,
                           guarantee_reference="GAR-1", guarantee_amount="1500.00",
                           guarantee_currency="AFN"),
           CustomsDecision(kind=DecisionKind.RELEASED, decision_id="x", **af))
    assert collector.collect() == 3
    assert legs(store, shipment_id)["AF"] == "released"
    with store.reading() as uow:
        guarantees = uow.ledger.guarantees(shipment_id, "AF")
        kinds = [e.kind for e in uow.events.list(shipment_id)]
    assert [(g.reference, g.amount_minor, g.currency) for g in guarantees] == [
        ("GAR-1", 150000, "AFN")]
    assert "payments.guarantee" in kinds and kinds[-1] == "customs.released"
