"""`exchange dispatch`: the outbox dispatcher from the command line."""
from __future__ import annotations

from typing import Annotated

import typer

from exchange.cli.context import CommandContext, reported
from exchange.cli.lang import _
from exchange.cli.output import echo
from exchange.i18n import t

__all__ = ["register"]


def dispatch(
    once: Annotated[bool, typer.Option("--once", help=_("One batch, then exit."))] = False,
) -> None:
    import signal
    import threading

    from exchange.bootstrap import build_dispatcher, build_notifier, configure_logs
    from exchange.delivery.dispatcher import run_dispatcher

    with CommandContext() as ctx:
        settings = ctx.settings()
        with reported():
            dispatcher, collector = build_dispatcher(settings, ctx.store(), ctx.members())
            notifier = build_notifier(settings, ctx.store())
        try:
            if once:
                n = dispatcher.run_once()
                collected = collector.collect()
                notified = notifier.run_once()
                echo(t("{deliveries} deliveries attempted, {decisions} customs decisions "
                       "collected, {notifications} notifications attempted", deliveries=n,
                       decisions=collected, notifications=notified))
                return
            configure_logs()
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            echo(t("dispatcher {worker} running; Ctrl-C stops it", worker=dispatcher.worker),
                 err=True)
            notifying = threading.Thread(target=notifier.run, args=(stop,), name="notifier",
                                         daemon=True)
            notifying.start()
            try:
                run_dispatcher(dispatcher, collector, stop,
                               poll_seconds=settings.dispatch.poll_seconds,
                               collect_seconds=settings.dispatch.collect_seconds)
            finally:
                stop.set()
                notifying.join(timeout=settings.notifications.timeout_seconds + 5)
        finally:
            dispatcher.close()
            notifier.close()


def register(app: typer.Typer) -> None:
    app.command("dispatch", help=_(
        "Deliver queued documents to the customs systems on their routes, collect the answers "
        "and send event notifications to subscribers, until interrupted (several dispatchers "
        "may share one PostgreSQL database)."))(dispatch)
