"""Customs answers brought back into tracking: the decisions that came with deliveries'
answers (kept by the dispatcher in the transaction of the delivery's outcome, see
:class:`~exchange.store.deliveries.ReceivedDecisionRow`) and those waiting at the national
side (a decisions URL, a CUSRES inbox folder)."""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adapters.contract import Adapter, CustomsDecision
from adapters.errors import AdapterError
from exchange.delivery.decisions import DecisionGate, record_decision, verify_decision_signature
from exchange.delivery.errors import DecisionRefused, ShipmentNotRouted
from exchange.store.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from exchange.documents.pipeline import SignatureChecker

__all__ = ["DecisionCollector"]

log = logging.getLogger(__name__)


class DecisionCollector:
    """Brings customs answers back: decisions that came with a delivery's answer, and those
    waiting at the national side (a decisions URL, a CUSRES inbox folder). Each decision is
    stored idempotently by (country, decision id); the national side is told to forget a
    batch only after it is stored. Answers that cannot be read, or that name a shipment not
    routed to that country, are logged with their reason and change nothing."""

    def __init__(self, uow_factory: UnitOfWorkFactory, adapters: Mapping[str, Adapter], *,
                 gates: Sequence[DecisionGate] = (), checker: SignatureChecker | None = None):
        self.uow_factory = uow_factory
        self.adapters = adapters
        self.gates = tuple(gates)
        self.checker = checker  # verifies signed decisions against the country's trust list
        self.refused: list[str] = []

    def record(self, decisions: Iterable[CustomsDecision], *, source: str) -> int:
        stored = 0
        for decision in decisions:
            try:
                report = verify_decision_signature(decision, self.checker)
                with self.uow_factory.writing() as uow:
                    if record_decision(uow, decision, actor_id=None, source=source,
                                       gates=self.gates, signature_report=report).created:
                        stored += 1
                    uow.commit()
            except (ShipmentNotRouted, DecisionRefused) as exc:
                self._refuse(decision, exc)
        return stored

    def drain(self, *, limit: int = 200) -> int:
        """Record the decisions kept from deliveries' answers (oldest first), each in the
        transaction that deletes it from the kept ones; a refused one is logged and deleted,
        one that fails otherwise (the database is away) stays for the next drain. Returns
        how many were newly stored."""
        stored = 0
        while True:
            with self.uow_factory.reading() as uow:
                kept = [(r.id, r.source, r.decision_json, r.signed_xml)
                        for r in uow.decisions.received(limit)]
            for received_id, source, data, signed_xml in kept:
                decision = dataclasses.replace(CustomsDecision.from_dict(json.loads(data)),
                                               signed_xml=signed_xml)
                refusal: Exception | None = None
                report: dict[str, Any] | None = None
                try:
                    report = verify_decision_signature(decision, self.checker)
                except DecisionRefused as exc:
                    refusal = exc
                with self.uow_factory.writing() as uow:
                    if not uow.decisions.forget_received(received_id):
                        continue  # another dispatcher recorded it
                    if refusal is None:
                        try:
                            if record_decision(uow, decision, actor_id=None, source=source,
                                               gates=self.gates,
                                               signature_report=report).created:
                                stored += 1
                        except (ShipmentNotRouted, DecisionRefused) as exc:
                            refusal = exc
                            uow.rollback()
                            uow.decisions.forget_received(received_id)
                    if refusal is not None:
                        self._refuse(decision, refusal)
                    uow.commit()
            if len(kept) < limit:
                return stored

    def _refuse(self, decision: CustomsDecision, exc: Exception) -> None:
        message = f"{decision.country} decision {decision.decision_id}: {exc}"
        self.refused.append(message)
        log.warning("customs decision refused: %s", message, extra={"country": decision.country})

    def collect(self) -> int:
        stored = self.drain()
        for country, adapter in self.adapters.items():
            try:
                batch = adapter.collect_decisions()
            except AdapterError as exc:
                log.warning("collecting %s decisions failed: %s", country, exc,
                            extra={"country": country})
                continue
            for error in batch.errors:
                self.refused.append(f"{country}: {error.code}: {error}")
                log.warning("unreadable answer from %s customs: %s", country, error,
                            extra={"country": country})
            stored += self.record(batch.decisions, source=f"adapter:{adapter.kind}")
            try:
                adapter.confirm_collected(batch)
            except AdapterError as exc:  # stored idempotently: the next poll repeats nothing
                log.warning("confirming %s decisions failed: %s", country, exc,
                            extra={"country": country})
        return stored
