"""The unit of work: one transaction, its repositories, commit or roll back.

    with uow_factory.writing() as uow:
        uow.shipments.add(...); uow.events.append(...)
        uow.commit()                     # nothing is written without it

Every repository is declared here, made on first use in the unit of work's session, so that
a feature's rows (deliveries, ledger entries) are written in the same transaction as the
document or decision that caused them.
"""
from __future__ import annotations

import logging
import os
import threading
from functools import cached_property

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from exchange.store.deliveries import DecisionRepository, DeliveryRepository
from exchange.store.engine import Engines
from exchange.store.events import EventLog
from exchange.store.identities import HubIdentityRepository
from exchange.store.ledger import LedgerRepository
from exchange.store.notifications import NotificationRepository
from exchange.store.repositories import (
    DocumentRepository,
    IdempotencyRepository,
    PartyRepository,
    ShipmentRepository,
)

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "WriterLock"]

log = logging.getLogger(__name__)

_REPOSITORIES = ("parties", "shipments", "documents", "events", "idempotency", "deliveries",
                 "decisions", "ledger", "notifications", "hub_identities")


class UnitOfWork:
    """One session and its repositories (each made on first use, in that session)."""

    def __init__(self, sessions: sessionmaker[Session], dialect: str,
                 lock: WriterLock | None = None):
        self._sessions = sessions
        self.dialect = dialect
        self._lock = lock
        self.session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        if self._lock is not None:
            self._lock.acquire()
        self.session = self._sessions()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.session is not None
        try:
            self.session.close()  # rolls back what was not committed; rows stay readable
        finally:
            self.session = None
            for name in _REPOSITORIES:  # a unit of work entered again gets new ones
                self.__dict__.pop(name, None)
            if self._lock is not None:
                self._lock.release()

    def _open(self) -> Session:
        if self.session is None:
            raise RuntimeError("a unit of work's repositories are used inside its `with` block")
        return self.session

    @cached_property
    def parties(self) -> PartyRepository:
        return PartyRepository(self._open())

    @cached_property
    def shipments(self) -> ShipmentRepository:
        return ShipmentRepository(self._open())

    @cached_property
    def documents(self) -> DocumentRepository:
        return DocumentRepository(self._open())

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self._open())

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self._open())

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self._open())

    @cached_property
    def decisions(self) -> DecisionRepository:
        return DecisionRepository(self._open())

    @cached_property
    def ledger(self) -> LedgerRepository:
        return LedgerRepository(self._open())

    @cached_property
    def notifications(self) -> NotificationRepository:
        return NotificationRepository(self._open())

    @cached_property
    def hub_identities(self) -> HubIdentityRepository:
        return HubIdentityRepository(self._open())

    def flush(self) -> None:
        assert self.session is not None
        events = self.__dict__.get("events")
        if events is not None:
            events.write_queued()
        self.session.flush()

    def _forget_locks(self) -> None:
        events = self.__dict__.get("events")
        if events is not None:
            events._heads.clear()  # heads read under this transaction's locks
            events.discard_queued()

    def commit(self) -> None:
        assert self.session is not None
        events = self.__dict__.get("events")
        if events is not None:
            events.write_queued()
        self.session.commit()
        self._forget_locks()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()
        self._forget_locks()


class WriterLock:
    """SQLite's one writer, queued for outside SQLite: threads of this process on a lock,
    processes on the same database (``exchange serve --workers N``, ``exchange dispatch``)
    on an exclusive ``flock`` of ``<database>-writer.lock``.

    SQLite's own busy handler polls with sleeps of up to 100 ms, which turns contention into
    long latency tails; a waiter here is woken the moment the lock is released. Writers
    that do not take this lock (another program, a migration) are still waited for by the
    busy handler, so nothing is lost, only slower. Without ``fcntl`` (Windows), an in-memory
    database, or a lock file that cannot be opened, only the threads of this process queue
    here. Reentrant within one thread, like the ``RLock`` it wraps."""

    def __init__(self, database: str | None):
        self._threads = threading.RLock()
        self._path = (None if not database or database == ":memory:" or fcntl is None
                      else f"{database}-writer.lock")
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def _file(self) -> int | None:
        if self._path is None:
            return None
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.warning("cannot open %s (%s): SQLite writers of other processes wait "
                            "in SQLite's busy handler", self._path, exc.strerror)
                self._path = None
                return None
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        self._threads.acquire()
        if self._depth == 0:
            try:
                fd = self._file()
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class UnitOfWorkFactory:
    def __init__(self, engines: Engines):
        self.engines = engines
        self._write = sessionmaker(engines.write, expire_on_commit=False)
        self._read = sessionmaker(engines.read, expire_on_commit=False)
        self._write_lock = (WriterLock(make_url(engines.url).database)
                            if engines.dialect == "sqlite" else None)
        self._lookup = self._read if engines.dialect == "sqlite" else sessionmaker(
            engines.read.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False)

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self._write, self.engines.dialect, self._write_lock)

    def reading(self) -> UnitOfWork:
        """Reads in one transaction: every statement sees the same snapshot."""
        return UnitOfWork(self._read, self.engines.dialect)

    def lookups(self) -> UnitOfWork:
        """Reads that need no common snapshot (an API key, then a shipment's origin): on
        PostgreSQL each statement runs on its own, without the BEGIN and ROLLBACK round
        trips of a transaction; on SQLite the same as :meth:`reading`."""
        return UnitOfWork(self._lookup, self.engines.dialect)
