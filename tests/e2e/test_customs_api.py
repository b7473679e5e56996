"""The customs side of the API over real HTTP on both engines: inbox, acknowledgements,
decisions (JSON, and signed XML verified against the country's trust list), deliveries for
operators; each refusal with its own answer and nothing changed. A customs decision is the
customs authority's: the operator's key decides only where the members file lets the hub's
help desk key decisions in for a member (here KG), and is then recorded with both names."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import create_engine, text

from adapters.contract import CustomsDecision, DecisionKind
from adapters.messages import render_decision
from signing import Signer
from signing.safexml import parse_xml
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import XML as XML_BODY
from tests.fixtures.server import assert_problem, create

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
HELP_DESK = "KG"  # the origin of the shipments below; the hub's help desk keys in for it


@pytest.fixture(scope="module")
def server_env(server_env):
    """The servers' environment (see tests/fixtures/server.py), with a members file whose
    KG entry lets the hub's help desk key in KG's decisions (help_desk_decisions = true)."""

    def make(db_url: str, **extra: str) -> dict[str, str]:
        members = extra.get("EXCHANGE_MEMBERS_FILE")
        if members:
            path, table = Path(members), f"[members.{HELP_DESK}]\n"
            text_ = path.read_text(encoding="utf-8")
            if f"{table}help_desk_decisions" not in text_:
                path.write_text(text_.replace(table, f"{table}help_desk_decisions = true\n", 1),
                                encoding="utf-8")
        return server_env(db_url, **extra)

    return make


def _decisions(world) -> int:
    engine = create_engine(world.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM customs_decisions")).scalar_one()
    finally:
        engine.dispose()


def _party_of(world, role: str) -> str:
    engine = create_engine(world.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT party_id FROM api_keys WHERE key_id = :k"),
                                {"k": world.key_ids[role]}).scalar_one()
    finally:
        engine.dispose()


def _shipment(world) -> str:
    r = create(world, documents=[("waybill.xml", WAYBILL.replace(
        b"</cbc:ID>", f"-{_decisions(world)}-{id(world)}</cbc:ID>".encode(), 1))])
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _signed_decision(pki, country: str, signer_country: str, shipment_id: str,
                     decision_id: str, tamper: bool = False) -> bytes:
    decision = CustomsDecision(kind=DecisionKind.ACCEPTED, country=country,
                               decision_id=decision_id, customs_reference=f"{country}-REF-1",
                               shipment_id=shipment_id)
    signed = Signer(pki.leaf(signer_country).identity()).sign(parse_xml(render_decision(decision)))
    data = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return data.replace(b"UZ-REF-1", b"UZ-REF-2") if tamper else data


def test_inbox_ack_and_decisions(world):
    sid = _shipment(world)
    with world.client("customs_uz") as uz:
        inbox = uz.get("/v1/customs/UZ/inbox").json()["items"]
        mine = [d for d in inbox if d["shipment_id"] == sid]
        assert len(mine) == 1 and mine[0]["document"]["document_type"] == "Waybill"
        assert mine[0]["document"]["links"]["sealed"].endswith("?version=sealed")
        delivery = mine[0]["id"]
        r = uz.post(f"/v1/customs/UZ/deliveries/{delivery}/ack", json={"reference": "UZ-1"})
        assert r.status_code == 200 and r.json()["status"] == "acknowledged"
        assert uz.post(f"/v1/customs/UZ/deliveries/{delivery}/ack").status_code == 200
        r = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                    json={"kind": "hold", "decision_id": f"H-{sid}", "text": "x-ray"})
        assert r.status_code == 201, r.text
        assert {l["country"]: l["status"] for l in r.json()["legs"]}["UZ"] == "held"
        again = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                        json={"kind": "hold", "decision_id": f"H-{sid}", "text": "x-ray"})
        assert again.status_code == 200  # the same decision again: answered, stored once
    with world.client("forwarder") as fw:
        view = fw.get(f"/v1/shipments/{sid}/deliveries").json()["items"]
        assert {d["country"]: d["status"] for d in view}["UZ"] == "acknowledged"
        shipment = fw.get(f"/v1/shipments/{sid}").json()
        assert shipment["status"] == "held for inspection in UZ"   # derived from the legs
        assert {l["country"]: l["status"] for l in shipment["legs"]}["UZ"] == "held"
        events = fw.get(f"/v1/shipments/{sid}/events").json()
        kinds = [e["kind"] for e in events["events"]]
        assert events["chain"]["intact"] is True
        assert "customs.hold" in kinds and "delivery.acknowledged" in kinds


def test_who_may_not_reach_the_customs_side(world):
    sid = _shipment(world)
    before = _decisions(world)
    for role in ("customs_ge", "forwarder", "other"):
        with world.client(role) as c:
            assert_problem(c.get("/v1/customs/UZ/inbox"), 404, "not-found")
            assert_problem(c.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                                  json={"kind": "accepted"}), 404, "not-found")
    with world.client("customs_ge") as ge:  # GE is not on this shipment's route
        assert_problem(ge.post(f"/v1/customs/GE/shipments/{sid}/decisions",
                               json={"kind": "accepted"}), 404, "not-found")
    with world.client("customs_uz") as uz:
        assert_problem(uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                               json={"kind": "rejected"}), 422, "decision-invalid")
        assert_problem(uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                               json={"kind": "assessment", "duty_lines": [
                                   {"tax_type": "duty", "base": "10", "rate": "5",
                                    "amount": "lots", "currency": "UZS"}]}),
                       422, "decision-invalid")
        assert_problem(uz.post("/v1/customs/UZ/deliveries/nope/ack"), 404, "not-found")
    assert _decisions(world) == before


def test_signed_decisions_are_verified_against_the_countrys_trust_list(world, pki):
    sid = _shipment(world)
    xml = {"Content-Type": "application/xml"}
    with world.client("customs_uz", **xml) as uz:
        ok = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                     content=_signed_decision(pki, "UZ", "UZ", sid, f"S-{sid}"))
        assert ok.status_code == 201, ok.text
        signature = ok.json()["signature"]
        assert signature["all_valid"] is True and signature["signatures"][0]["country"] == "UZ"
        before = _decisions(world)
        wrong = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                        content=_signed_decision(pki, "UZ", "KZ", sid, f"W-{sid}"))
        body = assert_problem(wrong, 422, "decision-signature-invalid")
        assert "does not verify" in body["detail"]
        tampered = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                           content=_signed_decision(pki, "UZ", "UZ", sid, f"T-{sid}",
                                                    tamper=True))
        assert_problem(tampered, 422, "decision-signature-invalid")
        assert_problem(uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                               content=b"<Decision xmlns='urn:nope'/>"), 422,
                       "decision-invalid")
        assert _decisions(world) == before


def test_operators_list_and_replay_deliveries(world):
    sid = _shipment(world)
    with world.client("operator") as op:
        listing = op.get("/v1/deliveries", params={"status": "pending"}).json()
        pending = [d for d in listing["items"] if d["shipment_id"] == sid]
        assert pending and listing["counts"]["pending"] >= len(pending)
        assert_problem(op.post(f"/v1/deliveries/{pending[0]['id']}/replay"), 409,
                       "delivery-state")
        assert_problem(op.post("/v1/deliveries/nope/replay"), 404, "not-found")
    with world.client("forwarder") as fw:
        assert_problem(fw.get("/v1/deliveries"), 403, "forbidden")
        assert_problem(fw.post(f"/v1/deliveries/{pending[0]['id']}/replay"), 403, "forbidden")


def test_the_operator_may_not_decide_for_a_customs_authority(world):
    sid = _shipment(world)
    before = _decisions(world)
    with world.client("operator") as op:
        inbox = op.get("/v1/customs/UZ/inbox")  # reading any country's inbox: yes
        assert inbox.status_code == 200, inbox.text
        delivery = next(d["id"] for d in inbox.json()["items"] if d["shipment_id"] == sid)
        body = assert_problem(op.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                                      json={"kind": "released"}),
                              403, "customs-authority-only")
        assert "UZ" in body["detail"] and "help_desk_decisions = true" in body["detail"]
        assert_problem(op.post(f"/v1/customs/UZ/shipments/{sid}/decisions", headers=XML_BODY,
                               content=b"<Decision/>"), 403, "customs-authority-only")
        assert_problem(op.post(f"/v1/customs/UZ/deliveries/{delivery}/ack"), 403,
                       "customs-authority-only")
    assert _decisions(world) == before
    with world.client("forwarder") as fw:
        shipment = fw.get(f"/v1/shipments/{sid}").json()
        assert {l["country"]: l["status"] for l in shipment["legs"]}["UZ"] == "pending"
        view = fw.get(f"/v1/shipments/{sid}/deliveries").json()["items"]
        assert {d["country"]: d["status"] for d in view}["UZ"] != "acknowledged"
        kinds = [e["kind"] for e in fw.get(f"/v1/shipments/{sid}/events").json()["events"]]
        assert not any(k.startswith("customs.") for k in kinds)
        assert "delivery.acknowledged" not in kinds


def test_the_help_desk_keys_in_for_a_member_with_both_names_recorded(world):
    sid = _shipment(world)
    operator = _party_of(world, "operator")
    with world.client("operator") as op:
        kg = op.get(f"/v1/customs/{HELP_DESK}/inbox").json()["items"]
        delivery = next(d["id"] for d in kg if d["shipment_id"] == sid)
        r = op.post(f"/v1/customs/{HELP_DESK}/deliveries/{delivery}/ack",
                    json={"reference": "KG-HD-1"})
        assert r.status_code == 200 and r.json()["status"] == "acknowledged", r.text
        decision = {"kind": "accepted", "decision_id": f"HD-{sid}",
                    "customs_reference": "KG-HD-2"}
        r = op.post(f"/v1/customs/{HELP_DESK}/shipments/{sid}/decisions", json=decision)
        assert r.status_code == 201, r.text
        stored = r.json()
        assert (stored["country"], stored["kind"]) == (HELP_DESK, "accepted")
        assert stored["on_behalf_of"] == HELP_DESK and stored["keyed_in_by"] == operator
        again = op.post(f"/v1/customs/{HELP_DESK}/shipments/{sid}/decisions", json=decision)
        assert again.status_code == 200 and again.json()["decision_id"] == f"HD-{sid}"
    with world.client("forwarder") as fw:
        shipment = fw.get(f"/v1/shipments/{sid}").json()
        assert {l["country"]: l["status"] for l in shipment["legs"]}[HELP_DESK] == "accepted"
        events = fw.get(f"/v1/shipments/{sid}/events").json()
        assert events["chain"]["intact"] is True
        by_kind = {e["kind"]: e for e in events["events"]}
        for kind in ("customs.accepted", "delivery.acknowledged"):
            assert by_kind[kind]["actor_id"] == operator, kind
            assert by_kind[kind]["data"]["on_behalf_of"] == HELP_DESK, kind
        assert by_kind["customs.accepted"]["data"]["keyed_in_by"] == operator
    with world.client("customs_uz") as uz:  # the authorities' own decisions name no one else
        r = uz.post(f"/v1/customs/UZ/shipments/{sid}/decisions", json={"kind": "accepted"})
        assert r.status_code == 201, r.text
        assert "on_behalf_of" not in r.json() and "keyed_in_by" not in r.json()
