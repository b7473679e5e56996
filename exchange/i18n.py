"""Text a person reads, in their language: English, Russian and Chinese (Simplified).

Every sentence the exchange shows a person (a page, a problem answer, a CLI line, a validation
finding) is a message id in a gettext catalogue. The source language is English: the msgid *is*
the English text, with named placeholders in braces (``"{element} is missing"``); the Russian
and Chinese catalogues live in ``exchange/locale/<locale>/LC_MESSAGES/<domain>.po``, one domain
per feature (``validation``, ``web``, ``cli``, ``problems``...) so that features add their
messages without touching each other's files. The domain's words (customs declaration, transit,
guarantee, release...) are fixed in ``exchange/locale/GLOSSARY.md``. ``tests/unit/
test_translations.py`` extracts every message id from the code and the templates and fails on
one that a catalogue lacks, leaves empty or fuzzy, whose placeholders differ, or that no code
uses any more.

Two ways to mark a message:

* :func:`t` makes a :class:`Text`, a message id with its parameters, rendered later in the
  reader's language (services and errors do not know who will read them);
* :func:`gettext` translates at once, for code that already knows the locale (a page, a
  command).

Catalogues are read with Babel (``read_po``, imported on first use) once per process, so a checkout works without a
compile step. Dates, numbers and money are formatted with Babel's locale data
(:func:`format_datetime`, :func:`format_decimal`, :func:`format_money`).
"""
from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel import Locale

__all__ = [
    "DEFAULT_LOCALE", "LOCALES", "LOCALE_DIR", "Text", "catalogue", "format_datetime",
    "format_decimal", "format_money", "gettext", "language_name", "locale_of", "message_of",
    "negotiate", "placeholders", "render", "t",
]

LOCALE_DIR = Path(__file__).with_name("locale")
"""``<locale>/LC_MESSAGES/<domain>.po``, one domain per feature."""

DEFAULT_LOCALE = "en"
LOCALES: tuple[str, ...] = ("en", "ru", "zh_Hans")
"""The languages of the exchange: English (the source), Russian, Chinese (Simplified)."""

_LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "zh_Hans": "中文"}


@dataclass(frozen=True)
class Text:
    """A message id and its parameters, rendered in the reader's language when shown."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, locale: str | None = None) -> str:
        return gettext(locale or DEFAULT_LOCALE, self.msgid, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LOCALE)


def t(msgid: str, /, **params: Any) -> Text:
    """Mark ``msgid`` for translation; render it later with :meth:`Text.render`."""
    return Text(msgid, dict(params))


def render(text: Text | str, locale: str | None) -> str:
    """A :class:`Text` in ``locale``; a plain string (data, not a sentence) as it is."""
    return text.render(locale) if isinstance(text, Text) else text


def message_of(item: Mapping[str, Any], locale: str | None) -> str:
    """The message of a finding kept as JSON data (a validation or dossier finding, as stored
    or sent), in *locale*: from its ``message_id`` and ``params``; else its own text in that
    language where it carries several (``messages``, a rule pack's); else as written."""
    message = str(item.get("message", ""))
    if not locale or locale == DEFAULT_LOCALE:
        return message
    if item.get("message_id"):
        return gettext(locale, str(item["message_id"]), **(item.get("params") or {}))
    texts = item.get("messages")
    if isinstance(texts, Mapping):
        return str(texts.get(locale.split("_")[0], message))
    return message


def gettext(locale: str, msgid: str, /, **params: Any) -> str:
    """``msgid`` translated into ``locale`` (English when the catalogue lacks it), filled in.

    Parameters that are themselves :class:`Text` are rendered in the same locale.
    """
    template = catalogue(locale_of(locale)).get(msgid) or msgid
    if not params:
        return template
    values = {key: render(value, locale) if isinstance(value, Text) else value
              for key, value in params.items()}
    return template.format(**values)


@functools.cache
def catalogue(locale: str) -> dict[str, str]:
    """Every translated message of ``locale``, all domains together (empty for English)."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    messages: dict[str, str] = {}
    if locale == DEFAULT_LOCALE or not folder.is_dir():
        return messages
    from babel.messages.pofile import read_po

    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=_babel_locale(locale)):
                if message.id and isinstance(message.id, str) and message.string \
                        and not message.fuzzy:
                    messages[message.id] = str(message.string)
    return messages


def placeholders(template: str) -> set[str]:
    """The named ``{placeholders}`` of a message (what a translation must keep)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def locale_of(tag: str | None) -> str:
    """The supported locale closest to ``tag`` (``ru-RU`` -> ``ru``, ``zh-CN`` -> ``zh_Hans``)."""
    if not tag:
        return DEFAULT_LOCALE
    if tag in LOCALES:
        return tag
    from babel import Locale, UnknownLocaleError

    try:
        parsed = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE
    if parsed.language == "zh":
        # Simplified unless the tag says Traditional: zh-TW, zh-HK, zh-Hant are not served.
        return "zh_Hans" if (parsed.script or "Hans") == "Hans" and parsed.territory not in (
            "TW", "HK", "MO") else DEFAULT_LOCALE
    return parsed.language if parsed.language in LOCALES else DEFAULT_LOCALE


def negotiate(accept_language: str | None, *, preference: str | None = None) -> str:
    """The locale for a reader: their saved preference, else the browser's ``Accept-Language``
    (RFC 9110 weights honoured), else English."""
    if preference and locale_of(preference) == preference:
        return preference
    for tag in _by_weight(accept_language or ""):
        found = locale_of(tag)
        if found != DEFAULT_LOCALE or tag.lower().startswith("en"):
            return found
    return DEFAULT_LOCALE


def language_name(locale: str) -> str:
    """The language's own name, for a language switch."""
    return _LANGUAGE_NAMES[locale]


def format_datetime(value: datetime, locale: str, *, zone: tzinfo | str | None = "UTC",
                    format: str = "medium") -> str:
    """A timestamp in the reader's locale and time zone (UTC unless one is given)."""
    from babel import dates as babel_dates

    where = babel_dates.get_timezone(zone) if isinstance(zone, str) or zone is None else zone
    return babel_dates.format_datetime(value, format=format, tzinfo=where,
                                       locale=_babel_locale(locale))


def format_decimal(value: Decimal | int | float, locale: str) -> str:
    from babel import numbers as babel_numbers

    return babel_numbers.format_decimal(value, locale=_babel_locale(locale))


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """An amount always with its currency, in the reader's locale (``1 234,50 KZT`` ...)."""
    from babel import numbers as babel_numbers

    return babel_numbers.format_currency(amount, currency, locale=_babel_locale(locale),
                                         format_type="standard", currency_digits=False,
                                         format="#,##0.00 ¤¤")


def _babel_locale(locale: str) -> Locale:
    # Babel is imported where first needed: an English command that formats nothing (most
    # runs of the CLI, which imports this module through every error class) never loads it
    from babel import Locale

    return Locale.parse("zh_Hans_CN" if locale == "zh_Hans" else locale)


def _by_weight(header: str) -> Iterable[str]:
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]
