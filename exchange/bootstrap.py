"""The composition root: settings in, a wired application (or its services) out.

    services = build_services(settings)          # engines, unit of work, validator, signing...
    app = build_app(settings)                    # the FastAPI application over those services

The API, the CLI and the tests all come through here; nothing connects, reads configuration
or opens files at import time. Tests pass other parts (``sealer=``, ``checker=``,
``on_accepted=``) to :func:`build_services`.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from typing import TYPE_CHECKING, Any

from exchange.config import ConfigError, Settings
from exchange.delivery.decisions import DecisionGate
from exchange.documents.pipeline import AcceptedHook, Sealer, SignatureChecker
from exchange.i18n import t
from exchange.services import Services
from exchange.store import UnitOfWorkFactory, create_engines, upgrade

if TYPE_CHECKING:  # imported where used: `exchange validate` never loads them
    from adapters.contract import Adapter
    from adapters.members import Members
    from fastapi import FastAPI

    from exchange.delivery.collector import DecisionCollector
    from exchange.delivery.dispatcher import Dispatcher
    from exchange.notifications.notifier import Notifier
    from exchange.notifications.subscriptions import SecretSealer
    from exchange.documents.signatures import EnvelopeSigner
    from exchange.validation import Validator

__all__ = [
    "SWITCH_INTERVAL_SECONDS", "Services", "build_adapters", "build_app", "build_dispatcher",
    "build_notifier",
    "build_services", "configure_logs", "decision_gates", "load_members_for", "open_store",
    "server_options",
    "warn_wider_than_private",
]

log = logging.getLogger(__name__)


def load_members_for(settings: Settings) -> Members:
    """The members file the settings name (a :class:`ConfigError` naming the file and line)."""
    from adapters.members import load_members

    from exchange.paths import exchange_home

    path = settings.members.resolved_file()
    try:
        return load_members(path, base_dir=exchange_home())
    except Exception as exc:  # MembersFileError names the file and line
        raise ConfigError(str(exc), setting="EXCHANGE_MEMBERS_FILE") from None


def _validator() -> Validator:
    from exchange.validation import Validator
    from exchange.validation.packs import SchemaStore
    from exchange.validation.rulepacks import RuleStore
    from exchange.validation.rules import RuleEngine

    return Validator(SchemaStore(), rules=RuleEngine(RuleStore()))


def open_store(settings: Settings, *, migrate: bool) -> UnitOfWorkFactory:
    """The database of the settings (migrated first when *migrate*), or a
    :class:`ConfigError` naming ``EXCHANGE_DATABASE_URL``."""
    try:
        engines = create_engines(settings.database)
    except Exception as exc:  # a folder that cannot be made, a driver that will not load
        raise ConfigError(t("cannot open the database: {error}", error=str(exc)),
                          setting="EXCHANGE_DATABASE_URL") from None
    try:
        if migrate:
            upgrade(engines)
    except Exception as exc:
        engines.dispose()
        raise ConfigError(t("cannot open or migrate the database: {error}", error=str(exc)),
                          setting="EXCHANGE_DATABASE_URL") from None
    return UnitOfWorkFactory(engines)


WIDE_MODE_LINES = 20
"""At most this many paths are named one by one by :func:`warn_wider_than_private`."""


def warn_wider_than_private(settings: Settings) -> int:
    """Log one warning per directory or file of the exchange that the group or others may
    use (the data directory and all below it, the SQLite database, the hub's key and the
    secrets key wherever they are configured), naming it and its mode; past
    :data:`WIDE_MODE_LINES`, one line counts the rest. Returns how many there are."""
    from exchange.paths import exchange_home, wider_than_private
    from exchange.store.engine import sqlite_file

    paths = [exchange_home()]
    database = sqlite_file(settings.database.resolved_url())
    if database is not None:
        paths += [database, database.with_name(database.name + "-wal"),
                  database.with_name(database.name + "-shm")]
    paths += [settings.hub.resolved_key_file(), settings.payments.resolved_secrets_key_file()]
    if settings.hub.key_passphrase_file is not None:
        paths.append(settings.hub.key_passphrase_file)
    count = 0
    for path, mode in wider_than_private(paths):
        count += 1
        if count <= WIDE_MODE_LINES:
            log.warning("%s is open to other users (mode %04o): it holds the exchange's data; "
                        "make it owner-only (chmod go-rwx)", path, mode)
    if count > WIDE_MODE_LINES:
        log.warning("%d more paths of the exchange are open to other users; make them "
                    "owner-only (chmod -R go-rwx %s)", count - WIDE_MODE_LINES, exchange_home())
    return count


def decision_gates(settings: Settings, members: Members) -> list[DecisionGate]:
    """The gates every customs decision passes, wherever it comes from (API, dashboard,
    an adapter's answer collected by the dispatcher)."""
    from exchange.payments.gate import ledger_gate

    return [ledger_gate(members, due_days=settings.payments.due_days)]


def build_services(settings: Settings, *, migrate: bool | None = None,
                   sealer: Sealer | None = None, checker: SignatureChecker | None = None,
                   validator: Validator | None = None, members: Members | None = None,
                   on_accepted: Sequence[AcceptedHook] = ()) -> Services:
    """Wire everything; fail with :class:`ConfigError` naming the setting if misconfigured."""
    from exchange.delivery.outbox import routing_hook
    from exchange.delivery.routing import RoutingError, load_routing_rules
    from exchange.payments.providers import seal_provider_secrets, secret_box

    members = members if members is not None else load_members_for(settings)
    validator = validator or _validator()
    if migrate is not False:  # the workers of `serve --workers N` (migrate=False): their parent
        warn_wider_than_private(settings)
    migrate = settings.server.migrate_on_start if migrate is None else migrate
    factory = open_store(settings, migrate=migrate)
    try:
        if sealer is None:  # the real signing parts (a caller giving a sealer gives its checker)
            from exchange.documents.signatures import hub_sealer, member_checker

            # the database's own hub identity: never a new one for a restored database
            sealer = hub_sealer(settings.hub, schema_path=validator.schema_path, store=factory)
            checker = checker or member_checker(members)
        rules = load_routing_rules(settings.routing.file)
        box = secret_box(settings.payments, store=factory)
    except RoutingError as exc:
        factory.engines.dispose()
        raise ConfigError(exc.text or exc.message, setting="EXCHANGE_ROUTING_FILE") from None
    except ConfigError:
        factory.engines.dispose()
        raise
    if migrate:
        with factory.writing() as uow:  # secrets stored in the clear by earlier versions
            if seal_provider_secrets(uow, box):
                uow.commit()
    return Services(settings=settings, engines=factory.engines, uow=factory,
                    validator=validator, members=members, sealer=sealer,
                    checker=checker, on_accepted=[routing_hook(rules, members), *on_accepted],
                    decision_gates=decision_gates(settings, members), secrets=box)


def build_adapters(members: Members, *, signer: EnvelopeSigner | None = None
                   ) -> dict[str, Adapter]:
    """One adapter per member, from the members file and the registry of adapter kinds
    (envelopes signed by *signer*, unsigned without one)."""
    from adapters.contract import AdapterContext
    from adapters.registry import default_registry

    registry, context = default_registry(), AdapterContext(signer=signer)
    return {m.code: registry.for_member(m, context=context) for m in members}


def build_dispatcher(settings: Settings, uow: UnitOfWorkFactory, members: Members, *,
                     checker: SignatureChecker | None = None, signer: EnvelopeSigner | None = None,
                     gates: Sequence[DecisionGate] | None = None
                     ) -> tuple[Dispatcher, DecisionCollector]:
    """The outbox dispatcher and the collector of customs answers, with one adapter per
    member (envelopes signed with the hub's key, checked against the identity the database
    records, unless *signer* is given) and the same decision gates as the API (unless
    *gates* is given)."""
    from exchange.delivery.collector import DecisionCollector
    from exchange.delivery.dispatcher import Dispatcher, RetryPolicy
    from exchange.documents.signatures import envelope_signer, member_checker

    signer = signer if signer is not None else envelope_signer(settings.hub, store=uow)
    checker = checker if checker is not None else member_checker(members)
    gates = decision_gates(settings, members) if gates is None else gates
    adapters = build_adapters(members, signer=signer)
    d = settings.dispatch
    collector = DecisionCollector(uow, adapters, gates=tuple(gates), checker=checker)
    policy = RetryPolicy(max_attempts=d.max_attempts, base_delay=d.base_delay_seconds,
                         max_delay=d.max_delay_seconds, lease_seconds=d.lease_seconds)
    dispatcher = Dispatcher(uow, adapters, policy=policy, batch_size=d.batch_size,
                            concurrency=d.concurrency, on_answers=collector.drain)
    return dispatcher, collector


def build_notifier(settings: Settings, uow: UnitOfWorkFactory, *,
                   box: SecretSealer | None = None) -> Notifier:
    """The notifier of event subscriptions (run beside the dispatcher by ``exchange
    dispatch``), with the dispatcher's retry policy and lease and the secrets key that seals
    the subscriptions' secrets. A request's time-out is kept under ``lease / (AHEAD + 1)``
    (a notification's lease is not renewed; see :mod:`exchange.notifications.notifier`)."""
    from exchange.delivery.attempts import RetryPolicy
    from exchange.notifications.notifier import AHEAD, Notifier
    from exchange.payments.providers import secret_box

    d, n = settings.dispatch, settings.notifications
    if n.timeout_seconds > d.lease_seconds / (AHEAD + 1):
        n = n.model_copy(update={"timeout_seconds": d.lease_seconds / (AHEAD + 1)})
    policy = RetryPolicy(max_attempts=d.max_attempts, base_delay=d.base_delay_seconds,
                         max_delay=d.max_delay_seconds, lease_seconds=d.lease_seconds)
    return Notifier(uow, box=box if box is not None else secret_box(settings.payments, store=uow),
                    settings=n, policy=policy)


def configure_logs() -> bool:
    """Logs of a command that runs until stopped (``exchange dispatch``) to stderr, as
    ``exchange serve`` writes them: JSON lines unless stderr is a terminal, from INFO (each
    delivery's outcome; a loop that paused on a lost database, and resumed). False if
    logging was set up before (a host application, a test)."""
    from exchange.http.logs import configure_logging

    return configure_logging()


SWITCH_INTERVAL_SECONDS = 0.001
"""How long a thread of an API process may hold the GIL while another waits for it."""


def build_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """The HTTP application: the API and the dashboard side by side, with request ids, logs
    and metrics around both (builds its services unless given).

    Also shortens the interpreter's GIL switch interval (5 ms by default) to
    :data:`SWITCH_INTERVAL_SECONDS`. Requests run in a thread pool, and their threads keep
    giving up the GIL: for each database round trip, each SQLite statement, each stretch of
    XML parsing, validation or signing in C. Coming back, a thread waits until the thread
    running Python lets go, up to a whole interval each time; with a dozen such waits per
    submission that made the median submission at concurrency 4 wait tens of milliseconds and
    put p99 above 5 x p50 on SQLite. One millisecond keeps the switching overhead small."""
    from exchange.api import create_api
    from exchange.http.limits import BodyTimeout
    from exchange.http.observability import install_observability
    from exchange.web import install_dashboard

    if sys.getswitchinterval() > SWITCH_INTERVAL_SECONDS:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    services = services or build_services(settings)
    app = create_api(services)
    install_dashboard(app)
    server = settings.server
    app.add_middleware(BodyTimeout, timeout=server.body_timeout_seconds,
                       min_rate=server.body_min_rate)
    install_observability(app, services)
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """What uvicorn needs beside the application of :func:`build_app`
    (``uvicorn.run(app, **server_options(settings))``): its HTTP protocol with the header
    timeout, header limits and connection cap of :mod:`exchange.http.edge` (their values
    come from the application, so worker processes of ``--workers N`` get them too)."""
    from exchange.http.edge import EdgeProtocol

    return {"http": EdgeProtocol}
