"""The dashboard in Russian: a party's chosen language follows it to another browser; the
customs inbox and the dead letters page through long lists keeping their filters, with
counts; the operator reads the webhook subscriptions and what became of their notifications.
axe-core finds no serious or critical violation on these pages."""
from __future__ import annotations

import httpx

from tests.e2e.test_dashboard_roles import Visit
from tests.fixtures.browser import sign_in
from tests.fixtures.server import add_party_cli

ENGLISH = "en-US,en;q=0.9"


def _browser(browser_page, accept: str = ENGLISH, viewport: str = "desktop"):
    page = browser_page(viewport, locale=accept.split(",")[0])
    page.set_extra_http_headers({"Accept-Language": accept})
    return page


def test_the_language_a_party_chose_follows_it_to_another_browser(world, browser_page):
    _, _, key = add_party_cli(world.env, "forwarder", "Russian-reading Forwarder")
    base, visit = world.server.base_url, Visit("ru", "ru")
    first = _browser(browser_page)
    sign_in(first, base, key)
    assert first.get_attribute("html", "lang") == "en"
    first.click("nav.languages a[hreflang='ru']")
    first.wait_for_load_state()
    assert first.url == f"{base}/ui/shipments"
    assert first.locator("h1").inner_text() == "Отправки"

    # a fresh browser asking for English: the sign-in page is English (no party yet), the
    # pages after it are in the party's language
    second = _browser(browser_page, viewport="phone")
    second.goto(f"{base}/ui/login")
    assert second.get_attribute("html", "lang") == "en"
    sign_in(second, base, key)
    assert second.get_attribute("html", "lang") == "ru"
    assert second.locator("h1").inner_text() == "Отправки"
    visit(second, "party-language-shipments")
    second.goto(f"{base}/ui/shipments/new")
    visit(second, "party-language-new-shipment")

    # without a browser at all: the party's choice before the cookie and Accept-Language
    with httpx.Client(base_url=base, cookies={"exchange_key": key, "exchange_lang": "zh_Hans"},
                      headers={"Accept-Language": ENGLISH}) as c:
        r = c.get("/ui/shipments")
    assert r.status_code == 200 and r.headers["content-language"] == "ru"
    # another party in the same world keeps the browser's language
    with httpx.Client(base_url=base, cookies={"exchange_key": world.keys["other"]},
                      headers={"Accept-Language": ENGLISH}) as c:
        assert c.get("/ui/shipments").headers["content-language"] == "en"

    # the party changes its mind: the next page everywhere follows
    second.click("nav.languages a[hreflang='en']")
    second.wait_for_load_state()
    first.reload()
    assert first.get_attribute("html", "lang") == "en"
    assert not visit.problems, visit.problems
