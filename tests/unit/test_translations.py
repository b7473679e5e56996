"""Every message a person reads has a Russian and a Chinese text, and every text is used.

The message ids are extracted from the code and the templates with Babel's own extractors (the
same ones ``pybabel extract`` uses), not from a list kept by hand: a new ``t("...")`` without its
translations, a translation whose placeholders differ from the English, an empty or fuzzy
entry, or an entry that no code uses any more, each fails here.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from exchange import i18n

REPO = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "t": None,            # t("msgid", **params)
    "_": None,            # templates: {{ _("msgid", ...) }}
    "gettext": (2,),      # gettext(locale, "msgid", **params)
}
METHODS = [
    ("exchange/**.py", "python"),
    ("exchange/**/templates/**.html", "jinja2"),
]
TRANSLATED = [locale for locale in i18n.LOCALES if locale != i18n.DEFAULT_LOCALE]


def _extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(REPO), method_map=METHODS, keywords=KEYWORDS,
            options_map={"exchange/**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _entries(locale: str) -> dict[str, tuple[str, bool, str]]:
    entries: dict[str, tuple[str, bool, str]] = {}
    for path in sorted((i18n.LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id:
                    assert isinstance(message.id, str), f"{path.name}: plural forms unused"
                    entry = (str(message.string or ""), message.fuzzy, path.name)
                    if message.id in entries:  # in two features' domains: one translation
                        assert entries[message.id][0] == entry[0], \
                            f"{message.id!r} translated two ways ({entries[message.id][2]}, " \
                            f"{path.name})"
                        continue
                    entries[message.id] = entry
    return entries


EXTRACTED = _extracted()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_has_a_translation(locale: str) -> None:
    entries = _entries(locale)
    missing = {msgid: where for msgid, where in EXTRACTED.items()
               if not entries.get(msgid, ("", False, ""))[0]}
    assert not missing, f"untranslated in {locale}: {missing}"
    fuzzy = [msgid for msgid, (_, is_fuzzy, _) in entries.items() if is_fuzzy]
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_catalogue_keeps_a_message_nobody_uses(locale: str) -> None:
    unused = sorted(set(_entries(locale)) - set(EXTRACTED))
    assert not unused, f"unused in {locale}: {unused}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale: str) -> None:
    wrong = {msgid: text for msgid, (text, _, _) in _entries(locale).items()
             if text and i18n.placeholders(text) != i18n.placeholders(msgid)}
    assert not wrong, f"placeholders differ in {locale}: {wrong}"


def test_a_message_renders_in_each_language_with_english_as_the_fallback() -> None:
    text = i18n.t("{element} is missing", element="cbc:ID")
    assert text.render("en") == "cbc:ID is missing" == str(text)
    # A locale without the message (or an unknown one) falls back to the English source.
    assert text.render("xx") == "cbc:ID is missing"


@pytest.mark.parametrize(("header", "preference", "expected"), [
    ("ru-RU,ru;q=0.9,en;q=0.8", None, "ru"),
    ("en-US,en;q=0.9,ru;q=0.8", None, "en"),
    ("zh-CN,zh;q=0.9", None, "zh_Hans"),
    ("zh-TW", None, "en"),
    ("de-DE,ru;q=0.5", None, "ru"),
    ("ru;q=0.2,zh;q=0.8", None, "zh_Hans"),
    ("", None, "en"),
    ("ru;q=0", None, "en"),
    ("garbage;;q=x, ,", None, "en"),
    ("ru", "zh_Hans", "zh_Hans"),
    ("ru", "klingon", "ru"),
])
def test_the_reader_language_is_negotiated(header: str, preference: str | None,
                                           expected: str) -> None:
    assert i18n.negotiate(header, preference=preference) == expected


def test_money_and_dates_follow_the_locale() -> None:
    from datetime import datetime, timezone
    from decimal import Decimal

    assert i18n.format_money(Decimal("1234.5"), "KZT", "en") == "1,234.50 KZT"
    assert i18n.format_money(Decimal("1234.5"), "KZT", "ru") == "1\xa0234,50 KZT"
    when = datetime(2026, 12, 6, 20, 30, tzinfo=timezone.utc)
    assert i18n.format_datetime(when, "ru", zone="Europe/Moscow") == "6 дек. 2026 г., 23:30:00"


def test_a_finding_kept_as_data_is_read_in_each_language():
    """Findings stored or sent as JSON (validation, rules, dossier) keep their message id and
    parameters, or a rule pack's own texts per language; English stays as written."""
    finding = {"message": "ImportCustomsDeclaration names TH as the country of export, the "
                          "route starts in KZ (KZ -> UZ -> AF)",
               "message_id": "{document} names {country} as the country of export, the route "
                             "starts in {origin} ({route})",
               "params": {"document": "ImportCustomsDeclaration", "country": "TH",
                          "origin": "KZ", "route": "KZ -> UZ -> AF"}}
    assert i18n.message_of(finding, "en") == finding["message"]
    assert "TH" in i18n.message_of(finding, "ru") and "страной экспорта" in \
        i18n.message_of(finding, "ru")
    rule = {"message": "HS code missing", "messages": {"en": "HS code missing",
                                                       "ru": "Нет кода ТН ВЭД"}}
    assert i18n.message_of(rule, "ru") == "Нет кода ТН ВЭД"
    assert i18n.message_of(rule, "zh_Hans") == "HS code missing"  # the pack has no Chinese
    assert i18n.message_of({"message": "as written"}, "ru") == "as written"
