"""The API documentation pages in headless Chromium against a real `exchange serve`, with every
request that would leave loopback refused (and counted): Swagger UI at /docs and ReDoc at
/redoc load their scripts from the exchange (the fastapi-offline package's assets) and render
every operation of /openapi.json; the dashboard links to them. Screenshots go to
test-artifacts/screenshots/."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.browser import screenshot, sign_in

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture
def offline_page(browser_page):
    """A page whose requests to anything but loopback are aborted; ``page.left`` lists them,
    ``page.loaded`` lists what was served."""
    page = browser_page("desktop")
    page.left, page.loaded, page.errors = [], [], []

    def gate(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
            page.loaded.append(url)
            route.continue_()
        else:
            page.left.append(url)
            route.abort("internetdisconnected")

    page.context.route("**/*", gate)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" not in msg.text else None)
    return page


def _operations(world) -> list[tuple[str, str, str]]:
    document = httpx.get(f"{world.server.base_url}/openapi.json", timeout=30).json()
    return [(method.upper(), path, op["operationId"])
            for path, item in document["paths"].items() for method, op in item.items()]


def test_swagger_ui_renders_every_operation_offline(world, offline_page):
    page, operations = offline_page, _operations(world)
    page.goto(f"{world.server.base_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('.opblock').length >= {len(operations)}")
    shown = {(b.query_selector(".opblock-summary-method").inner_text().strip(),
              b.query_selector(".opblock-summary-path").inner_text().replace("\u200b", "")
              .strip())
             for b in page.query_selector_all(".opblock")}
    assert {(m, p) for m, p, _ in operations} <= shown
    assert "CAREC" in page.inner_text(".swagger-ui .info .title")
    page.click(".btn.authorize")  # the bearer scheme is offered
    assert page.wait_for_selector(".auth-container input").is_visible()
    assert page.inner_text(".auth-container").count("ApiKey") >= 1
    page.click("button.btn-done")
    screenshot(page, "api-docs-swagger-ui")
    assert page.left == [], page.left
    assert any(u.endswith("/docs/assets/swagger-ui-bundle.js") for u in page.loaded)
    assert page.errors == []


def test_redoc_renders_every_operation_offline(world, offline_page):
    page, operations = offline_page, _operations(world)
    page.goto(f"{world.server.base_url}/redoc")
    page.wait_for_selector("[data-section-id*='operation/']", timeout=60_000)
    sections = {el.get_attribute("data-section-id")
                for el in page.query_selector_all("[data-section-id*='operation/']")}
    assert {op for _, _, op in operations} <= {s.rsplit("/", 1)[1] for s in sections}
    assert page.locator("text=ProblemDetails").count() >= 1 or \
        page.locator("text=problem+json").count() >= 1
    screenshot(page, "api-docs-redoc")
    assert page.left == [], page.left   # its maker's logo: refused by the page's CSP
    assert "img-src 'self' data:" in httpx.get(f"{world.server.base_url}/redoc").headers[
        "content-security-policy"]
    assert any(u.endswith("/docs/assets/redoc.standalone.js") for u in page.loaded)
    assert page.errors == []


def test_the_dashboard_links_to_the_api_docs(world, offline_page):
    page = offline_page
    page.goto(f"{world.server.base_url}/ui/login")
    assert page.get_attribute("header a.api-docs", "href") == "/docs"
    sign_in(page, world.server.base_url, world.keys["operator"])
    page.click("header a.api-docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert urlsplit(page.url).path == "/docs"
    assert page.left == [], page.left
