"""The unit of work: one transaction, its repositories, commit or roll back.

    with uow_factory.writing() as uow:
        uow.shipments.add(...); uow.events.append(...)
        uow.commit()                     # nothing is written without it

Later features add their repositories with :func:`register_repository` (e.g. the outbox of
deliveries), so that their rows are written in the same transaction as the document that
caused them.
"""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from .engine import Engines
from .repositories import (
    DocumentRepository,
    EventLog,
    IdempotencyRepository,
    PartyRepository,
    ShipmentRepository,
)

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "register_repository"]

_REPOSITORIES: dict[str, type] = {
    "parties": PartyRepository,
    "shipments": ShipmentRepository,
    "documents": DocumentRepository,
    "events": EventLog,
    "idempotency": IdempotencyRepository,
}


def register_repository(name: str, cls: type) -> None:
    """Make ``uow.<name>`` a ``cls(session)`` in every unit of work."""
    _REPOSITORIES[name] = cls


class UnitOfWork:
    parties: PartyRepository
    shipments: ShipmentRepository
    documents: DocumentRepository
    events: EventLog
    idempotency: IdempotencyRepository

    def __init__(self, sessions: sessionmaker[Session], dialect: str,
                 lock: threading.RLock | None = None):
        self._sessions = sessions
        self.dialect = dialect
        self._lock = lock
        self.session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        if self._lock is not None:
            self._lock.acquire()
        self.session = self._sessions()
        for name, cls in _REPOSITORIES.items():
            setattr(self, name, cls(self.session))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.session is not None
        try:
            self.session.close()  # rolls back what was not committed; rows stay readable
        finally:
            self.session = None
            if self._lock is not None:
                self._lock.release()

    def __getattr__(self, name: str) -> Any:  # repositories registered after __enter__
        if name in _REPOSITORIES and self.__dict__.get("session") is not None:
            repo = _REPOSITORIES[name](self.session)
            setattr(self, name, repo)
            return repo
        raise AttributeError(name)

    def flush(self) -> None:
        assert self.session is not None
        self.session.flush()

    def _forget_locks(self) -> None:
        events = self.__dict__.get("events")
        if events is not None:
            events._heads.clear()  # heads read under this transaction's locks

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()
        self._forget_locks()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()
        self._forget_locks()


class UnitOfWorkFactory:
    def __init__(self, engines: Engines):
        self.engines = engines
        self._write = sessionmaker(engines.write, expire_on_commit=False)
        self._read = sessionmaker(engines.read, expire_on_commit=False)
        # SQLite has one writer at a time. Threads of this process queue here, in order,
        # instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms and
        # so turns contention into long latency tails. (Other processes still wait there.)
        self._write_lock = threading.RLock() if engines.dialect == "sqlite" else None

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self._write, self.engines.dialect, self._write_lock)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self._read, self.engines.dialect)
