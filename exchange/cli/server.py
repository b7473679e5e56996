"""`exchange serve`, `exchange db upgrade`, `exchange parties ...`, `exchange audit verify`."""
from __future__ import annotations

from typing import Annotated

import typer

from .output import EXIT_INVALID, fail

__all__ = ["register"]

db_app = typer.Typer(help="The exchange database.", no_args_is_help=True)
parties_app = typer.Typer(help="Parties (forwarders, customs, operators) and their API keys.",
                          no_args_is_help=True)
keys_app = typer.Typer(help="API keys of parties.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident event log.", no_args_is_help=True)
parties_app.add_typer(keys_app, name="keys")


def _settings():
    from ..config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        fail(exc.message)


def _uow_factory(migrate: bool = True):
    """A unit-of-work factory on the configured database (migrated first)."""
    from ..config import ConfigError
    from ..store import UnitOfWorkFactory, create_engines, upgrade

    settings = _settings()
    try:
        engines = create_engines(settings.database)
    except Exception as exc:  # noqa: BLE001
        fail(f"EXCHANGE_DATABASE_URL: cannot open the database: {exc}")
    try:
        if migrate:
            upgrade(engines)
    except Exception as exc:  # noqa: BLE001 - reported with the setting's name
        engines.dispose()
        fail(str(ConfigError(f"cannot open or migrate the database: {exc}",
                             setting="EXCHANGE_DATABASE_URL")))
    return UnitOfWorkFactory(engines)


def app_factory():
    """The application of one worker process (``uvicorn --factory``): settings from the
    environment, migrations already applied by the parent."""
    from ..bootstrap import build_app, build_services
    from ..config import load_settings

    settings = load_settings()
    return build_app(settings, services=build_services(settings, migrate=False))


def serve(host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
          port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
          workers: Annotated[int, typer.Option(
              min=1, max=64, help="Worker processes sharing the port (all coordination "
                                  "goes through the database).")] = 1,
          log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
          dispatch: Annotated[bool, typer.Option(
              "--dispatch", help="Also run the outbox dispatcher in this process.")] = False
          ) -> None:
    """Run the HTTP API under uvicorn (migrates the database first)."""
    import uvicorn

    from ..bootstrap import build_app, build_services
    from ..config import ConfigError

    settings = _settings()
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    try:
        services = build_services(settings)  # fails fast on any bad setting, migrates once
    except ConfigError as exc:
        fail(exc.message)
    if dispatch and workers != 1:
        services.close()
        fail("--dispatch runs with one worker; with several, run `exchange dispatch` "
             "processes beside them")
    if workers == 1:
        stop_dispatch = _start_dispatcher(settings, services) if dispatch else None
        try:
            uvicorn.run(build_app(settings, services=services), host=host, port=port,
                        log_level=log_level, access_log=log_level == "debug")
        finally:
            if stop_dispatch is not None:
                stop_dispatch()
        return
    services.close()
    uvicorn.run("exchange.cli.server:app_factory", factory=True, workers=workers, host=host,
                port=port, log_level=log_level, access_log=log_level == "debug")


def _start_dispatcher(settings, services):
    """The dispatcher in a background thread of this process; returns its stop function."""
    import threading

    from ..config import ConfigError
    from ..dispatch import build_dispatcher, run_dispatcher
    from ..signatures import envelope_signer

    try:
        signer = envelope_signer(settings.hub)
    except ConfigError as exc:
        fail(exc.message)
    dispatcher, collector = build_dispatcher(
        settings, services.uow, services.members, signer=signer,
        gates=tuple(services.decision_gates), checker=services.checker)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_dispatcher, args=(dispatcher, collector, stop), daemon=True,
        kwargs={"poll_seconds": settings.dispatch.poll_seconds,
                "collect_seconds": settings.dispatch.collect_seconds}, name="dispatcher")
    thread.start()

    def stop_all() -> None:
        stop.set()
        thread.join(timeout=30)
        dispatcher.close()

    return stop_all


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (also done at `exchange serve` start)."""
    from ..store import create_engines, upgrade

    settings = _settings()
    try:
        engines = create_engines(settings.database)
    except Exception as exc:  # noqa: BLE001 - a path that cannot be made, a bad URL
        fail(f"EXCHANGE_DATABASE_URL: cannot open the database: {exc}")
    try:
        revision = upgrade(engines)
    except Exception as exc:  # noqa: BLE001
        fail(f"EXCHANGE_DATABASE_URL: cannot migrate the database: {exc}")
    finally:
        engines.dispose()
    typer.echo(f"database at revision {revision}")


@parties_app.command("add")
def parties_add(
    kind: Annotated[str, typer.Option(help="forwarder | customs | operator | payment-provider")],
    name: Annotated[str, typer.Option(help="Display name.")],
    country: Annotated[str | None, typer.Option(help="ISO code (customs: required).")] = None,
) -> None:
    """Create a party and print its API key (shown once, store it now)."""
    from ..bootstrap import load_members_for
    from ..config import ConfigError
    from ..domain import PartyKind
    from ..errors import UsageError
    from ..parties import add_party

    try:
        party_kind = PartyKind(kind)
    except ValueError:
        fail(f"--kind must be one of {', '.join(k.value for k in PartyKind)}")
    try:
        members = frozenset(load_members_for(_settings()).countries)
    except ConfigError as exc:
        fail(exc.message)
    factory = _uow_factory()
    try:
        with factory.writing() as uow:
            party, key = add_party(uow, kind=party_kind, name=name, country=country,
                                   members=members)
            uow.commit()
    except UsageError as exc:
        fail(exc.message)
    finally:
        factory.engines.dispose()
    typer.echo(f"party {party.id} ({party.kind}, {party.name}"
               f"{', ' + party.country if party.country else ''})")
    typer.echo(f"key id {key.key_id}")
    typer.echo(f"API key (shown once): {key.token}")


@parties_app.command("list")
def parties_list() -> None:
    """List parties and their keys (never the secrets)."""
    factory = _uow_factory()
    try:
        with factory.reading() as uow:
            keys: dict[str, list] = {}
            for k in uow.parties.keys():
                keys.setdefault(k.party_id, []).append(k)
            for p in uow.parties.list():
                typer.echo(f"{p.id}\t{p.kind}\t{p.country or '-'}\t{p.name}")
                for k in keys.get(p.id, []):
                    state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
                    typer.echo(f"    key {k.key_id}\t{state}\tcreated {k.created_at:%Y-%m-%d %H:%M}")
    finally:
        factory.engines.dispose()


def _key_change(key_id: str, rotate: bool) -> None:
    from ..errors import UsageError
    from ..parties import revoke_key, rotate_key

    factory = _uow_factory()
    try:
        with factory.writing() as uow:
            issued = rotate_key(uow, key_id) if rotate else revoke_key(uow, key_id)
            uow.commit()
    except UsageError as exc:
        fail(exc.message)
    finally:
        factory.engines.dispose()
    typer.echo(f"key {key_id} revoked")
    if issued is not None:
        typer.echo(f"key id {issued.key_id}")
        typer.echo(f"API key (shown once): {issued.token}")


@keys_app.command("rotate")
def keys_rotate(key_id: Annotated[str, typer.Argument(help="The key id to replace.")]) -> None:
    """Issue a new key for the key's party and revoke the old one."""
    _key_change(key_id, rotate=True)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke a key: requests with it answer 401 from now on."""
    _key_change(key_id, rotate=False)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every event chain; name the first broken event (exit 1) if any."""
    from ..audit import verify_chain

    factory = _uow_factory(migrate=False)
    broken = []
    count = 0
    try:
        with factory.reading() as uow:
            for stream in uow.events.streams():
                count += 1
                found = verify_chain(stream, uow.events.list(stream), uow.events.head(stream))
                if found is not None:
                    broken.append(found)
    except Exception as exc:  # noqa: BLE001
        fail(f"EXCHANGE_DATABASE_URL: cannot read the event log: {exc}")
    finally:
        factory.engines.dispose()
    for b in broken:
        typer.echo(f"BROKEN {b}")
    if broken:
        typer.echo(f"{len(broken)} of {count} chains broken", err=True)
        raise typer.Exit(EXIT_INVALID)
    typer.echo(f"{count} chains verified, all intact")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(parties_app, name="parties")
    app.add_typer(audit_app, name="audit")
