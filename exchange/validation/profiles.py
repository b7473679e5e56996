"""Document profiles: how strictly each code list applies to which document types.

By default every document is checked against its pack's genericode lists, and a value
outside a list is an error. A profile changes that for the document types it names (all of
them when it names none): a list's ``severity`` (``error`` or ``warning``) and its ``source``
(a genericode file: a newer UN/ECE list, say; absolute, or relative to the profiles file,
read when the profiles are). The first
profile that names a document's root element applies, else the first that names none.

Profiles are read from a TOML file: ``profiles.toml`` in the schema store (beside the packs)
when it exists, or the file given to ``exchange validate --profiles``::

    [[profile]]
    name = "peppol-orders"
    documents = ["Order", "Catalogue"]      # root elements; leave out for every type
    [profile.code_lists.unit]
    severity = "warning"
    source = "/etc/exchange/rec20-rev17.gc"

The lists are ``currency``, ``country``, ``unit`` (and ``packaging``, the Rec. 21 codes that
become X-prefixed units). A profile that cannot be read stops the start with a
:class:`~exchange.validation.errors.ProfileError` naming the file and the entry.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signing.safexml import XmlError

from exchange.i18n import Text, t
from exchange.validation.codelists import read_genericode
from exchange.validation.errors import ProfileError
from exchange.validation.report import Severity

__all__ = ["CodeListRule", "Profile", "LISTS", "load_profiles", "profile_for"]

LISTS = ("currency", "country", "unit", "packaging")
"""The code lists a profile may set (their sources are keys of a pack's ``code_lists``)."""


@dataclass(frozen=True)
class CodeListRule:
    severity: Severity | None = None  # None: an error, as in the pack's default validation
    source: Path | None = None        # None: the pack's own genericode list


@dataclass(frozen=True)
class Profile:
    name: str
    documents: frozenset[str] = frozenset()  # root elements; empty: every document type
    code_lists: Mapping[str, CodeListRule] = field(default_factory=dict)

    def sources(self, pack_lists: Mapping[str, str]) -> dict[str, str]:
        """The pack's code-list files with this profile's sources put in."""
        out = dict(pack_lists)
        for key, rule in self.code_lists.items():
            if rule.source is not None:
                out[key] = str(rule.source)
        return out

    def severities(self) -> dict[str, Severity]:
        return {k: r.severity for k, r in self.code_lists.items() if r.severity is not None}


def profile_for(profiles: tuple[Profile, ...], root: str) -> Profile | None:
    named = next((p for p in profiles if root in p.documents), None)
    return named or next((p for p in profiles if not p.documents), None)


def load_profiles(path: Path) -> tuple[Profile, ...]:
    """The profiles of a TOML file (see the module's text)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(t("{file}: cannot be read ({error})", file=str(path),
                             error=exc.strerror)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(t("{file}: not a TOML file ({error})", file=str(path),
                             error=str(exc))) from None
    entries = data.get("profile", [])
    if not isinstance(entries, list):
        raise ProfileError(t("{file}: 'profile' must be a list of tables ([[profile]])",
                             file=str(path)))
    profiles = [_profile(path, n, entry) for n, entry in enumerate(entries, start=1)]
    names = [p.name for p in profiles]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ProfileError(t("{file}: profile names must differ: {names}", file=str(path),
                             names=", ".join(twice)))
    return tuple(profiles)


def _profile(path: Path, n: int, entry: Any) -> Profile:
    where = t("{file}: profile {number}", file=str(path), number=n)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or not entry["name"]:
        raise ProfileError(t("{where}: give it a name (name = \"...\")", where=where))
    where = t("{file}: profile {name!r}", file=str(path), name=entry["name"])
    unknown = sorted(set(entry) - {"name", "documents", "code_lists"})
    if unknown:
        raise ProfileError(t("{where}: unknown key(s) {keys}; expected name, documents, "
                             "code_lists", where=where, keys=", ".join(unknown)))
    documents = entry.get("documents", [])
    if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
        raise ProfileError(t("{where}: documents must be a list of root element names",
                             where=where))
    lists = entry.get("code_lists", {})
    if not isinstance(lists, dict):
        raise ProfileError(t("{where}: code_lists must be a table", where=where))
    rules = {key: _rule(path, where, key, value) for key, value in lists.items()}
    return Profile(entry["name"], frozenset(documents), rules)


def _rule(path: Path, where: Text, key: str, value: Any) -> CodeListRule:
    if key not in LISTS:
        raise ProfileError(t("{where}: unknown code list {key!r}; expected one of {lists}",
                             where=where, key=key, lists=", ".join(LISTS)))
    if not isinstance(value, dict) or set(value) - {"severity", "source"}:
        raise ProfileError(t("{where}: code_lists.{key} takes severity and source", where=where,
                             key=key))
    severity = value.get("severity")
    if severity is not None and severity not in ("error", "warning"):
        raise ProfileError(t("{where}: code_lists.{key}.severity must be error or warning, "
                             "not {severity!r}", where=where, key=key, severity=severity))
    source = value.get("source")
    if source is not None:
        if not isinstance(source, str):
            raise ProfileError(t("{where}: code_lists.{key}.source must be a file name",
                                 where=where, key=key))
        source_path = Path(source).expanduser()
        if not source_path.is_absolute():
            source_path = (path.parent / source_path).resolve()
        if not source_path.is_file():
            raise ProfileError(t("{where}: code_lists.{key}.source {source} does not exist",
                                 where=where, key=key, source=str(source_path)))
        try:
            codes = read_genericode(source_path)
        except (OSError, XmlError) as exc:
            raise ProfileError(t("{where}: code_lists.{key}.source {source} cannot be read "
                                 "({error})", where=where, key=key, source=str(source_path),
                                 error=str(exc))) from None
        if not codes:
            raise ProfileError(t("{where}: code_lists.{key}.source {source} holds no codes (a "
                                 "genericode CodeList with a 'code' column?)", where=where,
                                 key=key, source=str(source_path)))
        return CodeListRule(Severity(severity) if severity else None, source_path)
    return CodeListRule(Severity(severity) if severity else None, None)
