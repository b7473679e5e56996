"""Authorisation per role, idempotent retries (also concurrent), `exchange audit verify` on a
tampered row, bad configuration at start: real server, real CLI, both engines."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import ROUTE, XML, assert_problem, create, free_port

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()


@pytest.fixture(scope="module")
def shipment(world):
    """A shipment of 'forwarder' routed KG -> UZ -> AF with one waybill: (id, document id)."""
    r = create(world, documents=[("waybill.xml", WAYBILL)])
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["documents"][0]["id"]


def reads(sid: str, doc: str) -> list[tuple[str, str]]:
    return [("GET", f"/v1/shipments/{sid}"), ("GET", f"/v1/shipments/{sid}/events"),
            ("GET", f"/v1/shipments/{sid}/documents/{doc}"),
            ("GET", f"/v1/shipments/{sid}/documents/{doc}?version=sealed")]


@pytest.mark.parametrize("role", ["other", "customs_ge"])
def test_out_of_scope_reads_answer_404_like_a_missing_shipment(world, shipment, role):
    sid, doc = shipment
    with world.client(role) as c:
        for method, path in reads(sid, doc):
            body = assert_problem(c.request(method, path), 404, "not-found")
            assert body["detail"] == f"no shipment {sid}"  # same words as a missing one
        missing = assert_problem(c.get("/v1/shipments/00000000-0000-0000-0000-000000000000"),
                                 404, "not-found")
        assert set(missing) == set(body) - set()
        assert sid not in {s["id"] for s in c.get("/v1/shipments",
                                                  params={"limit": 200}).json()["items"]}
    assert f"{sid} not found or out of scope" in world.server.log()  # logged


def test_forwarder_may_not_add_documents_to_another_forwarders_shipment(world, shipment):
    sid, _ = shipment
    before = world.counts()
    with world.client("other") as c:
        r = c.post(f"/v1/shipments/{sid}/documents", content=INVOICE, headers=XML)
    assert_problem(r, 404, "not-found")
    assert world.counts() == before


@pytest.mark.parametrize("role", ["customs_uz", "customs_ge", "operator"])
def test_only_forwarders_submit(world, shipment, role):
    sid, _ = shipment
    before = world.counts()
    with world.client(role) as c:
        r = c.post("/v1/shipments", json={"route": ROUTE, "transport_mode": "road"})
        assert_problem(r, 403, "forbidden")
        r = c.post(f"/v1/shipments/{sid}/documents", content=INVOICE, headers=XML)
        assert_problem(r, 403, "forbidden")
    assert world.counts() == before


@pytest.mark.parametrize("role", ["forwarder", "customs_uz", "operator"])
def test_in_scope_roles_read_everything_of_the_shipment(world, shipment, role):
    sid, doc = shipment
    with world.client(role) as c:
        for method, path in reads(sid, doc):
            assert c.request(method, path).status_code == 200, (role, path)
        listed = {s["id"] for s in c.get("/v1/shipments", params={"limit": 200}).json()["items"]}
        assert sid in listed


def test_customs_list_holds_only_routed_shipments(world, shipment):
    create(world, route={"origin": "KG", "transit": [], "destination": "GE"})
    with world.client("customs_uz") as c:
        items = c.get("/v1/shipments", params={"limit": 200}).json()["items"]
    assert items and all("UZ" in [s["route"]["origin"], *s["route"]["transit"],
                                  s["route"]["destination"]] for s in items)


# -------------------------------------------------------------------- idempotency
def test_same_key_same_body_gives_the_first_answer(world):
    before = world.counts()
    first = create(world, documents=[("w.xml", WAYBILL)], **{"Idempotency-Key": "retry-1"})
    assert first.status_code == 201
    again = create(world, documents=[("w.xml", WAYBILL)], **{"Idempotency-Key": "retry-1"})
    assert again.status_code == 201  # a multipart body with a new boundary, same request
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    after = world.counts()
    assert after["shipments"] == before["shipments"] + 1
    assert after["documents"] == before["documents"] + 1


def test_same_key_other_body_is_refused(world):
    create(world, **{"Idempotency-Key": "retry-2"})
    before = world.counts()
    r = create(world, route={"origin": "KG", "transit": [], "destination": "TJ"},
               **{"Idempotency-Key": "retry-2"})
    assert "another request" in assert_problem(r, 422, "idempotency-key-reused")["detail"]
    assert world.counts() == before


def test_refused_document_answer_is_replayed_too(world):
    sid = create(world).json()["id"]
    bad = b"<Waybill>no namespace</Waybill>"
    with world.client("forwarder", **{"Idempotency-Key": "retry-3"}) as c:
        first = c.post(f"/v1/shipments/{sid}/documents", content=bad, headers=XML)
        before = world.counts()
        again = c.post(f"/v1/shipments/{sid}/documents", content=bad, headers=XML)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert world.counts() == before  # the replay records nothing new


def test_concurrent_requests_with_one_key_create_one_shipment(world):
    before = world.counts()
    answers: list = []
    barrier = threading.Barrier(8)

    def post() -> None:
        barrier.wait()
        r = create(world, documents=[("w.xml", WAYBILL)], **{"Idempotency-Key": "race-1"})
        answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8
    assert {a[0] for a in answers} == {201}
    assert len({json.dumps(a[1], sort_keys=True) for a in answers}) == 1
    after = world.counts()
    assert after["shipments"] == before["shipments"] + 1
    assert after["documents"] == before["documents"] + 1


def test_invalid_idempotency_key_is_refused(world):
    r = create(world, **{"Idempotency-Key": "x" * 300})
    assert_problem(r, 400, "idempotency-key-invalid")


# -------------------------------------------------------------------------- audit
def audit(world) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exchange", "audit", "verify"], env=world.env,
                          capture_output=True, text=True, timeout=120)


def test_audit_verify_names_a_tampered_event(world):
    sid = create(world, documents=[("w.xml", WAYBILL)]).json()["id"]
    ok = audit(world)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all intact" in ok.stdout
    engine = create_engine(world.db_url)
    try:
        with engine.begin() as conn:
            row = conn.execute(text("SELECT id, data_json FROM events WHERE stream = :s AND "
                                    "seq = 2"), {"s": sid}).one()
            conn.execute(text("UPDATE events SET data_json = :d WHERE id = :id"),
                         {"d": row.data_json[:-1] + ',"tampered":true}', "id": row.id})
        broken = audit(world)
        assert broken.returncode == 1
        assert f"stream {sid}: event {row.id} (seq 2)" in broken.stdout
        assert "edited" in broken.stdout
        with engine.begin() as conn:  # put it back: the chain is whole again
            conn.execute(text("UPDATE events SET data_json = :d WHERE id = :id"),
                         {"d": row.data_json, "id": row.id})
        assert audit(world).returncode == 0
    finally:
        engine.dispose()


# ----------------------------------------------------------------- configuration
@pytest.mark.parametrize("env, named", [
    ({"EXCHANGE_LIMITS_MAX_BODY_BYTES": "lots"}, "EXCHANGE_LIMITS_MAX_BODY_BYTES"),
    ({"EXCHANGE_DATABASE_URL": "mysql://db/x"}, "EXCHANGE_DATABASE_URL"),
    ({"EXCHANGE_MEMBERS_FILE": "/nonexistent/members.toml"}, "EXCHANGE_MEMBERS_FILE"),
    ({"EXCHANGE_HUB_KEY_FILE": "/nonexistent/hub.pem"}, "EXCHANGE_HUB_KEY_FILE"),
    ({"EXCHANGE_HUB_KEY_PASSPHRASE": "wrong"}, "EXCHANGE_HUB_KEY_PASSPHRASE"),
])
def test_bad_configuration_stops_serve_with_the_setting_named(world, env, named):
    out = subprocess.run([sys.executable, "-m", "exchange", "serve", "--port",
                          str(free_port())], env={**world.env, **env}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert named in out.stderr


def test_openapi_and_docs_are_served(world):
    with world.client() as c:
        spec = c.get("/openapi.json").json()
        assert {"/v1/shipments", "/v1/shipments/{shipment_id}",
                "/v1/shipments/{shipment_id}/documents",
                "/v1/shipments/{shipment_id}/documents/{document_id}",
                "/v1/shipments/{shipment_id}/events"} <= set(spec["paths"])
        assert "multipart/form-data" in spec["paths"]["/v1/shipments"]["post"][
            "requestBody"]["content"]
        assert c.get("/docs").status_code == 200
        assert_problem(c.get("/v1/nowhere"), 404, "not-found")


def test_concurrent_identical_documents_are_stored_once(world):
    sid = create(world).json()["id"]
    statuses: list[str] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        with world.client("forwarder") as c:
            r = c.post(f"/v1/shipments/{sid}/documents", content=INVOICE, headers=XML)
        statuses.append(r.json()["status"])

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 5
    with world.client("forwarder") as c:
        assert c.get(f"/v1/shipments/{sid}").json()["totals"]["documents"] == 1


def cli(world, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=world.env,
                          capture_output=True, text=True, timeout=120)


def test_rotated_key_works_and_the_old_one_answers_401(world):
    from tests.fixtures.server import add_party_cli

    _, key_id, token = add_party_cli(world.env, "forwarder", "Rotating Forwarder")
    listing = cli(world, "parties", "list")
    assert key_id in listing.stdout and token.split("_")[-1] not in listing.stdout
    out = cli(world, "parties", "keys", "rotate", key_id)
    assert out.returncode == 0, out.stderr
    new = out.stdout.split("API key (shown once): ")[1].split()[0]
    with world.client(None, Authorization=f"Bearer {token}") as c:
        assert_problem(c.get("/v1/shipments"), 401, "auth-revoked")
    with world.client(None, Authorization=f"Bearer {new}") as c:
        assert c.get("/v1/shipments").status_code == 200
    again = cli(world, "parties", "keys", "revoke", "ffffffffffffffff")
    assert again.returncode == 2 and "no API key" in again.stderr


def test_forwarder_list_is_paginated_newest_first(world):
    from tests.fixtures.server import add_party_cli

    _, _, token = add_party_cli(world.env, "forwarder", "Paging Forwarder")
    made = []
    with world.client(None, Authorization=f"Bearer {token}") as c:
        for _ in range(5):
            made.append(c.post("/v1/shipments", json={"route": ROUTE, "transport_mode": "rail"}
                               ).json()["id"])
        pages, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            body = c.get("/v1/shipments", params=params).json()
            pages.append([s["id"] for s in body["items"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [i for p in pages for i in p] == made[::-1]
        bad = assert_problem(c.get("/v1/shipments", params={"cursor": "garbage"}), 422,
                             "request-invalid")   # not of the form the schema says
        assert [e["field"] for e in bad["errors"]] == ["query.cursor"]
        # every cursor of that form is a place to start from (here: before any shipment)
        assert c.get("/v1/shipments", params={"cursor": "0~x"}).json() == {
            "items": [], "next_cursor": None}
        assert_problem(c.get("/v1/shipments", params={"limit": 0}), 422, "request-invalid")
