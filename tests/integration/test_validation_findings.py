"""Documents corrupted on purpose: the engine reports the right layer, rule, line and path."""
from __future__ import annotations

import pytest

from exchange.validation import Validator
from exchange.validation.packs import SchemaStore
from exchange.errors import PackNotInstalledError
from tests.fixtures.packs import UBL_EXAMPLES

INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()


def corrupt(old: bytes, new: bytes, data: bytes = INVOICE) -> tuple[bytes, int]:
    assert data.count(old) >= 1
    at = data.index(old)
    return data.replace(old, new, 1), data[:at].count(b"\n") + 1


# (name, old, new, layer, rule, path, line offset of the reported element from the
# corrupted line: a missing element is reported at the element that stands in its place)
CORRUPTIONS = [
    ("missing-mandatory-element", b"<cbc:ID>TOSL108</cbc:ID>", b"", "schema",
     "xsd.missing-element", "/Invoice/cbc:ID", 1),
    ("wrong-element-order",
     b"<cbc:ID>TOSL108</cbc:ID>\n\t<cbc:IssueDate>2009-12-15</cbc:IssueDate>",
     b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>\n\t<cbc:ID>TOSL108</cbc:ID>", "schema",
     "xsd.wrong-order", "/Invoice/cbc:ID", 1),
    ("bad-date", b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>",
     b"<cbc:IssueDate>2009-13-45</cbc:IssueDate>", "schema", "xsd.bad-date",
     "/Invoice/cbc:IssueDate", 0),
    # the start tag spans two lines: the finding points at its first, where "<" is
    ("unknown-currency", b">EUR</cbc:DocumentCurrencyCode>", b">XYZ</cbc:DocumentCurrencyCode>",
     "code-lists", "codelist.currency", "/Invoice/cbc:DocumentCurrencyCode", -1),
    ("text-for-number", b'<cbc:TaxAmount currencyID="EUR">292.20</cbc:TaxAmount>',
     b'<cbc:TaxAmount currencyID="EUR">about three hundred</cbc:TaxAmount>', "schema",
     "xsd.bad-number",
     "/Invoice/cac:TaxTotal/cbc:TaxAmount", 0),
]


@pytest.mark.parametrize("name,old,new,layer,rule,path,offset", CORRUPTIONS,
                         ids=[c[0] for c in CORRUPTIONS])
def test_corruption_is_reported_where_it_is(validator, name, old, new, layer, rule, path,
                                            offset):
    data, line = corrupt(old, new)
    report = validator.validate(data, name)
    assert report.decision == "reject"
    layers = {l.name: l for l in report.layers}
    assert layers[layer].status == "invalid"
    errors = [f for f in layers[layer].findings if f.severity == "error"]
    assert errors, report.to_dict()
    first = errors[0]
    assert first.rule.startswith(rule)
    assert first.path == path
    assert first.line == line + offset
    assert first.column is not None and first.column > 1
    if layer == "code-lists":
        assert layers["schema"].status == "valid"
    else:  # the code lists are checked all the same, on what can be read
        assert layers["code-lists"].status == "valid" and layers["code-lists"].partial


def test_unknown_currency_in_an_attribute(validator):
    data, line = corrupt(b'<cbc:TaxAmount currencyID="EUR">292.20',
                         b'<cbc:TaxAmount currencyID="EURO">292.20')
    report = validator.validate(data)
    (f,) = report.errors()
    assert f.rule == "codelist.currency" and f.line == line
    assert f.path == "/Invoice/cac:TaxTotal/cbc:TaxAmount/@currencyID"


DECLARATION = (UBL_EXAMPLES / "UBL-ExportCustomsDeclaration-2.3-Example.xml").read_bytes()


def test_unknown_country_and_unit(validator):
    data, country_line = corrupt(b"<cbc:IdentificationCode>NO<", b"<cbc:IdentificationCode>XX<",
                                 DECLARATION)
    data, unit_line = corrupt(b'unitCode="MTQ">0.336<', b'unitCode="CUBM">0.336<', data)
    report = validator.validate(data)
    found = {(f.rule, f.line) for f in report.errors()}
    assert found == {("codelist.country", country_line), ("codelist.unit", unit_line)}
    assert report.layers[1].status == "valid"  # the schema leaves these values open


def test_warnings_alone_do_not_reject(validator):
    data = (UBL_EXAMPLES / "UBL-GoodsCertificate-2.3-Example.xml").read_bytes()
    report = validator.validate(data)
    assert report.warnings() and not report.errors()
    assert report.decision == "accept"


def test_unknown_root_element(validator):
    report = validator.validate(b"<Order xmlns='urn:example:not-a-standard'/>", "x")
    assert report.decision == "reject"
    assert [f.rule for f in report.errors()] == ["document.unknown-type"]
    assert report.layers[1].status == "invalid" and report.layers[2].status == "skipped"


def test_root_that_does_not_match_its_namespace(validator):
    data = b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>"
    report = validator.validate(data)
    assert [f.rule for f in report.errors()] == ["document.root-mismatch"]


def test_not_well_formed(validator):
    report = validator.validate(b"<Invoice>\n<a></b>", "bad.xml")
    assert report.layers[0].status == "invalid"
    assert report.layers[0].findings[0].rule == "xml.not-well-formed"
    assert report.layers[0].findings[0].line == 2
    assert [l.status for l in report.layers[1:]] == ["skipped", "skipped"]


def test_pack_not_installed_is_its_own_error(tmp_path):
    v = Validator(SchemaStore(tmp_path / "empty-store"))
    with pytest.raises(PackNotInstalledError, match="exchange schemas install ubl-2.4"):
        v.validate(INVOICE)


def test_report_as_dict_keeps_decision_and_findings_apart(validator):
    data, _ = corrupt(b">EUR</cbc:DocumentCurrencyCode>", b">XYZ</cbc:DocumentCurrencyCode>")
    d = validator.validate(data, "inv.xml").to_dict()
    assert d["decision"] == "reject" and d["errors"] == 1
    assert d["pack"] == "ubl-2.4" and d["document_type"]["root"] == "Invoice"
    assert [l["name"] for l in d["layers"]] == ["well-formedness", "schema", "code-lists"]
