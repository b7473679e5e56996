"""The reader's language and time zone, and the template helpers that use them.

The language is the one the signed-in party chose with the switch on any page (kept with the
party, :func:`exchange.parties.keys.choose_locale`, so it follows the party to another
browser), else the one chosen in this browser (the ``exchange_lang`` cookie, a year, this
dashboard only: the sign-in page has no party yet), else the browser's ``Accept-Language``
(:func:`exchange.i18n.negotiate`), else English. The switch is a link (a GET): the key's
cookie is SameSite=Strict, so a link from another site never reaches a party's preference. The time zone is the
browser's own (``exchange_tz``, set by ``static/dashboard.js`` from
``Intl.DateTimeFormat``), else UTC; a name the time-zone database does not know is ignored.

Templates get ``_("msgid", name=value)`` (the message in the page's language, placeholders
filled in, escaped by Jinja like any value) and the filters ``when`` (a timestamp in the
reader's zone and locale), ``money`` (an amount with its currency, always), ``number``,
``word`` (the words of a status, :mod:`exchange.web.words`) and ``tr`` (a message a service
made, :class:`exchange.i18n.Text`).
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from exchange import i18n
from exchange.http.deps import ServicesDep
from exchange.parties.keys import Principal, choose_locale
from exchange.web import words
from exchange.web.session import current

__all__ = ["LANG_COOKIE", "ZONE_COOKIE", "install_helpers", "reader_locale", "reader_zone",
           "router"]

LANG_COOKIE, ZONE_COOKIE = "exchange_lang", "exchange_tz"
_YEAR = 365 * 24 * 3600

router = APIRouter(prefix="/ui")


def reader_locale(request: Request) -> str:
    """The signed-in party's language, else this browser's choice, else its
    ``Accept-Language``, else English."""
    principal = getattr(request.state, "principal", None)
    party_choice = principal.locale if isinstance(principal, Principal) else None
    return i18n.negotiate(request.headers.get("accept-language"),
                          preference=party_choice or request.cookies.get(LANG_COOKIE))


def reader_zone(request: Request) -> str:
    name = unquote(request.cookies.get(ZONE_COOKIE) or "UTC")  # the script encodes the "/"
    if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def html_lang(locale: str) -> str:
    """The BCP 47 tag of a locale (``zh_Hans`` -> ``zh-Hans``) for ``<html lang>``."""
    return locale.replace("_", "-")


def _safe_back(target: str | None) -> str:
    if target and target.startswith("/ui/") and not target.startswith("//") \
            and "\\" not in target and "\r" not in target and "\n" not in target:
        return target
    return "/ui/"


@router.get("/language", name="ui_language", include_in_schema=False)
async def choose_language(request: Request, services: ServicesDep) -> Response:
    """The language switch: keep the choice with the signed-in party and in a cookie (for
    the sign-in page), and go back to the page."""
    chosen = request.query_params.get("to") or ""
    response = RedirectResponse(_safe_back(request.query_params.get("next")), status_code=303)
    if chosen in i18n.LOCALES:
        user = await current(request, services)
        if user is not None:
            await run_in_threadpool(choose_locale, services.uow, user.party.id, chosen)
        response.set_cookie(LANG_COOKIE, chosen, max_age=_YEAR, path="/ui", samesite="lax",
                            httponly=True, secure=request.url.scheme == "https")
    return response


# ------------------------------------------------------------------------ templates
def _locale(ctx: Context) -> str:
    return str(ctx.get("locale") or i18n.DEFAULT_LOCALE)


@pass_context
def _translate(ctx: Context, msgid: str, /, **params: Any) -> str:
    return i18n.gettext(_locale(ctx), msgid, **params)


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@pass_context
def _when(ctx: Context, value: object, format: str = "medium") -> str:
    when = _as_datetime(value)
    if when is None:
        return "–"
    return i18n.format_datetime(when, _locale(ctx), zone=str(ctx.get("zone") or "UTC"),
                                format=format)


@pass_context
def _date(ctx: Context, value: object) -> str:
    from babel.dates import format_date

    when = _as_datetime(value)
    if when is None:
        return "–"
    local = when.astimezone(ZoneInfo(str(ctx.get("zone") or "UTC")))
    return format_date(local, format="medium",
                       locale="zh_Hans_CN" if _locale(ctx) == "zh_Hans" else _locale(ctx))


@pass_context
def _money(ctx: Context, value: object, currency: str | None = None) -> str:
    """``{"amount": "12.50", "currency": "UZS"}`` (or an amount and its currency)."""
    if isinstance(value, dict):
        amount, currency = value.get("amount"), value.get("currency")
    else:
        amount = value
    if amount is None or not currency:
        return "–"
    try:
        return i18n.format_money(Decimal(str(amount)), str(currency), _locale(ctx))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"


@pass_context
def _number(ctx: Context, value: object) -> str:
    if isinstance(value, (int, float, Decimal)):
        return i18n.format_decimal(value, _locale(ctx))
    return "–" if value is None else str(value)


@pass_context
def _word(ctx: Context, value: object, table: str) -> str:
    return i18n.render(words.word(value, table), _locale(ctx))


@pass_context
def _doctype(ctx: Context, value: object) -> str:
    from exchange.web.timeline import document_word

    return i18n.render(document_word(str(value) if value else None), _locale(ctx))


@pass_context
def _tr(ctx: Context, value: object) -> str:
    if isinstance(value, i18n.Text):
        return value.render(_locale(ctx))
    return "" if value is None else str(value)


@pass_context
def _said(ctx: Context, finding: Mapping[str, Any]) -> str:
    """A finding's message (validation, rules, dossier) in the page's language."""
    return i18n.message_of(finding, _locale(ctx))


def install_helpers(env: Environment) -> None:
    env.globals["_"] = _translate  # placeholders in braces, as everywhere in the exchange
    env.globals["gettext"] = _translate
    env.globals["languages"] = [(code, i18n.language_name(code), html_lang(code))
                                for code in i18n.LOCALES]
    env.filters.update(when=_when, date=_date, money=_money, number=_number, word=_word,
                       tr=_tr, doctype=_doctype, said=_said)
