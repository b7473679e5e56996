"""The dashboard in headless Chromium against a real `exchange serve` on loopback.

A forwarder uploads a document set, sees the validation error on its line, fixes it and
follows the shipment; a UZ customs officer finds it in the inbox, assesses duties and cannot
release it before payment; an operator replays a dead delivery; parties never see each
other's shipments through any page or link; every page renders at 375px and 1280px and is
written to test-artifacts/screenshots/.
"""
from __future__ import annotations

import html
import json
import re
import uuid

import httpx
import pytest

from tests.fixtures.browser import screenshot, sign_in
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import create

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
EXPORT = (UBL_EXAMPLES / "UBL-ExportCustomsDeclaration-2.3-Example.xml").read_bytes()
# An element the schema does not allow, alone on line 14.
BROKEN = WAYBILL.replace(b"</cbc:AdValoremIndicator>\n",
                         b"</cbc:AdValoremIndicator>\n\t<cbc:Bogus>x</cbc:Bogus>\n", 1)
BOGUS_LINE = BROKEN.decode().splitlines().index("\t<cbc:Bogus>x</cbc:Bogus>") + 1


def _files(tmp_path, **docs: bytes) -> list[str]:
    paths = []
    for name, data in docs.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def _fill_shipment(page, files: list[str], booking: str) -> None:
    page.select_option("#origin", "KG")
    page.fill("#transit", "UZ")
    page.select_option("#destination", "AF")
    page.select_option("#transport_mode", "road")
    page.fill("#references", f"booking={booking}")
    page.set_input_files("#documents", files)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def _api_shipment(world, booking: str) -> str:
    meta_docs = [("waybill.xml", WAYBILL)]
    r = create(world, documents=meta_docs)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _dead_delivery(world, shipment_id: str) -> str:
    """A delivery the dispatcher gave up on (written through the store, as it would)."""
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines
    from exchange.store.deliveries import DeliveryRow, DeliveryStatus
    from exchange.store.repositories import utcnow

    engines = create_engines(DatabaseSettings(url=world.db_url))
    try:
        with UnitOfWorkFactory(engines).writing() as uow:
            doc = uow.documents.for_shipment(shipment_id)[0]
            row = next((d for d in uow.deliveries.for_shipment(shipment_id)
                        if d.country == "AF"), None)
            now = utcnow()
            if row is None:
                row = uow.deliveries.add(DeliveryRow(
                    id=str(uuid.uuid4()), shipment_id=shipment_id, first_document_id=doc.id,
                    document_id=doc.id, country="AF", adapter="edifact-file",
                    attempts=0, next_attempt_at=now, created_at=now, updated_at=now,
                    status=DeliveryStatus.PENDING))
            row.status, row.attempts = DeliveryStatus.DEAD, 8
            row.last_error = "outbox folder not writable (permission denied)"
            row.updated_at = now
            uow.commit()
            return row.id
    finally:
        engines.dispose()


def _sent_delivery(world, shipment_id: str, seconds: float) -> None:
    """A delivery first sent *seconds* after it was queued (as the dispatcher records it)."""
    from datetime import timedelta

    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines
    from exchange.store.deliveries import DeliveryRow, DeliveryStatus
    from exchange.store.repositories import utcnow

    engines = create_engines(DatabaseSettings(url=world.db_url))
    try:
        with UnitOfWorkFactory(engines).writing() as uow:
            doc = uow.documents.for_shipment(shipment_id)[0]
            now = utcnow()
            for row in uow.deliveries.for_shipment(shipment_id):
                if row.country == "TJ":
                    return
            uow.deliveries.add(DeliveryRow(
                id=str(uuid.uuid4()), shipment_id=shipment_id, first_document_id=doc.id,
                document_id=doc.id, country="TJ", adapter="https-push", attempts=1,
                next_attempt_at=now, created_at=now - timedelta(seconds=seconds),
                updated_at=now, first_sent_at=now, completed_at=now,
                status=DeliveryStatus.DELIVERED))
            uow.commit()
    finally:
        engines.dispose()


def _delivery_status(world, delivery_id: str) -> str:
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines
    from exchange.store import deliveries as _  # noqa: F401

    engines = create_engines(DatabaseSettings(url=world.db_url))
    try:
        with UnitOfWorkFactory(engines).reading() as uow:
            return uow.deliveries.get(delivery_id).status
    finally:
        engines.dispose()


def _help_desk_decision(world, shipment_id: str, country: str) -> None:
    """A decision the hub's help desk keyed in for *country*, recorded by the customs
    service as the API records it where the members file allows it (help_desk_decisions)."""
    from adapters.contract import CustomsDecision, DecisionKind
    from exchange.config import DatabaseSettings
    from exchange.delivery.customs import CustomsActor, RecordDecision, decide
    from exchange.store import UnitOfWorkFactory, create_engines

    engines = create_engines(DatabaseSettings(url=world.db_url))
    try:
        decision = CustomsDecision(kind=DecisionKind.ACCEPTED, country=country,
                                   decision_id=f"HD-{shipment_id}", shipment_id=shipment_id)
        actor = CustomsActor(country, "help-desk-operator", on_behalf_of=country)
        decide(RecordDecision(decision, actor), uow=UnitOfWorkFactory(engines), checker=None)
    finally:
        engines.dispose()


# --------------------------------------------------------------------------- forwarder
def test_a_refused_documents_findings_read_in_the_forwarders_language(world, browser_page,
                                                                     tmp_path):
    """The validation report's messages come from the catalogues on the page too: a Russian
    forwarder reads the finding of the bogus element in Russian, beside its line."""
    page = browser_page("desktop", locale="ru-RU")
    page.set_extra_http_headers({"Accept-Language": "ru-RU,ru;q=0.9"})
    sign_in(page, world.server.base_url, world.keys["forwarder"])
    page.goto(f"{world.server.base_url}/ui/shipments/new")
    _fill_shipment(page, _files(tmp_path, waybill=BROKEN, export=EXPORT),
                   f"BK-ru-{uuid.uuid4().hex[:6]}")
    finding = page.locator("ul.findings li.finding.sev-error").first.inner_text()
    message = page.locator(f"tr#L{BOGUS_LINE} .note").first.inner_text().lstrip("↑").strip()
    # the note beside the line is the message alone: Russian, naming the element; the list
    # of findings shows the same words
    assert "Bogus" in message and re.search("[а-яА-Я]{4}", message), message
    assert message in finding, (message, finding)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_forwarder_fixes_a_refused_document_and_follows_the_shipment(
        world, browser_page, tmp_path, viewport):
    base = world.server.base_url
    page = browser_page(viewport)
    sign_in(page, base, world.keys["forwarder"])
    assert page.url == f"{base}/ui/shipments"
    screenshot(page, f"forwarder-shipments-{viewport}")
    page.goto(f"{base}/ui/shipments/new")
    screenshot(page, f"forwarder-new-shipment-{viewport}")
    booking = f"BK-{viewport}-{uuid.uuid4().hex[:6]}"
    before = world.counts()

    _fill_shipment(page, _files(tmp_path, waybill=BROKEN, export=EXPORT), booking)
    error = page.locator("#form-error")
    assert "documents refused" in error.inner_text()
    finding = page.locator("ul.findings li.finding.sev-error").first
    assert f"line {BOGUS_LINE}" in finding.inner_text() and "Bogus" in finding.inner_text()
    flagged = page.locator(f"tr#L{BOGUS_LINE}")
    assert "flagged" in flagged.get_attribute("class")
    assert "<cbc:Bogus>x</cbc:Bogus>" in flagged.inner_text()
    assert page.locator("tr.flagged").count() == 1
    assert page.input_value("#references") == f"booking={booking}"  # kept for the retry
    screenshot(page, f"forwarder-refused-{viewport}")
    after = world.counts()
    assert after["shipments"] == before["shipments"] and \
        after["documents"] == before["documents"]

    _fill_shipment(page, _files(tmp_path, waybill=WAYBILL, export=EXPORT), booking)
    assert re.search(r"/ui/shipments/[0-9a-f-]{36}\?notice=created$", page.url), page.url
    assert "Shipment created" in page.locator("p.notice").inner_text()
    assert page.locator("#shipment-status").inner_text() == "submitted"
    legs = page.locator("ol.timeline li.leg")
    assert [legs.nth(i).locator(".country").inner_text() for i in range(3)] == \
        ["KG", "UZ", "AF"]
    screenshot(page, f"forwarder-shipment-{viewport}")

    page.click("text=Waybill")
    assert page.locator("h1").inner_text().startswith("Waybill")
    assert "Valid" in page.locator("h2").first.inner_text()
    assert page.locator("tr.flagged").count() == 0
    assert "KHN23-44044-1" in page.locator("tr#L6").inner_text()
    screenshot(page, f"forwarder-document-{viewport}")

    page.goto(f"{base}/ui/shipments")
    assert page.locator(f"text={booking}").count() == 1


def _key_cookies(page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == "exchange_key"]


def test_sign_in_refuses_bad_and_revoked_keys_in_plain_words(world, browser_page):
    base = world.server.base_url
    page = browser_page("phone")
    good = world.keys["forwarder"]
    forged = good[:-2] + ("AB" if good[-2:] != "AB" else "BA")  # never the key itself
    for key, words in (("cxk_nonsense", "not an API key of this exchange"),
                       (world.keys["revoked"], "revoked"),
                       (forged, "not valid")):
        sign_in(page, base, key)
        assert page.url.startswith(f"{base}/ui/login")
        assert words in page.locator("p.error").inner_text()
    screenshot(page, "sign-in-refused-phone")
    page.goto(f"{base}/ui/shipments")  # not signed in: back to the sign-in form
    assert page.url == f"{base}/ui/login?next=/ui/shipments"
    assert _key_cookies(page) == []  # (the time-zone cookie holds no secret)


def test_cookie_is_httponly_strict_and_sign_out_forgets_it(world, browser_page):
    base = world.server.base_url
    page = browser_page("desktop")
    sign_in(page, base, world.keys["forwarder"])
    (cookie,) = _key_cookies(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert "exchange_key" not in page.evaluate("document.cookie")  # script cannot read it
    page.click("text=Sign out")
    assert page.url == f"{base}/ui/login"
    assert _key_cookies(page) == []


# ----------------------------------------------------------------------------- customs
def _decide(page, kind: str, confirm: bool = False, **fields: str) -> None:
    page.select_option("#kind", kind)
    for name, value in fields.items():
        page.fill(f"[name={name}]", value)
    if confirm:
        page.check("#confirm")
    page.click("#decide button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_customs_officer_assesses_and_cannot_release_before_payment(
        world, browser_page, viewport):
    base = world.server.base_url
    sid = _api_shipment(world, "customs")
    page = browser_page(viewport)
    sign_in(page, base, world.keys["customs_uz"])
    assert page.url == f"{base}/ui/customs"
    assert page.locator(f"#inbox-shipments a[href='/ui/shipments/{sid}']").count() == 1
    delivery = page.locator("#inbox-deliveries tr", has=page.locator(
        f"a[href='/ui/shipments/{sid}']"))
    assert "Queued" in delivery.inner_text()
    screenshot(page, f"customs-inbox-{viewport}")
    delivery.locator("button", has_text="Acknowledge").click()
    page.wait_for_load_state()
    assert "acknowledged" in page.locator("p.notice").inner_text()
    assert "Acknowledged" in delivery.inner_text()
    assert delivery.locator("button").count() == 0
    delivery.locator("td[data-label=Document] a").click()  # the document viewer
    assert page.locator("h1").inner_text().startswith("Waybill")
    assert "not signed" in page.locator("h2", has_text="Signature").inner_text()
    screenshot(page, f"customs-document-{viewport}")
    page.goto(f"{base}/ui/customs")
    page.click(f"#inbox-shipments a[href='/ui/shipments/{sid}']")
    assert "Decision for UZ" in page.locator("#decide h2").inner_text()

    # a duty line with a missing currency is refused in plain words, nothing recorded
    _decide(page, "assessment", duty_tax_type_0="VAT", duty_base_0="1000",
            duty_rate_0="0.12", duty_amount_0="120")
    assert "duty line 1: fill in currency" in page.locator("#decision-error").inner_text()
    assert page.locator("text=No decisions yet.").count() == 1

    _decide(page, "assessment", customs_reference="UZ-ASM-1", duty_tax_type_0="VAT",
            duty_base_0="1000", duty_rate_0="0.12", duty_amount_0="120",
            duty_currency_0="UZS")
    assert "Decision recorded: Assess duties" in page.locator("p.notice").inner_text()
    uz = page.locator("ol.timeline li.leg").nth(1)
    assert uz.locator(".badge").inner_text() == "Duties assessed"
    assert "duty VAT: 120.00 UZS" in page.locator("text=duty VAT").first.inner_text()
    screenshot(page, f"customs-shipment-{viewport}")

    _decide(page, "released", customs_reference="UZ-REL-1")  # not confirmed: not asked
    assert "Tick the box to confirm the release" in page.locator("#decision-error").inner_text()
    _decide(page, "released", confirm=True, customs_reference="")  # no customs reference
    assert "needs its customs reference" in page.locator("#decision-error").inner_text()
    _decide(page, "released", confirm=True, customs_reference="UZ-REL-1")
    assert "release refused: 120.00 UZS outstanding on UZ" in \
        page.locator("#decision-error").inner_text()
    assert uz.locator(".badge").inner_text() == "Duties assessed"
    assert "120.00 UZS" in page.locator("#pay-UZ").inner_text()
    screenshot(page, f"customs-release-refused-{viewport}")

    with world.client("forwarder") as api:  # the forwarder pays the duties (API)
        r = api.post(f"/v1/shipments/{sid}/payments", json={
            "amount": "120.00", "currency": "UZS", "reference": f"PAY-{sid[:8]}",
            "country": "UZ"})
        assert r.status_code == 201, r.text
    page.goto(f"{base}/ui/shipments/{sid}")
    _decide(page, "released", confirm=True, customs_reference="UZ-REL-1")
    assert "Decision recorded: Release the goods" in page.locator("p.notice").inner_text()
    assert uz.locator(".badge").inner_text() == "Released"
    _decide(page, "hold", reasons="INSP: random inspection")  # nothing follows a release
    assert "already released; a hold decision cannot follow" in \
        page.locator("#decision-error").inner_text()

    forwarder = browser_page(viewport)
    sign_in(forwarder, base, world.keys["forwarder"])
    forwarder.goto(f"{base}/ui/shipments/{sid}")
    legs = forwarder.locator("ol.timeline li.leg")
    assert legs.nth(1).locator(".badge").inner_text() == "Released"
    assert "UZ-REL-1" in forwarder.locator("#decisions >> text=reference UZ-REL-1").inner_text()
    assert "Paid" in forwarder.locator("#pay-UZ").inner_text()
    assert forwarder.locator("#decide").count() == 0  # no decision form for forwarders
    screenshot(forwarder, f"forwarder-released-{viewport}")


def test_a_revoked_key_in_the_cookie_is_signed_out(world):
    cookies = {"exchange_key": world.keys["revoked"]}
    with httpx.Client(base_url=world.server.base_url, cookies=cookies) as c:
        r = c.get("/ui/shipments")
        assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=/ui/shipments"
        r = c.post("/ui/shipments/new", data={"origin": "KG"})
        assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_a_decision_keyed_in_by_the_help_desk_says_so(world):
    sid = _api_shipment(world, "help-desk")
    _help_desk_decision(world, sid, "KG")
    for role in ("forwarder", "operator"):
        with httpx.Client(base_url=world.server.base_url,
                          cookies={"exchange_key": world.keys[role]}) as c:
            r = c.get(f"/ui/shipments/{sid}")
        assert r.status_code == 200, role
        assert "keyed in by the hub's help desk for KG" in html.unescape(r.text), role


def test_decision_form_needs_its_csrf_token(world):
    sid = _api_shipment(world, "csrf")
    cookies = {"exchange_key": world.keys["customs_uz"]}
    with httpx.Client(base_url=world.server.base_url, cookies=cookies) as c:
        r = c.post(f"/ui/customs/shipments/{sid}/decisions",
                   data={"kind": "released", "csrf": "0" * 64})
        assert r.status_code == 422
        assert "did not come from this dashboard" in r.text
        r = c.post(f"/ui/customs/shipments/{sid}/decisions", data={"kind": "released"})
        assert r.status_code == 422
    with world.client("customs_uz") as api:
        assert api.get(f"/v1/shipments/{sid}").json()["legs"][1]["status"] == "pending"


# ---------------------------------------------------------------------------- operator
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_operator_replays_a_dead_delivery(world, browser_page, viewport):
    base = world.server.base_url
    sid = _api_shipment(world, "operator")
    delivery = _dead_delivery(world, sid)
    page = browser_page(viewport)
    sign_in(page, base, world.keys["operator"])
    assert page.url == f"{base}/ui/operator"
    row = page.locator("#dead tr", has_text=delivery[:8])
    assert "permission denied" in row.inner_text()
    assert page.locator("text=Members (11)").count() == 1
    assert page.locator(f"text={world.key_ids['revoked']}").count() == 1
    screenshot(page, f"operator-{viewport}")
    page.goto(f"{base}/ui/operator/health")
    dead_before = int(page.locator("#dead-count").inner_text())
    assert dead_before >= 1
    screenshot(page, f"operator-health-{viewport}")

    page.goto(f"{base}/ui/operator")
    page.locator("#dead tr", has_text=delivery[:8]).locator("button").click()
    page.wait_for_load_state()
    assert f"Delivery {delivery[:8]} queued again" in page.locator("p.notice").inner_text()
    assert page.locator("#dead tr", has_text=delivery[:8]).count() == 0
    assert _delivery_status(world, delivery) in ("pending", "sending", "sent", "delivered",
                                                 "retrying", "acknowledged", "dead")
    page.goto(f"{base}/ui/operator/health")
    assert int(page.locator("#dead-count").inner_text()) <= dead_before
    page.goto(f"{base}/ui/customs?country=UZ")
    screenshot(page, f"operator-inbox-{viewport}")


def test_replaying_a_live_delivery_is_refused_in_plain_words(world):
    sid = _api_shipment(world, "replay")
    delivery = _dead_delivery(world, sid)
    from tests.fixtures.browser import csrf_for
    cookies = {"exchange_key": world.keys["operator"]}
    with httpx.Client(base_url=world.server.base_url, cookies=cookies) as c:
        csrf = csrf_for(world.keys["operator"])
        assert c.post(f"/ui/operator/deliveries/{delivery}/replay",
                      data={"csrf": csrf}).status_code == 303
        r = c.post(f"/ui/operator/deliveries/{delivery}/replay", data={"csrf": csrf})
        assert r.status_code == 409
        assert "only dead or rejected deliveries can be replayed" in r.text
        r = c.post(f"/ui/operator/deliveries/{uuid.uuid4()}/replay", data={"csrf": csrf})
        assert r.status_code == 404


# ------------------------------------------------------------------------- isolation
def test_no_page_or_link_shows_another_partys_shipment(world, browser_page):
    base = world.server.base_url
    sid = _api_shipment(world, "private")
    with world.client("forwarder") as api:
        doc = api.get(f"/v1/shipments/{sid}").json()["documents"][0]["id"]
    pages = [f"/ui/shipments/{sid}", f"/ui/shipments/{sid}/documents/{doc}"]
    for role in ("other", "customs_ge"):
        page = browser_page("phone")
        sign_in(page, base, world.keys[role])
        for path in pages:
            response = page.goto(base + path)
            assert response.status == 404, (role, path)
            assert "Not found" in page.locator("h1").inner_text()
            assert "KHN23" not in page.content() and "Waybill" not in page.content()
        page.goto(f"{base}/ui/shipments")
        assert page.locator(f"a[href*='{sid}']").count() == 0
        if role == "customs_ge":
            page.goto(f"{base}/ui/customs")
            assert page.locator(f"a[href*='{sid}']").count() == 0
        for path in ("/ui/operator", "/ui/operator/health", "/ui/no-such-page"):
            assert page.goto(base + path).status == 404
            assert "Not found" in page.locator("h1").inner_text()
        screenshot(page, f"not-found-{role}-phone")
    # a decision by another country's officer is the same 404
    cookies = {"exchange_key": world.keys["customs_ge"]}
    from tests.fixtures.browser import csrf_for
    with httpx.Client(base_url=base, cookies=cookies) as c:
        r = c.post(f"/ui/customs/shipments/{sid}/decisions",
                   data={"kind": "released", "csrf": csrf_for(world.keys["customs_ge"])})
        assert r.status_code == 404
        with world.client("forwarder") as api:  # nor can GE acknowledge UZ's delivery
            items = api.get(f"/v1/shipments/{sid}/deliveries").json()["items"]
        for item in (i for i in items if i["country"] == "UZ"):
            r = c.post(f"/ui/customs/deliveries/{item['id']}/ack",
                       data={"csrf": csrf_for(world.keys["customs_ge"])})
            assert r.status_code == 404 and "Not found" in r.text
    # a forwarder cannot reach the customs or operator pages either
    cookies = {"exchange_key": world.keys["other"]}
    with httpx.Client(base_url=base, cookies=cookies) as c:
        assert c.get("/ui/customs").status_code == 404
        r = c.post(f"/ui/customs/shipments/{sid}/decisions",
                   data={"kind": "released", "csrf": csrf_for(world.keys["other"])})
        assert r.status_code == 404


# ------------------------------------------------------------- metrics, ids and logs
def test_metrics_request_ids_and_json_logs(world):
    base = world.server.base_url
    rid = f"test-{uuid.uuid4().hex}"
    with world.client("forwarder", **{"X-Request-ID": rid}) as api:
        r = api.get(f"/v1/shipments/{uuid.uuid4()}")
    assert r.status_code == 404 and r.headers["x-request-id"] == rid
    assert r.json()["request_id"] == rid
    r = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    operator = {"Authorization": f"Bearer {world.keys['operator']}"}  # metrics: operators'
    metrics = httpx.get(f"{base}/metrics", headers=operator)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'exchange_http_requests_total{method="GET",route="/v1/shipments/{shipment_id}"' \
        ',status="404"}' in text
    assert "exchange_delivery_queue_depth" in text and "exchange_shipments" in text
    _sent_delivery(world, _api_shipment(world, "latency"), 2.5)
    text = httpx.get(f"{base}/metrics", headers=operator).text
    median = re.search(r'^exchange_delivery_latency_seconds\{quantile="0.5"\} (\S+)$', text,
                       re.MULTILINE)
    assert median and float(median.group(1)) > 0
    assert re.search(r'^exchange_deliveries\{status="delivered"\} [1-9]', text, re.MULTILINE)
    lines = [json.loads(line) for line in world.server.log().splitlines()
             if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == rid]
    assert mine and mine[-1]["logger"] == "exchange.http" and mine[-1]["status"] == 404


@pytest.mark.parametrize(("fields", "words"), [
    ({"origin": "XX", "destination": "AF"}, "XX"),
    ({"origin": "KG", "destination": "KG"}, "KG"),
    ({"origin": "KG", "destination": "AF", "references": "no equals sign"},
     "references, line 1: write each reference as name=value"),
    ({"origin": "KG", "destination": "AF", "transport_mode": "teleport"}, "transport_mode"),
], ids=["unknown-country", "same-country", "bad-reference", "bad-mode"])
def test_new_shipment_form_explains_bad_input_and_creates_nothing(world, fields, words):
    from tests.fixtures.browser import csrf_for

    before = world.counts()
    data = {"csrf": csrf_for(world.keys["forwarder"]), "transport_mode": "road",
            "transit": "", "references": "", **fields}
    cookies = {"exchange_key": world.keys["forwarder"]}
    with httpx.Client(base_url=world.server.base_url, cookies=cookies) as c:
        r = c.post("/ui/shipments/new", data=data,
                   files=[("documents", ("waybill.xml", WAYBILL, "application/xml"))])
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    error = re.search(r'<p class="error" role="alert" id="form-error">(.*?)</p>', r.text,
                      re.DOTALL)
    assert error and words in error.group(1), r.text[:2000]
    assert world.counts()["shipments"] == before["shipments"]


def test_a_payment_provider_signs_in_and_sees_no_shipment(world):
    from tests.fixtures.server import add_party_cli

    _, _, key = add_party_cli(world.env, "payment-provider", "Dashboard Bank")
    with httpx.Client(base_url=world.server.base_url) as c:
        r = c.post("/ui/login", data={"api_key": key},
                   headers={"Origin": world.server.base_url})
        assert r.status_code == 303 and r.headers["location"] == "/ui/payments"
        r = c.get("/ui/payments", cookies={"exchange_key": key})
        assert r.status_code == 200 and "Assessments awaiting payment" in r.text
        nav = r.text.split('aria-label="Main menu"', 1)[1].split("</nav>", 1)[0]
        assert re.findall(r'href="([^"]+)"', nav) == ["/ui/payments"]  # no dead menu entry
        assert c.get("/ui/shipments", cookies={"exchange_key": key}).status_code == 404
