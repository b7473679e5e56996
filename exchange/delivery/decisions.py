"""Customs decisions and the status of a shipment's legs.

Decisions come from the customs side of the API or back through adapters (answers to a
push, CUSRES files, a simulator's decisions). Each is stored once, by
(country, decision id); the same decision again is answered with the stored one, another
decision under the same id is refused. A decision moves its leg's status, lands in the
shipment's event chain, and the shipment's status is derived from its legs.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.contract import CustomsDecision, DecisionKind
from exchange.delivery.errors import DecisionConflict, DecisionRefused, ShipmentNotRouted
from exchange.delivery.outbox import acknowledge_delivery
from exchange.i18n import Text, t
from exchange.store.deliveries import DecisionRow, DeliveryStatus
from exchange.store.models import LegRow, ShipmentRow
from exchange.store.repositories import Scope, utcnow
from exchange.store.uow import UnitOfWork

if TYPE_CHECKING:
    from exchange.documents.pipeline import SignatureChecker

__all__ = [
    "LEG_STATUS",
    "DecisionConflict",
    "DecisionGate",
    "DecisionRefused",
    "Recorded",
    "ShipmentNotRouted",
    "record_decision",
    "verify_decision_signature",
]

_EVERY_SHIPMENT = Scope(everything=True)


LEG_STATUS = {
    DecisionKind.ACKNOWLEDGED: "acknowledged",
    DecisionKind.ACCEPTED: "accepted",
    DecisionKind.REJECTED: "rejected",
    DecisionKind.HOLD: "held",
    DecisionKind.QUERY: "query",
    DecisionKind.ASSESSMENT: "assessed",
    DecisionKind.GUARANTEE_ACCEPTED: "guaranteed",
    DecisionKind.RELEASED: "released",
}
# A later decision never moves a released leg back (only the same release again).
_FINAL = {"released"}

_KEYED_IN = ("on_behalf_of", "keyed_in_by")
"""Stored with a decision the hub's help desk keyed in for a member: the member and the
operator. Who keyed a decision in is not part of what it decides, so the same decision
again is the same decision whoever brings it."""

DecisionGate = Callable[[UnitOfWork, ShipmentRow, LegRow, CustomsDecision, dict[str, Any]], None]
"""Checked before a decision is stored, with the call's extra context (e.g. a guarantee's
amount); raises DecisionRefused to refuse it (e.g. release while duties are outstanding).
Gates may also record what follows from the decision, in the same transaction."""


@dataclass(frozen=True)
class Recorded:
    row: DecisionRow
    created: bool
    """False when the same decision was already stored (the stored one is *row*)."""
    shipment: ShipmentRow
    """The shipment decided on, its legs as they are after the decision."""


def record_decision(uow: UnitOfWork, decision: CustomsDecision, *, actor_id: str | None,
                    source: str, signature_report: dict[str, Any] | None = None,
                    gates: Sequence[DecisionGate] = (),
                    context: dict[str, Any] | None = None,
                    on_behalf_of: str | None = None) -> Recorded:
    """Store *decision* (caller commits). Refuses a shipment not routed to its country.
    *on_behalf_of*: the member the hub's help desk keys the decision in for (*actor_id*
    is then the operator's party); both are stored with the decision and its event."""
    shipment = uow.shipments.get(decision.shipment_id, _EVERY_SHIPMENT) \
        if decision.shipment_id else None
    if shipment is None and decision.delivery_id:
        delivery = uow.deliveries.get(decision.delivery_id)
        if delivery is not None and delivery.country == decision.country:
            shipment = uow.shipments.get(delivery.shipment_id, _EVERY_SHIPMENT)
    leg = next((l for l in shipment.legs if l.country == decision.country), None) \
        if shipment is not None else None
    if shipment is None or leg is None:
        raise ShipmentNotRouted(
            t("shipment {shipment_id} is not routed to {country}",
              shipment_id=decision.shipment_id or "(unknown)", country=decision.country))
    content = decision.to_dict() | {"shipment_id": shipment.id}
    payload = content | ({"on_behalf_of": on_behalf_of, "keyed_in_by": actor_id}
                         if on_behalf_of else {})
    existing = uow.decisions.get(decision.country, decision.decision_id)
    if existing is not None:
        stored = json.loads(existing.decision_json)
        if {k: v for k, v in stored.items() if k not in _KEYED_IN} == content:
            return Recorded(existing, False, shipment)
        raise DecisionConflict(
            t("decision {decision_id} of {country} was already recorded with other content; "
              "decision ids cannot be reused", decision_id=decision.decision_id,
              country=decision.country))
    if leg.status in _FINAL and decision.kind is not DecisionKind.RELEASED:
        raise DecisionRefused(
            t("the {country} leg is already released; a {kind} decision cannot follow",
              country=decision.country, kind=str(decision.kind)), code="decision.leg-released")
    for gate in gates:
        gate(uow, shipment, leg, decision, context or {})
    row = uow.decisions.add(DecisionRow(
        country=decision.country, decision_id=decision.decision_id, shipment_id=shipment.id,
        delivery_id=decision.delivery_id, kind=str(decision.kind),
        customs_reference=decision.customs_reference, decision_json=json.dumps(payload),
        signed_xml=decision.signed_xml,
        signature_report=json.dumps(signature_report) if signature_report else None,
        source=source, actor_id=actor_id, created_at=utcnow()))
    previous = leg.status
    leg.status = LEG_STATUS[decision.kind]
    uow.events.append(shipment.id, f"customs.{decision.kind}", {
        **payload, "leg_status": leg.status, "previous_leg_status": previous, "source": source,
        "signed": decision.signed_xml is not None}, actor_id=actor_id)
    if decision.kind is DecisionKind.ACKNOWLEDGED and decision.delivery_id:
        delivery = uow.deliveries.get(decision.delivery_id)
        if delivery is not None and delivery.country == decision.country and \
                delivery.status != DeliveryStatus.ACKNOWLEDGED:
            acknowledge_delivery(uow, delivery.id, country=decision.country,
                                 actor_id=actor_id or f"customs:{decision.country}",
                                 reference=decision.customs_reference,
                                 on_behalf_of=on_behalf_of)
    uow.flush()
    return Recorded(row, True, shipment)


def verify_decision_signature(decision: CustomsDecision, checker: SignatureChecker | None
                              ) -> dict[str, Any] | None:
    """Verify a signed decision against its country's trust list; the report, or None when
    the decision is unsigned. A signature that does not verify (or chains to another
    country) refuses the decision (``decision.signature-invalid``)."""
    if not decision.signed_xml:
        return None
    from signing.safexml import XmlError, parse_xml

    try:
        tree = parse_xml(decision.signed_xml)
    except XmlError as exc:
        raise DecisionRefused(t("the signed decision is not safe XML: {error}", error=exc.message),
                              code="decision.signature-invalid") from None
    check = checker.check(tree, decision.signed_xml, country=decision.country) \
        if checker is not None else None
    if check is None or not check.present or not check.valid:
        reason: str | Text
        if check is not None and check.present:
            reason = str(check.report.get("reason"))
        elif check is None:
            reason = t("no trust list to check it against")
        else:
            reason = t("the decision carries no signature")
        raise DecisionRefused(
            t("the {country} customs signature on decision {decision_id} does not verify: "
              "{reason}", country=decision.country, decision_id=decision.decision_id,
              reason=reason), code="decision.signature-invalid")
    return check.report
