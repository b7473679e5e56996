"""Signing in and out, and the home page that sends each role to its pages."""
from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from exchange.domain import PartyKind
from exchange.i18n import t
from exchange.parties.keys import AuthError
from exchange.web.rendering import PageRoute, ServicesDep, UserDep, render
from exchange.web.session import check_csrf, clear_cookie, current, set_cookie, sign_in

__all__ = ["home_of", "router"]

router = APIRouter(prefix="/ui", route_class=PageRoute)

_HOME = {PartyKind.FORWARDER: "/ui/shipments", PartyKind.CUSTOMS: "/ui/customs",
         PartyKind.OPERATOR: "/ui/operator", PartyKind.PAYMENT_PROVIDER: "/ui/payments"}
_WORDS = {"auth.invalid": t("This API key is not valid. Check that you copied all of it."),
          "auth.revoked": t("This API key has been revoked. Ask your operator for a new one."),
          "auth.missing": t("Enter your API key.")}


def home_of(kind: PartyKind) -> str:
    return _HOME[kind]


def _safe_next(target: str | None) -> str | None:
    """Only a path of this dashboard (never another site) to go back to after signing in."""
    if target and target.startswith("/ui/") and not target.startswith("//") \
            and "\\" not in target and not target.startswith("/ui/login"):
        return target
    return None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


@router.get("/", name="ui_home")
async def home(request: Request, services: ServicesDep) -> Response:
    user = await current(request, services)
    if user is None:
        return RedirectResponse("/ui/login", status_code=303)
    return RedirectResponse(home_of(user.principal.kind), status_code=303)


@router.get("/login", name="ui_login")
async def login_form(request: Request, services: ServicesDep) -> Response:
    return render(request, "login.html", None, next=_safe_next(request.query_params.get("next")))


@router.post("/login", name="ui_sign_in")
async def login(request: Request, services: ServicesDep) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    key = form.get("api_key")
    key = key.strip() if isinstance(key, str) else ""
    target = form.get("next")
    target = _safe_next(target if isinstance(target, str) else None)
    if not _same_origin(request):
        return render(request, "login.html", None, status=403, next=target,
                      error=t("This sign-in form was sent from another site; open the "
                              "dashboard's own sign-in page."))
    try:
        principal = await sign_in(services, key or "")
    except AuthError as exc:
        words = _WORDS.get(exc.code, _WORDS["auth.invalid"])
        if "form this exchange issues" in exc.message:
            words = t("This is not an API key of this exchange (they start with cxk_).")
        elif "Bearer" in exc.message:
            words = _WORDS["auth.missing"]
        return render(request, "login.html", None, status=401, next=target, error=words)
    response = RedirectResponse(target or home_of(principal.kind), status_code=303)
    set_cookie(response, request, key)
    return response


@router.post("/logout", name="ui_sign_out")
async def logout(request: Request, user: UserDep) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    csrf = form.get("csrf")
    check_csrf(user, csrf if isinstance(csrf, str) else None)
    response = RedirectResponse("/ui/login", status_code=303)
    clear_cookie(response)
    return response
