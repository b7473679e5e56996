"""`exchange payments import|unmatched|provider-secret`: the payments ledger from the
command line (the same use cases as the API, on the configured database, as an operator)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from exchange.cli.context import CommandContext, fail_with, reported
from exchange.cli.output import fail
from exchange.errors import ExchangeError, exit_code_of

__all__ = ["register"]

payments_app = typer.Typer(help="Payments: bank files (camt.054), unmatched transactions, "
                                "payment-provider secrets.", no_args_is_help=True)


@payments_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="camt.054 XML file (001.02 or 001.08).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")]
    = False,
) -> None:
    """Match a bank's camt.054 credits to assessments by RF reference and record them as
    payments; list what did not match. A file with a problem is refused whole (exit 1)."""
    from exchange.payments.bank_files import import_camt054
    from exchange.payments.errors import CamtError

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    with CommandContext() as ctx:
        store, members, settings = ctx.store(), ctx.members(), ctx.settings()
        try:
            result = import_camt054(data, store=store, members=members,
                                    max_bytes=settings.payments.camt_max_bytes)
        except CamtError as exc:
            fail(f"{file}: refused, nothing recorded: {exc.code}: {exc.message}",
                 exit_code_of(exc))
        except ExchangeError as exc:
            fail_with(exc)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    report = result.report
    typer.echo(f"{file.name}: camt.054.{result.version} {result.message_id}, "
               f"{result.transactions} transactions: {len(report.recorded)} recorded, "
               f"{len(report.repeated)} already recorded, {len(report.refused)} refused, "
               f"{len(report.unmatched)} unmatched")
    for payment, error in report.refused:
        typer.echo(f"refused\t{payment.provider_reference}\t{error.code}\t{error.message}")
    for u in report.unmatched:
        typer.echo(f"unmatched\t{u.transaction.idempotency_key}\t{u.reason}\t{u.message}")


@payments_app.command("unmatched")
def list_unmatched(
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Bank transactions that matched no assessment, newest first."""
    from exchange.payments.bank_files import unmatched_transactions

    with CommandContext() as ctx, reported():
        items = unmatched_transactions(store=ctx.store(), reason=reason, limit=limit)
    for item in items:
        typer.echo(f"{item.received_at:%Y-%m-%d %H:%M}\t{item.reason}\t{item.key}\t"
                   f"{item.message}")


@payments_app.command("provider-secret")
def provider_secret(party_id: Annotated[str, typer.Argument(help="A payment-provider party.")]
                    ) -> None:
    """Make (or replace) the HMAC secret a payment provider signs its requests with;
    printed once."""
    from exchange.payments.providers import issue_provider_secret, secret_box

    with CommandContext() as ctx, reported():
        box = secret_box(ctx.settings().payments, store=ctx.store())
        secret = issue_provider_secret(party_id, store=ctx.store(), box=box)
    typer.echo(f"signing secret (shown once): {secret}")
    typer.echo("sign each request: X-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>")


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")
