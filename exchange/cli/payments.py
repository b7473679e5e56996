"""`exchange payments import|unmatched|provider-secret`: the payments ledger from the
command line (the same use cases as the API, on the configured database)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .output import EXIT_INVALID, fail

__all__ = ["register"]

payments_app = typer.Typer(help="Payments: bank files (camt.054), unmatched transactions, "
                                "payment-provider secrets.", no_args_is_help=True)


def _services():
    from ..bootstrap import load_members_for
    from ..config import ConfigError, load_settings
    from ..store import UnitOfWorkFactory, create_engines, upgrade
    from ..store import ledger as _ledger  # noqa: F401  (registers uow.ledger)

    try:
        settings = load_settings()
        members = load_members_for(settings)
    except ConfigError as exc:
        fail(exc.message)
    engines = create_engines(settings.database)
    try:
        upgrade(engines)
    except Exception as exc:  # noqa: BLE001 - reported with the setting's name
        engines.dispose()
        fail(f"EXCHANGE_DATABASE_URL: cannot open or migrate the database: {exc}")
    return settings, members, UnitOfWorkFactory(engines)


@payments_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="camt.054 XML file (001.02 or 001.08).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")]
    = False,
) -> None:
    """Match a bank's camt.054 credits to assessments by RF reference and record them as
    payments; list what did not match. A file with a problem is refused whole (exit 1)."""
    from ..camt054 import CamtError
    from ..payments import import_camt054

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    settings, members, factory = _services()
    try:
        result = import_camt054(factory, data, members=members, actor_id=None,
                                max_bytes=settings.payments.camt_max_bytes)
    except CamtError as exc:
        fail(f"{file}: refused, nothing recorded: {exc.code}: {exc.message}", EXIT_INVALID)
    finally:
        factory.engines.dispose()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    counts = result.to_dict()["counts"]
    typer.echo(f"{file.name}: camt.054.{result.version} {result.message_id}, "
               f"{result.transactions} transactions: {counts['recorded']} recorded, "
               f"{counts['repeated']} already recorded, {counts['refused']} refused, "
               f"{counts['unmatched']} unmatched")
    for payment, error in result.report.refused:
        typer.echo(f"refused\t{payment.provider_reference}\t{error.code}\t{error.message}")
    for u in result.report.unmatched:
        typer.echo(f"unmatched\t{u.transaction.idempotency_key}\t{u.reason}\t{u.message}")


@payments_app.command("unmatched")
def list_unmatched(
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
) -> None:
    """Bank transactions that matched no assessment, newest first."""
    _, _, factory = _services()
    try:
        with factory.reading() as uow:
            for r in uow.ledger.unmatched(limit=limit, reason=reason):
                typer.echo(f"{r.created_at:%Y-%m-%d %H:%M}\t{r.reason}\t{r.key}\t{r.message}")
    finally:
        factory.engines.dispose()


@payments_app.command("provider-secret")
def provider_secret(party_id: Annotated[str, typer.Argument(help="A payment-provider party.")]
                    ) -> None:
    """Make (or replace) the HMAC secret a payment provider signs its requests with;
    printed once."""
    from ..config import ConfigError
    from ..domain import PartyKind
    from ..payments import new_provider_secret, secret_box, set_provider_secret
    from ..store.repositories import utcnow

    settings, _, factory = _services()
    try:
        box = secret_box(settings.payments)
    except ConfigError as exc:
        factory.engines.dispose()
        fail(exc.message)
    try:
        with factory.writing() as uow:
            party = uow.parties.get(party_id)
            if party is None:
                fail(f"no party with id {party_id}")
            if party.kind != PartyKind.PAYMENT_PROVIDER:
                fail(f"party {party_id} is a {party.kind}, not a payment-provider")
            secret = new_provider_secret()
            set_provider_secret(uow, box, party_id, secret, utcnow())
            uow.commit()
    finally:
        factory.engines.dispose()
    typer.echo(f"signing secret (shown once): {secret}")
    typer.echo("sign each request: X-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>")


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")
