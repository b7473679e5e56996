"""`exchange deliveries list|replay`: dead letters and replays from the command line
(:mod:`exchange.delivery.deliveries`). The lines of ``list`` (ids, statuses, ``key=value``
fields) stay the same in every language; ``--format json`` is the one for scripts."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from exchange.cli.context import CommandContext, reported
from exchange.cli.lang import _
from exchange.cli.output import echo, fail
from exchange.i18n import t

__all__ = ["register"]

deliveries_app = typer.Typer(help=_("List and replay deliveries to customs systems."),
                             no_args_is_help=True)


@deliveries_app.command("list", help=_(
    "List deliveries, newest change first."))
def list_deliveries(
    dead: Annotated[bool, typer.Option("--dead", help=_("Only dead deliveries."))] = False,
    status: Annotated[str | None, typer.Option(help=_("Only this status."))] = None,
    country: Annotated[str | None, typer.Option(help=_("Only this receiving country."))] = None,
    fmt: Annotated[str, typer.Option("--format", help=_("text or json"))] = "text",
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    from exchange.delivery import deliveries
    from exchange.delivery.outbox import delivery_view

    if fmt not in ("text", "json"):
        fail(t("--format must be text or json"))
    if dead and status and status != "dead":
        fail(t("--dead and --status disagree"))
    query = deliveries.DeliveryQuery(status="dead" if dead else status, country=country,
                                     limit=limit)
    with CommandContext() as ctx, reported():
        listing = deliveries.list_deliveries(query, uow=ctx.store())
    rows = [delivery_view(d) for d in listing.items]
    if fmt == "json":
        typer.echo(json.dumps({"items": rows}, indent=1))
        return
    if not rows:
        echo(t("no deliveries"))
    for r in rows:
        why = r["reason"] or r["last_error"] or ""
        typer.echo(f"{r['id']}  {r['country']}  {r['status']:<24} attempts={r['attempts']}  "
                   f"shipment={r['shipment_id']}  document={r['document_id']}"
                   + (f"\n    {why}" if why else ""))


@deliveries_app.command("replay", help=_(
    "Queue a dead or rejected delivery again, with the same delivery id (and the latest "
    "amendment of its document, if the forwarder has submitted one)."))
def replay(delivery_id: Annotated[str, typer.Argument(help=_("The delivery id."))]) -> None:
    from exchange.delivery import deliveries

    with CommandContext() as ctx, reported():
        delivery = deliveries.replay(deliveries.ReplayDelivery(delivery_id, "operator:cli"),
                                     uow=ctx.store())
    echo(t("delivery {id} to {country} queued again (document {document})", id=delivery.id,
           country=delivery.country, document=delivery.document_id))


def register(app: typer.Typer) -> None:
    app.add_typer(deliveries_app, name="deliveries")
