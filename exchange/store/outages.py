"""A database that is lost or cannot take work now, told apart from the errors that are ours.

    outage_of(exc)        # Outage.LOST, Outage.BUSY, or None (a bug, a constraint, ...)
    outage_cause(exc)     # the driver's words, on one line, for the log

The API answers both kinds 503 ``database-unavailable``
(:func:`exchange.http.problems.database_unavailable`). A background loop (the dispatcher, the
decision collector, the notifier) pauses on a *lost* database and says so once, with
:class:`PauseLog`: one warning when it pauses, a reminder at most every minute while the
outage lasts, one info line when it works again, never a traceback (the traceback of a
driver's connection error says nothing an operator needs). A *busy* SQLite database (locked
past its busy timeout) or a pool that gave no connection in time is contention, not an
outage: a loop keeps logging it with its traceback, as any other failed turn.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import exc as db

__all__ = ["Outage", "PauseLog", "log_failure", "outage_cause", "outage_of"]

# What says the database is gone or cannot take the work now (not a bug of ours).
_PG_LOST = ("08",      # connection exception (refused, lost, failed)
            "53",      # insufficient resources (too many connections, disk full)
            "57P0")    # the server is shutting down, crashed, or still starting up
_SQLITE_LOST = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_PROTOCOL")


class Outage(StrEnum):
    LOST = "lost"
    """The server refused or ended the connection, is shutting down or starting up, or has
    no room (connections, disk); the SQLite file cannot be opened or written."""
    BUSY = "busy"
    """The database is there but others held it past the timeout: SQLite busy or locked
    past its busy timeout; the connection pool gave none in time."""


def outage_of(exc: BaseException) -> Outage | None:
    """Whether *exc* says the database is lost or busy, and which (None for any other
    error: a bug, a constraint, a bad statement).

    Lost: SQLAlchemy saw the connection drop (``connection_invalidated``); PostgreSQL
    refused or ended the connection, is shutting down or starting up, or ran out of
    connections (SQLSTATE classes 08, 53, 57P0x, or the driver's connection errors, which
    carry no SQLSTATE); SQLite cannot open or write its file. Busy: the pool gave up
    waiting for a connection; SQLite stayed busy or locked past its timeout."""
    if isinstance(exc, db.TimeoutError):
        return Outage.BUSY
    if not isinstance(exc, db.DBAPIError):
        return None
    orig = exc.orig
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if exc.connection_invalidated:
        return Outage.LOST
    if isinstance(sqlite_name, str):
        if sqlite_name.startswith(_SQLITE_BUSY):
            return Outage.BUSY
        return Outage.LOST if sqlite_name.startswith(_SQLITE_LOST) else None
    if isinstance(sqlstate, str):
        return Outage.LOST if sqlstate.startswith(_PG_LOST) else None
    # a driver error of the connection itself (refused, closed, lost mid-query)
    return Outage.LOST if isinstance(exc, (db.OperationalError, db.InterfaceError)) else None


def outage_cause(exc: BaseException) -> str:
    """The driver's message of *exc* on one line (SQLAlchemy's wrapper and the SQL left
    out), or the error's type when it says nothing."""
    cause = exc.orig if isinstance(exc, db.DBAPIError) and exc.orig is not None else exc
    return " ".join(str(cause).split()) or type(cause).__name__


def log_failure(logger: logging.Logger, exc: BaseException, message: str,
                *args: object) -> None:
    """Log a failure of work done once (not a loop's turn): on a lost database one warning
    line, *message* then the driver's words; otherwise *message* with the traceback."""
    if outage_of(exc) is Outage.LOST:
        logger.warning(message + " (the database is unavailable: %s)", *args,
                       outage_cause(exc))
    else:
        logger.error(message, *args, exc_info=exc)


class PauseLog:
    """What a background loop says of a lost database, so that an outage costs a few lines,
    not a traceback per turn::

        pauses = PauseLog("notifier", log)
        while not stop.is_set():
            try:
                step()
            except Exception as exc:
                if not pauses.paused(exc, retry_seconds=poll):
                    log.exception("notifier step failed; retrying after a pause")
                stop.wait(poll)
            else:
                pauses.resumed()

    Used by one thread (each loop has its own)."""

    def __init__(self, loop: str, logger: logging.Logger, *, remind_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.loop = loop
        self.logger = logger
        self.remind_seconds = remind_seconds
        self.clock = clock
        self._since: float | None = None   # when the outage began (None: no outage)
        self._said_at = 0.0                # when it was last said
        self._turns = 0                    # failed turns in this outage

    @property
    def pausing(self) -> bool:
        return self._since is not None

    def paused(self, exc: BaseException, *, retry_seconds: float) -> bool:
        """A turn failed with *exc*. When it says the database is lost: say the loop paused
        (the first failed turn of an outage, then at most every *remind_seconds*) and return
        True; otherwise return False and log nothing (the caller logs it, traceback and
        all: a bug of ours)."""
        if outage_of(exc) is not Outage.LOST:
            return False
        now = self.clock()
        self._turns += 1
        if self._since is None:
            self._since = self._said_at = now
            self.logger.warning("%s paused, the database is unavailable: %s; retrying every "
                                "%g s", self.loop, outage_cause(exc), retry_seconds)
        elif now - self._said_at >= self.remind_seconds:
            self._said_at = now
            self.logger.warning("%s still paused after %.0f s (%d failed turns), the database "
                                "is unavailable: %s; retrying every %g s", self.loop,
                                now - self._since, self._turns, outage_cause(exc),
                                retry_seconds)
        return True

    def resumed(self) -> None:
        """A turn worked: after an outage, say once that the loop resumed."""
        if self._since is None:
            return
        self.logger.info("%s resumed, the database is available again after %.1f s "
                         "(%d failed turns)", self.loop, self.clock() - self._since,
                         self._turns)
        self._since, self._turns = None, 0
