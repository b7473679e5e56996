"""Rule packs: the catalog in ``schemas/rules/*.toml`` and the local rule store.

A rule pack is a set of business rules (ISO Schematron, or the XSLT compiled from it) for
some document types and profiles. Third-party packs (EN 16931) are pinned by SHA-256 in the
catalog and installed exactly like schema packs (:class:`~exchange.validation.packs.
PinnedStore`): ``exchange rules install en16931 --from FOLDER|ZIP|URL`` copies them into
``$EXCHANGE_HOME/rules/<pack>/`` after every digest matched. The project's own packs
(``builtin = true``, e.g. ``carec-corridor``) live beside their catalog file in
``schemas/rules/<pack>/`` and need no install.

A pack holds one or more *rule sets*, one per syntax: the stylesheet (``xslt``) or the
Schematron source (``schematron``, compiled on first use) and the document types (root and
namespace) and profiles it applies to.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import schemas

from exchange.errors import PackError
from exchange.i18n import t
from exchange.paths import exchange_home
from exchange.validation.packs import InstallResult, PinnedStore

__all__ = ["RulePackSpec", "RuleSet", "RuleStore", "load_rule_catalog", "rule_store_dir"]


def rule_store_dir(home: Path | None = None) -> Path:
    return (home or exchange_home()) / "rules"


@dataclass(frozen=True)
class RuleSet:
    """One syntax's rules: what runs them and which documents they apply to."""

    name: str
    document_types: tuple[tuple[str, str], ...]  # (namespace, root)
    profiles: tuple[str, ...] = ()  # empty: every profile
    xslt: str | None = None  # path inside the pack: a compiled stylesheet (SVRL out)
    schematron: str | None = None  # or the ISO Schematron source, compiled on first use

    @property
    def source(self) -> str:
        return self.xslt or self.schematron or ""

    def covers(self, namespace: str, root: str) -> bool:
        return (namespace, root) in self.document_types

    def matches_profile(self, profiles: tuple[str, ...]) -> bool:
        """A document's profile ids select this rule set when one starts with a listed id
        (``urn:cen.eu:en16931:2017#compliant#...`` is an EN 16931 invoice)."""
        if not self.profiles:
            return True
        return any(p.startswith(want) for p in profiles for want in self.profiles)


@dataclass(frozen=True)
class RulePackSpec:
    name: str
    title: str
    version: str
    rule_sets: tuple[RuleSet, ...]
    download_url: str = ""
    files: dict[str, str] = field(default_factory=dict)
    builtin: bool = False
    licence_file: str | None = None


def _parse_rule_set(data: dict[str, object], where: Path) -> RuleSet:
    xslt, sch = data.get("xslt"), data.get("schematron")
    if (xslt is None) == (sch is None):
        raise PackError(t("{file}: each [[rule_sets]] needs exactly one of xslt or schematron",
                          file=str(where)))
    types = data.get("document_types")
    if not isinstance(types, list) or not types:
        raise PackError(t("{file}: a rule set needs document_types (root and namespace)",
                          file=str(where)))
    profiles = data.get("profiles", [])
    assert isinstance(profiles, list)
    return RuleSet(
        name=str(data.get("name", "")),
        document_types=tuple((str(d["namespace"]), str(d["root"])) for d in types),
        profiles=tuple(str(p) for p in profiles),
        xslt=None if xslt is None else str(xslt),
        schematron=None if sch is None else str(sch))


def _parse_spec(path: Path) -> RulePackSpec:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return RulePackSpec(
        name=data["name"], title=data.get("title", data["name"]), version=data["version"],
        rule_sets=tuple(_parse_rule_set(r, path) for r in data["rule_sets"]),
        download_url=data.get("download_url", ""), files=dict(data.get("files", {})),
        builtin=bool(data.get("builtin", False)), licence_file=data.get("licence_file"))


def load_rule_catalog(folder: Path | None = None) -> dict[str, RulePackSpec]:
    """All rule packs of the catalog, by name."""
    folder = folder or schemas.rules_dir()
    specs = (_parse_spec(p) for p in sorted(folder.glob("*.toml")))
    return {s.name: s for s in specs}


class RuleStore(PinnedStore[RulePackSpec]):
    """The local store of installed rule packs under ``<home>/rules``; built-in packs are
    read from the project's ``schemas/rules/<pack>/`` and are always installed."""

    kind = "rule"
    install_command = "exchange rules install"

    def __init__(self, root: Path | None = None,
                 catalog: dict[str, RulePackSpec] | None = None,
                 builtin_dir: Path | None = None):
        self.root = root or rule_store_dir()
        self.catalog = catalog if catalog is not None else load_rule_catalog()
        self.builtin_dir = builtin_dir or schemas.rules_dir()

    def _probe(self, spec: RulePackSpec) -> str:
        return spec.rule_sets[0].source

    def pack_dir(self, name: str) -> Path:
        spec = self.catalog.get(name)
        if spec is not None and spec.builtin:
            return self.builtin_dir / name
        return self.root / name

    def is_installed(self, name: str) -> bool:
        spec = self.catalog.get(name)
        if spec is not None and spec.builtin:
            return True
        return super().is_installed(name)

    def install(self, name: str, source: str | None = None) -> InstallResult[RulePackSpec]:
        spec = self.spec(name)
        if spec.builtin:
            raise PackError(t("rule pack {name!r} is built in (schemas/rules/{name}/): there is "
                              "nothing to install", name=name))
        return super().install(name, source)
