"""`exchange subscriptions list|test|resume|delete`: parties' event subscriptions as the
hub's operator sees them (:mod:`exchange.notifications.subscriptions`). The lines of ``list``
(ids, statuses, ``key=value`` fields) and its ``--format json`` stay the same in every
language."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from exchange.cli.context import CommandContext, reported
from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, echo, fail
from exchange.i18n import t

__all__ = ["register"]

subscriptions_app = typer.Typer(help=_("Event subscriptions (webhooks) of the parties."),
                                no_args_is_help=True)


@subscriptions_app.command("list", help=_(
    "Every party's subscriptions: state, failures, notifications per status."))
def list_subscriptions(
    paused: Annotated[bool, typer.Option("--paused", help=_("Only paused ones."))] = False,
    fmt: Annotated[str, typer.Option("--format", help=_("text or json"))] = "text",
) -> None:
    from exchange.notifications import subscriptions as subs

    if fmt not in ("text", "json"):
        fail(t("--format must be text or json"))
    with CommandContext() as ctx, reported():
        items = subs.list_subscriptions(principal=None, store=ctx.store(),
                                        status="paused" if paused else None)
    if fmt == "json":
        typer.echo(json.dumps({"items": [{
            "id": s.id, "party_id": s.party_id, "url": s.url, "kinds": s.kinds,
            "status": s.status, "failures": s.failures, "last_error": s.last_error,
            "paused_reason": s.paused_reason, "created_at": s.created_at.isoformat(),
            "paused_at": s.paused_at.isoformat() if s.paused_at else None,
            "notifications": s.notifications} for s in items]}, indent=1))
        return
    if not items:
        echo(t("no subscriptions"))
    for s in items:
        counts = " ".join(f"{k}={v}" for k, v in sorted(s.notifications.items()))
        typer.echo(f"{s.id}  {s.status:<6}  party={s.party_id}  failures={s.failures}  "
                   f"{s.url}\n    kinds: {', '.join(s.kinds)}"
                   + (f"\n    notifications: {counts}" if counts else "")
                   + (f"\n    paused: {s.paused_reason}" if s.paused_reason else ""))


@subscriptions_app.command("test", help=_(
    "Send a signed test event to a subscription now; exit 1 unless it answers 2xx."))
def test_event(subscription_id: Annotated[str, typer.Argument(help=_("The subscription id."))]
               ) -> None:
    from exchange.notifications import subscriptions as subs
    from exchange.payments.providers import secret_box

    with CommandContext() as ctx, reported():
        settings, store = ctx.settings(), ctx.store()
        sent = subs.send_test_event(subscription_id, principal=None, store=store,
                                    box=secret_box(settings.payments, store=store),
                                    settings=settings.notifications)
    if sent.delivered:
        echo(t("test event {event} delivered (HTTP {status})", event=sent.event_id,
               status=sent.status_code))
        return
    echo(t("test event {event} not delivered: {reason}", event=sent.event_id,
           reason=sent.error), err=True)
    raise typer.Exit(EXIT_INVALID)


@subscriptions_app.command("resume", help=_(
    "Resume a paused subscription; its dead notifications are sent again, in order."))
def resume(subscription_id: Annotated[str, typer.Argument(help=_("The subscription id."))]
           ) -> None:
    from exchange.notifications import subscriptions as subs

    with CommandContext() as ctx, reported():
        s = subs.resume_subscription(subscription_id, principal=None, store=ctx.store())
    echo(t("subscription {id} active; {pending} notifications queued", id=s.id,
           pending=s.notifications.get("pending", 0)))


@subscriptions_app.command("delete", help=_(
    "Delete a subscription and the notifications not sent yet."))
def delete(subscription_id: Annotated[str, typer.Argument(help=_("The subscription id."))]
           ) -> None:
    from exchange.notifications import subscriptions as subs

    with CommandContext() as ctx, reported():
        subs.delete_subscription(subscription_id, principal=None, store=ctx.store())
    echo(t("subscription {id} deleted", id=subscription_id))


def register(app: typer.Typer) -> None:
    app.add_typer(subscriptions_app, name="subscriptions")
