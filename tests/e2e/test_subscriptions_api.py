"""``/v1/subscriptions`` over a real server on both engines, with the default setting that
refuses private targets: each bad URL and unknown kind refused with its own problem and
nothing stored; a party sees and deletes only its own subscriptions (another's is 404);
operators see every party's; the secret is shown once and stored sealed; timestamps are
RFC 3339 with an offset; the OpenAPI document names each operation."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.server import assert_problem

PUBLIC = "https://93.184.216.34/hooks/carec"   # a public address: never contacted here


def subscribe(world, role, url=PUBLIC, kinds=("leg.released",), **extra):
    with world.client(role) as c:
        return c.post("/v1/subscriptions", json={"url": url, "kinds": list(kinds), **extra})


def stored(world) -> list[tuple[str, str]]:
    engine = create_engine(world.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT url, secret FROM subscriptions"))]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://93.184.216.34/x", "subscription-url-scheme"),
    ("file:///etc/passwd", "subscription-url-scheme"),
    ("gopher://93.184.216.34:70/_", "subscription-url-scheme"),
    ("93.184.216.34/hook", "subscription-url-scheme"),
    ("https://user:pass@93.184.216.34/hook", "subscription-url-credentials"),
    ("https://token@93.184.216.34/hook", "subscription-url-credentials"),
    ("https:///hook", "subscription-url-invalid"),
    ("https://93.184.216.34/hook#frag", "subscription-url-invalid"),
    ("https://93.184.216.34:99999/hook", "subscription-url-invalid"),
    ("https://93.184.216.34/a b", "subscription-url-invalid"),
    ("http://127.0.0.1:8080/hook", "subscription-url-private"),
    ("http://localhost/hook", "subscription-url-private"),
    ("http://[::1]/hook", "subscription-url-private"),
    ("http://[::ffff:127.0.0.1]/hook", "subscription-url-private"),
    ("http://10.1.2.3/hook", "subscription-url-private"),
    ("http://192.168.0.10/hook", "subscription-url-private"),
    ("http://169.254.169.254/latest/meta-data/", "subscription-url-private"),
    ("http://100.64.0.1/hook", "subscription-url-private"),
    ("http://0.0.0.0/hook", "subscription-url-private"),
    ("http://224.0.0.1/hook", "subscription-url-private"),
    ("https://no-such-host.invalid/hook", "subscription-url-unresolvable"),
])
def test_bad_urls_refused_with_their_problem(world, url, code):
    before = stored(world)
    body = assert_problem(subscribe(world, "forwarder", url), 422, code)
    assert body["detail"]
    assert stored(world) == before


def test_unknown_and_missing_kinds_refused(world):
    before = stored(world)
    body = assert_problem(subscribe(world, "forwarder", kinds=["leg.released", "leg.eaten"]),
                          422, "subscription-kind-unknown")
    assert "'leg.eaten'" in body["detail"] and "shipment.cleared" in body["allowed"]
    assert_problem(subscribe(world, "forwarder", kinds=[]), 422, "request-invalid")
    with world.client("forwarder") as c:
        assert_problem(c.post("/v1/subscriptions", json={"url": PUBLIC, "kinds": ["leg.released"],
                                                         "secret": "mine"}),
                       422, "request-invalid")
    assert stored(world) == before


def test_create_see_delete_own_only(world):
    r = subscribe(world, "forwarder", kinds=["shipment.cleared", "leg.released", "leg.released"],
                  description="our TMS")
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["secret"].startswith("whsec_") and made["status"] == "active"
    assert made["kinds"] == ["leg.released", "shipment.cleared"]
    assert made["signature"]["header"] == "Exchange-Signature"
    created = datetime.fromisoformat(made["created_at"])
    assert created.tzinfo is not None                      # RFC 3339, with its offset
    sid = made["id"]
    # the secret is stored sealed, never as given
    secrets = [secret for url, secret in stored(world) if url == PUBLIC]
    assert secrets and all(s.startswith("aesgcm1:") and made["secret"] not in s
                           for s in secrets)
    with world.client("forwarder") as c:
        got = c.get(f"/v1/subscriptions/{sid}").json()
        assert "secret" not in got and got["id"] == sid and got["notifications"] == {}
        assert sid in [s["id"] for s in c.get("/v1/subscriptions").json()["items"]]
    for role in ("other", "customs_uz"):                   # another party's: not found
        with world.client(role) as c:
            assert_problem(c.get(f"/v1/subscriptions/{sid}"), 404, "subscription-not-found")
            assert_problem(c.delete(f"/v1/subscriptions/{sid}"), 404, "subscription-not-found")
            assert sid not in [s["id"] for s in c.get("/v1/subscriptions").json()["items"]]
    with world.client("operator") as c:                    # operators see every party's
        assert sid in [s["id"] for s in c.get("/v1/subscriptions").json()["items"]]
        assert sid not in [s["id"] for s in
                           c.get("/v1/subscriptions", params={"status": "paused"}).json()["items"]]
    with world.client() as c:
        assert c.get("/v1/subscriptions").status_code == 401
    with world.client("forwarder") as c:
        assert c.delete(f"/v1/subscriptions/{sid}").status_code == 204
        assert_problem(c.get(f"/v1/subscriptions/{sid}"), 404, "subscription-not-found")


def test_openapi_names_the_operations(world):
    with world.client() as c:
        spec = c.get("/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()
           if isinstance(op, dict) and "operationId" in op}
    assert {"create_subscription", "list_subscriptions", "get_subscription", "delete_subscription",
            "resume_subscription", "test_subscription"} <= ops
    created = spec["components"]["schemas"]["SubscriptionCreated"]
    assert created["properties"]["created_at"]["format"] == "date-time"
