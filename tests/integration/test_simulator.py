"""The customs simulator as a real server: idempotent receiver, decisions, misbehaviour."""
from __future__ import annotations

import http.server
import threading

import httpx
import pytest

from adapters.messages import RESPONSE_MEDIA_TYPE, read_decisions, render_envelope
from tests.fixtures.simulator import make_envelope


def push(sim, envelope):
    return httpx.post(sim.push_url, content=render_envelope(envelope),
                      headers={"Idempotency-Key": envelope.delivery_id})


def test_follow_up_decisions_wait_for_their_delay(start_simulator):
    sim = start_simulator(country="KG", currency="KGS", decision_delay_seconds=3600,
                          follow_up=("query", "rejection"))
    assert push(sim, make_envelope("KG")).status_code == 200
    assert read_decisions(httpx.get(sim.decisions_url).content) == ()
    assert sim.state.stats()["pending_decisions"] == 2


def test_query_rejection_acceptance_and_release(start_simulator):
    sim = start_simulator(country="KG", currency="KGS",
                          follow_up=("query", "rejection", "acceptance", "release"))
    envelope = make_envelope("KG")
    push(sim, envelope)
    answer = httpx.get(sim.decisions_url)
    assert answer.headers["content-type"].startswith(RESPONSE_MEDIA_TYPE)
    decisions = read_decisions(answer.content)
    assert [str(d.kind) for d in decisions] == ["query", "rejected", "accepted", "released"]
    assert {d.customs_reference for d in decisions} == {decisions[0].customs_reference}
    assert decisions[0].text and decisions[1].reasons[0].code == "SIM-R02"
    assert all(d.shipment_id == envelope.shipment_id for d in decisions)


def test_answer_twice_serves_every_decision_twice_with_one_id(simulator):
    simulator.configure(misbehaviour="answer-twice")
    push(simulator, make_envelope("UZ"))
    decisions = read_decisions(httpx.get(simulator.decisions_url).content)
    assert len(decisions) == 2 and decisions[0] == decisions[1]
    confirmed = httpx.post(simulator.decisions_url + "/confirm",
                           json={"decision_ids": [decisions[0].decision_id]})
    assert confirmed.json() == {"confirmed": 2}
    assert read_decisions(httpx.get(simulator.decisions_url).content) == ()


class _Catcher(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()
        self.server.got.set()  # type: ignore[attr-defined]


@pytest.fixture
def callback_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    server.bodies, server.got = [], threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_decisions_are_called_back_when_configured(start_simulator, callback_receiver):
    url = f"http://127.0.0.1:{callback_receiver.server_address[1]}/hub/decisions"
    sim = start_simulator(country="UZ", currency="UZS", callback_url=url)
    envelope = make_envelope("UZ")
    push(sim, envelope)
    assert callback_receiver.got.wait(10)
    [decision] = read_decisions(callback_receiver.bodies[0])
    assert decision.kind == "assessment" and decision.delivery_id == envelope.delivery_id


def test_admin_endpoints_report_and_reconfigure(simulator):
    answer = httpx.put(simulator.base_url + "/v1/admin/config", json={"misbehaviour": "500"})
    assert answer.status_code == 200 and answer.json()["misbehaviour"] == "500"
    assert push(simulator, make_envelope("UZ")).status_code == 500
    bad = httpx.put(simulator.base_url + "/v1/admin/config", json={"country": "AF"})
    assert bad.status_code == 422
    bad = httpx.put(simulator.base_url + "/v1/admin/config", json={"misbehaviour": "explode"})
    assert bad.status_code == 422
    stats = httpx.get(simulator.base_url + "/v1/admin/stats").json()
    assert (stats["pushes"], stats["deliveries"], stats["misbehaved"]) == (1, 0, 1)


def test_oversized_push_is_refused_unread(start_simulator):
    sim = start_simulator(country="UZ", max_body_bytes=1000)
    answer = push(sim, make_envelope("UZ", document=b"<a>" + b"x" * 5000 + b"</a>"))
    assert answer.status_code == 413
    assert sim.state.stats()["deliveries"] == 0


def test_many_concurrent_copies_of_one_delivery_are_kept_once(simulator):
    envelope = make_envelope("UZ")
    body = render_envelope(envelope)
    results: list[int] = []

    def send() -> None:
        results.append(httpx.post(simulator.push_url, content=body).status_code)

    threads = [threading.Thread(target=send) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 12
    stats = simulator.state.stats()
    assert (stats["deliveries"], stats["duplicates"], stats["pending_decisions"]) == (1, 11, 1)


@pytest.mark.parametrize(("document", "doc_type", "code"), [
    (b"<Invoice><unclosed></Invoice>", "Invoice", "SIM-DOCUMENT"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><Invoice>&a;</Invoice>', "Invoice", "SIM-DOCUMENT"),
    (b"<Waybill/>", "Invoice", "SIM-TYPE"),
])
def test_documents_that_cannot_be_read_are_rejected_with_a_reason(simulator, document,
                                                                   doc_type, code):
    from adapters.messages import read_receipt

    answer = push(simulator, make_envelope("UZ", document=document, document_type=doc_type))
    assert answer.status_code == 422
    receipt = read_receipt(answer.content)
    assert receipt.status == "rejected" and receipt.reasons[0].code == code
    assert simulator.state.stats()["pending_decisions"] == 0
