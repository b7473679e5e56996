"""Declared settings of an adapter kind, checked before an adapter is built.

Every adapter class lists its settings as :class:`Setting` values in ``settings_spec``;
:func:`check_settings` turns the raw mapping from the members file (or a command line)
into a complete, typed dict, or raises :class:`~adapters.errors.SettingError` naming the key.
An adapter reads one checked value with :func:`text_setting`, :func:`path_setting`,
:func:`number_setting` or :func:`flag_setting`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, SupportsFloat, SupportsIndex, SupportsInt, TypeAlias, overload
from urllib.parse import urlsplit

from adapters.errors import SettingError

__all__ = ["SettingType", "SettingValue", "Setting", "check_settings", "coerce_setting",
           "text_setting", "path_setting", "number_setting", "flag_setting"]

SettingValue: TypeAlias = str | int | float | bool | Path | None
"""A checked setting: str (STR, URL), int, float, bool, Path, or None when left out."""


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
    default: SettingValue = None
    help: str = ""
    choices: tuple[str | int, ...] = ()
    """The values allowed, when only some are (checked after the type)."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce_setting(spec: Setting, value: object, *, base_dir: Path | None = None
                   ) -> SettingValue:
    """One value to the declared type (and one of its ``choices``, if it has any). Strings
    are accepted for every type (command lines)."""
    coerced = _coerce(spec, value, base_dir=base_dir)
    if spec.choices and coerced not in spec.choices:
        raise SettingError(f"setting {spec.name!r} must be one of "
                           f"{', '.join(map(str, spec.choices))}, got {value!r}",
                           setting=spec.name)
    return coerced


def _coerce(spec: Setting, value: object, *, base_dir: Path | None) -> SettingValue:
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
                number = _number(value, integer=spec.type is SettingType.INT)
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


def _number(value: object, *, integer: bool) -> int | float:
    """``int(value)`` or ``float(value)``; TypeError for what they do not take."""
    if integer and isinstance(value, (str, bytes, bytearray, SupportsInt, SupportsIndex)):
        return int(value)
    if not integer and isinstance(value, (str, bytes, bytearray, SupportsFloat, SupportsIndex)):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not a number")


def check_settings(spec: Iterable[Setting], raw: Mapping[str, object], *,
                   base_dir: Path | None = None) -> dict[str, SettingValue]:
    """Complete, typed settings: defaults filled in, unknown keys refused.

    Relative paths are resolved against *base_dir* when given, else left as written.
    """
    specs = {s.name: s for s in spec}
    for key in raw:
        if key not in specs:
            known = ", ".join(sorted(specs)) or "none"
            raise SettingError(f"unknown setting {key!r} (known: {known})", setting=key,
                               code="adapter.setting-unknown")
    out: dict[str, SettingValue] = {}
    for name, s in specs.items():
        if raw.get(name) is not None:  # None: an optional setting left out (checked before)
            out[name] = coerce_setting(s, raw[name], base_dir=base_dir)
        elif s.required:
            raise SettingError(f"missing setting {name!r}", setting=name,
                               code="adapter.setting-missing")
        else:
            out[name] = s.default
    return out


# --- reading checked settings --------------------------------------------------------------

def _wrong(name: str, expected: str, value: object) -> SettingError:
    if value is None:
        return SettingError(f"missing setting {name!r}", setting=name,
                            code="adapter.setting-missing")
    return SettingError(f"setting {name!r} must be {expected}, got {value!r}", setting=name)


@overload
def text_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: Literal[True]) -> str: ...
@overload
def text_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: bool = False) -> str | None: ...
def text_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: bool = False) -> str | None:
    """A STR or URL setting of checked *settings* (None when left out, unless required)."""
    value = settings[name]
    if isinstance(value, str) or (value is None and not required):
        return value
    raise _wrong(name, "a string", value)


@overload
def path_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: Literal[True]) -> Path: ...
@overload
def path_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: bool = False) -> Path | None: ...
def path_setting(settings: Mapping[str, SettingValue], name: str, *,
                 required: bool = False) -> Path | None:
    """A PATH setting of checked *settings* (None when left out, unless required); a string
    is taken as a path."""
    value = settings[name]
    if isinstance(value, str):
        return Path(value)
    if isinstance(value, Path) or (value is None and not required):
        return value
    raise _wrong(name, "a path", value)


def number_setting(settings: Mapping[str, SettingValue], name: str) -> float:
    """An INT or FLOAT setting of checked *settings* (one with a default)."""
    value = settings[name]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise _wrong(name, "a number", value)


def flag_setting(settings: Mapping[str, SettingValue], name: str) -> bool:
    """A BOOL setting of checked *settings* (one with a default)."""
    value = settings[name]
    if isinstance(value, bool):
        return value
    raise _wrong(name, "true or false", value)
