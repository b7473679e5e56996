"""What a command needs from the composition root (:mod:`exchange.bootstrap`), each part
built on first use from the settings of the environment; any error of the exchange ends the
command with its message and the exit code of :data:`exchange.errors.EXIT_CODES`.

    with CommandContext() as ctx:
        with ctx.store().writing() as uow: ...       # migrated first
        ctx.members()                                # the members file
        ctx.services()                               # everything `exchange serve` has
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

from exchange.cli.output import fail
from exchange.errors import ExchangeError, exit_code_of

if TYPE_CHECKING:
    from adapters.members import Members

    from exchange.config import Settings
    from exchange.services import Services
    from exchange.store import UnitOfWorkFactory

__all__ = ["CommandContext", "fail_with", "reported"]


def fail_with(exc: ExchangeError) -> NoReturn:
    """End the command with the error's message, in the reader's language, and its exit
    code."""
    fail(exc, code=exit_code_of(exc))


@contextmanager
def reported() -> Iterator[None]:
    """Turn an error of the exchange raised inside into its message and exit code."""
    try:
        yield
    except ExchangeError as exc:
        fail_with(exc)


class CommandContext:
    """The parts of the exchange one command uses, closed when the command ends."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._members: Members | None = None
        self._store: UnitOfWorkFactory | None = None
        self._services: Services | None = None

    def __enter__(self) -> CommandContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
        elif self._store is not None:
            self._store.engines.dispose()
        self._services = self._store = None

    def settings(self) -> Settings:
        if self._settings is None:
            from exchange.config import load_settings

            with reported():
                self._settings = load_settings()
        return self._settings

    def members(self) -> Members:
        if self._members is None:
            from exchange.bootstrap import load_members_for

            with reported():
                self._members = load_members_for(self.settings())
        return self._members

    def store(self, *, migrate: bool = True) -> UnitOfWorkFactory:
        """The configured database (migrated first unless *migrate* is false)."""
        if self._services is not None:
            return self._services.uow
        if self._store is None:
            from exchange.bootstrap import open_store

            with reported():
                self._store = open_store(self.settings(), migrate=migrate)
        return self._store

    def services(self, *, migrate: bool | None = None) -> Services:
        """Everything `exchange serve` wires (validator, hub seal, gates, secrets...)."""
        if self._services is None:
            from exchange.bootstrap import build_services

            if self._store is not None:
                self._store.engines.dispose()
                self._store = None
            with reported():
                self._services = build_services(self.settings(), migrate=migrate,
                                                members=self._members)
        return self._services
