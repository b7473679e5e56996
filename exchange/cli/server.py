"""`exchange serve`, `exchange db upgrade|backup|restore`, `exchange parties ...`,
`exchange audit verify`. The tab-separated lines of ``parties list`` and the ``BROKEN`` lines
of ``audit verify`` stay the same in every language; the ids and keys that ``parties add``
and ``parties keys rotate`` print follow a translated label (run with ``--lang en`` to parse
them)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from exchange.cli.context import CommandContext, reported
from exchange.cli.lang import _
from exchange.cli.output import EXIT_INVALID, echo, fail
from exchange.i18n import t

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from exchange.services import Services

__all__ = ["register"]

db_app = typer.Typer(help=_("The exchange database."), no_args_is_help=True)
parties_app = typer.Typer(help=_("Parties (forwarders, customs, operators) and their API keys."),
                          no_args_is_help=True)
keys_app = typer.Typer(help=_("API keys of parties."), no_args_is_help=True)
audit_app = typer.Typer(help=_("The tamper-evident event log."), no_args_is_help=True)
parties_app.add_typer(keys_app, name="keys")


def app_factory() -> FastAPI:
    """The application of one worker process (``uvicorn --factory``): settings from the
    environment, migrations already applied by the parent."""
    from exchange.bootstrap import build_app, build_services
    from exchange.config import load_settings

    settings = load_settings()
    return build_app(settings, services=build_services(settings, migrate=False))


def serve(host: Annotated[str | None, typer.Option(help=_("Interface to listen on."))] = None,
          port: Annotated[int | None, typer.Option(help=_("TCP port."))] = None,
          workers: Annotated[int, typer.Option(
              min=1, max=64, help=_("Worker processes sharing the port (all coordination "
                                    "goes through the database)."))] = 1,
          log_level: Annotated[str, typer.Option(help=_("uvicorn log level."))] = "info",
          dispatch: Annotated[bool, typer.Option(
              "--dispatch", help=_("Also run the outbox dispatcher in this process."))] = False
          ) -> None:
    import uvicorn

    from exchange.bootstrap import build_app, server_options

    ctx = CommandContext()
    settings = ctx.settings()
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    services = ctx.services()  # fails fast on any bad setting, migrates once
    if dispatch and workers != 1:
        ctx.close()
        fail(t("--dispatch runs with one worker; with several, run `exchange dispatch` "
               "processes beside them"))
    if workers == 1:
        stop_dispatch = _start_dispatcher(services) if dispatch else None
        try:
            uvicorn.run(build_app(settings, services=services), host=host, port=port,
                        log_level=log_level, access_log=log_level == "debug",
                        **server_options(settings))
        finally:
            if stop_dispatch is not None:
                stop_dispatch()
        return
    ctx.close()
    uvicorn.run("exchange.cli.server:app_factory", factory=True, workers=workers, host=host,
                port=port, log_level=log_level, access_log=log_level == "debug",
                **server_options(settings))


def _start_dispatcher(services: Services) -> Callable[[], None]:
    """The dispatcher in a background thread of this process; returns its stop function."""
    import threading

    from exchange.bootstrap import build_dispatcher, build_notifier
    from exchange.delivery.dispatcher import run_dispatcher

    settings = services.settings
    with reported():
        dispatcher, collector = build_dispatcher(
            settings, services.uow, services.members, checker=services.checker,
            gates=services.decision_gates)
        notifier = build_notifier(settings, services.uow, box=services.secrets)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher, args=(dispatcher, collector, stop), daemon=True,
        kwargs={"poll_seconds": settings.dispatch.poll_seconds,
                "collect_seconds": settings.dispatch.collect_seconds}, name="dispatcher")
    notifying = threading.Thread(target=notifier.run, args=(stop,), daemon=True,
                                 name="notifier")
    thread.start()
    notifying.start()

    def stop_all() -> None:
        stop.set()
        thread.join(timeout=30)
        notifying.join(timeout=30)
        dispatcher.close()
        notifier.close()

    return stop_all


@db_app.command("upgrade", help=_(
    "Apply the database migrations (also done at `exchange serve` start)."))
def db_upgrade() -> None:
    from exchange.store import upgrade

    with CommandContext() as ctx:
        store = ctx.store(migrate=False)
        try:
            revision = upgrade(store.engines)
        except Exception as exc:  # noqa: BLE001 - any driver error, named with the setting
            fail(t("EXCHANGE_DATABASE_URL: cannot migrate the database: {reason}",
                   reason=str(exc)))
    echo(t("database at revision {revision}", revision=revision))


@db_app.command("backup", help=_(
    "Back up the database to FILE, consistent while the exchange runs (SQLite: the online "
    "backup API; PostgreSQL: pg_dump --format=custom, from PATH). Keep the hub key, the "
    "secrets key and the trust folders with it (README, Backups)."))
def db_backup(file: Annotated[Path, typer.Argument(help=_("The backup file to write (replaced "
                                                          "if it exists; mode 0600)."))]) -> None:
    from exchange.store.backup import backup_database

    with CommandContext() as ctx, reported():
        done = backup_database(ctx.settings().database.resolved_url(), file)
    echo(t("{engine} database at revision {revision} backed up to {path} ({size} bytes)",
           engine=done.engine, revision=done.revision or "-", path=done.path, size=done.size))
    echo(t("keep with it: the hub key and certificate, the secrets key (hub/secrets.key) "
           "and the trust folders"))


@db_app.command("restore", help=_(
    "Restore FILE into the configured database, made fresh (a database that holds data is "
    "refused without --force). Stop every exchange process on it first."))
def db_restore(
    file: Annotated[Path, typer.Argument(help=_("A backup made by `exchange db backup`."))],
    force: Annotated[bool, typer.Option(
        "--force", help=_("Replace a database that already holds data."))] = False,
) -> None:
    from exchange.store.backup import restore_database

    with CommandContext() as ctx, reported():
        done = restore_database(ctx.settings().database.resolved_url(), file, force=force)
    params = {"path": done.path, "target": done.target, "revision": done.revision or "-"}
    echo(t("{path} restored into {target} (revision {revision}, replacing what it held)",
           **params) if done.replaced else
         t("{path} restored into {target} (revision {revision})", **params))
    echo(t("next: put back the secrets key (hub/secrets.key) and the hub key, then "
           "`exchange audit verify`; `exchange serve` applies newer migrations"))


@parties_app.command("add", help=_(
    "Create a party and print its API key (shown once, store it now)."))
def parties_add(
    kind: Annotated[str, typer.Option(help=_("forwarder | customs | operator | payment-provider"))],
    name: Annotated[str, typer.Option(help=_("Display name."))],
    country: Annotated[str | None, typer.Option(help=_("ISO code (customs: required)."))] = None,
) -> None:
    from exchange.domain import PartyKind
    from exchange.parties.keys import register_party

    try:
        party_kind = PartyKind(kind)
    except ValueError:
        fail(t("--kind must be one of {kinds}", kinds=", ".join(k.value for k in PartyKind)))
    with CommandContext() as ctx, reported():
        party, key = register_party(ctx.store(), kind=party_kind, name=name, country=country,
                                    members=frozenset(ctx.members().countries))
    echo(t("party {id} ({kind}, {name}, {country})", id=party.id, kind=party.kind,
           name=party.name, country=party.country) if party.country else
         t("party {id} ({kind}, {name})", id=party.id, kind=party.kind, name=party.name))
    _print_key(key.key_id, key.token)


@parties_app.command("list", help=_(
    "List parties and their keys (never the secrets)."))
def parties_list() -> None:
    from exchange.parties.keys import list_parties

    with CommandContext() as ctx:
        listing = list_parties(ctx.store())
    for item in listing:
        p = item.party
        typer.echo(f"{p.id}\t{p.kind}\t{p.country or '-'}\t{p.name}")
        for k in item.keys:
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
            typer.echo(f"    key {k.key_id}\t{state}\tcreated {k.created_at:%Y-%m-%d %H:%M}")


def _key_change(key_id: str, rotate: bool) -> None:
    from exchange.parties.keys import change_key

    with CommandContext() as ctx, reported():
        issued = change_key(ctx.store(), key_id, rotate=rotate)
    echo(t("key {key} revoked", key=key_id))
    if issued is not None:
        _print_key(issued.key_id, issued.token)


def _print_key(key_id: str, token: str) -> None:
    echo(t("key id {key}", key=key_id))
    echo(t("API key (shown once): {token}", token=token))


@keys_app.command("rotate", help=_(
    "Issue a new key for the key's party and revoke the old one."))
def keys_rotate(key_id: Annotated[str, typer.Argument(help=_("The key id to replace."))]) -> None:
    _key_change(key_id, rotate=True)


@keys_app.command("revoke", help=_(
    "Revoke a key: requests with it answer 401 from now on."))
def keys_revoke(key_id: Annotated[str, typer.Argument(help=_("The key id to revoke."))]) -> None:
    _key_change(key_id, rotate=False)


@audit_app.command("verify", help=_(
    "Check every event chain; name the first broken event (exit 1) if any."))
def audit_verify() -> None:
    from exchange.audit import verify_chain

    broken = []
    count = 0
    with CommandContext() as ctx:
        store = ctx.store(migrate=False)
        try:
            with store.reading() as uow:
                for stream in uow.events.streams():
                    count += 1
                    found = verify_chain(stream, uow.events.list(stream),
                                         uow.events.head(stream))
                    if found is not None:
                        broken.append(found)
        except Exception as exc:  # noqa: BLE001 - any driver error, named with the setting
            fail(t("EXCHANGE_DATABASE_URL: cannot read the event log: {reason}",
                   reason=str(exc)))
    for b in broken:
        typer.echo(f"BROKEN {b}")
    if broken:
        echo(t("{broken} of {count} chains broken", broken=len(broken), count=count), err=True)
        raise typer.Exit(EXIT_INVALID)
    echo(t("{count} chains verified, all intact", count=count))


def register(app: typer.Typer) -> None:
    app.command("serve", help=_(
        "Run the HTTP API under uvicorn (migrates the database first)."))(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(parties_app, name="parties")
    app.add_typer(audit_app, name="audit")
