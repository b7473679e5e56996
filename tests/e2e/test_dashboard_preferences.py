"""The dashboard in Russian: a party's chosen language follows it to another browser; the
customs inbox and the dead letters page through long lists keeping their filters, with
counts; the operator reads the webhook subscriptions and what became of their notifications.
axe-core finds no serious or critical violation on these pages."""
from __future__ import annotations

import re
import uuid

import httpx

from tests.e2e.test_dashboard import WAYBILL
from tests.e2e.test_dashboard_roles import Visit
from tests.fixtures.browser import sign_in
from tests.fixtures.server import ROUTE, add_party_cli, create

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


# ------------------------------------------------------------------- paging and counts
def _store(world):
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines

    engines = create_engines(DatabaseSettings(url=world.db_url))
    return engines, UnitOfWorkFactory(engines)


def _failed_deliveries(world, shipment_id: str, statuses: list[str]) -> list[str]:
    """Deliveries of the shipment's document the dispatcher gave up on, one a second apart
    (to made-up countries: the unique key is document and country)."""
    from datetime import timedelta

    from exchange.store.deliveries import DeliveryRow
    from exchange.store.repositories import utcnow

    engines, store = _store(world)
    try:
        with store.writing() as uow:
            doc = uow.documents.for_shipment(shipment_id)[0]
            now, ids = utcnow(), []
            for i, status in enumerate(statuses):
                row = uow.deliveries.add(DeliveryRow(
                    id=str(uuid.uuid4()), shipment_id=shipment_id, first_document_id=doc.id,
                    document_id=doc.id, country=f"Q{chr(65 + i % 26)}"
                    if i < 26 else f"Z{chr(65 + i % 26)}", adapter="edifact-file",
                    attempts=8, next_attempt_at=now, created_at=now,
                    updated_at=now - timedelta(seconds=i), status=status,
                    last_error="outbox folder not writable"))
                ids.append(row.id)
            uow.commit()
            return ids
    finally:
        engines.dispose()


def _rows(page, table: str) -> int:
    return page.locator(f"{table} tbody tr").count()


def _links(page) -> list[str]:
    return page.locator("#inbox-shipments td:first-child a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


def test_the_operator_pages_through_dead_letters_keeping_the_filter(world, browser_page):
    base, visit = world.server.base_url, Visit("ru", "ru")
    sid = create(world, documents=[("waybill.xml", WAYBILL)]).json()["id"]
    dead = _failed_deliveries(world, sid, ["dead"] * 27 + ["rejected"] * 3)
    page = _browser(browser_page, "ru-RU,ru;q=0.9")
    sign_in(page, base, world.keys["operator"])
    page.select_option("#f-status", "dead")
    page.click("#dead form.filters button[type=submit]")
    page.wait_for_load_state()
    found = int(re.sub(r"\D", "", page.locator("#dead-count").inner_text()))
    assert found >= 27  # every dead one, on every page
    assert _rows(page, "#dead") == 25
    assert len(set(page.locator("#dead .badge").all_inner_texts())) == 1  # dead only
    visit(page, "operator-dead-letters-page-1")
    seen = set(page.locator("#dead td.mono").all_inner_texts())
    page.click("#dead a[rel=next]")
    page.wait_for_load_state()
    assert "status=dead" in page.url and "after=" in page.url
    assert page.locator("#f-status").input_value() == "dead"  # the filter is kept
    assert int(re.sub(r"\D", "", page.locator("#dead-count").inner_text())) == found
    second = set(page.locator("#dead td.mono").all_inner_texts())
    assert second and not second & seen  # no row twice
    assert len(seen | second) == min(found, 50)
    if found <= 50:
        assert {d[:8] for d in dead[:27]} <= seen | second
    assert len(set(page.locator("#dead .badge").all_inner_texts())) == 1
    visit(page, "operator-dead-letters-page-2")
    assert page.goto(f"{base}/ui/operator?after=not-a-cursor").status == 404
    assert not visit.problems, visit.problems


def test_the_customs_inbox_pages_through_shipments_keeping_the_filters(world, browser_page):
    base, visit = world.server.base_url, Visit("ru", "ru")
    booking = f"PAGE-{uuid.uuid4().hex[:6]}"
    meta = {"route": ROUTE, "transport_mode": "road", "references": {"booking": booking}}
    with world.client("forwarder") as c:
        for _ in range(27):
            assert c.post("/v1/shipments", json=meta).status_code == 201
    page = _browser(browser_page, "ru-RU,ru;q=0.9")
    sign_in(page, base, world.keys["customs_uz"])
    page.fill("#q", booking)
    page.select_option("#f-leg", "pending")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "(27)" in page.locator("#inbox-s-h").inner_text()
    assert _rows(page, "#inbox-shipments") == 25
    visit(page, "customs-inbox-page-1")
    seen = set(_links(page))
    page.click("#inbox-s-h ~ .pager a[rel=next]")
    page.wait_for_load_state()
    assert page.locator("#q").input_value() == booking  # filters kept
    assert page.locator("#f-leg").input_value() == "pending"
    assert "(27)" in page.locator("#inbox-s-h").inner_text()
    assert _rows(page, "#inbox-shipments") == 2
    assert page.locator("#inbox-s-h ~ .pager").count() == 0  # the last page
    assert len(seen) == 25 and not seen & set(_links(page))  # no shipment twice
    visit(page, "customs-inbox-page-2")
    assert not visit.problems, visit.problems


def test_the_inbox_service_pages_deliveries_with_counts(world):
    from exchange.delivery.customs import customs_overview

    for _ in range(2):
        sid = create(world, documents=[("waybill.xml", WAYBILL)]).json()["id"]
    engines, store = _store(world)
    try:
        every = customs_overview("UZ", uow=store, limit=1000)
        assert any(e.delivery.shipment_id == sid for e in every.deliveries)
        first = customs_overview("UZ", uow=store, limit=2)
        assert first.deliveries_total == every.deliveries_total == len(every.deliveries)
        assert len(first.deliveries) == 2 and first.deliveries_next
        second = customs_overview("UZ", uow=store, limit=2,
                                  deliveries_after=first.deliveries_next)
        ids = [e.delivery.id for e in first.deliveries + second.deliveries]
        assert ids == [e.delivery.id for e in every.deliveries][:len(ids)]
        assert second.shipments == first.shipments  # the other list keeps its place
    finally:
        engines.dispose()


# --------------------------------------------------------------- webhook subscriptions
PUBLIC = "https://93.184.216.34/hooks/carec"  # a public address: never contacted here


def _notifications(world, subscription_id: str, statuses: dict[str, int],
                   paused: str | None = None) -> None:
    """Notifications of the subscription as the notifier leaves them (none due to be sent:
    the retrying ones are due in a day)."""
    import json
    from datetime import timedelta

    from exchange.store.repositories import utcnow
    from exchange.store.subscriptions import NotificationRow

    engines, store = _store(world)
    try:
        with store.writing() as uow:
            now, seq = utcnow(), 0
            for status, n in statuses.items():
                for _ in range(n):
                    seq += 1
                    uow.session.add(NotificationRow(
                        subscription_id=subscription_id, stream=f"test:{subscription_id}",
                        seq=seq, event_id=seq, types_json=json.dumps(["leg.released"]),
                        status=status, attempts=1, next_attempt_at=now + timedelta(days=1),
                        created_at=now, updated_at=now,
                        delivered_at=now if status == "delivered" else None))
            if paused:
                row = uow.notifications.subscription(subscription_id)
                row.status, row.paused_reason, row.paused_at = "paused", paused, now
            uow.commit()
    finally:
        engines.dispose()


def test_the_operator_reads_the_subscriptions_and_their_notifications(world, browser_page):
    base, visit = world.server.base_url, Visit("ru", "ru")
    made = {}
    for role, kinds in (("forwarder", ["leg.released", "shipment.cleared"]),
                        ("customs_uz", ["document.accepted"])):
        with world.client(role) as c:
            r = c.post("/v1/subscriptions", json={"url": f"{PUBLIC}/{role}", "kinds": kinds,
                                                  "description": f"{role} TMS"})
        assert r.status_code == 201, r.text
        made[role] = r.json()["id"]
    _notifications(world, made["forwarder"], {"delivered": 3, "retrying": 1, "dead": 2})
    _notifications(world, made["customs_uz"], {"dead": 1},
                   paused="the subscriber answered 410 Gone")

    page = _browser(browser_page, "ru-RU,ru;q=0.9")
    sign_in(page, base, world.keys["operator"])
    page.click("nav.menu a[href='/ui/operator/subscriptions']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Подписки"
    assert page.locator("nav.menu a[aria-current=page]").inner_text() == "Подписки"
    forwarder = page.locator(f"#subscription-{made['forwarder'][:8]}")
    text = forwarder.inner_text()
    assert f"{PUBLIC}/forwarder" in text and "forwarder TMS" in text
    assert "Выпуск товаров на участке маршрута" in text and "shipment.cleared" in text
    assert "Активна" in text
    assert [forwarder.locator(f".count-{k}").inner_text() for k in
            ("delivered", "queued", "failing", "dead")] == ["3", "0", "1", "2"]
    customs = page.locator(f"#subscription-{made['customs_uz'][:8]}")
    assert "Приостановлена" in customs.inner_text()
    assert "410 Gone" in customs.inner_text()
    assert customs.locator(".count-dead").inner_text() == "1"
    visit(page, "operator-subscriptions")

    # no other role has the entry or the page
    for role in ("forwarder", "customs_uz"):
        other = _browser(browser_page, "ru-RU,ru;q=0.9")
        sign_in(other, base, world.keys[role])
        assert other.locator("nav.menu a[href='/ui/operator/subscriptions']").count() == 0
        assert other.goto(f"{base}/ui/operator/subscriptions").status == 404
    assert not visit.problems, visit.problems
