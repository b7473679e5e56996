"""`exchange dispatch`: the outbox dispatcher from the command line."""
from __future__ import annotations

from typing import Annotated

import typer

from exchange.cli.context import CommandContext, reported

__all__ = ["register"]


def dispatch(
    once: Annotated[bool, typer.Option("--once", help="One batch, then exit.")] = False,
) -> None:
    """Deliver queued documents to the customs systems on their routes and collect the
    answers, until interrupted (several dispatchers may share one PostgreSQL database)."""
    import signal
    import threading

    from exchange.bootstrap import build_dispatcher
    from exchange.delivery.dispatcher import run_dispatcher

    with CommandContext() as ctx:
        settings = ctx.settings()
        with reported():
            dispatcher, collector = build_dispatcher(settings, ctx.store(), ctx.members())
        try:
            if once:
                n = dispatcher.run_once()
                collected = collector.collect()
                typer.echo(f"{n} deliveries attempted, {collected} customs decisions collected")
                return
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            typer.echo(f"dispatcher {dispatcher.worker} running; Ctrl-C stops it", err=True)
            run_dispatcher(dispatcher, collector, stop,
                           poll_seconds=settings.dispatch.poll_seconds,
                           collect_seconds=settings.dispatch.collect_seconds)
        finally:
            dispatcher.close()


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch)
