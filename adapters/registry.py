"""Adapter kinds, found through the Python entry-point group ``exchange.adapters``.

A member country can ship its own adapter as a separate package by declaring, in its
``pyproject.toml``::

    [project.entry-points."exchange.adapters"]
    my-kind = "my_package.adapter:MyAdapter"

The object named there is an :class:`~adapters.contract.AdapterFactory` (usually the
adapter class itself). Entry points are loaded lazily, when their kind is first asked for;
a plugin that fails to import raises :class:`~adapters.errors.AdapterConfigError`
(``adapter.load-failed``) rather than being logged and skipped.

    registry = default_registry()
    adapter = registry.for_member(members["UZ"], context=AdapterContext(signer=...))
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.errors import AdapterConfigError, UnknownAdapterError
from adapters.settings import SettingValue, check_settings

if TYPE_CHECKING:
    from adapters.contract import Adapter, AdapterContext, AdapterFactory
    from adapters.members import Member

__all__ = ["ENTRY_POINT_GROUP", "REFERENCE_ADAPTERS", "AdapterRegistry", "default_registry"]

ENTRY_POINT_GROUP = "exchange.adapters"

# The reference adapters, as declared in pyproject.toml. Used only when the package
# metadata is missing (running from a source tree that was never pip-installed).
REFERENCE_ADAPTERS = {
    "https-push": "adapters.https_push:HttpsPushAdapter",
    "inbox": "adapters.inbox:InboxAdapter",
    "edifact-file": "adapters.edifact_file:EdifactFileAdapter",
}


class AdapterRegistry:
    """Kinds -> factories. Immutable; :meth:`with_factory` returns an extended copy."""

    def __init__(self, sources: Mapping[str, EntryPoint | AdapterFactory]):
        self._sources = dict(sources)
        self._loaded: dict[str, AdapterFactory] = {}

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> AdapterRegistry:
        sources: dict[str, EntryPoint | AdapterFactory] = {
            name: EntryPoint(name=name, value=value, group=group)
            for name, value in REFERENCE_ADAPTERS.items()
        } if group == ENTRY_POINT_GROUP else {}
        for ep in entry_points(group=group):
            sources[ep.name] = ep
        return cls(sources)

    def with_factory(self, factory: AdapterFactory) -> AdapterRegistry:
        sources = dict(self._sources)
        sources[factory.kind] = factory
        return AdapterRegistry(sources)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._sources))

    def __contains__(self, kind: object) -> bool:
        return kind in self._sources

    def factory(self, kind: str) -> AdapterFactory:
        if kind in self._loaded:
            return self._loaded[kind]
        source = self._sources.get(kind)
        if source is None:
            raise UnknownAdapterError(kind, self.kinds)
        factory: AdapterFactory  # (an entry point loads any object: checked below)
        if isinstance(source, EntryPoint):
            try:
                factory = source.load()
            except Exception as exc:  # a plugin's import failure, reported as ours
                raise AdapterConfigError(
                    f"adapter kind {kind!r} ({source.value}) cannot be loaded: {exc}",
                    code="adapter.load-failed") from exc
        else:
            factory = source
        if getattr(factory, "kind", None) != kind or not hasattr(factory, "settings_spec"):
            raise AdapterConfigError(
                f"adapter kind {kind!r} does not provide an adapter factory "
                f"(kind={getattr(factory, 'kind', None)!r})", code="adapter.load-failed")
        self._loaded[kind] = factory
        return factory

    def check_settings(self, kind: str, raw: Mapping[str, object], *,
                       base_dir: Path | None = None) -> dict[str, SettingValue]:
        """Typed, complete settings of *kind*, or SettingError / UnknownAdapterError."""
        return check_settings(self.factory(kind).settings_spec, raw, base_dir=base_dir)

    def create(self, kind: str, *, country: str, settings: Mapping[str, object],
               context: AdapterContext | None = None) -> Adapter:
        """Build an adapter from raw (unchecked) or checked settings."""
        from adapters.contract import AdapterContext

        factory = self.factory(kind)
        checked = check_settings(factory.settings_spec, settings)
        return factory.create(country=country, settings=checked,
                              context=context or AdapterContext())

    def for_member(self, member: Member, *, context: AdapterContext | None = None) -> Adapter:
        """The adapter configured for *member* (its settings were checked at load)."""
        return self.create(member.adapter, country=member.code, settings=member.settings,
                           context=context)


@functools.cache
def default_registry() -> AdapterRegistry:
    """The process-wide registry of installed adapter kinds (read once)."""
    return AdapterRegistry.from_entry_points()
