"""Payments over HTTP against a real `exchange serve` on SQLite and PostgreSQL: release
gated on payment end to end, payments idempotent by reference (also when posted twice at
the same moment), payment-provider signatures, refunds, camt.054 import, and every bad
input refused with its own problem and nothing recorded."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text

from exchange.payments.providers import sign_body
from tests.fixtures.camt import camt_file
from tests.fixtures.server import add_party_cli, assert_problem, start_server

ROUTE = {"origin": "KG", "transit": ["UZ"], "destination": "AF"}


@dataclass
class Payworld:
    base_url: str
    db_url: str
    env: dict
    keys: dict[str, str]
    ids: dict[str, str]
    secret: str

    def client(self, role: str | None = None, **headers: str) -> httpx.Client:
        if role:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def stored_secret(self, party_id: str) -> str:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT secret FROM payment_provider_secrets WHERE "
                                         "party_id = :p"), {"p": party_id}).scalar_one()
        finally:
            engine.dispose()

    def ledger_rows(self) -> int:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=["sqlite",
                                        pytest.param("postgresql", marks=pytest.mark.postgres)])
def payworld(request, server_env, tmp_path_factory) -> Payworld:
    folder = tmp_path_factory.mktemp(f"pay-{request.param}")
    url = f"sqlite:///{folder / 'exchange.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("postgres_server").create_database()
    env = server_env(url)
    keys, ids = {}, {}
    for role, kind, country in (("forwarder", "forwarder", None), ("other", "forwarder", None),
                                ("customs_uz", "customs", "UZ"), ("customs_af", "customs", "AF"),
                                ("operator", "operator", None),
                                ("provider", "payment-provider", None),
                                ("open_provider", "payment-provider", None)):
        ids[role], _, keys[role] = add_party_cli(env, kind, role, country)
    out = subprocess.run([sys.executable, "-m", "exchange", "payments", "provider-secret",
                          ids["provider"]], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    secret = out.stdout.split("(shown once): ")[1].split()[0]
    server = start_server(env, log_path=folder / "server.log")
    yield Payworld(server.base_url, url, env, keys, ids, secret)
    server.stop()


def new_shipment(w: Payworld) -> str:
    with w.client("forwarder") as c:
        r = c.post("/v1/shipments", json={"route": ROUTE, "transport_mode": "road",
                                          "references": {"booking": "BK-1"}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def decide(w: Payworld, sid: str, country: str, body: dict) -> httpx.Response:
    with w.client(f"customs_{country.lower()}") as c:
        return c.post(f"/v1/customs/{country}/shipments/{sid}/decisions", json=body)


def assess(w, sid, amount, country="UZ", currency="UZS"):
    r = decide(w, sid, country, {"kind": "assessment", "duty_lines": [
        {"tax_type": "customs-duty", "base": "100000", "rate": "5", "amount": amount,
         "currency": currency}]})
    assert r.status_code == 201, r.text
    return r


def pay(w, sid, role="forwarder", **body):
    payload = {"amount": "1.00", "currency": "UZS", "country": "UZ", "reference": "X"} | body
    with w.client(role) as c:
        return c.post(f"/v1/shipments/{sid}/payments", json=payload)


def status(w, sid, role="forwarder"):
    with w.client(role) as c:
        r = c.get(f"/v1/shipments/{sid}/payments")
    assert r.status_code == 200, r.text
    return r.json()


def uz(body):
    return next(l for l in body["legs"] if l["country"] == "UZ")


def test_release_waits_for_payment(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "7500.00")
    refused = decide(w, sid, "UZ", {"kind": "released"})
    body = assert_problem(refused, 422, "decision-release-refused")
    assert "7500.00 UZS outstanding on UZ" in body["detail"]
    first = pay(w, sid, amount="5000.00", reference="BANK-A-1")
    assert first.status_code == 201, first.text
    assert uz(first.json()["payments"])["state"] == "partially_paid"
    assert "2500.00 UZS outstanding" in decide(w, sid, "UZ", {"kind": "released"}).json()["detail"]
    # the same payment again: one payment, the first answer
    again = pay(w, sid, amount="5000.00", reference="BANK-A-1")
    assert again.status_code == 200 and again.json()["entry"] == first.json()["entry"]
    assert_problem(pay(w, sid, amount="5000.01", reference="BANK-A-1"), 409,
                   "ledger-reference-conflict")
    assert pay(w, sid, amount="2500.00", reference="BANK-A-2").status_code == 201
    released = decide(w, sid, "UZ", {"kind": "released"})
    assert released.status_code == 201, released.text
    with w.client("forwarder") as c:
        shipment = c.get(f"/v1/shipments/{sid}").json()
    assert uz(shipment["payments"])["state"] == "paid"
    assert shipment["payments"]["outstanding"] == [{"amount": "0.00", "currency": "UZS"}]
    view = status(w, sid)
    assert [e["kind"] for e in view["entries"]] == ["payment", "payment", "assessment"]
    assert uz(view)["paid"]["amount"] == "7500.00"
    with w.client("forwarder") as c:
        events = c.get(f"/v1/shipments/{sid}/events").json()
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("payments.payment") == 2 and "payments.assessment" in kinds
    assert events["chain"]["intact"]


def test_guarantee_then_release(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "3000", "AF", "AFN")
    r = decide(w, sid, "AF", {"kind": "guarantee-accepted", "guarantee_reference": "GAR-1"})
    assert_problem(r, 422, "decision-guarantee-incomplete")
    r = decide(w, sid, "AF", {"kind": "guarantee-accepted", "guarantee_reference": "GAR-1",
                              "guarantee_amount": "3000.00", "guarantee_currency": "AFN"})
    assert r.status_code == 201, r.text
    assert decide(w, sid, "AF", {"kind": "released"}).status_code == 201
    assert status(w, sid)["guarantees"][0]["reference"] == "GAR-1"


def test_bad_input_refused_nothing_recorded(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "100.00")
    before = w.ledger_rows()
    cases = [
        ({"amount": "-5.00"}, 422, "ledger-negative-amount"),
        ({"currency": "XQQ"}, 422, "money-unknown-currency"),
        ({"currency": "KZT"}, 422, "ledger-wrong-currency"),
        ({"amount": "1.005"}, 422, "money-too-many-decimals"),
        ({"country": "KZ", "currency": "KZT"}, 422, "ledger-unknown-leg"),
    ]
    for body, code, problem in cases:
        assert_problem(pay(w, sid, reference=f"BAD-{problem}", **body), code, problem)
    assert_problem(pay(w, sid, role="other", reference="BAD-other"), 404, "not-found")
    assert_problem(pay(w, sid, role="forwarder", kind="refund", reference="R"), 403,
                   "forbidden")
    with w.client("forwarder") as c:
        r = c.post(f"/v1/shipments/{sid}/payments", content=b'{"amount": 5',
                   headers={"Content-Type": "application/json"})
    assert_problem(r, 422, "payment-invalid")
    with w.client("other") as c:
        assert_problem(c.get(f"/v1/shipments/{sid}/payments"), 404, "not-found")
    assert w.ledger_rows() == before
    # refunds of an overpayment, by the customs of the leg
    pay(w, sid, amount="150.00", reference="OVER-1")
    assert uz(status(w, sid))["state"] == "overpaid"
    assert pay(w, sid, role="customs_uz", kind="refund", amount="50.00",
               reference="REF-1").status_code == 201
    assert uz(status(w, sid))["state"] == "refunded"



@pytest.mark.parametrize(("accept", "language"), [("ru", "ru"), ("zh-CN,zh;q=0.9", "zh-Hans"),
                                                  ("en-GB", "en")])
def test_refusals_read_in_the_callers_language(payworld, accept, language):
    """Issue 16: a payment refused by a ledger rule, a refund refused to a forwarder and a
    release refused while duties are outstanding answer title and detail from the
    catalogues, parameters filled in, with the language they are in."""
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "100.00")
    expected = {
        "ru": [("В платеже отказано", "UZ принимает только UZS, а не KZT"),
               ("В платеже отказано", "1.005 UZS: число знаков после запятой в UZS — 2"),
               ("Доступ запрещён", ("возвраты вносит оператор или таможенный орган страны "
                                    "участка маршрута (укажите 'country')")),
               ("В решении отказано", ("в выпуске товаров отказано: задолженность 100.00 UZS "
                                       "по UZ, и нет принятого обеспечения в UZS"))],
        "zh-Hans": [("付款被拒绝", "UZ 仅接受 UZS，不接受 KZT"),
                    ("付款被拒绝", "1.005 UZS：UZS 只有 2 位小数"),
                    ("禁止访问", "退款由运营方或该路段所在国海关登记（请提供 'country'）"),
                    ("决定被拒绝", "拒绝放行：UZ 的未缴金额为 100.00 UZS，且没有已接受的 UZS 担保")],
        "en": [("The payment is refused", "UZ accepts only UZS, not KZT"),
               ("The payment is refused", "1.005 UZS: UZS has 2 decimal place(s)"),
               ("Forbidden", ("refunds are recorded by an operator or by the customs of the "
                              "leg's country (give 'country')")),
               ("The decision is refused", ("release refused: 100.00 UZS outstanding on UZ "
                                            "and no accepted guarantee in UZS"))],
    }[language]
    with w.client("forwarder", **{"Accept-Language": accept}) as c:
        answers = [
            (c.post(f"/v1/shipments/{sid}/payments", json={
                "amount": "1.00", "currency": "KZT", "country": "UZ", "reference": "L-1"}),
             422, "ledger-wrong-currency"),
            (c.post(f"/v1/shipments/{sid}/payments", json={
                "amount": "1.005", "currency": "UZS", "country": "UZ", "reference": "L-2"}),
             422, "money-too-many-decimals"),
            (c.post(f"/v1/shipments/{sid}/payments", json={
                "kind": "refund", "amount": "1.00", "currency": "UZS", "country": "UZ",
                "reference": "L-3"}), 403, "forbidden")]
    with w.client("customs_uz", **{"Accept-Language": accept}) as c:
        answers.append((c.post(f"/v1/customs/UZ/shipments/{sid}/decisions",
                               json={"kind": "released"}), 422, "decision-release-refused"))
    for (answer, status_code, code), (title, detail) in zip(answers, expected):
        body = assert_problem(answer, status_code, code)
        assert (body["title"], body["detail"]) == (title, detail)
        assert answer.headers["content-language"] == language

def test_provider_signatures(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "10.00")
    body = json.dumps({"amount": "10.00", "currency": "UZS", "country": "UZ",
                       "reference": "PSP-SIGNED-1"}).encode()
    path = f"/v1/shipments/{sid}/payments"
    with w.client("provider", **{"Content-Type": "application/json"}) as c:
        assert_problem(c.post(path, content=body), 401, "payments-signature-missing")
        assert_problem(c.post(path, content=body,
                              headers={"X-Signature": sign_body("wrong", body)}),
                       401, "payments-signature-invalid")
        assert w.ledger_rows() and uz(status(w, sid))["state"] == "assessed"
        r = c.post(path, content=body, headers={"X-Signature": sign_body(w.secret, body)})
    assert r.status_code == 201, r.text
    # the database holds the secret sealed (exchange.payments.secretbox), never as it was printed
    stored = w.stored_secret(w.ids["provider"])
    assert stored.startswith("aesgcm1:") and w.secret not in stored
    # a provider without a secret (and signatures not required) is not asked for one
    assert pay(w, sid, role="open_provider", amount="1.00",
               reference="PSP-OPEN-1").status_code == 201
    assert uz(status(w, sid, "provider"))["state"] == "overpaid"


def test_concurrent_payments(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "1000.00")
    barrier = threading.Barrier(8)
    answers: list[int] = []

    def post(reference, amount):
        barrier.wait()
        answers.append(pay(w, sid, amount=amount, reference=reference).status_code)

    # the same payment 4 times at the same moment, and 4 different ones
    threads = [threading.Thread(target=post, args=("SAME-1", "100.00")) for _ in range(4)]
    threads += [threading.Thread(target=post, args=(f"DIFF-{i}", "50.00")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 200, 200, 201, 201, 201, 201, 201]
    assert uz(status(w, sid))["paid"]["amount"] == "300.00"


def camt(refs_amounts, msg="M1", version="08"):
    """A camt.054 of booked credits (tests.fixtures.camt), valid against its XSD."""
    return camt_file(refs_amounts, msg=msg, version=version)


def test_camt054_over_http(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "900.00")
    rf = status(w, sid)["entries"][0]["reference"]
    data = camt([(rf, "900.00", "UZS"), ("RF19ZZUNKNOWN0001", "5.00", "UZS")], msg="HTTP1")
    with w.client("operator") as c:
        first = c.post("/v1/payments/camt054", content=data,
                       headers={"Content-Type": "application/xml"})
        assert first.status_code == 200, first.text
        assert first.json()["counts"] | {} == {"recorded": 1, "repeated": 0, "refused": 0,
                                               "unmatched": 1, "unmatched_new": 1}
        again = c.post("/v1/payments/camt054", content=data).json()["counts"]
        assert (again["recorded"], again["repeated"], again["unmatched_new"]) == (0, 1, 0)
        items = c.get("/v1/payments/unmatched").json()["items"]
        assert any(i["reason"] == "unknown-reference" for i in items)
        before = w.ledger_rows()
        assert_problem(c.post("/v1/payments/camt054", content=data[:-40]), 422,
                       "camt054-malformed")
        assert w.ledger_rows() == before
    with w.client("forwarder") as c:
        assert_problem(c.post("/v1/payments/camt054", content=data), 403, "forbidden")
        assert_problem(c.get("/v1/payments/unmatched"), 403, "forbidden")
    assert uz(status(w, sid))["state"] == "paid"
