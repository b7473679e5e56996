"""Bank files written by others (../shared/interop/iso20022-genkgo: camt.053 and camt.054 of
versions .001.02, .001.04, .001.08, with their XSDs): each valid against its own XSD from the
installed iso20022-camt pack, read whole, every transaction the exchange cannot use listed
with a reason. Also: the files tests and benchmarks generate are valid against the same XSDs,
and a file of a version whose XSD is not pinned, or not valid against its XSD, is refused with
its line."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from exchange.payments.bank_files import check_schema
from exchange.payments.camt054 import parse_camt, read_camt054, read_camt054_tree
from exchange.payments.errors import CamtSchemaError, CamtVersionError
from exchange.payments.money import Money
from exchange.payments.reconciliation import AssessmentIndex, reconcile
from tests.fixtures.camt import VERSIONS, camt_file
from tests.fixtures.packs import CAMT_SOURCE

NOW = datetime(2026, 11, 7, tzinfo=timezone.utc)

# (message, version, [(amount or None, credit, reason)]), read from the files by hand
EXPECTED = {
    "camt053.v2.minimal.xml": ("camt.053", "001.02", [
        (Money("8.85", "EUR"), True, "no-entry-reference")]),
    "camt053.v2.multi.statement.xml": ("camt.053", "001.02", [
        (Money("8.85", "EUR"), True, "no-reference"), (Money("7.00", "EUR"), False, "debit")]),
    "camt053.v4.xml": ("camt.053", "001.04", [(Money("0", "SEK"), True, "no-reference")]),
    "camt053.v8.xml": ("camt.053", "001.08", [(Money("0", "SEK"), True, "no-reference")]),
    "camt054.v2.xml": ("camt.054", "001.02", [(None, False, "debit")] * 3),
    "camt054.v4.xml": ("camt.054", "001.04", [
        (Money("3.1", "CHF"), False, "debit"), (Money("3.2", "CHF"), False, "debit"),
        (Money("3.2", "CHF"), False, "debit")]),
    "camt054.v8-with-financial-institution.xml": ("camt.054", "001.08", [
        (Money("200000", "SEK"), False, "debit")]),
    "camt054.v8.xml": ("camt.054", "001.08", [
        (Money("3.1", "CHF"), False, "debit"), (Money("3.2", "CHF"), False, "debit"),
        (Money("3.2", "CHF"), False, "debit")]),
}


def test_every_file_of_the_folder_is_covered():
    assert sorted(p.name for p in CAMT_SOURCE.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_third_party_file_is_valid_read_and_listed(name, validator):
    message, version, rows = EXPECTED[name]
    tree = parse_camt((CAMT_SOURCE / name).read_bytes())
    check_schema(tree, validator)  # raises when not valid against its own version's XSD
    n = read_camt054_tree(tree)
    assert (n.message, n.version) == (message, version)
    result = reconcile(n, AssessmentIndex(), recorded_at=NOW)
    assert not result.payments
    assert [(u.transaction.money, u.transaction.credit, str(u.reason))
            for u in result.unmatched] == rows
    assert all(u.message and u.transaction.line for u in result.unmatched)


def test_what_is_read_from_the_statements():
    multi = read_camt054((CAMT_SOURCE / "camt053.v2.multi.statement.xml").read_bytes())
    credit, debit = multi.transactions
    assert credit.idempotency_key == "camt054/NL26VAYB8060476890/e2e:000000001"
    assert credit.unstructured == ("Transaction Description 1",)
    assert credit.booking_date == date(2014, 12, 31) and debit.end_to_end_id == "000000002"
    v8 = read_camt054((CAMT_SOURCE / "camt053.v8.xml").read_bytes()).transactions[0]
    assert v8.idempotency_key == "camt054/NL26VAYB8060476890/AAAASESS-FP-CN_98765/01"
    assert v8.debtor == "NAME NAME" and v8.creditor_references == ("4654654654654654",)
    minimal = read_camt054((CAMT_SOURCE / "camt053.v2.minimal.xml").read_bytes())
    assert minimal.transactions[0].reference_kind == "unidentified"


def test_debit_batch_without_amounts_and_mixed_indicators():
    # a DBIT entry whose TxDtls say CRDT (camt054.v8.xml): money out, whatever they say
    v8 = read_camt054((CAMT_SOURCE / "camt054.v8.xml").read_bytes())
    assert [t.credit for t in v8.transactions] == [False] * 3
    # the batch's transactions have the same EndToEndId twice: the entry's AcctSvcrRef
    # and their number tell them apart
    assert [t.idempotency_key.rsplit("/", 1)[1] for t in v8.transactions] == ["1", "2", "3"]
    v2 = read_camt054((CAMT_SOURCE / "camt054.v2.xml").read_bytes())
    assert [(t.money, t.amount_problem) for t in v2.transactions] == [(None, None)] * 3


@pytest.mark.parametrize(("message", "version"), VERSIONS)
def test_generated_files_are_valid_against_their_xsd(message, version, validator):
    data = camt_file([("RF18539007547034", "10.50", "UZS"), ("text", "1", "EUR")],
                     message=message, version=version)
    tree = parse_camt(data)
    check_schema(tree, validator)
    n = read_camt054_tree(tree)
    assert (n.message, n.version) == (message, f"001.{version}")
    assert [t.money for t in n.transactions] == [Money("10.50", "UZS"), Money("1", "EUR")]
    assert [t.debtor for t in n.transactions] == ["Forwarder 0", "Forwarder 1"]


def test_invalid_against_its_xsd_is_refused_with_the_line(validator):
    data = (CAMT_SOURCE / "camt053.v8.xml").read_bytes()
    broken = data.replace(b"<Cd>BOOK</Cd>", b"<Cd>BOOKED</Cd>")
    with pytest.raises(CamtSchemaError) as caught:
        check_schema(parse_camt(broken), validator)
    assert caught.value.line == data[:data.index(b"<Cd>BOOK</Cd>")].count(b"\n") + 1
    assert "camt.053.001.08" in caught.value.message
    # a .02 element in a .08 file: each version is checked against its own XSD
    old = data.replace(b"<AnyBIC>DABAIE2D</AnyBIC>", b"<BICOrBEI>DABAIE2D</BICOrBEI>")
    with pytest.raises(CamtSchemaError):
        check_schema(parse_camt(old), validator)


def test_a_version_without_its_xsd_is_not_read(validator):
    data = camt_file([("x", "1", "EUR")], version="05")
    read_camt054(data)  # the reader knows the structure...
    with pytest.raises(CamtVersionError) as caught:  # ...the import wants the XSD
        check_schema(parse_camt(data), validator)
    assert caught.value.line == 2
    assert "camt.054.001.05 is not read: no XSD" in caught.value.message
    assert "camt.054.001.08" in caught.value.message


def test_the_pack_not_installed_says_how_to_install_it(tmp_path):
    from exchange.errors import PackNotInstalledError, http_status_of
    from exchange.validation import Validator
    from exchange.validation.packs import SchemaStore

    empty = Validator(SchemaStore(tmp_path / "schemas"))
    with pytest.raises(PackNotInstalledError, match="exchange schemas install iso20022-camt") \
            as caught:
        check_schema(parse_camt((CAMT_SOURCE / "camt054.v8.xml").read_bytes()), empty)
    assert http_status_of(caught.value) == 503
