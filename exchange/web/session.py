"""Signing in to the dashboard: the API key in an HttpOnly cookie, CSRF tokens for forms.

The cookie holds the API key itself (HttpOnly, SameSite=Strict, Path=/ui, Secure over
HTTPS). Every page checks it with :func:`exchange.parties.keys.authenticate`, exactly as the API
checks a bearer token: a revoked key ends its dashboard session on the next click, and there
is no session table and no server secret to manage. Script on a page cannot read the cookie
(HttpOnly), other sites cannot send it (SameSite=Strict), and the API never reads cookies,
so the cookie cannot be used against ``/v1``.

CSRF: each POST form carries ``csrf`` = HMAC-SHA256(API key, "dashboard-csrf"), checked in
constant time. It needs no storage and only someone holding the key can compute it.
"""
from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from exchange.domain import Party
from exchange.errors import ExchangeError, UsageError
from exchange.i18n import t
from exchange.parties.keys import Principal, authenticate
from exchange.services import Services

__all__ = [
    "COOKIE",
    "CsrfError",
    "SignedIn",
    "check_csrf",
    "clear_cookie",
    "csrf_token",
    "current",
    "set_cookie",
    "sign_in",
]

COOKIE = "exchange_key"


class CsrfError(UsageError):
    code = "dashboard.csrf"


class SignedIn:
    """The principal of a dashboard request and its CSRF token."""

    def __init__(self, principal: Principal, token: str):
        self.principal, self.csrf = principal, csrf_token(token)

    @property
    def kind(self) -> str:
        return str(self.principal.kind)

    @property
    def party(self) -> Party:
        return self.principal.party


def csrf_token(api_key: str) -> str:
    return hmac.new(api_key.encode(), b"dashboard-csrf", hashlib.sha256).hexdigest()


def _check(services: Services, api_key: str) -> Principal:
    with services.uow.reading() as uow:
        return authenticate(uow, f"Bearer {api_key}")


async def sign_in(services: Services, api_key: str) -> Principal:
    """Check a key typed in the sign-in form; raises AuthError with the reason."""
    return await run_in_threadpool(_check, services, api_key.strip())


async def current(request: Request, services: Services) -> SignedIn | None:
    """The signed-in user of this request, or None (no cookie, or a key no longer valid)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal = await run_in_threadpool(_check, services, token)
    except ExchangeError:
        return None
    request.state.principal = principal
    return SignedIn(principal, token)


def check_csrf(user: SignedIn, given: str | None) -> None:
    if not given or not hmac.compare_digest(user.csrf, given):
        raise CsrfError(t("the form has expired or did not come from this dashboard; "
                          "reload the page and try again"))


def set_cookie(response: Response, request: Request, api_key: str) -> None:
    response.set_cookie(COOKIE, api_key.strip(), httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
