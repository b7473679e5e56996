"""Event notifications (webhooks): parties' subscriptions, the notifications fanned out of
the event log, and the fan-out's cursor per stream.

* ``subscriptions``: a party's URL, the notification kinds it wants, its signing secret
  (sealed by the caller: this module never sees it in the clear) and its state (``active``,
  or ``paused`` after a notification that kept failing);
* ``notifications``: one row per (subscription, event), an outbox row like a delivery: it is
  claimed with a lease, retried with backoff, ``dead`` after its last attempt, and replayed
  when its subscription is resumed. Rows of one (subscription, stream) are sent in the
  order of the stream: only the first one not delivered (the queue's head) is ``pending``,
  the others ``waiting``; recording a delivery makes the next one ``pending``
  (:meth:`NotificationRepository.promote`), so a claim reads only due rows;
* ``notification_cursors``: how far each stream's events have been fanned out. The stream's
  head (``event_heads``) is written in the transaction of its events, under its lock, so a
  head ahead of its cursor means committed events not fanned out yet: no event is missed,
  whatever order concurrent transactions commit in (a global event-id cursor would skip
  an id taken by a transaction that commits after a later one). Which heads to compare is
  the notifier's choice (:meth:`NotificationRepository.recent_events` gives the streams of
  new event ids; :meth:`~NotificationRepository.streams_behind` without *among* reads
  them all).

(The rows themselves are in :mod:`exchange.store.subscriptions`.)
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Update

from exchange.store.models import TS, EventHeadRow, EventRow, LegRow
from exchange.store.repositories import _Repo
from exchange.store.subscriptions import (
    NotificationRow,
    NotificationStatus,
    NotifyCursorRow,
    SubscriptionRow,
    SubscriptionStatus,
)

__all__ = [
    "ClaimedNotification",
    "NotificationRepository",
    "NotificationRow",
    "NotificationStatus",
    "NotifyCursorRow",
    "StreamEvent",
    "SubscriptionRow",
    "SubscriptionStatus",
]


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """An event as the fan-out reads it (plain values)."""

    id: int
    stream: str
    seq: int
    kind: str
    occurred_at: str
    data_json: str


@dataclass(frozen=True, slots=True)
class ClaimedNotification:
    """A claimed notification with what its request needs: the event and the target."""

    id: int
    subscription_id: str
    stream: str
    seq: int
    event_id: int
    types_json: str
    attempts: int
    """Counting the attempt this claim is for."""
    url: str
    secret: str
    kind: str
    actor_id: str | None
    occurred_at: str
    data_json: str
    hash: str
    prev_hash: str


_N, _S, _E = NotificationRow.__table__, SubscriptionRow.__table__, EventRow.__table__
_H, _C = EventHeadRow.__table__, NotifyCursorRow.__table__
_SENDING = NotificationStatus.SENDING.value
_DUE = (NotificationStatus.PENDING.value, NotificationStatus.RETRYING.value)


def _due() -> ColumnElement[bool]:
    now = bindparam("now", type_=TS)
    active = exists().where(_S.c.id == _N.c.subscription_id,
                            _S.c.status == SubscriptionStatus.ACTIVE.value)
    return and_(or_(and_(_N.c.status.in_(_DUE), _N.c.next_attempt_at <= now),
                    and_(_N.c.status == _SENDING, _N.c.lease_until < now)), active)


def _claim_statement(*, postgres: bool) -> Executable:
    pick = select(_N.c.id).where(_due()).order_by(_N.c.next_attempt_at, _N.c.id).limit(
        bindparam("limit", type_=Integer))
    if postgres:
        pick = pick.with_for_update(of=_N, skip_locked=True)
    picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    return (update(_N).add_cte(picked)
            .where(_N.c.id.in_(select(picked.c.id)), _due())
            .values(status=_SENDING, lease_owner=bindparam("worker"),
                    lease_until=bindparam("until"), attempts=_N.c.attempts + 1,
                    updated_at=bindparam("now"))
            .returning(_N.c.id))


_CLAIM, _CLAIM_PG = _claim_statement(postgres=False), _claim_statement(postgres=True)
_ANY_DUE = select(_N.c.id).where(_due()).limit(1)
_CLAIMED = (select(_N.c.id, _N.c.subscription_id, _N.c.stream, _N.c.seq, _N.c.event_id,
                   _N.c.types_json, _N.c.attempts, _S.c.url, _S.c.secret, _E.c.kind,
                   _E.c.actor_id, _E.c.occurred_at, _E.c.data_json, _E.c.hash, _E.c.prev_hash)
            .join(_S, _S.c.id == _N.c.subscription_id).join(_E, _E.c.id == _N.c.event_id)
            .where(_N.c.id.in_(bindparam("ids", expanding=True))))
_HELD = select(_N.c.id).where(_N.c.id.in_(bindparam("ids", expanding=True)),
                              _N.c.lease_owner == bindparam("worker"), _N.c.status == _SENDING)
_BEHIND = (select(_H.c.stream, func.coalesce(_C.c.seq, 0), _H.c.seq)
           .select_from(_H.outerjoin(_C, _C.c.stream == _H.c.stream))
           .where(_H.c.seq > func.coalesce(_C.c.seq, 0), ~_H.c.stream.startswith("party:"))
           .order_by(_H.c.stream).limit(bindparam("limit", type_=Integer)))
_FINISH: dict[tuple[str, ...], Update] = {}


def _finish_statement(keys: tuple[str, ...]) -> Update:
    """The UPDATE recording one shape of outcome (the columns it sets), made on first use."""
    stmt = _FINISH.get(keys)
    if stmt is None:
        stmt = _FINISH[keys] = (
            update(_N).where(_N.c.id == bindparam("k_id"))
            .values(lease_owner=None, lease_until=None, updated_at=bindparam("k_now"),
                    **{k: bindparam(k) for k in keys}))
    return stmt


_Q = _N.alias("queue")
_PROMOTE = (update(_N).where(
    _N.c.subscription_id == bindparam("k_sub"), _N.c.stream == bindparam("k_stream"),
    _N.c.status == NotificationStatus.WAITING.value,
    _N.c.seq == select(func.min(_Q.c.seq)).where(
        _Q.c.subscription_id == bindparam("k_sub"), _Q.c.stream == bindparam("k_stream"),
        _Q.c.status == NotificationStatus.WAITING.value).scalar_subquery(),
    ~exists().where(_Q.c.subscription_id == _N.c.subscription_id,
                    _Q.c.stream == _N.c.stream,
                    _Q.c.status != NotificationStatus.DELIVERED.value,
                    _Q.c.status != NotificationStatus.WAITING.value))
    .values(status=NotificationStatus.PENDING.value, next_attempt_at=bindparam("k_now"),
            updated_at=bindparam("k_now")))
_PROMOTE_STUCK = (update(_N).where(
    _N.c.status == NotificationStatus.WAITING.value,
    ~exists().where(_Q.c.subscription_id == _N.c.subscription_id, _Q.c.stream == _N.c.stream,
                    or_(_Q.c.status.notin_([NotificationStatus.DELIVERED.value,
                                            NotificationStatus.WAITING.value]),
                        and_(_Q.c.status == NotificationStatus.WAITING.value,
                             _Q.c.seq < _N.c.seq))))
    .values(status=NotificationStatus.PENDING.value, next_attempt_at=bindparam("k_now"),
            updated_at=bindparam("k_now")))
_ADVISORY = text("SELECT pg_try_advisory_xact_lock(:key)")
_FANOUT_LOCK_KEY = 0x6E6F7469  # 'noti': one fan-out at a time across processes (PostgreSQL)


class NotificationRepository(_Repo):
    # ---------------------------------------------------------------- subscriptions
    def add_subscription(self, row: SubscriptionRow) -> SubscriptionRow:
        self.session.add(row)
        return row

    def subscription(self, subscription_id: str) -> SubscriptionRow | None:
        return self.session.get(SubscriptionRow, subscription_id)

    def subscriptions(self, *, party_id: str | None = None, status: str | None = None
                      ) -> Sequence[SubscriptionRow]:
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.created_at,
                                                SubscriptionRow.id)
        if party_id is not None:
            stmt = stmt.where(SubscriptionRow.party_id == party_id)
        if status is not None:
            stmt = stmt.where(SubscriptionRow.status == status)
        return self.session.scalars(stmt).all()

    def count_of_party(self, party_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(SubscriptionRow).where(
            SubscriptionRow.party_id == party_id)) or 0

    def delete_subscription(self, row: SubscriptionRow) -> None:
        self.session.execute(delete(_N).where(_N.c.subscription_id == row.id))
        self.session.delete(row)

    def counts(self, subscription_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Notifications per status of each subscription."""
        out: dict[str, dict[str, int]] = {i: {} for i in subscription_ids}
        for chunk in self._lookups(list(subscription_ids)):
            for sid, status, n in self.session.execute(
                    select(_N.c.subscription_id, _N.c.status, func.count())
                    .where(self._in(_N.c.subscription_id, chunk))
                    .group_by(_N.c.subscription_id, _N.c.status)):
                out[sid][status] = n
        return out

    def replay_dead(self, subscription_id: str, *, now: datetime) -> int:
        """Queue the dead notifications of a subscription again (same event ids)."""
        result = self.session.execute(
            update(_N).where(_N.c.subscription_id == subscription_id,
                             _N.c.status == NotificationStatus.DEAD.value)
            .values(status=NotificationStatus.PENDING.value, attempts=0, next_attempt_at=now,
                    updated_at=now, last_error=None))
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------- fan-out
    def take_fanout_lock(self) -> bool:
        """One fan-out at a time: PostgreSQL's transaction-scoped advisory lock (False: another
        process is fanning out now); SQLite's writers are serialised already."""
        if not self._postgres:
            return True
        return bool(self.session.execute(_ADVISORY, {"key": _FANOUT_LOCK_KEY}).scalar())

    def streams_behind(self, limit: int, *, among: Sequence[str] | None = None
                       ) -> dict[str, tuple[int, int]]:
        """Up to *limit* streams (shipments) with events not fanned out yet:
        stream -> (its cursor, its head). All streams' heads are read (a scan of
        ``event_heads``), or only those *among* the given ones."""
        if among is None:
            return {stream: (cursor, head) for stream, cursor, head
                    in self.session.execute(_BEHIND, {"limit": limit})}
        out: dict[str, tuple[int, int]] = {}
        for chunk in self._lookups(sorted(among)):
            out.update((stream, (cursor, head)) for stream, cursor, head in self.session.execute(
                _BEHIND.where(self._in(_H.c.stream, chunk)), {"limit": limit}))
        return dict(sorted(out.items())[:limit])

    def max_event_id(self) -> int:
        return int(self.session.scalar(select(func.max(_E.c.id))) or 0)

    def recent_events(self, after_id: int, also: Sequence[int] = ()) -> list[tuple[str, int]]:
        """(stream, id) of the events whose id is above *after_id* or among *also* (ids
        not seen before: a transaction that took them has not committed yet), by the
        events' primary key."""
        cond = _E.c.id > after_id
        if also:
            cond = or_(cond, self._in(_E.c.id, list(also)))
        return [(stream, event_id) for stream, event_id in self.session.execute(
            select(_E.c.stream, _E.c.id).where(cond))]

    def route(self, stream: str) -> list[str]:
        """The countries of the shipment's route, in order."""
        return list(self.session.scalars(select(LegRow.country).where(
            LegRow.shipment_id == stream).order_by(LegRow.seq)))

    def events_after(self, cursors: dict[str, int], limit: int) -> list[StreamEvent]:
        """The events of *cursors*' streams after each stream's fan-out cursor, stream by
        stream in order, at most *limit* in all (the last stream may be cut short: its
        cursor moves only as far as its events were read). One query for all the streams."""
        out: list[StreamEvent] = []
        streams = sorted(cursors)
        for chunk in self._lookups(streams):
            if len(out) >= limit:
                break
            rows = self.session.execute(
                select(_E.c.id, _E.c.stream, _E.c.seq, _E.c.kind, _E.c.occurred_at,
                       _E.c.data_json)
                .select_from(_E.outerjoin(_C, _C.c.stream == _E.c.stream))
                .where(self._in(_E.c.stream, chunk), _E.c.seq > func.coalesce(_C.c.seq, 0))
                .order_by(_E.c.stream, _E.c.seq).limit(limit - len(out)))
            out.extend(StreamEvent(*row) for row in rows)
        return out

    def released_countries(self, stream: str, *, up_to: int) -> set[str]:
        """Countries whose customs released their leg in the events of *stream* up to *up_to*."""
        rows = self.session.scalars(select(_E.c.data_json).where(
            _E.c.stream == stream, _E.c.seq <= up_to, _E.c.kind == "customs.released"))
        return {str(json.loads(data).get("country")) for data in rows}

    def move_cursors(self, cursors: dict[str, int]) -> None:
        if not cursors:
            return
        ins = (pg_insert if self._postgres else sqlite_insert)(_C)
        stmt = ins.on_conflict_do_update(index_elements=["stream"],
                                         set_={"seq": ins.excluded.seq})
        self.session.execute(stmt, [{"stream": s, "seq": n} for s, n in sorted(cursors.items())])

    def open_queues(self, streams: Sequence[str]) -> set[tuple[str, str]]:
        """The (subscription, stream) queues of *streams* holding a notification not
        delivered yet: a new notification goes behind it (``waiting``). Those rows are
        locked (PostgreSQL) until the end of the transaction, so a delivery recorded at
        the same moment either comes first (and the queue is seen empty) or waits, and then
        promotes the rows written here."""
        found: set[tuple[str, str]] = set()
        for chunk in self._lookups(list(streams)):
            stmt = select(_N.c.subscription_id, _N.c.stream).where(
                self._in(_N.c.stream, chunk),
                _N.c.status != NotificationStatus.DELIVERED.value)
            if self._postgres:
                stmt = stmt.with_for_update()
            found.update((sid, stream) for sid, stream in self.session.execute(stmt))
        return found

    def promote(self, queues: Sequence[tuple[str, str]], *, now: datetime) -> None:
        """Make the first waiting notification of each (subscription, stream) pending (after
        a delivery of its queue)."""
        if queues:
            self.session.execute(_PROMOTE, [{"k_sub": sid, "k_stream": stream, "k_now": now}
                                            for sid, stream in sorted(set(queues))])

    def promote_stuck(self, *, now: datetime) -> int:
        """The safety net of :meth:`promote`: make pending the first waiting notification
        of every queue that has nothing else open (a full scan: run rarely)."""
        result = self.session.execute(_PROMOTE_STUCK, {"k_now": now})
        return int(getattr(result, "rowcount", 0) or 0)

    def add_notifications(self, rows: Sequence[dict[str, object]]) -> None:
        """Insert notification rows; a (subscription, stream, seq) already there is kept."""
        if not rows:
            return
        ins = (pg_insert if self._postgres else sqlite_insert)(_N)
        self.session.execute(ins.on_conflict_do_nothing(
            index_elements=["subscription_id", "stream", "seq"]), list(rows))

    # ------------------------------------------------------------------- delivery
    def any_due(self, now: datetime) -> bool:
        """Is a notification due (a read, so that an idle notifier takes no write lock)?"""
        return self.session.execute(_ANY_DUE, {"now": now}).first() is not None

    def claim(self, worker: str, *, limit: int, lease: timedelta, now: datetime
              ) -> list[ClaimedNotification]:
        """Lease up to *limit* due notifications, each the first undelivered one of its
        (subscription, stream) of an active subscription; with what their requests need."""
        ids = list(self.session.scalars(_CLAIM_PG if self._postgres else _CLAIM, {
            "now": now, "limit": limit, "worker": worker, "until": now + lease}))
        if not ids:
            return []
        rows = [ClaimedNotification(**row._mapping)
                for row in self.session.execute(_CLAIMED, {"ids": ids})]
        rows.sort(key=lambda r: (r.stream, r.seq))
        return rows

    def finish(self, worker: str, outcomes: Iterable[tuple[int, dict[str, object]]], *,
               now: datetime) -> set[int]:
        """Record outcomes of notifications *worker* still holds (one executemany per set of
        columns); returns the ids recorded."""
        outcomes = list(outcomes)
        held: set[int] = set()
        for chunk in self._lookups([i for i, _ in outcomes]):
            held.update(self.session.scalars(_HELD, {"ids": list(chunk), "worker": worker}))
        by_shape: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for notification_id, values in outcomes:
            if notification_id in held:
                by_shape.setdefault(tuple(sorted(values)), []).append(
                    {"k_id": notification_id, "k_now": now, **values})
        for keys, params in by_shape.items():
            self.session.execute(_finish_statement(keys), params)
        return held

    def release(self, worker: str, ids: Sequence[int], *, now: datetime) -> None:
        """Give back claimed notifications *worker* never sent (a notifier stopping)."""
        for chunk in self._lookups(list(ids)):
            self.session.execute(update(_N).where(
                self._in(_N.c.id, chunk), _N.c.lease_owner == worker, _N.c.status == _SENDING
            ).values(status=NotificationStatus.PENDING.value, lease_owner=None,
                     lease_until=None, attempts=_N.c.attempts - 1, next_attempt_at=now,
                     updated_at=now))

    def note_outcomes(self, subscription_id: str, *, delivered: bool, failures: int,
                      error: str | None, pause: str | None, now: datetime) -> None:
        """A subscription's share of recorded outcomes: failures counted (reset by a
        delivery), paused with *pause* as the reason."""
        values: dict[str, object] = {"updated_at": now}
        if delivered:
            values.update(failures=0, last_delivered_at=now)
        if failures:
            values.update(failures=(0 if delivered else _S.c.failures) + failures,
                          last_error=error)
        if pause:
            values.update(status=SubscriptionStatus.PAUSED.value, paused_at=now,
                          paused_reason=pause)
        self.session.execute(update(_S).where(_S.c.id == subscription_id).values(**values))

    def notifications(self, *, stream: str | None = None, subscription_id: str | None = None
                      ) -> Sequence[NotificationRow]:
        stmt = select(NotificationRow).order_by(NotificationRow.id)
        if stream is not None:
            stmt = stmt.where(NotificationRow.stream == stream)
        if subscription_id is not None:
            stmt = stmt.where(NotificationRow.subscription_id == subscription_id)
        return self.session.scalars(stmt).all()

