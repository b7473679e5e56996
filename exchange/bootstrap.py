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
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError, Settings
from .pipeline import AcceptedHook, Sealer, SignatureChecker
from .store import Engines, UnitOfWorkFactory, create_engines, upgrade

__all__ = ["SWITCH_INTERVAL_SECONDS", "Services", "build_app", "build_services", "load_members_for"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engines: Engines
    uow: UnitOfWorkFactory
    validator: Any               # exchange.validation.Validator
    members: Any                 # adapters.members.Members
    sealer: Sealer
    checker: SignatureChecker | None
    on_accepted: list[AcceptedHook] = field(default_factory=list)
    decision_gates: list[Any] = field(default_factory=list)
    """Checked before a customs decision is stored (exchange.customs.DecisionGate); the
    payments ledger's gate records assessments and guarantees and gates release."""
    secrets: Any = None
    """exchange.secretbox.SecretBox: seals payment providers' HMAC secrets at rest."""

    @property
    def member_codes(self) -> frozenset[str]:
        return frozenset(self.members.countries)

    def close(self) -> None:
        self.engines.dispose()


def load_members_for(settings: Settings) -> Any:
    from adapters.members import load_members

    from .paths import exchange_home

    path = settings.members.resolved_file()
    try:
        return load_members(path, base_dir=exchange_home())
    except Exception as exc:  # MembersFileError names the file and line
        raise ConfigError(str(exc), setting="EXCHANGE_MEMBERS_FILE") from None


def _validator() -> Any:
    from .schemapacks import SchemaStore
    from .validation import Validator

    return Validator(SchemaStore())


def build_services(settings: Settings, *, migrate: bool | None = None,
                   sealer: Sealer | None = None, checker: SignatureChecker | None = None,
                   validator: Any = None, members: Any = None,
                   on_accepted: Sequence[AcceptedHook] = ()) -> Services:
    """Wire everything; fail with :class:`ConfigError` naming the setting if misconfigured."""
    members = members if members is not None else load_members_for(settings)
    validator = validator or _validator()
    if sealer is None:  # the real signing parts (a caller giving a sealer gives its checker)
        from .signatures import hub_sealer, member_checker

        sealer = hub_sealer(settings.hub, schema_path=validator.schema_path)
        checker = checker or member_checker(members)
    try:
        engines = create_engines(settings.database)
    except Exception as exc:  # a folder that cannot be made, a driver that will not load
        raise ConfigError(f"cannot open the database: {exc}",
                          setting="EXCHANGE_DATABASE_URL") from None
    try:
        if settings.server.migrate_on_start if migrate is None else migrate:
            upgrade(engines)
    except Exception as exc:
        engines.dispose()
        raise ConfigError(f"cannot open or migrate the database: {exc}",
                          setting="EXCHANGE_DATABASE_URL") from None
    from .outbox import routing_hook
    from .payments import ledger_gate, seal_provider_secrets, secret_box
    from .routing import RoutingError, load_routing_rules

    try:
        rules = load_routing_rules(settings.routing.file)
    except RoutingError as exc:
        engines.dispose()
        raise ConfigError(exc.message, setting="EXCHANGE_ROUTING_FILE") from None
    try:
        box = secret_box(settings.payments)
    except ConfigError:
        engines.dispose()
        raise
    factory = UnitOfWorkFactory(engines)
    if settings.server.migrate_on_start if migrate is None else migrate:
        with factory.writing() as uow:  # secrets stored in the clear by earlier versions
            if seal_provider_secrets(uow, box):
                uow.commit()
    return Services(settings=settings, engines=engines, uow=factory,
                    validator=validator, members=members, sealer=sealer,
                    checker=checker, on_accepted=[routing_hook(rules, members), *on_accepted],
                    decision_gates=[ledger_gate(members, due_days=settings.payments.due_days)],
                    secrets=box)


SWITCH_INTERVAL_SECONDS = 0.001
"""How long a thread of an API process may hold the GIL while another waits for it."""


def build_app(settings: Settings, *, services: Services | None = None) -> Any:
    """The FastAPI application (builds its services unless given).

    Also shortens the interpreter's GIL switch interval (5 ms by default) to
    :data:`SWITCH_INTERVAL_SECONDS`. Requests run in a thread pool, and their threads keep
    giving up the GIL: for each database round trip, each SQLite statement, each stretch of
    XML parsing, validation or signing in C. Coming back, a thread waits until the thread
    running Python lets go, up to a whole interval each time; with a dozen such waits per
    submission that made the median submission at concurrency 4 wait tens of milliseconds and
    put p99 above 5 x p50 on SQLite. One millisecond keeps the switching overhead small."""
    from .api import create_api

    if sys.getswitchinterval() > SWITCH_INTERVAL_SECONDS:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    return create_api(services or build_services(settings))
