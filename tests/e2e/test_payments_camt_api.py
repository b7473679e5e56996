"""Bank files over HTTP against a real `exchange serve` (SQLite and PostgreSQL):
``POST /v1/payments/camt054`` and ``/v1/payments/camt053`` take every third-party file of
../shared/interop/iso20022-genkgo (camt.053 and camt.054, .001.02 to .001.08), list each
transaction with its reason and record nothing twice when they come again; a statement
repeating a notification's entry records nothing new; a file not valid against its XSD is a
422 problem with its line, nothing recorded."""
from __future__ import annotations

from tests.e2e.test_payments_api import assess, new_shipment, payworld, status, uz
from tests.fixtures.camt import camt_file
from tests.fixtures.packs import CAMT_SOURCE
from tests.fixtures.server import assert_problem
from tests.integration.test_payments_camt import GENKGO, GENKGO_DISTINCT

__all__ = ["payworld"]  # the fixture, imported for this module's tests


def test_every_third_party_file_over_http(payworld):
    w = payworld
    before = w.ledger_rows()
    with w.client("operator", **{"Content-Type": "application/xml"}) as c:
        for attempt in (1, 2):
            new = 0
            for name, reasons in GENKGO.items():
                path = "/v1/payments/camt053" if name.startswith("camt053") \
                    else "/v1/payments/camt054"
                r = c.post(path, content=(CAMT_SOURCE / name).read_bytes())
                assert r.status_code == 200, (name, r.text)
                body = r.json()
                assert [u["reason"] for u in body["unmatched"]] == reasons, name
                assert body["counts"]["recorded"] == body["counts"]["refused"] == 0
                new += body["counts"]["unmatched_new"]
            assert new == (GENKGO_DISTINCT if attempt == 1 else 0)
        items = c.get("/v1/payments/unmatched", params={"limit": 100}).json()["items"]
        assert len(items) == GENKGO_DISTINCT
        assert {i["reason"] for i in items} == {"debit", "no-reference", "no-entry-reference"}
    assert w.ledger_rows() == before


def test_statement_after_notification_over_http(payworld):
    w = payworld
    sid = new_shipment(w)
    assess(w, sid, "800.00")
    rf = status(w, sid)["entries"][0]["reference"]
    entries = [(rf, "800.00", "UZS")]
    day = camt_file(entries, message="camt.054", version="02", msg="HTTP-DAY", svcr="HB")
    evening = camt_file(entries, message="camt.053", version="08", msg="HTTP-EOD", svcr="HB")
    with w.client("operator") as c:
        first = c.post("/v1/payments/camt054", content=day).json()
        assert first["counts"]["recorded"] == 1, first
        again = c.post("/v1/payments/camt053", content=evening).json()
        assert (again["message"], again["version"]) == ("camt.053", "001.08")
        assert (again["counts"]["recorded"], again["counts"]["repeated"]) == (0, 1)
        before = w.ledger_rows()
        broken = evening.replace(b"<Cd>BOOK</Cd>", b"<Cd>BOOKED</Cd>")
        problem = assert_problem(c.post("/v1/payments/camt053", content=broken), 422,
                                 "camt054-schema-invalid")
        assert problem["line"] == 3 and "camt.053.001.08" in problem["detail"]
        unsupported = day.replace(b"camt.054.001.02", b"camt.054.001.06")
        assert_problem(c.post("/v1/payments/camt054", content=unsupported), 422,
                       "camt054-unsupported")
        assert w.ledger_rows() == before
    with w.client("forwarder") as c:
        assert_problem(c.post("/v1/payments/camt053", content=evening), 403, "forbidden")
    assert uz(status(w, sid))["state"] == "paid"
