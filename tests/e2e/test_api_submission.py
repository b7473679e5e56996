"""The submission path over real HTTP: `exchange serve` on 127.0.0.1, on SQLite and PostgreSQL.

Each engine gets one server (module scope) and its parties, made with `exchange parties add`
(fixture ``world`` in tests/fixtures/server.py).
Every bad request is checked for its own answer and for leaving the stored rows unchanged.
"""
from __future__ import annotations

import json
import socket
import subprocess

import pytest

from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import ROUTE, XML, assert_problem, create, submit

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
EXPORT = (UBL_EXAMPLES / "UBL-ExportCustomsDeclaration-2.3-Example.xml").read_bytes()


# ------------------------------------------------------------------ the happy path
def check_seal(world, sealed: bytes, tmp_path, validator) -> None:
    """The hub's seal keeps the document schema-valid and verifies with xmlsec1."""
    assert validator.validate(sealed).accepted
    path = tmp_path / "sealed.xml"
    path.write_bytes(sealed)
    out = subprocess.run(["xmlsec1", "--verify", "--trusted-pem",
                          world.env["EXCHANGE_HUB_CERT_FILE"], "--id-attr:Id",
                          "http://uri.etsi.org/01903/v1.3.2#:SignedProperties", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_whole_submission_path(world, tmp_path, validator):
    r = create(world, documents=[("waybill.xml", WAYBILL), ("invoice.xml", INVOICE)])
    assert r.status_code == 201, r.text
    shipment = r.json()
    sid = shipment["id"]
    assert r.headers["location"] == f"/v1/shipments/{sid}"
    assert [leg["country"] for leg in shipment["legs"]] == ["KG", "UZ", "AF"]
    assert [leg["role"] for leg in shipment["legs"]] == ["origin", "transit", "destination"]
    assert {d["document_type"] for d in shipment["documents"]} == {"Waybill", "Invoice"}

    r = submit(world, sid, EXPORT, filename="export.xml")
    assert r.status_code == 201, r.text
    export = r.json()
    assert export["status"] == "accepted" and export["version"] == 1
    assert export["validation"]["decision"] == "accept"

    with world.client("forwarder") as c:
        view = c.get(f"/v1/shipments/{sid}").json()
        assert view["totals"]["documents"] == 3
        doc = next(d for d in view["documents"] if d["id"] == export["id"])
        assert doc["validation"]["layers"][1]["name"] == "schema"
        assert doc["signature"]["present"] is False and doc["signature"]["required"] is False
        assert view["dossier"]["status"] in ("consistent", "warning", "error")
        assert all("check" in f and len(f["documents"]) >= 1
                   for f in view["dossier"]["findings"])

        original = c.get(f"/v1/shipments/{sid}/documents/{export['id']}")
        assert original.status_code == 200
        assert original.content == EXPORT  # byte for byte as received
        assert original.headers["content-type"].startswith("application/xml")
        assert original.headers["x-content-sha256"] == export["sha256"]
        sealed = c.get(f"/v1/shipments/{sid}/documents/{export['id']}",
                       params={"version": "sealed"})
        assert sealed.status_code == 200 and sealed.content != EXPORT
        assert sealed.headers["x-content-sha256"] == doc["sealed_sha256"]
        check_seal(world, sealed.content, tmp_path, validator)

        events = c.get(f"/v1/shipments/{sid}/events").json()
        kinds = [e["kind"] for e in events["events"]
                 if e["kind"].startswith(("shipment.", "document."))]  # (routing adds its own)
        assert kinds == ["shipment.created"] + ["document.accepted"] * 3
        assert events["chain"] == {"intact": True, "break": None}
        assert events["events"][1]["prev_hash"] == events["events"][0]["hash"]

        listed = c.get("/v1/shipments", params={"limit": 200}).json()
        assert sid in {s["id"] for s in listed["items"]}


def test_same_content_again_answers_duplicate_of(world):
    sid = create(world).json()["id"]
    first = submit(world, sid, WAYBILL).json()
    before = world.counts()
    again = submit(world, sid, WAYBILL)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["duplicate_of"] == first["id"]
    after = world.counts()
    assert after["documents"] == before["documents"]
    assert after["events"] == before["events"] + 1  # the duplicate is recorded, not stored


def test_amended_document_supersedes_and_nothing_is_overwritten(world):
    sid = create(world).json()["id"]
    v1 = submit(world, sid, WAYBILL).json()
    amended = WAYBILL.replace(b"<cbc:Name>Air Waybill</cbc:Name>",
                              b"<cbc:Name>Air Waybill (amended)</cbc:Name>", 1)
    assert amended != WAYBILL
    v2 = submit(world, sid, amended, supersedes=v1["id"])
    assert v2.status_code == 201, v2.text
    assert v2.json()["version"] == 2
    with world.client("forwarder") as c:
        docs = {d["id"]: d for d in c.get(f"/v1/shipments/{sid}").json()["documents"]}
        assert docs[v1["id"]]["superseded_by"] == v2.json()["id"]
        assert docs[v2.json()["id"]]["supersedes"] == v1["id"]
        assert c.get(f"/v1/shipments/{sid}/documents/{v1['id']}").content == WAYBILL
    again = submit(world, sid, amended.replace(b"(amended)", b"(amended twice)"),
                   supersedes=v1["id"])
    assert_problem(again, 409, "document-superseded")


# ---------------------------------------------------------------------- bad input
def test_invalid_document_answers_422_with_the_report_and_is_not_stored(world):
    sid = create(world).json()["id"]
    bad = WAYBILL.replace(b"<cbc:ID>KHN23-44044-1</cbc:ID>",
                          b"<cbc:ID>KHN23-44044-1</cbc:ID><cbc:Bogus>x</cbc:Bogus>", 1)
    before = world.counts()
    r = submit(world, sid, bad)
    body = assert_problem(r, 422, "document-invalid")
    report = body["validation"]
    assert report["decision"] == "reject"
    schema = next(layer for layer in report["layers"] if layer["name"] == "schema")
    finding = schema["findings"][0]
    assert finding["line"] == 6 and "Bogus" in finding["message"]
    after = world.counts()
    assert after["documents"] == before["documents"]
    assert after["events"] == before["events"] + 1
    with world.client("forwarder") as c:
        events = c.get(f"/v1/shipments/{sid}/events").json()["events"]
        assert events[-1]["kind"] == "document.refused"
        assert events[-1]["data"]["reason"] == "document-invalid"


def test_broken_corpus_each_refusal_names_every_mistake(world):
    """Issue 19 over real HTTP: each official example broken in two to four places is refused
    with every mistake (rule, line, column) in one answer, in the language asked for."""
    from tests.fixtures.broken import broken_documents

    sid = create(world).json()["id"]
    docs = broken_documents()
    assert len(docs) >= 20
    with world.client("forwarder") as c:
        for n, doc in enumerate(docs):
            lang = ("ru", "zh-CN,zh;q=0.9", "en-GB")[n % 3]
            r = c.post(f"/v1/shipments/{sid}/documents", content=doc.data,
                       headers={**XML, "Accept-Language": lang}, params={"filename": doc.name})
            body = assert_problem(r, 422, "document-invalid")
            errors = [f for layer in body["validation"]["layers"] for f in layer["findings"]
                      if f["severity"] == "error"]
            assert {(f["rule"], f["line"]) for f in errors} == doc.expected, doc.name
            assert all(f["column"] for f in errors), doc.name
            first = errors[0]["message"]
            if lang == "ru":
                assert any("\u0400" <= ch <= "\u04ff" for ch in first), first
            elif lang.startswith("zh"):
                assert any("\u4e00" <= ch <= "\u9fff" for ch in first), first
            else:
                assert first.isascii(), first


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Waybill>&lol2;</Waybill>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><Waybill>&x;</Waybill>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_malicious_xml_is_refused_as_unsafe(world, payload):
    sid = create(world).json()["id"]
    before = world.counts()
    body = assert_problem(submit(world, sid, payload), 422, "xml-unsafe")
    assert "DOCTYPE" in body["detail"]
    wf = body["validation"]["layers"][0]
    assert wf["findings"][0]["rule"] == "xml.doctype-forbidden"
    assert "root:" not in json.dumps(body)  # nothing of /etc/passwd
    after = world.counts()
    assert after["documents"] == before["documents"]


def test_invalid_document_in_a_new_shipment_creates_nothing(world):
    before = world.counts()
    r = create(world, documents=[("waybill.xml", WAYBILL), ("evil.xml", BILLION_LAUGHS)])
    body = assert_problem(r, 422, "xml-unsafe")
    assert [d["status"] for d in body["documents"]] == ["accepted", "refused"]
    after = world.counts()
    for table in ("shipments", "documents", "route_legs"):
        assert after[table] == before[table]
    assert after["events"] == before["events"] + 1  # recorded in the forwarder's chain


def test_signature_required_by_the_members_file(world):
    sid = create(world, route={"origin": "KZ", "transit": [], "destination": "UZ"}).json()["id"]
    body = assert_problem(submit(world, sid, WAYBILL), 422, "signature-required")
    assert body["signature"] == {"present": False, "required": True}


def test_oversized_body_answers_413_unread(world):
    sid = create(world).json()["id"]
    before = world.counts()
    limit = 50 * 1024 * 1024
    # Declared too large: the answer comes after only the headers and 1 KB were sent.
    host, port = world.server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall((f"POST /v1/shipments/{sid}/documents HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {world.keys['forwarder']}\r\n"
                      f"Content-Type: application/xml\r\nContent-Length: {limit + 1}\r\n\r\n"
                      ).encode() + b" " * 1024)
        raw = b""
        while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"application/problem+json" in head
    body = json.loads(payload)
    assert body["type"].endswith(":body-too-large") and body["limit"] == limit

    def chunks():  # no Content-Length: counted as it streams
        yield b"<Waybill>"
        for _ in range(60):
            yield b" " * (1024 * 1024)
    with world.client("forwarder") as c:
        r = c.post(f"/v1/shipments/{sid}/documents", headers=XML, content=chunks())
    assert_problem(r, 413, "body-too-large")
    assert world.counts() == before


@pytest.mark.parametrize("role, header, code", [
    (None, None, "auth-missing"),
    (None, "Basic Zm9vOmJhcg==", "auth-malformed"),
    (None, "Bearer cxk_0000000000000000_" + "x" * 43, "auth-invalid"),
    ("revoked", None, "auth-revoked"),
])
def test_missing_bad_or_revoked_key_answers_401(world, role, header, code):
    before = world.counts()
    headers = {"Authorization": header} if header else {}
    with world.client(role, **headers) as c:
        for r in (c.post("/v1/shipments", json={"route": ROUTE, "transport_mode": "road"}),
                  c.get("/v1/shipments")):
            assert_problem(r, 401, code)
            assert r.headers["www-authenticate"].startswith("Bearer")
    assert world.counts() == before


def test_bad_route_and_bad_json_are_refused(world):
    before = world.counts()
    r = create(world, route={"origin": "KZ", "transit": ["RU"], "destination": "UZ"})
    assert "not a CAREC member" in assert_problem(r, 422, "route-invalid")["detail"]
    r = create(world, route={"origin": "kz", "destination": "UZ"})
    assert "route.origin" in assert_problem(r, 422, "request-invalid")["detail"]
    r = create(world, route={"origin": "KZ", "transit": ["KZ"], "destination": "UZ"})
    assert "more than once" in assert_problem(r, 422, "route-invalid")["detail"]
    with world.client("forwarder") as c:
        r = c.post("/v1/shipments", content=b"{not json", headers={"Content-Type":
                                                                   "application/json"})
        assert_problem(r, 422, "request-invalid")
        r = c.post("/v1/shipments", content=b"<a/>", headers=XML)
        assert_problem(r, 415, "unsupported-media-type")
    assert world.counts() == before


# ---------------------------------------------------------------------- signatures
KZ_ROUTE = {"origin": "KZ", "transit": ["UZ"], "destination": "AF"}  # KZ requires signatures


def signed(data: bytes, leaf, validator) -> bytes:
    from lxml import etree

    from signing import Signer
    from signing.safexml import parse_xml

    tree = parse_xml(data)
    schema = validator.schema_path(etree.QName(tree.getroot()).namespace)
    return etree.tostring(Signer(leaf.identity()).sign(tree, schema=schema),
                          xml_declaration=True, encoding="UTF-8")


def test_signed_document_is_verified_against_the_origin_trust_list(world, pki, validator):
    from signing import TrustStore, verify_document
    from signing.safexml import parse_xml

    sid = create(world, route=KZ_ROUTE).json()["id"]
    data = signed(WAYBILL, pki.leaf("KZ"), validator)
    r = submit(world, sid, data)
    assert r.status_code == 201, r.text
    sig = r.json()["signature"]
    assert sig["present"] and sig["valid"] and sig["required"] and sig["country"] == "KZ"
    assert sig["signatures"][0]["country"] == "KZ"
    with world.client("forwarder") as c:
        sealed = c.get(f"/v1/shipments/{sid}/documents/{r.json()['id']}",
                       params={"version": "sealed"}).content
    report = verify_document(parse_xml(sealed), trust=TrustStore(
        pki.trust_dir(pki.folder / "check-trust", ["KZ"])), country="KZ")
    assert len(report.signatures) == 2  # the sender's, then the hub's seal
    assert report.signatures[0].valid  # the seal did not break the sender's signature
    assert validator.validate(sealed).accepted


@pytest.mark.parametrize("case", ["other-country", "tampered", "unknown-signer"])
def test_bad_signatures_are_refused_with_the_reason(world, pki, validator, case):
    sid = create(world, route=KZ_ROUTE).json()["id"]
    if case == "other-country":
        data = signed(WAYBILL, pki.leaf("UZ"), validator)
    elif case == "unknown-signer":
        data = signed(WAYBILL, pki.self_signed(), validator)
    else:
        data = signed(WAYBILL, pki.leaf("KZ"), validator).replace(
            b"<cbc:Name>Air Waybill</cbc:Name>", b"<cbc:Name>Sea Waybill</cbc:Name>")
    before = world.counts()
    body = assert_problem(submit(world, sid, data), 422, "signature-invalid")
    reasons = {s["reason"] for s in body["signature"]["signatures"]}
    expected = {"other-country": {"wrong-country", "untrusted-chain"},
                "unknown-signer": {"untrusted-chain"},
                "tampered": {"digest-mismatch"}}[case]
    assert reasons & expected, body["signature"]
    assert body["signature"]["valid"] is False
    after = world.counts()
    assert after["documents"] == before["documents"]


def test_the_created_shipments_dossier_reads_in_the_callers_language(world):
    """The 201 answer of POST /v1/shipments says its dossier's findings in the language of
    Accept-Language, as GET /v1/shipments/{id} does."""
    from dataclasses import replace

    from lxml import etree

    from exchange.showcase.corridor import MISMATCH, corridor_documents

    # the demo's dossier with its one inconsistency, on this world's route (no signature)
    corridor = replace(MISMATCH, origin=ROUTE["origin"], transit=tuple(ROUTE["transit"]),
                       destination=ROUTE["destination"])
    documents = [(name, etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
                 for name, tree in corridor_documents(UBL_EXAMPLES, corridor)]
    answers = {lang: create(world, documents=documents, **{"Accept-Language": lang})
               for lang in ("ru", "zh-CN,zh;q=0.9", "en-GB")}
    for lang, r in answers.items():
        assert r.status_code == 201, r.text
        findings = r.json()["dossier"]["findings"]
        assert findings, "the import declaration says the goods left China"
        messages = [f["message"] for f in findings]
        if lang == "ru":
            assert all(any("\u0400" <= ch <= "\u04ff" for ch in m) for m in messages), messages
        elif lang.startswith("zh"):
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in messages), messages
        else:
            assert all(m.isascii() for m in messages), messages
        with world.client("forwarder", **{"Accept-Language": lang}) as c:
            tracked = c.get(f"/v1/shipments/{r.json()['id']}").json()["dossier"]["findings"]
        assert [f["message"] for f in tracked] == messages
