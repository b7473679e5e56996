"""`exchange payments import|unmatched|provider-secret`: the payments ledger from the
command line (the same use cases as the API, on the configured database, as an operator).
The tab-separated lines (``payments unmatched``, the ``refused`` and ``unmatched`` lines of
``payments import``) and ``--json`` stay the same in every language."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from exchange.cli.context import CommandContext, fail_with, reported
from exchange.cli.lang import _
from exchange.cli.output import echo, fail
from exchange.errors import ExchangeError, exit_code_of
from exchange.i18n import t

if TYPE_CHECKING:
    from exchange.payments.bank_files import CamtImport

__all__ = ["register"]

payments_app = typer.Typer(help=_("Payments: bank files (camt.054, camt.053), unmatched "
                                  "transactions, payment-provider secrets."),
                           no_args_is_help=True)


@payments_app.command("import", help=_(
    "Match bank files' credits to assessments by RF reference and record them as payments; "
    "list every other transaction with its reason. A file that is broken (not valid against "
    "its version's XSD...) is refused whole, with its line, and the next file still imported; "
    "then the exit status is 1."))
def import_file(
    files: Annotated[list[Path], typer.Argument(
        help=_("camt.054 notifications or camt.053 statements (XML, .001.02 or later, with "
               "their XSDs in the iso20022-camt schema pack), each imported on its own."))],
    as_json: Annotated[bool, typer.Option(
        "--json", help=_("Print each file's full report as JSON (one object per file)."))]
    = False,
) -> None:
    from exchange.payments.bank_files import import_camt054
    from exchange.payments.errors import CamtError
    from exchange.validation import Validator
    from exchange.validation.packs import SchemaStore

    contents: list[tuple[Path, bytes]] = []
    for file in files:  # every file readable before anything is imported
        try:
            contents.append((file, file.read_bytes()))
        except OSError as exc:
            fail(t("cannot read {path}: {reason}", path=file, reason=exc.strerror))
    refused = 0
    with CommandContext() as ctx:
        store, members, settings = ctx.store(), ctx.members(), ctx.settings()
        validator = Validator(SchemaStore())
        for file, data in contents:
            try:
                result = import_camt054(data, store=store, members=members,
                                        validator=validator,
                                        max_bytes=settings.payments.camt_max_bytes,
                                        accounts=settings.payments.bank_accounts)
            except CamtError as exc:
                echo(t("{path}: refused, nothing recorded: {code}: {reason}", path=file,
                       code=exc.code, reason=exc.text or exc.message), err=True)
                refused += 1
                continue
            except ExchangeError as exc:
                fail_with(exc)
            _print_import(file, result, as_json)
    if refused:
        raise typer.Exit(exit_code_of(CamtError("refused")))


def _print_import(file: Path, result: CamtImport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"file": str(file), **result.to_dict()}, indent=2))
        return
    report = result.report
    echo(t("{file}: {message} {message_id}, {transactions} transactions: {recorded} "
           "recorded, {repeated} already recorded, {refused} refused, {unmatched} unmatched",
           file=file.name, message=result.message + "." + result.version,
           message_id=result.message_id, transactions=result.transactions,
           recorded=len(report.recorded), repeated=len(report.repeated),
           refused=len(report.refused), unmatched=len(report.unmatched)))
    for payment, error in report.refused:
        typer.echo(f"refused\t{payment.provider_reference}\t{error.code}\t{error.message}")
    for u in report.unmatched:
        typer.echo(f"unmatched\t{u.transaction.idempotency_key}\t{u.reason}\t{u.message}")


@payments_app.command("unmatched", help=_(
    "Bank transactions that matched no assessment, newest first."))
def list_unmatched(
    reason: Annotated[str | None, typer.Option(help=_("Only this reason."))] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    from exchange.payments.bank_files import unmatched_transactions

    with CommandContext() as ctx, reported():
        items = unmatched_transactions(store=ctx.store(), reason=reason, limit=limit)
    for item in items:
        typer.echo(f"{item.received_at:%Y-%m-%d %H:%M}\t{item.reason}\t{item.key}\t"
                   f"{item.message}")


@payments_app.command("provider-secret", help=_(
    "Make (or replace) the HMAC secret a payment provider signs its requests with; printed "
    "once."))
def provider_secret(party_id: Annotated[str, typer.Argument(help=_("A payment-provider party."))]
                    ) -> None:
    from exchange.payments.providers import issue_provider_secret, secret_box

    with CommandContext() as ctx, reported():
        box = secret_box(ctx.settings().payments, store=ctx.store())
        secret = issue_provider_secret(party_id, store=ctx.store(), box=box)
    echo(t("signing secret (shown once): {secret}", secret=secret))
    echo(t("sign each request: X-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>"))


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")
