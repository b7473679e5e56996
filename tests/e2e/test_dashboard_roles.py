"""Every role's main task on the dashboard, in English, Russian and Chinese, in Chromium.

For each language: a forwarder follows a shipment (the browser asks for the language with
Accept-Language, or the reader picks it with the switch); a UZ customs officer acknowledges
the documents and assesses duties; the payment provider records the payment from its page and
the forwarder sees it on the shipment's timeline; the officer releases (with the reference and
the confirmation the page asks for); the operator sends a dead delivery again. Every page is
screenshot (under pytest's temporary folder), has ``<html lang>`` of its language, shows no
enum value, and axe-core (the pinned ``axe-playwright-python`` package's copy) finds no
serious or critical violation on it. No page a forwarder sees holds the server path of a
delivery error.
"""
from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.test_dashboard import WAYBILL, _dead_delivery
from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.server import add_party_cli, create

LANGUAGES = {
    # locale: (Accept-Language of the browser, <html lang>, words of the pages)
    "en": ("en-US,en;q=0.9", "en", {"pay": "Record the payment", "paid": "Payment of",
                                    "released": "Released", "next": "What to do next"}),
    "ru": ("ru-RU,ru;q=0.9", "ru", {"pay": "Записать платёж", "paid": "Получен платёж",
                                    "released": "Выпуск товаров разрешён",
                                    "next": "Что делать дальше"}),
    "zh_Hans": ("de-DE,de;q=0.9", "zh-Hans", {"pay": "记录付款", "paid": "付款",
                                             "released": "已放行", "next": "下一步"}),
}
SERVER_PATH = "/srv/exchange/edifact/AF/out"
RAW_VALUES = re.compile(r">\s*(not_assessed|partially_paid|delivered-with-warnings|"
                        r"guarantee-accepted|payment-provider)\s*<")


@pytest.fixture(scope="module")
def provider_key(world) -> str:
    _, _, key = add_party_cli(world.env, "payment-provider", "Corridor Bank")
    return key


def _axe():
    module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                 reason="axe-playwright-python (the test extra) installs "
                                        "axe-core")
    return module.Axe()


class Visit:
    """Screenshots each page, checks its language and runs axe-core on it."""

    def __init__(self, lang: str, tag: str):
        self.lang, self.tag, self.axe, self.problems = lang, tag, _axe(), []

    def __call__(self, page, name: str) -> None:
        page.wait_for_load_state()
        screenshot(page, f"{self.lang}-{name}")
        assert page.get_attribute("html", "lang") == self.tag, (name, page.url)
        body = page.content()
        assert not RAW_VALUES.search(body), (name, RAW_VALUES.search(body))
        results = self.axe.run(page, options={"resultTypes": ["violations"]})
        for v in results.response["violations"]:
            if v["impact"] in ("serious", "critical"):
                self.problems.append((name, v["id"], v["impact"],
                                      [n["target"] for n in v["nodes"]][:3]))


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_role_does_its_main_task_in_each_language(world, browser_page, provider_key,
                                                        lang):
    accept, tag, words = LANGUAGES[lang]
    base = world.server.base_url
    visit = Visit(lang, tag)
    r = create(world, documents=[("waybill.xml", WAYBILL)])
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    dead = _dead_delivery(world, sid)
    _set_error(world, dead, f"cannot write to {SERVER_PATH}: Not a directory")

    def page_for(role: str, key: str):
        page = browser_page("desktop", locale=accept.split(",")[0])
        page.set_extra_http_headers({"Accept-Language": accept})
        if lang == "zh_Hans":  # the browser asks for German: the reader picks Chinese
            page.goto(f"{base}/ui/login")  # before signing in: this browser's choice only
            page.click("nav.languages a[hreflang='zh-Hans']")
            page.wait_for_load_state()
        sign_in(page, base, key)
        return page

    # forwarder: the list, the shipment, a document, the form
    forwarder = page_for("forwarder", world.keys["forwarder"])
    visit(forwarder, "forwarder-shipments")
    forwarder.goto(f"{base}/ui/shipments/{sid}")
    assert words["next"] in forwarder.locator("#next h2").inner_text()
    visit(forwarder, "forwarder-shipment")
    forwarder.click(f"#deliveries a[href*='/documents/']")
    visit(forwarder, "forwarder-document")
    forwarder.goto(f"{base}/ui/shipments/new")
    visit(forwarder, "forwarder-new-shipment")

    # customs officer: inbox, acknowledge, assess duties
    officer = page_for("customs", world.keys["customs_uz"])
    visit(officer, "customs-inbox")
    row = officer.locator("#inbox-deliveries tr", has=officer.locator(
        f"a[href='/ui/shipments/{sid}']")).first
    row.locator("form button").click()
    officer.wait_for_load_state()
    officer.goto(f"{base}/ui/shipments/{sid}")
    officer.select_option("#kind", "assessment")
    for name, value in (("customs_reference", f"UZ-ASM-{lang}"), ("duty_tax_type_0", "VAT"),
                        ("duty_base_0", "1000"), ("duty_rate_0", "0.12"),
                        ("duty_amount_0", "120"), ("duty_currency_0", "UZS")):
        officer.fill(f"[name={name}]", value)
    officer.click("#decide button[type=submit]")
    officer.wait_for_load_state()
    assert "notice=decision-assessment" in officer.url
    visit(officer, "customs-shipment-assessed")

    # payment provider: the assessment awaits payment; record it from the page
    provider = page_for("payment-provider", provider_key)
    assert provider.url.startswith(f"{base}/ui/payments")
    item = provider.locator(f"#await-{sid[:8]}-UZ")
    assert re.search(r"RF\d\d", item.inner_text()), item.inner_text()
    visit(provider, "provider-payments")
    item.locator("input[name=reference]").fill(f"BANK-{lang}-{uuid.uuid4().hex[:8]}")
    item.locator("button", has_text=words["pay"]).click()
    provider.wait_for_load_state()
    assert f"recorded={sid}" in provider.url
    assert provider.locator(f"#await-{sid[:8]}-UZ").count() == 0
    visit(provider, "provider-payment-recorded")

    # the forwarder sees the payment on the timeline, in their language and zone
    forwarder.goto(f"{base}/ui/shipments/{sid}")
    paid = forwarder.locator("#timeline li.kind-payments-payment")
    assert paid.count() == 1 and words["paid"] in paid.inner_text()
    assert "UZS" in paid.inner_text()
    assert "Asia/Tashkent" in forwarder.locator("#chain").inner_text()
    visit(forwarder, "forwarder-paid")

    # the officer releases: reference and confirmation
    officer.goto(f"{base}/ui/shipments/{sid}")
    officer.select_option("#kind", "released")
    officer.fill("[name=customs_reference]", f"UZ-REL-{lang}")
    officer.check("#confirm")
    officer.click("#decide button[type=submit]")
    officer.wait_for_load_state()
    uz = officer.locator("ol.timeline li.leg").nth(1)
    assert uz.locator(".badge").inner_text() == words["released"]
    visit(officer, "customs-released")

    # operator: dead letters (with the detail), health, inboxes, payments; bulk replay
    operator = page_for("operator", world.keys["operator"])
    dead_row = operator.locator("#dead tr", has_text=dead[:8])
    assert SERVER_PATH in dead_row.inner_text()  # the operator reads the detail
    assert dead_row.locator(f"a[href='/ui/shipments/{sid}']").count() == 1
    visit(operator, "operator")
    for path, name in (("/ui/operator/health", "operator-health"),
                       ("/ui/customs?country=UZ", "operator-inbox"),
                       ("/ui/payments", "operator-payments")):
        operator.goto(base + path)
        visit(operator, name)
    operator.goto(f"{base}/ui/operator")
    operator.check(f"#pick-{dead}")
    operator.click("#replay-selected")
    operator.wait_for_load_state()
    assert "replayed=1" in operator.url
    assert operator.locator("#dead tr", has_text=dead[:8]).count() == 0

    # nothing a forwarder was shown holds the server path
    for path in ("/ui/shipments", f"/ui/shipments/{sid}"):
        forwarder.goto(base + path)
        assert SERVER_PATH not in forwarder.content() and "Not a directory" not in \
            forwarder.content(), path
    assert not visit.problems, visit.problems


def _set_error(world, delivery_id: str, error: str) -> None:
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines

    engines = create_engines(DatabaseSettings(url=world.db_url))
    try:
        with UnitOfWorkFactory(engines).writing() as uow:
            uow.deliveries.get(delivery_id).last_error = error
            uow.commit()
    finally:
        engines.dispose()


def test_the_language_switch_is_kept_and_accept_language_is_honoured(world, browser_page):
    base = world.server.base_url
    _, _, key = add_party_cli(world.env, "forwarder", "Switching Forwarder")  # its choice kept
    page = browser_page("phone", locale="ru-RU")
    page.set_extra_http_headers({"Accept-Language": "ru-RU,ru;q=0.9"})
    page.goto(f"{base}/ui/login")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.locator("h1").inner_text() == "Вход"
    page.click("nav.languages a[hreflang='zh-Hans']")
    page.wait_for_load_state()
    assert page.url.endswith("/ui/login")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    sign_in(page, base, key)
    assert page.get_attribute("html", "lang") == "zh-Hans"  # kept after signing in
    assert page.locator("h1").inner_text() == "货运"
    page.click("nav.languages a[hreflang='en']")
    page.wait_for_load_state()
    assert page.url == f"{base}/ui/shipments"
    assert page.locator("h1").inner_text() == "Shipments"


def test_the_accessibility_check_finds_a_violation_where_there_is_one(browser_page):
    """The check above can fail: axe-core flags a page built to break the rules."""
    page = browser_page("desktop")
    page.set_content('<html><body><img src="x.png"><input id="q">'
                     '<p style="color:#ccc;background:#fff">faint</p></body></html>')
    found = {v["id"]: v["impact"] for v in _axe().run(page).response["violations"]}
    assert found.get("image-alt") == "critical" and found.get("label") == "critical"
    assert found.get("html-has-lang") == "serious"


def test_signature_summary_and_downloads_of_a_signed_document(world, browser_page, pki,
                                                              validator):
    import httpx

    from tests.e2e.test_api_submission import KZ_ROUTE, signed
    from tests.fixtures.server import submit

    sid = create(world, route=KZ_ROUTE).json()["id"]
    data = signed(WAYBILL, pki.leaf("KZ"), validator)
    r = submit(world, sid, data)
    assert r.status_code == 201, r.text
    doc = r.json()["id"]
    base = world.server.base_url
    page = browser_page("desktop", locale="ru-RU")
    page.set_extra_http_headers({"Accept-Language": "ru"})
    sign_in(page, base, world.keys["forwarder"])
    page.goto(f"{base}/ui/shipments/{sid}/documents/{doc}")
    summary = page.locator("#signature").inner_text()
    assert "действительна" in summary and "список доверенных сертификатов KZ" in summary
    assert "Кем подписан" in summary and "CN=" in summary
    assert "all_valid" not in page.content() and "None" not in summary  # no raw report
    screenshot(page, "ru-forwarder-signed-document")
    cookies = {"exchange_key": world.keys["forwarder"]}
    with httpx.Client(base_url=base, cookies=cookies) as c:
        original = c.get(f"/ui/shipments/{sid}/documents/{doc}/original")
        assert original.status_code == 200 and original.content == data
        assert original.headers["content-disposition"].startswith("attachment;")
        sealed = c.get(f"/ui/shipments/{sid}/documents/{doc}/sealed")
        assert sealed.status_code == 200 and sealed.content != data
        assert sealed.content.count(b"SignatureValue") >= 2  # the sender's and the seal
        assert c.get(f"/ui/shipments/{sid}/documents/{doc}/other").status_code == 404
    with httpx.Client(base_url=base, cookies={"exchange_key": world.keys["other"]}) as c:
        assert c.get(f"/ui/shipments/{sid}/documents/{doc}/original").status_code == 404


@pytest.mark.parametrize(("accept", "words"), [
    ("en", "require the sender's electronic signature"),
    ("ru", "требует электронную подпись отправителя"),
    ("zh-CN", "要求此单证带有发货人的电子签名"),
])
def test_a_sender_who_must_sign_is_told_how(world, accept, words):
    import html

    import httpx

    from tests.fixtures.browser import csrf_for

    before = world.counts()
    data = {"csrf": csrf_for(world.keys["forwarder"]), "origin": "KZ", "transit": "UZ",
            "destination": "AF", "transport_mode": "road", "references": "booking=SIGN-1"}
    with httpx.Client(base_url=world.server.base_url,
                      cookies={"exchange_key": world.keys["forwarder"]},
                      headers={"Accept-Language": accept}) as c:
        r = c.post("/ui/shipments/new", data=data,
                   files=[("documents", ("waybill.xml", WAYBILL, "application/xml"))])
    assert r.status_code == 422
    text = html.unescape(r.text)
    assert words in text
    assert "exchange sign waybill.xml --pkcs12" in text
    assert world.counts()["shipments"] == before["shipments"]
