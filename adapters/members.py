"""The members file: which CAREC countries take part and how their customs are reached.

    members = load_members()                     # the shipped adapters/members.toml
    members = load_members(path, base_dir=home)  # an operator's file; relative folders
                                                 # resolved against the data directory
    members.countries        -> ("AF", "AZ", ...)  (file order)
    members["KZ"]            -> Member(code="KZ", name=..., currency="KZT", adapter="inbox", ...)

``signature_profile = "xmldsig"`` accepts senders' plain enveloped XML-DSig signatures
(``"xades-bes"``, the default, requires XAdES-BES signed properties).
``rule_packs = ["carec-corridor"]`` makes every document from the member pass those rule
packs (the validation engine's rules layer), whatever profile it declares.

``help_desk_decisions = true`` lets the hub's help desk (an operator) key in the customs
decisions and acknowledgements of a member without a system of its own; without it (the
default) only the member's customs authority records them.

A bad file (bad TOML, unknown or missing country, unknown adapter kind, missing or unknown
setting, wrong type) raises :class:`~adapters.errors.MembersFileError` whose message names the
file and the line, e.g. ``members.toml, line 42: UZ: missing setting 'endpoint' of adapter
kind 'https-push'``.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from adapters.errors import AdapterConfigError, MembersFileError, SettingError
from adapters.registry import AdapterRegistry, default_registry
from adapters.settings import SettingValue
from signing.profiles import Profile

__all__ = ["CAREC_MEMBERS", "Member", "Members", "load_members", "default_members_path"]

CAREC_MEMBERS = ("AF", "AZ", "CN", "GE", "KG", "KZ", "MN", "PK", "TJ", "TM", "UZ")

_FIELDS = {"name", "currency", "trust_dir", "require_signature", "adapter", "settings",
           "help_desk_decisions", "signature_profile", "rule_packs"}


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    currency: str
    adapter: str
    """Adapter kind, a name in the ``exchange.adapters`` entry-point group."""
    settings: Mapping[str, SettingValue] = field(hash=False)
    """The adapter settings, checked and typed (defaults filled in, paths as Path)."""
    trust_dir: Path
    require_signature: bool
    help_desk_decisions: bool = False
    """The hub's help desk (an operator) may key in this member's customs decisions and
    acknowledgements for it (a member without a customs system of its own)."""
    signature_profile: Profile = Profile.XADES_BES
    """What senders' signatures must be: ``xades-bes`` (the default) or ``xmldsig`` (a plain
    enveloped XML-DSig signature, as many national signing tools make)."""
    rule_packs: tuple[str, ...] = ()
    """Rule packs (``exchange rules list``) every document from this member must pass,
    whatever profile it declares (``rule_packs = ["carec-corridor"]``)."""


@dataclass(frozen=True)
class Members:
    path: Path
    by_code: Mapping[str, Member] = field(hash=False)

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(self.by_code)

    def __getitem__(self, code: str) -> Member:
        try:
            return self.by_code[code]
        except KeyError:
            raise KeyError(f"{code!r} is not a member in {self.path}") from None

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def __iter__(self) -> Iterator[Member]:
        return iter(self.by_code.values())

    def __len__(self) -> int:
        return len(self.by_code)


def default_members_path() -> Path:
    return Path(str(resources.files("adapters").joinpath("members.toml")))


class _Lines:
    """Line numbers of tables and keys in a TOML text (tomllib does not keep them)."""

    _HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(r"\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")

    def __init__(self, text: str):
        self.tables: dict[tuple[str, ...], int] = {}
        self.keys: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            if m := self._HEADER.match(line):
                table = tuple(p.strip().strip('"') for p in m.group(1).split("."))
                self.tables.setdefault(table, number)
            elif m := self._KEY.match(line):
                self.keys.setdefault((*table, m.group(1).strip('"')), number)

    def of(self, *path: str) -> int | None:
        """Line of a key, else of its table, else of the nearest enclosing table."""
        if path in self.keys:
            return self.keys[path]
        for end in range(len(path), 0, -1):
            if path[:end] in self.tables:
                return self.tables[path[:end]]
        return None


def load_members(path: Path | None = None, *, registry: AdapterRegistry | None = None,
                 base_dir: Path | None = None) -> Members:
    """Read and check a members file (default: the shipped one). See the module docstring."""
    path = Path(path) if path is not None else default_members_path()
    registry = registry or default_registry()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MembersFileError(path, None, f"cannot be read: {exc}",
                               code="adapter.members-file.unreadable") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise MembersFileError(path, int(m.group(1)) if m else None, f"bad TOML: {exc}",
                               code="adapter.members-file.toml") from exc
    lines = _Lines(text)

    def fail(problem: str, *where: str, code: str = "adapter.members-file") -> MembersFileError:
        return MembersFileError(path, lines.of(*where), problem, code=code)

    unknown_top = sorted(set(data) - {"members"})
    if unknown_top:
        raise fail(f"unknown table or key {unknown_top[0]!r} (expected [members.XX])",
                   unknown_top[0])
    table = data.get("members")
    if not isinstance(table, dict) or not table:
        raise fail("no [members.XX] tables", "members")
    by_code: dict[str, Member] = {}
    for code, entry in table.items():
        where = ("members", code)
        if code not in CAREC_MEMBERS:
            raise fail(f"unknown country {code!r}: not a CAREC member "
                       f"({', '.join(CAREC_MEMBERS)})", *where,
                       code="adapter.members-file.unknown-country")
        if not isinstance(entry, dict):
            raise fail(f"{code}: must be a table [members.{code}]", *where)
        by_code[code] = _member(code, entry, where, fail, registry, base_dir)
    missing = [c for c in CAREC_MEMBERS if c not in by_code]
    if missing:
        raise fail(f"CAREC members missing: {', '.join(missing)}", "members",
                   code="adapter.members-file.missing-country")
    return Members(path=path, by_code=MappingProxyType(by_code))


class _Fail(Protocol):
    """Makes the error of a members file, at the line of *where* (a table and key path)."""

    def __call__(self, problem: str, *where: str, code: str = ...) -> MembersFileError: ...


def _member(code: str, entry: Mapping[str, object], where: tuple[str, ...], fail: _Fail,
            registry: AdapterRegistry, base_dir: Path | None) -> Member:
    for key in entry:
        if key not in _FIELDS:
            raise fail(f"{code}: unknown key {key!r} (expected {', '.join(sorted(_FIELDS))})",
                       *where, key)
    for key in ("name", "currency", "trust_dir", "require_signature", "adapter"):
        if key not in entry:
            raise fail(f"{code}: missing {key!r}", *where, code="adapter.members-file.missing")

    def text(key: str, pattern: str = r".+", what: str = "a non-empty string") -> str:
        value = entry[key]
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise fail(f"{code}: {key} must be {what}, got {value!r}", *where, key)
        return value

    name = text("name")
    currency = text("currency", r"[A-Z]{3}", "an ISO 4217 code like 'KZT'")
    trust_dir = Path(text("trust_dir")).expanduser()
    if base_dir is not None and not trust_dir.is_absolute():
        trust_dir = base_dir / trust_dir
    require_signature = entry["require_signature"]
    if not isinstance(require_signature, bool):
        raise fail(f"{code}: require_signature must be true or false", *where,
                   "require_signature")
    help_desk = entry.get("help_desk_decisions", False)
    if not isinstance(help_desk, bool):
        raise fail(f"{code}: help_desk_decisions must be true or false", *where,
                   "help_desk_decisions")
    profiles = ", ".join(repr(str(p)) for p in Profile)
    profile = text("signature_profile", "|".join(map(re.escape, Profile)), f"one of {profiles}") \
        if "signature_profile" in entry else Profile.XADES_BES
    rule_packs = entry.get("rule_packs", [])
    if not isinstance(rule_packs, list) or not all(
            isinstance(p, str) and re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", p) for p in rule_packs):
        raise fail(f"{code}: rule_packs must be a list of rule pack names like "
                   f"'carec-corridor', got {rule_packs!r}", *where, "rule_packs")
    kind = text("adapter")
    raw = entry.get("settings", {})
    if not isinstance(raw, dict):
        raise fail(f"{code}: settings must be a table [members.{code}.settings]", *where,
                   "settings")
    try:
        settings = registry.check_settings(kind, raw, base_dir=base_dir)
    except SettingError as exc:
        line_at = (*where, "settings", exc.setting) if exc.setting in raw else (
            *where, "settings") if raw else (*where, "adapter")
        raise fail(f"{code}: {exc.message} of adapter kind {kind!r}", *line_at,
                   code=exc.code) from exc
    except AdapterConfigError as exc:
        raise fail(f"{code}: {exc.message}", *where, "adapter", code=exc.code) from exc
    return Member(code=code, name=name, currency=currency, adapter=kind,
                  settings=MappingProxyType(settings), trust_dir=trust_dir,
                  require_signature=require_signature, help_desk_decisions=help_desk,
                  signature_profile=Profile(profile), rule_packs=tuple(rule_packs))
