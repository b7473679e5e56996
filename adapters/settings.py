"""Declared settings of an adapter kind, checked before an adapter is built.

Every adapter class lists its settings as :class:`Setting` values in ``settings_spec``;
:func:`check_settings` turns the raw mapping from the members file (or a command line)
into a complete, typed dict, or raises :class:`~adapters.errors.SettingError` naming the key.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.errors import SettingError

__all__ = ["SettingType", "Setting", "check_settings", "coerce_setting"]


class SettingType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    PATH = "path"
    URL = "url"


@dataclass(frozen=True)
class Setting:
    name: str
    type: SettingType = SettingType.STR
    required: bool = False
    default: Any = None
    help: str = ""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce_setting(spec: Setting, value: Any, *, base_dir: Path | None = None) -> Any:
    """One value to the declared type. Strings are accepted for every type (command lines)."""
    name = spec.name

    def bad(expected: str) -> SettingError:
        return SettingError(f"setting {name!r} must be {expected}, got {value!r}", setting=name)

    match spec.type:
        case SettingType.STR:
            if not isinstance(value, str) or not value:
                raise bad("a non-empty string")
            return value
        case SettingType.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise bad("true or false")
        case SettingType.INT | SettingType.FLOAT:
            if isinstance(value, bool):
                raise bad("a number")
            try:
                number = int(value) if spec.type is SettingType.INT else float(value)
            except (TypeError, ValueError):
                raise bad("a number") from None
            if number < 0:
                raise bad("zero or more")
            return number
        case SettingType.PATH:
            if not isinstance(value, (str, Path)) or not str(value):
                raise bad("a path")
            path = Path(value).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            return path
        case SettingType.URL:
            if not isinstance(value, str):
                raise bad("an http(s) URL")
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise bad("an http(s) URL")
            return value
    raise AssertionError(spec.type)  # pragma: no cover


def check_settings(spec: Iterable[Setting], raw: Mapping[str, Any], *,
                   base_dir: Path | None = None) -> dict[str, Any]:
    """Complete, typed settings: defaults filled in, unknown keys refused.

    Relative paths are resolved against *base_dir* when given, else left as written.
    """
    specs = {s.name: s for s in spec}
    for key in raw:
        if key not in specs:
            known = ", ".join(sorted(specs)) or "none"
            raise SettingError(f"unknown setting {key!r} (known: {known})", setting=key,
                               code="adapter.setting-unknown")
    out: dict[str, Any] = {}
    for name, s in specs.items():
        if raw.get(name) is not None:  # None: an optional setting left out (checked before)
            out[name] = coerce_setting(s, raw[name], base_dir=base_dir)
        elif s.required:
            raise SettingError(f"missing setting {name!r}", setting=name,
                               code="adapter.setting-missing")
        else:
            out[name] = s.default
    return out
