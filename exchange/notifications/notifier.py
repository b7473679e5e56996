"""The notifier: fans the event log out to subscriptions and sends the notifications, with
the outbox's lease, retries, backoff and dead letters (:mod:`exchange.delivery`).

    notifier = Notifier(uow_factory, box=secrets, settings=settings.notifications,
                        policy=RetryPolicy(...))
    notifier.run(stop)        # until stop is set (``exchange dispatch`` runs it in a thread)
    notifier.run_once()       # fan out and send what is due, then return

**Fan-out.** A transaction reads the streams whose head is ahead of their cursor
(:mod:`exchange.store.notifications`), their events after the cursor, and writes one
notification row per (subscription, event) the subscription's kinds match and its party
may read (:func:`exchange.documents.tracking.readable_shipments` with the party's
:func:`~exchange.parties.keys.scope_of_party`: the API's rule), moving the cursors in the
same transaction. One fan-out at a time (an advisory lock on PostgreSQL). A subscription
hears of events that occurred after it was made.

**Sending.** The loop claims up to ``AHEAD`` rows per sending slot into a queue; up to
``concurrency`` senders take them one after another and leave their outcomes for the loop,
which records them (and claims more) in one transaction, while the senders go on: the wire
does not wait for the database. A notifier killed at any moment re-sends at most the rows
it held (``AHEAD * concurrency``, claimed and not recorded), with the same event id, and
loses none: their leases end and they are claimed again. Only the first undelivered
notification of a (subscription, shipment) is ``pending`` (the others ``waiting``;
recording a delivery promotes the next one in the same transaction), so a subscriber gets
a shipment's events in order: a later one waits while an earlier one is retried. A
notification out of attempts is ``dead`` and pauses its subscription (shown to operators:
``exchange subscriptions list``, ``GET /v1/subscriptions``); resuming it queues its dead
notifications again, in order.

A notification's lease is not renewed: it is claimed at most ``AHEAD - 1`` requests before
its own, each lasting at most ``notifications.timeout_seconds``, which
:func:`exchange.bootstrap.build_notifier` keeps under ``lease / (AHEAD + 1)``.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from exchange.config import NotificationsSettings
from exchange.delivery.attempts import RetryPolicy
from exchange.delivery.dispatcher import worker_id
from exchange.documents.tracking import readable_shipments
from exchange.domain import Party, PartyKind
from exchange.notifications.kinds import RELEASED, kinds_of
from exchange.notifications.sender import Sender, SendResult, event_body
from exchange.notifications.subscriptions import SecretSealer, open_secret
from exchange.parties.keys import scope_of_party
from exchange.store.notifications import (
    ClaimedNotification,
    NotificationRepository,
    NotificationStatus,
    StreamEvent,
    SubscriptionRow,
)
from exchange.store.outages import PauseLog, log_failure
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = ["AHEAD", "Notifier"]

log = logging.getLogger(__name__)

STREAMS_PER_FANOUT = 200
FULL_SCAN_SECONDS = 10.0
"""How often the fan-out reads every stream's head, not only those of recent events."""
GAP_SECONDS = 30.0
"""How long an event id skipped by the fan-out (taken by a transaction not committed yet)
is looked for again before the full scan is left to find it."""
MAX_GAP_IDS = 100_000
UNSTICK_SECONDS = 60.0
"""How often a fan-out also looks for a queue whose head is waiting behind nothing (none
should be: a recorded delivery promotes the next; a full scan, so rarely)."""
AHEAD = 4
"""Rows claimed and held per sending slot (queued, on the wire, or sent and not recorded):
the queue keeps the wire busy while the loop writes a transaction or fans out; a kill
re-sends at most ``AHEAD * concurrency``. A row waits in the queue at most ``AHEAD - 1``
requests of its sender, inside its lease (see :func:`exchange.bootstrap.build_notifier`)."""


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Notifier:
    def __init__(self, uow_factory: UnitOfWorkFactory, *, box: SecretSealer,
                 settings: NotificationsSettings, policy: RetryPolicy | None = None,
                 worker: str | None = None, sender: Sender | None = None,
                 clock: Callable[[], datetime] = utcnow, record_window: float = 0.010):
        self.uow_factory = uow_factory
        self.box = box
        self.settings = settings
        self.policy = policy or RetryPolicy()
        self.concurrency = settings.concurrency
        self.worker = worker or worker_id()
        self.sender = sender or Sender(settings)
        self.clock = clock
        self.record_window = record_window
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="notify")
        # The loop claims rows into _queued; up to `concurrency` senders take them one by
        # one and leave their results in _done for the loop to record (all under _wake).
        self._wake = threading.Condition()
        self._queued: deque[ClaimedNotification] = deque()
        self._done: list[tuple[ClaimedNotification, SendResult]] = []
        self._senders = 0
        self._held: set[int] = set()  # claimed by this notifier, outcome not recorded yet
        self._secrets: dict[tuple[str, str], str] = {}
        self._fanned_at = 0.0
        self._unstick_at = 0.0
        self._full_scan_at = 0.0
        self._seen_id: int | None = None  # the highest event id the fan-out has looked at
        self._gaps: dict[int, float] = {}  # event ids skipped -> until when to look again
        self.attempted = 0
        """Notifications claimed (and so sent) by this notifier so far."""

    # ------------------------------------------------------------------ fan-out
    def _behind(self, repo: NotificationRepository
                ) -> tuple[dict[str, tuple[int, int]], Callable[[], None]]:
        """The streams with events not fanned out, and what to remember once they are.

        Usually only the streams of the events with an id above the last one seen, or an
        id skipped then (a transaction that took it had not committed yet; looked for again
        for ``GAP_SECONDS``); at start and every ``FULL_SCAN_SECONDS`` all the heads, which
        catches anything else (a gap given up on). So the usual look costs what the new
        events cost, not the log's size."""
        now = time.monotonic()
        if self._seen_id is None:  # at start: from the newest event on, after a full scan
            seen, rows = repo.max_event_id(), []
        else:
            seen = self._seen_id
            rows = repo.recent_events(seen, sorted(self._gaps))
        ids = {event_id for _, event_id in rows}
        top = max(ids | {seen})
        gaps = {i: until for i, until in self._gaps.items() if i not in ids and until > now}
        if top - seen <= MAX_GAP_IDS:
            gaps.update((i, now + GAP_SECONDS) for i in set(range(seen + 1, top)) - ids)
        full = now >= self._full_scan_at
        if full:
            behind = repo.streams_behind(STREAMS_PER_FANOUT)
        else:
            recent = sorted({s for s, _ in rows if not s.startswith("party:")})
            behind = repo.streams_behind(STREAMS_PER_FANOUT, among=recent) if recent else {}

        def remember() -> None:
            """Once *behind* is fanned out (or found empty): the next look starts here."""
            self._gaps = gaps
            if full:
                self._full_scan_at = now + FULL_SCAN_SECONDS
            if len(behind) < STREAMS_PER_FANOUT:
                self._seen_id = top
            else:  # more than one fan-out's worth: the whole range again next time
                self._full_scan_at = 0.0
        return behind, remember

    def fan_out(self) -> int:
        """One fan-out transaction; returns how many events it read (0: none waiting)."""
        if time.monotonic() < self._unstick_at:  # an idle look takes no write lock
            with self.uow_factory.lookups() as uow:
                behind, remember = self._behind(uow.notifications)
            if not behind:
                remember()
                return 0
        with self.uow_factory.writing() as uow:
            repo = uow.notifications
            if not repo.take_fanout_lock():
                return 0
            if time.monotonic() >= self._unstick_at:  # the safety net of the queues' order
                self._unstick_at = time.monotonic() + UNSTICK_SECONDS
                if repo.promote_stuck(now=self.clock()):
                    log.warning("notifications waiting behind nothing were made pending")
                    uow.commit()
                    return 1
            behind, remember = self._behind(repo)
            if not behind:
                remember()
                return 0
            subscriptions = list(repo.subscriptions())
            if not subscriptions:  # nobody to tell: the cursors catch up with the heads
                repo.move_cursors({s: head for s, (_, head) in behind.items()})
                uow.commit()
                remember()
                return 0
            events = repo.events_after({s: c for s, (c, _) in behind.items()},
                                       self.settings.batch_events)
            repo.add_notifications(self._notifications(uow, subscriptions, events))
            moved: dict[str, int] = {}
            for event in events:
                moved[event.stream] = max(moved.get(event.stream, 0), event.seq)
            if len(events) < self.settings.batch_events:  # every behind stream was read
                moved.update({s: head for s, (_, head) in behind.items() if s not in moved})
            repo.move_cursors(moved)
            uow.commit()
            if len(events) < self.settings.batch_events:  # every stream behind was read
                remember()
            else:
                self._full_scan_at = 0.0  # more to read: look at everything next time
            return len(events)

    def _notifications(self, uow: UnitOfWork, subscriptions: list[SubscriptionRow],
                       events: list[StreamEvent]) -> list[dict[str, object]]:
        streams = sorted({e.stream for e in events})
        readable: dict[str, set[str]] = {}
        for party_id in sorted({s.party_id for s in subscriptions}):
            row = uow.parties.get(party_id)
            if row is None:
                readable[party_id] = set()
                continue
            party = Party(id=row.id, kind=PartyKind(row.kind), name=row.name,
                          country=row.country)
            readable[party_id] = readable_shipments(uow, scope_of_party(party), streams)
        wanted = [(s, set(s.kinds), _aware(s.created_at)) for s in subscriptions]
        now, out = self.clock(), []
        queued: set[tuple[str, str]] | None = None  # read when the first row is made
        for event in events:
            kinds = kinds_of(event.kind, cleared=partial(self._cleared, uow, event))
            if not kinds:
                continue
            occurred = datetime.fromisoformat(event.occurred_at)
            for sub, sub_kinds, since in wanted:
                types = [k.value for k in kinds if k in sub_kinds]
                if types and occurred >= since and event.stream in readable[sub.party_id]:
                    if queued is None:
                        queued = uow.notifications.open_queues(streams)
                    queue = (sub.id, event.stream)
                    status = NotificationStatus.WAITING if queue in queued \
                        else NotificationStatus.PENDING  # the head of its queue
                    queued.add(queue)
                    out.append({
                        "subscription_id": sub.id, "stream": event.stream, "seq": event.seq,
                        "event_id": event.id, "types_json": json.dumps(types),
                        "status": status.value, "attempts": 0,
                        "next_attempt_at": now, "created_at": now, "updated_at": now})
        return out

    @staticmethod
    def _cleared(uow: UnitOfWork, event: StreamEvent) -> bool:
        """Does this release leave every leg released, for the first time?"""
        assert event.kind == RELEASED
        route = set(uow.notifications.route(event.stream))
        repo = uow.notifications
        return bool(route) and route <= repo.released_countries(event.stream, up_to=event.seq) \
            and not route <= repo.released_countries(event.stream, up_to=event.seq - 1)

    # ------------------------------------------------------------------ sending
    def _push(self, n: ClaimedNotification) -> SendResult:
        key = (n.subscription_id, n.secret)
        secret = self._secrets.get(key)
        if secret is None:
            secret = self._secrets[key] = open_secret(self.box, n.subscription_id, n.secret)
        return self.sender.send(n.url, secret, event_body(n), event_id=str(n.event_id),
                                attempt=n.attempts)

    def _outcome(self, n: ClaimedNotification, result: SendResult, now: datetime
                 ) -> tuple[dict[str, object], str | None]:
        """(the row's new values, why its subscription pauses or None)."""
        if result.delivered:
            return {"status": NotificationStatus.DELIVERED.value, "last_error": None,
                    "delivered_at": now}, None
        if result.retry and n.attempts < self.policy.max_attempts:
            return {"status": NotificationStatus.RETRYING.value, "last_error": result.error,
                    "next_attempt_at": now + self.policy.delay(n.attempts)}, None
        return {"status": NotificationStatus.DEAD.value, "last_error": result.error}, (
            f"the notification of event {n.event_id} (shipment {n.stream}) failed "
            f"{n.attempts} time(s), last: {result.error}")

    def _write(self, done: list[tuple[ClaimedNotification, SendResult]], claim: int
               ) -> list[ClaimedNotification]:
        """Record *done* and claim up to *claim* rows, in one transaction."""
        if not done and claim <= 0:
            return []
        now = self.clock()
        if not done:  # an idle look takes no write lock
            with self.uow_factory.lookups() as uow:
                if not uow.notifications.any_due(now):
                    return []
        planned = [(n, result, *self._outcome(n, result, now)) for n, result in done]
        with self.uow_factory.writing() as uow:
            repo = uow.notifications
            recorded = repo.finish(self.worker, [(n.id, values) for n, _, values, _ in planned],
                                   now=now) if planned else set()
            repo.promote([(n.subscription_id, n.stream) for n, result, _, _ in planned
                          if result.delivered and n.id in recorded], now=now)
            by_subscription: dict[str, list[tuple[SendResult, str | None]]] = {}
            for n, result, _, pause in planned:
                if n.id in recorded:
                    by_subscription.setdefault(n.subscription_id, []).append((result, pause))
            for sid, results in sorted(by_subscription.items()):
                failed = [r for r, _ in results if not r.delivered]
                pause = next((p for _, p in results if p), None)
                repo.note_outcomes(sid, delivered=len(failed) < len(results),
                                   failures=len(failed),
                                   error=failed[-1].error if failed else None,
                                   pause=pause, now=now)
            claimed = repo.claim(self.worker, limit=claim,
                                 lease=timedelta(seconds=self.policy.lease_seconds),
                                 now=now) if claim > 0 else []
            uow.commit()
        for n, result, values, pause in planned:
            extra = {"subscription_id": n.subscription_id, "shipment_id": n.stream}
            if n.id not in recorded:
                log.warning("lost the lease of notification %s; its outcome is not recorded",
                            n.id, extra=extra)
            elif pause:
                log.warning("subscription %s paused: %s", n.subscription_id, pause, extra=extra)
            elif not result.delivered:
                log.info("notification %s of event %s: %s (%s)", n.id, n.event_id,
                         values["status"], result.error, extra=extra)
        return claimed

    def step(self, *, fan_out_every: float = 0.05) -> int:
        """Record what finished, fan out when due, claim rows for the queue the senders
        take from; returns how many things happened (0: idle)."""
        with self._wake:
            done, self._done = self._done, []
        fanned = 0
        if time.monotonic() - self._fanned_at >= fan_out_every:
            fanned = self.fan_out()
            # a full fan-out leaves more waiting: the next step fans out again at once
            self._fanned_at = 0.0 if fanned >= self.settings.batch_events else time.monotonic()
        for n, _ in done:
            self._held.discard(n.id)
        claimed = [n for n in self._write(done, AHEAD * self.concurrency - len(self._held))
                   if n.id not in self._held]  # a row whose lease we hold already: ours
        self._held.update(n.id for n in claimed)
        with self._wake:
            self._queued.extend(claimed)
            while self._queued and self._senders < self.concurrency:
                self._senders += 1
                self._pool.submit(self._send)
        self.attempted += len(claimed)
        return fanned + len(done) + len(claimed)

    def _send(self) -> None:
        """A sender: push queued notifications one after another until the queue is empty.
        Senders go on while the loop writes a transaction or fans out, so the wire stays
        busy; what they finish waits in ``_done`` for the next write."""
        while True:
            with self._wake:
                if not self._queued:
                    self._senders -= 1
                    self._wake.notify_all()
                    return
                n = self._queued.popleft()
            try:
                result = self._push(n)
            except Exception as exc:  # ours, not the subscriber's (the sender catches those)
                log.exception("notification %s failed in the notifier", n.id)
                result = SendResult(False, None, f"notifier error: {type(exc).__name__}: "
                                    f"{exc}", True)
            with self._wake:
                self._done.append((n, result))
                if len(self._done) == 1:
                    self._wake.notify_all()

    def _busy(self) -> bool:
        return bool(self._held)

    def idle(self, stop: threading.Event, timeout: float) -> None:
        """Wait until a request finishes (then up to ``record_window`` more, so that one
        transaction records several), *stop* is set, or *timeout* passes."""
        if not self._busy():
            stop.wait(timeout)
            return
        with self._wake:
            if not self._done:
                self._wake.wait(timeout)
            more = self._senders > 0
        if more:
            stop.wait(self.record_window)

    def run(self, stop: threading.Event) -> None:
        """Fan out and send until *stop* is set (a database outage only delays; a lost
        database pauses it, said once: see :class:`~exchange.store.outages.PauseLog`)."""
        pauses = PauseLog("notifier", log)
        try:
            while not stop.is_set():
                try:
                    busy = self.step()
                except Exception as exc:
                    if not pauses.paused(exc, retry_seconds=self.settings.poll_seconds):
                        log.exception("notifier step failed; retrying after a pause")
                    stop.wait(self.settings.poll_seconds)
                    continue
                pauses.resumed()
                if not busy or self._busy():
                    self.idle(stop, self.settings.poll_seconds)
        finally:
            self.drain()

    def run_once(self, *, rounds: int = 1000) -> int:
        """Fan out everything waiting, then send until nothing is due or in flight; returns
        how many notifications were attempted."""
        while self.fan_out():
            pass
        before = self.attempted
        for _ in range(rounds):
            self.step(fan_out_every=3600.0)
            if not self._busy():
                break
            self.idle(threading.Event(), 3600.0)
        return self.attempted - before

    def drain(self) -> None:
        """Let the senders finish what is on the wire, record it, and give back the claimed
        rows not sent (claiming nothing more)."""
        with self._wake:
            queued, self._queued = [n.id for n in self._queued], deque()
            while self._senders:
                self._wake.wait(1.0)
            done, self._done = self._done, []
        self._held.clear()
        if done or queued:
            try:
                self._write(done, 0)
                if queued:
                    with self.uow_factory.writing() as uow:
                        uow.notifications.release(self.worker, queued, now=self.clock())
                        uow.commit()
            except Exception as exc:  # noqa: BLE001 - logged by log_failure
                log_failure(log, exc, "recording the last notifications failed; they will be "
                            "sent again after their lease")

    def close(self) -> None:
        self.drain()
        self._pool.shutdown(wait=True)
        self.sender.close()
