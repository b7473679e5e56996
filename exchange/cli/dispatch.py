"""`exchange dispatch` and `exchange deliveries list|replay`: the outbox from the command line."""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from .output import fail

__all__ = ["register"]

deliveries_app = typer.Typer(help="List and replay deliveries to customs systems.",
                             no_args_is_help=True)


def _services():
    """Settings, store and members, or a clear configuration error (exit 2)."""
    from ..bootstrap import load_members_for
    from ..config import ConfigError, load_settings
    from ..store import UnitOfWorkFactory, create_engines, upgrade

    try:
        settings = load_settings()
        members = load_members_for(settings)
        engines = create_engines(settings.database)
        upgrade(engines)
    except ConfigError as exc:
        fail(exc.message)
    except Exception as exc:
        fail(f"EXCHANGE_DATABASE_URL: cannot open or migrate the database: {exc}")
    return settings, members, UnitOfWorkFactory(engines)


def dispatch(
    once: Annotated[bool, typer.Option("--once", help="One batch, then exit.")] = False,
) -> None:
    """Deliver queued documents to the customs systems on their routes and collect the
    answers, until interrupted (several dispatchers may share one PostgreSQL database)."""
    import signal
    import threading

    from ..config import ConfigError
    from ..dispatch import build_dispatcher, run_dispatcher
    from ..payments import ledger_gate
    from ..signatures import envelope_signer, member_checker

    settings, members, uow = _services()
    try:
        signer = envelope_signer(settings.hub)
    except ConfigError as exc:
        fail(exc.message)
    dispatcher, collector = build_dispatcher(
        settings, uow, members, signer=signer,
        gates=(ledger_gate(members, due_days=settings.payments.due_days),),
        checker=member_checker(members))
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
        run_dispatcher(dispatcher, collector, stop, poll_seconds=settings.dispatch.poll_seconds,
                       collect_seconds=settings.dispatch.collect_seconds)
    finally:
        dispatcher.close()
        uow.engines.dispose()


@deliveries_app.command("list")
def list_deliveries(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead deliveries.")] = False,
    status: Annotated[Optional[str], typer.Option(help="Only this status.")] = None,
    country: Annotated[Optional[str], typer.Option(help="Only this receiving country.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """List deliveries, newest change first."""
    from ..outbox import delivery_view

    if fmt not in ("text", "json"):
        fail("--format must be text or json")
    if dead and status and status != "dead":
        fail("--dead and --status disagree")
    _, _, uow = _services()
    with uow.reading() as u:
        rows = [delivery_view(r) for r in u.deliveries.list(
            status="dead" if dead else status, country=country, limit=limit)]
    uow.engines.dispose()
    if fmt == "json":
        typer.echo(json.dumps({"items": rows}, indent=1))
        return
    if not rows:
        typer.echo("no deliveries")
    for r in rows:
        why = r["reason"] or r["last_error"] or ""
        typer.echo(f"{r['id']}  {r['country']}  {r['status']:<24} attempts={r['attempts']}  "
                   f"shipment={r['shipment_id']}  document={r['document_id']}"
                   + (f"\n    {why}" if why else ""))


@deliveries_app.command("replay")
def replay(delivery_id: Annotated[str, typer.Argument(help="The delivery id.")]) -> None:
    """Queue a dead or rejected delivery again, with the same delivery id (and the latest
    amendment of its document, if the forwarder has submitted one)."""
    from ..outbox import DeliveryNotFound, DeliveryStateError, replay_delivery

    _, _, uow = _services()
    try:
        with uow.writing() as u:
            row = replay_delivery(u, delivery_id, actor_id="operator:cli")
            u.commit()
            typer.echo(f"delivery {row.id} to {row.country} queued again "
                       f"(document {row.document_id})")
    except DeliveryNotFound as exc:
        fail(exc.message)
    except DeliveryStateError as exc:
        fail(exc.message, code=1)
    finally:
        uow.engines.dispose()


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch)
    app.add_typer(deliveries_app, name="deliveries")

