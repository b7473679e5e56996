"""The outbox dispatcher: claim due deliveries, hand them to adapters, record the outcome.

    dispatcher = Dispatcher(uow_factory, adapters, policy=RetryPolicy())
    dispatcher.run_once()           # one batch; returns how many deliveries were attempted
    dispatcher.run(stop_event)      # until stop_event is set (batches overlap: see step)

:func:`exchange.bootstrap.build_dispatcher` wires one from the settings and the members file
(one adapter per member, the hub's envelope signer, the API's decision gates).

Any number of dispatchers may run against one database (several processes, several hosts):
they coordinate only through the rows' leases (see :mod:`exchange.store.deliveries`). A
delivery is at-least-once: a dispatcher killed after the receiver got a document but before
the outcome was recorded sends it again, with the same delivery id.

Outcomes: the adapter's :class:`~adapters.contract.DeliveryResult` maps to a status
(``delivered``, ``delivered-with-warnings``, ``acknowledged``, ``sent`` when the receiver
still has to pull or answer, ``rejected`` with the receiver's reason); a
:class:`~adapters.errors.RetryableDeliveryError` schedules a retry with exponential backoff
and jitter until ``max_attempts``, then ``dead``; a
:class:`~adapters.errors.PermanentDeliveryError` is ``dead`` at once.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from adapters.contract import Adapter, CustomsDecision, DeliveryEnvelope, DeliveryResult
from adapters.contract import DeliveryStatus as Sent
from adapters.errors import AdapterError, PermanentDeliveryError, RetryableDeliveryError
from exchange.delivery.decisions import (
    DecisionGate,
    DecisionRefused,
    ShipmentNotRouted,
    record_decision,
    verify_decision_signature,
)
from exchange.store.deliveries import DeliveryRow, DeliveryStatus
from exchange.store.models import DocumentRow, LegRow
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from exchange.documents.pipeline import SignatureChecker

__all__ = [
    "DecisionCollector",
    "Dispatcher",
    "RetryPolicy",
    "run_dispatcher",
    "worker_id",
]

log = logging.getLogger(__name__)

# What an envelope needs, read as plain rows (no ORM objects for a batch's documents).
_DOCS, _LEGS = DocumentRow.__table__, LegRow.__table__
_ENVELOPE_DOCUMENTS = select(_DOCS.c.id, _DOCS.c.version, _DOCS.c.root, _DOCS.c.sealed,
                             _DOCS.c.sha256).where(
    _DOCS.c.id.in_(bindparam("ids", expanding=True)))
_ROUTES = select(_LEGS.c.shipment_id, _LEGS.c.country).where(
    _LEGS.c.shipment_id.in_(bindparam("ids", expanding=True))).order_by(
    _LEGS.c.shipment_id, _LEGS.c.seq)

_RESULT_STATUS = {
    Sent.DELIVERED: DeliveryStatus.DELIVERED,
    Sent.DELIVERED_WITH_WARNINGS: DeliveryStatus.DELIVERED_WITH_WARNINGS,
    Sent.ACKNOWLEDGED: DeliveryStatus.ACKNOWLEDGED,
    Sent.AWAITING_PULL: DeliveryStatus.SENT,
    Sent.REJECTED: DeliveryStatus.REJECTED,
}


def worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 900.0
    lease_seconds: float = 120.0
    """How long a claimed delivery stays with its dispatcher before others may take it."""

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        return timedelta(seconds=ceiling * (rng or random).uniform(0.5, 1.0))


class Dispatcher:
    def __init__(self, uow_factory: UnitOfWorkFactory, adapters: Mapping[str, Adapter], *,
                 policy: RetryPolicy = RetryPolicy(), batch_size: int = 50,
                 concurrency: int = 4, worker: str | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_result: Callable[[DeliveryRow, DeliveryResult], None] | None = None):
        self.uow_factory = uow_factory
        self.adapters = adapters
        self.policy = policy
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.worker = worker or worker_id()
        self.clock = clock
        self.on_result = on_result
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dispatch") \
            if self.concurrency > 1 else None
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix="dispatch-record")
        self._recording: Future[None] | None = None
        self._delivered: tuple[list[DeliveryRow], list[tuple[
            DeliveryResult | None, str | None, bool]]] | None = None

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event, *, idle_sleep: float = 0.5) -> None:
        """Deliver until *stop* is set, then record what is still unrecorded."""
        try:
            while not stop.is_set():
                try:
                    done = self.step()
                except Exception:  # a database restart only delays delivery
                    log.exception("dispatch batch failed; retrying after a pause")
                    done = 0
                if not done:
                    stop.wait(idle_sleep)
        finally:
            self.flush(quiet=True)

    def run_once(self) -> int:
        """Claim one batch, deliver it (in parallel threads), record every outcome in one
        transaction before returning. Returns how many deliveries were attempted."""
        self.flush()
        done = self.step()
        self.flush()
        return done

    def step(self) -> int:
        """One turn of a running dispatcher: claim the next batch, then record the previous
        batch's outcomes on a background thread while this one is on the wire, so the
        store's work overlaps the network's. Returns how many deliveries were claimed.
        Call :meth:`flush` before stopping (:meth:`run` and :meth:`close` do).

        The claim comes first: on SQLite it takes the one writer lock, which the recording
        then waits for, never the other way round; the previous batch's rows are still
        leased, so they are not claimed again. A dispatcher that dies with a batch
        delivered but not recorded sends it again after the lease, with the same ids."""
        rows = self._claim()
        self._settle()
        if self._delivered is not None:
            batch, self._delivered = self._delivered, None
            self._recording = self._recorder.submit(self._record_all, *batch)
        if rows:
            self._delivered = (rows, self._deliver(rows))
        return len(rows)

    def flush(self, *, quiet: bool = False) -> None:
        """Wait for the recording in progress and record the last delivered batch. *quiet*
        (when stopping): a failure is logged, not raised; the rows are sent again after
        their lease, as after a crash."""
        self._settle()
        if self._delivered is not None:
            batch, self._delivered = self._delivered, None
            try:
                self._record_all(*batch)
            except Exception:
                if not quiet:
                    raise
                log.exception("recording the last batch's outcomes failed; its deliveries "
                              "will be attempted again when their lease ends")

    def _settle(self) -> None:
        recording, self._recording = self._recording, None
        if recording is None:
            return
        try:
            recording.result()
        except Exception:  # the rows stay leased; they are sent again when the lease ends
            log.exception("recording a batch's outcomes failed; its deliveries will be "
                          "attempted again when their lease ends")

    def _claim(self) -> list[DeliveryRow]:
        now = self.clock()
        with self.uow_factory.writing() as uow:
            rows = uow.deliveries.claim(self.worker, limit=self.batch_size,
                                        lease=timedelta(seconds=self.policy.lease_seconds),
                                        now=now)
            uow.commit()
        return rows

    def _deliver(self, rows: list[DeliveryRow]
                 ) -> list[tuple[DeliveryResult | None, str | None, bool]]:
        envelopes = self._envelopes(rows)
        attempt = lambda r: self._attempt(r, envelopes.get(r.id))
        return list(self._pool.map(attempt, rows)) if self._pool else list(map(attempt, rows))

    def close(self) -> None:
        self.flush(quiet=True)
        self._recorder.shutdown(wait=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for adapter in self.adapters.values():
            adapter.close()

    # ------------------------------------------------------------ one delivery
    def _envelopes(self, rows: list[DeliveryRow]) -> dict[str, DeliveryEnvelope | str]:
        out: dict[str, DeliveryEnvelope | str] = {}
        with self.uow_factory.reading() as uow:
            session = uow.session
            assert session is not None  # inside the unit of work
            docs = {doc.id: doc for doc in session.execute(
                _ENVELOPE_DOCUMENTS, {"ids": sorted({r.document_id for r in rows})})}
            routes: dict[str, list[str]] = {}
            for shipment_id, country in session.execute(
                    _ROUTES, {"ids": sorted({r.shipment_id for r in rows})}):
                routes.setdefault(shipment_id, []).append(country)
        for row in rows:
            doc, route = docs.get(row.document_id), tuple(routes.get(row.shipment_id, ()))
            if doc is None or not route or doc.sealed is None:
                out[row.id] = "the document or shipment of this delivery is missing"
                continue
            try:
                out[row.id] = DeliveryEnvelope(
                    delivery_id=row.id, document_id=doc.id, document_version=doc.version,
                    shipment_id=row.shipment_id, route=route, sender_country=route[0],
                    receiver_country=row.country, document_type=doc.root,
                    document=doc.sealed, original_sha256=doc.sha256, attempt=row.attempts)
            except ValueError as exc:
                out[row.id] = f"cannot build the delivery envelope: {exc}"
        return out

    def _attempt(self, row: DeliveryRow, envelope: DeliveryEnvelope | str | None
                 ) -> tuple[DeliveryResult | None, str | None, bool]:
        adapter = self.adapters.get(row.country)
        result: DeliveryResult | None = None
        error: str | None = None
        retry = False
        if isinstance(envelope, str) or envelope is None:
            error = envelope or "no envelope"
        elif adapter is None:
            error, retry = f"no adapter is configured for {row.country}", True
        else:
            try:
                result = adapter.deliver(envelope)
            except RetryableDeliveryError as exc:
                error, retry = f"{exc.code}: {exc}", True
            except PermanentDeliveryError as exc:
                error = f"{exc.code}: {exc}"
            except AdapterError as exc:
                error = f"{exc.code}: {exc}"
            except Exception as exc:  # an adapter bug must not kill the dispatcher
                log.exception("adapter %s raised", row.adapter,
                              extra={"delivery_id": row.id, "country": row.country})
                error, retry = f"adapter error: {type(exc).__name__}: {exc}", True
        return result, error, retry

    def _record_all(self, rows: list[DeliveryRow],
                    outcomes: list[tuple[DeliveryResult | None, str | None, bool]]) -> None:
        """Record a batch's outcomes and their events in one transaction (a few statements,
        not several per delivery). A crash before the commit sends the batch again, with the
        same delivery ids."""
        now = self.clock()
        planned = [(row, result, *self._outcome(row, result, error, retry, now))
                   for row, (result, error, retry) in zip(rows, outcomes)]
        with self.uow_factory.writing() as uow:
            held = uow.deliveries.finish_many(
                self.worker, [(row.id, values) for row, _, values, _, _ in planned], now=now)
            uow.events.append_many([(row.shipment_id, kind, event, None)
                                    for row, _, _, kind, event in planned if row.id in held])
            uow.commit()
        for row, result, values, kind, _ in planned:
            if row.id not in held:
                log.warning("lost the lease of delivery %s; its outcome is not recorded",
                            row.id, extra={"delivery_id": row.id})
                continue
            log.info("delivery %s to %s: %s", row.id, row.country, values["status"],
                     extra={"delivery_id": row.id, "country": row.country,
                            "shipment_id": row.shipment_id})
            if result is not None and self.on_result is not None:
                self.on_result(row, result)

    def _outcome(self, row: DeliveryRow, result: DeliveryResult | None, error: str | None,
                 retry: bool, now: datetime) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(column values, event kind, event data) for one attempt's outcome."""
        values: dict[str, Any]
        if result is not None:
            status = _RESULT_STATUS[result.status]
            values = {"status": status.value, "last_error": None, "reason": result.reason,
                      "receipt_reference": result.receipt_reference,
                      "first_sent_at": row.first_sent_at or now,
                      "completed_at": None if status is DeliveryStatus.SENT else now}
            event = {"delivery_id": row.id, "country": row.country, "status": status.value,
                     "attempt": row.attempts, "document_id": row.document_id,
                     "reason": result.reason, "warnings": list(result.warnings),
                     "receipt_reference": result.receipt_reference,
                     "duplicate": result.duplicate}
            return values, f"delivery.{status.value}", event
        if retry and row.attempts < self.policy.max_attempts:
            delay = self.policy.delay(row.attempts)
            values = {"status": DeliveryStatus.RETRYING.value, "last_error": error,
                      "next_attempt_at": now + delay}
            event = {"delivery_id": row.id, "country": row.country, "attempt": row.attempts,
                     "error": error, "next_attempt_at": (now + delay).isoformat()}
            return values, "delivery.retrying", event
        values = {"status": DeliveryStatus.DEAD.value, "last_error": error, "completed_at": now}
        event = {"delivery_id": row.id, "country": row.country, "attempt": row.attempts,
                 "error": error}
        return values, "delivery.dead", event


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
                message = f"{decision.country} decision {decision.decision_id}: {exc}"
                self.refused.append(message)
                log.warning("customs decision refused: %s", message,
                            extra={"country": decision.country})
        return stored

    def on_result(self, row: DeliveryRow, result: DeliveryResult) -> None:
        if result.decisions:
            self.record(result.decisions, source=f"adapter:{row.adapter}")

    def collect(self) -> int:
        stored = 0
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


def run_dispatcher(dispatcher: Dispatcher, collector: DecisionCollector, stop: threading.Event,
                   *, poll_seconds: float, collect_seconds: float) -> None:
    """Deliver and collect until *stop* is set (a database or adapter outage only delays)."""
    next_collect = 0.0
    try:
        while not stop.is_set():
            try:
                done = dispatcher.step()
            except Exception:
                log.exception("dispatch batch failed; retrying after a pause")
                done = 0
            if time.monotonic() >= next_collect:
                try:
                    collector.collect()
                except Exception:
                    log.exception("collecting customs answers failed")
                next_collect = time.monotonic() + collect_seconds
            if not done:
                stop.wait(poll_seconds)
    finally:
        dispatcher.flush(quiet=True)
