"""The outbox dispatcher: claim due deliveries, hand them to adapters, record the outcome.

    dispatcher = Dispatcher(uow_factory, adapters, policy=RetryPolicy(), concurrency=8)
    dispatcher.run_once()           # one batch; returns how many deliveries were attempted
    dispatcher.run(stop_event)      # until stop_event is set

:func:`exchange.bootstrap.build_dispatcher` wires one from the settings and the members file
(one adapter per member, the hub's envelope signer, the API's decision gates).

Any number of dispatchers may run against one database (several processes, several hosts):
they coordinate only through the rows' leases (see :mod:`exchange.store.deliveries`). A
delivery is at-least-once: a dispatcher killed after the receiver got a document but before
the outcome was recorded sends it again, with the same delivery id.

**What a crash costs.** A dispatcher holds at most ``concurrency`` deliveries that were
handed to a receiver and whose outcome is not recorded yet, so a ``kill -9`` makes at most
that many re-sends (``tests/e2e/test_dispatch_crash.py`` measures it):

* a *slot* is taken when a row is claimed and given back only when the outcome of its push
  is committed; a running dispatcher claims only as many rows as it has free slots, so
  nothing sits claimed and leased waiting its turn while a batch ahead of it is pushed;
* an outcome is written as soon as its push returns: the loop wakes when a push finishes,
  gives the pushes still on the wire at most ``record_window`` (10 ms) to finish too, and
  writes what finished in one transaction, which also claims rows for the slots it frees.
  Outcomes that finish during a write go in the next one. The window is the price of the
  bound: a dispatcher writes at most ``concurrency`` outcomes per transaction (its old
  batch flush wrote a whole batch), so the window makes each write carry close to that
  many (about 8 at concurrency 8, against 4 to 5 with 2 ms) for a cost of a few
  milliseconds on a delivery that finished while others were still on the wire; a lone
  push is written at once;
* the leases of the rows it holds are renewed every third of ``lease_seconds`` while their
  pushes are on the wire (in the same transaction when one is due), so a lease ends only
  when its dispatcher is gone or cannot reach the database for two thirds of it, never
  under a live push of a working dispatcher; a row whose lease was lost anyway is not
  pushed, and its outcome is not recorded over another dispatcher's.

Outcomes: the adapter's :class:`~adapters.contract.DeliveryResult` maps to a status
(``delivered``, ``delivered-with-warnings``, ``acknowledged``, ``sent`` when the receiver
still has to pull or answer, ``rejected`` with the receiver's reason); a
:class:`~adapters.errors.RetryableDeliveryError` schedules a retry with exponential backoff
and jitter until ``max_attempts``, then ``dead``; a
:class:`~adapters.errors.PermanentDeliveryError` is ``dead`` at once.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from adapters.contract import Adapter, DeliveryResult
from exchange.delivery.attempts import (
    Envelope,
    Outcome,
    RetryPolicy,
    attempt,
    outcome_of,
    read_envelopes,
)
from exchange.delivery.collector import DecisionCollector
from exchange.store.deliveries import ClaimedDelivery, ReceivedDecisionRow
from exchange.store.outages import PauseLog, log_failure
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWorkFactory


__all__ = [
    "Dispatcher",
    "RetryPolicy",
    "run_dispatcher",
    "worker_id",
]

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _received(planned: Sequence[tuple[ClaimedDelivery, DeliveryResult | None, dict[str, Any],
                                      str, dict[str, Any]]],
              recorded: set[str], now: datetime) -> list[ReceivedDecisionRow]:
    """The decisions that came with the recorded outcomes' answers, to keep until recorded."""
    return [ReceivedDecisionRow(delivery_id=row.id, country=decision.country,
                                source=f"adapter:{row.adapter}"[:32],
                                decision_json=json.dumps(decision.to_dict()),
                                signed_xml=decision.signed_xml, received_at=now)
            for row, result, _, _, _ in planned
            if result is not None and row.id in recorded for decision in result.decisions]


class Dispatcher:
    """Pushes with up to *concurrency* threads; each push holds a slot from the claim of its
    row until its outcome is committed (see the module docstring). *batch_size* caps one
    claim (:meth:`run_once` claims that many, pushed *concurrency* at a time)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, adapters: Mapping[str, Adapter], *,
                 policy: RetryPolicy | None = None, batch_size: int = 50,
                 concurrency: int = 4, worker: str | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_answers: Callable[[], object] | None = None,
                 record_window: float = 0.010):
        self.uow_factory = uow_factory
        self.adapters = adapters
        self.policy = policy or RetryPolicy()
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self.worker = worker or worker_id()
        self.clock = clock
        self.on_answers = on_answers
        self.record_window = record_window
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dispatch")
        # on_answers (record the decisions that came with answers) runs after the commit
        # that kept them, off the loop
        self._after = ThreadPoolExecutor(1, thread_name_prefix="dispatch-after")
        self._after_done: list[Future[None]] = []
        # One turn of the loop at a time (step, flush, run_once: a close() from another
        # thread waits for the running turn); the state below is guarded by _changed,
        # which a finished push notifies.
        self._turn = threading.RLock()
        self._changed = threading.Condition()
        self._queued: deque[tuple[ClaimedDelivery, Envelope]] = deque()  # not started
        self._running: dict[str, ClaimedDelivery] = {}                   # on the wire
        self._finished: list[tuple[ClaimedDelivery, Outcome]] = []       # not recorded
        self._renew_at = 0.0  # time.monotonic() when the held leases are next renewed

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event, *, idle_sleep: float = 0.5) -> None:
        """Deliver until *stop* is set, then record what is still unrecorded (a lost
        database pauses it: see :class:`~exchange.store.outages.PauseLog`)."""
        pauses = PauseLog("dispatcher", log)
        try:
            while not stop.is_set():
                try:
                    done = self.step()
                except Exception as exc:  # a database restart only delays delivery
                    if not pauses.paused(exc, retry_seconds=idle_sleep):
                        log.exception("dispatch step failed; retrying after a pause")
                    stop.wait(idle_sleep)
                    continue
                pauses.resumed()
                if not done:
                    self.idle(stop, idle_sleep)
        finally:
            self.flush(quiet=True)

    def run_once(self) -> int:
        """Claim one batch (up to *batch_size* rows), push it *concurrency* at a time and
        record every outcome (as the pushes return) before returning. Returns how many
        deliveries were attempted."""
        with self._turn:
            self.flush()
            claimed = self._write(claim=self.batch_size)
            self._drain()
            self._settle_after()
            return claimed

    def step(self) -> int:
        """One turn of a running dispatcher: wait until a slot is free or a push has
        finished (at most ``record_window`` more for the pushes still on the wire), then in
        one transaction record the finished outcomes, renew the held leases when due and
        claim due rows for the free slots, and start their pushes. Returns how many rows
        were claimed: 0 only when a slot was free and nothing was due. Call :meth:`flush`
        before stopping (:meth:`run` and :meth:`close` do)."""
        with self._turn:
            while True:
                with self._changed:
                    self._changed.wait_for(
                        lambda: (self._finished or self._held() < self.concurrency
                                 or self._renewal_due()), self._until_renewal())
                    self._coalesce()
                    free = self.concurrency - len(self._queued) - len(self._running)
                claimed = self._write(claim=min(max(0, free), self.batch_size))
                self._start()
                if claimed or free > 0:
                    return claimed

    def idle(self, stop: threading.Event, timeout: float) -> None:
        """Nothing was due: wait up to *timeout* for *stop* or, while pushes are on the
        wire, for one of them to finish (its outcome is then recorded at once)."""
        with self._changed:
            if self._finished:
                return
            if self._running:
                self._changed.wait(min(timeout, self._until_renewal() or 0.0))
                return
        stop.wait(timeout)

    def flush(self, *, quiet: bool = False) -> None:
        """Wait for the pushes on the wire and record every outcome not recorded yet.
        *quiet* (when stopping): a failure is logged, not raised; those rows are sent
        again after their lease, as after a crash."""
        with self._turn:
            try:
                self._drain()
            except Exception as exc:
                if not quiet:
                    raise
                log_failure(log, exc, "recording the last outcomes failed; their deliveries "
                            "will be attempted again when their lease ends")
            self._settle_after()

    def close(self) -> None:
        self.flush(quiet=True)
        self._after.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        for adapter in self.adapters.values():
            adapter.close()

    # ------------------------------------------------------------- the slots
    def _held(self) -> int:
        """Rows claimed and not recorded: queued, on the wire, or finished (under the lock)."""
        return len(self._queued) + len(self._running) + len(self._finished)

    def _renewal_due(self) -> bool:
        return bool(self._queued or self._running) and time.monotonic() >= self._renew_at

    def _until_renewal(self) -> float | None:
        """Seconds until the held leases are due for renewal (None: nothing is held)."""
        if not (self._queued or self._running):
            return None
        return max(0.0, self._renew_at - time.monotonic())

    def _coalesce(self) -> None:
        """With outcomes to write and pushes still on the wire, give those pushes up to
        ``record_window`` seconds to finish, so that they are written together."""
        if self._finished and self._running and self.record_window > 0:
            self._changed.wait_for(lambda: not self._running, self.record_window)

    def _drain(self) -> None:
        """Start the queued pushes and record outcomes as they come, until nothing is
        queued, on the wire or unrecorded."""
        while True:
            self._start()
            with self._changed:
                if not self._held():
                    return
                self._changed.wait_for(lambda: self._finished or self._renewal_due(),
                                       self._until_renewal())
                self._coalesce()
            self._write(claim=0)

    def _start(self) -> None:
        """Start queued pushes while fewer than *concurrency* are pushed and unrecorded."""
        with self._changed:
            while self._queued and len(self._running) + len(self._finished) < self.concurrency:
                row, envelope = self._queued.popleft()
                self._running[row.id] = row
                self._pool.submit(self._push, row, envelope)

    def _push(self, row: ClaimedDelivery, envelope: Envelope) -> None:
        try:
            outcome = attempt(self.adapters, row, envelope)
        except BaseException as exc:  # not the adapter's (attempt() catches those): ours
            log.exception("delivery %s failed in the dispatcher", row.id,
                          extra={"delivery_id": row.id, "country": row.country})
            outcome = (None, f"dispatcher error: {type(exc).__name__}: {exc}", True)
        with self._changed:
            del self._running[row.id]
            self._finished.append((row, outcome))
            # Wake the loop for what it waits for (a first outcome to write; the last push
            # of a coalescing window), not for every push: each wake costs it the GIL.
            if len(self._finished) == 1 or not self._running:
                self._changed.notify_all()

    # ------------------------------------------------------------ the store
    def _write(self, *, claim: int) -> int:
        """One transaction: record the finished outcomes (and their events), renew the held
        leases when due, claim up to *claim* due rows and read their envelopes. Returns how
        many rows were claimed (queued for :meth:`_start`). On failure the outcomes stay to
        be written by the next call."""
        with self._changed:
            finished, self._finished = self._finished, []
            renew = [r.id for r, _ in self._queued] + list(self._running) \
                if self._renewal_due() else []
            held = {r.id for r, _ in self._queued} | set(self._running)
        if not (finished or renew or claim):
            return 0
        now, started = self.clock(), time.monotonic()  # the leases run from here
        lease = timedelta(seconds=self.policy.lease_seconds)
        planned = [(row, result, *outcome_of(row, result, error, retry, now=now,
                                             policy=self.policy))
                   for row, (result, error, retry) in finished]
        try:
            with self.uow_factory.writing() as uow:
                recorded: set[str] = set()
                if planned:
                    recorded = uow.deliveries.finish_many(
                        self.worker, [(row.id, values) for row, _, values, _, _ in planned],
                        now=now)
                    uow.events.append_many([(row.shipment_id, kind, event, None)
                                            for row, _, _, kind, event in planned
                                            if row.id in recorded])
                    received = _received(planned, recorded, now)
                    if received:  # recorded as decisions by DecisionCollector.drain
                        uow.decisions.keep_received(received)
                kept = uow.deliveries.renew(self.worker, renew, until=now + lease) \
                    if renew else set()
                rows = [r for r in uow.deliveries.claim(self.worker, limit=claim, lease=lease,
                                                        now=now) if r.id not in held] \
                    if claim > 0 else []
                assert uow.session is not None  # inside the unit of work
                envelopes = read_envelopes(uow.session, rows) if rows else {}
                uow.commit()
        except BaseException:
            with self._changed:
                self._finished[:0] = finished
            raise
        with self._changed:
            if renew or (rows and not held):
                self._renew_at = started + self.policy.renew_seconds
            lost = set(renew) - kept
            if lost:
                self._queued = deque(q for q in self._queued if q[0].id not in lost)
            self._queued.extend((row, envelopes[row.id]) for row in rows)
        for delivery_id in lost:
            log.warning("lost the lease of delivery %s while it waited or was on the wire",
                        delivery_id, extra={"delivery_id": delivery_id})
        self._recorded(planned, recorded, answered=bool(planned and received))
        return len(rows)

    def _recorded(self, planned: list[tuple[ClaimedDelivery, DeliveryResult | None,
                                            dict[str, Any], str, dict[str, Any]]],
                  recorded: set[str], *, answered: bool) -> None:
        """Log the committed outcomes; when decisions came with them, have *on_answers*
        record them (off the loop)."""
        for row, _result, values, _, _ in planned:
            if row.id not in recorded:
                log.warning("lost the lease of delivery %s; its outcome is not recorded",
                            row.id, extra={"delivery_id": row.id})
                continue
            log.info("delivery %s to %s: %s", row.id, row.country, values["status"],
                     extra={"delivery_id": row.id, "country": row.country,
                            "shipment_id": row.shipment_id})
        if answered and self.on_answers is not None:
            self._after_done = [f for f in self._after_done if not f.done()]
            # One drain records everything kept so far: a drain still waiting to start
            # will also take these, so none is queued behind it.
            if not any(not f.running() for f in self._after_done):
                self._after_done.append(self._after.submit(self._answered))

    def _answered(self) -> None:
        assert self.on_answers is not None
        try:
            self.on_answers()
        except Exception as exc:  # noqa: BLE001 - logged; kept: the next drain records them
            log_failure(log, exc, "recording the decisions that came with answers failed; "
                        "the next collection records them")

    def _settle_after(self) -> None:
        done, self._after_done = self._after_done, []
        for future in done:
            future.result()


def run_dispatcher(dispatcher: Dispatcher, collector: DecisionCollector, stop: threading.Event,
                   *, poll_seconds: float, collect_seconds: float) -> None:
    """Deliver and collect until *stop* is set (a database or adapter outage only delays;
    a lost database pauses each of the two, said once: see
    :class:`~exchange.store.outages.PauseLog`)."""
    next_collect = 0.0
    dispatching = PauseLog("dispatcher", log)
    collecting = PauseLog("decision collector", logging.getLogger(DecisionCollector.__module__))
    try:
        while not stop.is_set():
            try:
                done = dispatcher.step()
            except Exception as exc:
                if not dispatching.paused(exc, retry_seconds=poll_seconds):
                    log.exception("dispatch step failed; retrying after a pause")
                stop.wait(poll_seconds)
                done = -1
            else:
                dispatching.resumed()
            if time.monotonic() >= next_collect:
                try:
                    collector.collect()
                except Exception as exc:
                    if not collecting.paused(exc, retry_seconds=collect_seconds):
                        log.exception("collecting customs answers failed")
                else:
                    collecting.resumed()
                next_collect = time.monotonic() + collect_seconds
            if not done:
                dispatcher.idle(stop, min(poll_seconds, max(0.0, next_collect -
                                                             time.monotonic())))
    finally:
        dispatcher.flush(quiet=True)
