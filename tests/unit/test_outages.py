"""A lost database pauses a background loop with a few lines and no traceback; any other
error of a turn (a bug of ours, a locked SQLite file) keeps its traceback."""
from __future__ import annotations

import logging
import threading
from functools import partial

import psycopg
import pytest
from sqlalchemy import exc as db

from exchange.delivery.dispatcher import run_dispatcher
from exchange.store.outages import Outage, PauseLog, outage_cause, outage_of
from tests.unit.test_http_limits import _locked_sqlite

LOGGER = "exchange.delivery.dispatcher"


def _wrapped(orig, cls=db.OperationalError, **kw):
    return cls("SELECT ...", {}, orig, **kw)


def _refused():
    return _wrapped(psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5 failed: '
        "Connection refused\n\tIs the server running on that host?"))


def test_lost_busy_and_ours_are_told_apart(tmp_path):
    lost = [_refused(),
            _wrapped(psycopg.errors.AdminShutdown("terminating connection due to "
                                                  "administrator command")),
            _wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")),
            _wrapped(psycopg.errors.InternalError("x"), db.InternalError,
                     connection_invalidated=True)]
    busy = [_wrapped(_locked_sqlite(tmp_path)), db.TimeoutError("QueuePool limit reached")]
    ours = [_wrapped(psycopg.errors.UniqueViolation("duplicate key"), db.IntegrityError),
            ValueError("a bug")]
    assert [outage_of(e) for e in lost] == [Outage.LOST] * len(lost)
    assert [outage_of(e) for e in busy] == [Outage.BUSY] * len(busy)
    assert [outage_of(e) for e in ours] == [None] * len(ours)
    assert outage_cause(_refused()) == (
        'connection failed: connection to server at "127.0.0.1", port 5 failed: '
        "Connection refused Is the server running on that host?")


def test_an_outage_is_said_once_then_reminded_at_most_every_minute(caplog):
    now = [0.0]
    pauses = PauseLog("notifier", logging.getLogger(LOGGER), clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger=LOGGER)
    for _ in range(241):  # turns every 0.5 s for two minutes: reminded at 60 s and 120 s
        assert pauses.paused(_refused(), retry_seconds=0.5)
        now[0] += 0.5
    pauses.resumed()
    pauses.resumed()  # once, not every turn
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "WARNING", "INFO"], lines
    assert lines[0][1].startswith("notifier paused, the database is unavailable: connection "
                                  "failed:")
    assert lines[0][1].endswith("; retrying every 0.5 s")
    assert lines[1][1].startswith("notifier still paused after 60 s (121 failed turns)")
    assert lines[2][1].startswith("notifier still paused after 120 s (241 failed turns)")
    assert lines[3][1] == ("notifier resumed, the database is available again after "
                           "120.5 s (241 failed turns)")
    assert not any(r.exc_info for r in caplog.records)


def test_a_locked_sqlite_file_or_a_bug_is_not_a_pause(tmp_path, caplog):
    pauses = PauseLog("dispatcher", logging.getLogger(LOGGER))
    assert not pauses.paused(_wrapped(_locked_sqlite(tmp_path)), retry_seconds=1)
    assert not pauses.paused(ValueError("a bug"), retry_seconds=1)
    assert not pauses.pausing and not caplog.records


class _Dispatcher:
    """Each step raises the next of *errors* (None: works), then stops the loop."""

    def __init__(self, errors, stop):
        self.errors, self.stop = list(errors), stop

    def step(self):
        if not self.errors:
            self.stop.set()
            return 0
        error = self.errors.pop(0)
        if error is not None:
            raise error
        return 1

    def idle(self, stop, timeout):
        pass

    def flush(self, quiet=False):
        pass


class _Collector:
    def __init__(self, errors):
        self.errors = list(errors)

    def collect(self):
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return 0


@pytest.mark.parametrize("bug", [ValueError("a bug of ours"), "locked"])
def test_run_dispatcher_keeps_the_traceback_of_other_errors(bug, tmp_path, caplog):
    if bug == "locked":
        bug = _wrapped(_locked_sqlite(tmp_path))
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="exchange.delivery")
    run_dispatcher(_Dispatcher([bug, _refused(), _refused(), None], stop),
                   _Collector([KeyError("collector bug"), _refused(), _refused(), None]),
                   stop, poll_seconds=0.001, collect_seconds=0.0)
    lines = [(r.levelname, r.getMessage(), bool(r.exc_info)) for r in caplog.records]
    assert lines == [
        ("ERROR", "dispatch step failed; retrying after a pause", True),
        ("ERROR", "collecting customs answers failed", True),
        ("WARNING", "dispatcher paused, the database is unavailable: "
         + outage_cause(_refused()) + "; retrying every 0.001 s", False),
        ("WARNING", "decision collector paused, the database is unavailable: "
         + outage_cause(_refused()) + "; retrying every 0 s", False),
        ("INFO", lines[4][1], False),
        ("INFO", lines[5][1], False),
    ], lines
    assert lines[4][1].startswith("dispatcher resumed, the database is available again after")
    assert lines[4][1].endswith("(2 failed turns)")
    assert lines[5][1].startswith("decision collector resumed")
    assert caplog.records[0].exc_info[0] is type(bug)
    assert {r.name for r in caplog.records if r.getMessage().startswith("decision collector")} == {
        "exchange.delivery.collector"}


def _loop(kind, steps):
    """A real Dispatcher or Notifier (no database: nothing reaches it) whose turns raise
    *steps* one after another, then stop it."""
    from exchange.config import NotificationsSettings
    from exchange.delivery.dispatcher import Dispatcher
    from exchange.notifications.notifier import Notifier

    stop = threading.Event()
    if kind == "dispatcher":
        loop = Dispatcher(None, {})
        run = partial(loop.run, stop, idle_sleep=0.001)
    else:
        loop = Notifier(None, box=None, settings=NotificationsSettings(poll_seconds=0.001))
        run = partial(loop.run, stop)
    loop.step = _Dispatcher(steps, stop).step
    return loop, run


FAILED_TURN = {"dispatcher": "dispatch step failed; retrying after a pause",
               "notifier": "notifier step failed; retrying after a pause"}


@pytest.mark.parametrize("kind", ["dispatcher", "notifier"])
def test_a_loop_keeps_the_traceback_of_a_bug_and_pauses_quietly_on_a_lost_database(
        kind, caplog):
    loop, run = _loop(kind, [ValueError("a bug of ours"), _refused(), _refused(), None])
    caplog.set_level(logging.INFO, logger="exchange")
    try:
        run()
    finally:
        loop.close()
    lines = [(r.levelname, r.getMessage().split(",")[0], r.exc_info is not None)
             for r in caplog.records]
    assert lines == [("ERROR", FAILED_TURN[kind], True),
                     ("WARNING", f"{kind} paused", False),
                     ("INFO", f"{kind} resumed", False)], lines
    assert caplog.records[0].exc_info[0] is ValueError
