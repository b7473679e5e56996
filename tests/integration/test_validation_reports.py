"""Issue 19: one run shows every mistake, each with its line, column, kind and a plain message
in the reader's language; a valid document's report is what it was."""
from __future__ import annotations

import json

import pytest

from exchange import i18n
from exchange.validation import messages
from exchange.validation.locate import Locator
from exchange.validation.report import localize
from exchange.validation.schemapass import SecondPass
from signing.safexml import parse_xml
from tests.fixtures.broken import broken_documents
from tests.fixtures.packs import UBL_EXAMPLES

BROKEN = broken_documents()
INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()


def test_the_corpus_is_every_declaration_waybill_and_invoice_example_broken() -> None:
    assert len(BROKEN) >= 20
    assert all(2 <= len(d.mistakes) <= 4 for d in BROKEN)
    names = {d.name.rsplit("-broken-", 1)[0] for d in BROKEN}
    for kind in ("ExportCustomsDeclaration", "ImportCustomsDeclaration",
                 "TransitCustomsDeclaration", "Waybill", "Invoice-2.1-Example",
                 "FreightInvoice"):
        assert any(kind in n for n in names), kind


@pytest.mark.parametrize("doc", BROKEN, ids=[d.name for d in BROKEN])
def test_every_mistake_is_reported_in_one_run(validator, doc) -> None:
    report = validator.validate(doc.data, doc.name)
    assert report.decision == "reject"
    assert {(f.rule, f.line) for f in report.errors()} == doc.expected, doc.mistakes
    for f in report.findings:
        assert f.column is not None and f.column >= 1, f
        assert f.text is not None and f.message == f.text.render("en")
    layers = {layer.name: layer for layer in report.layers}
    if layers["schema"].status == "invalid":
        assert layers["code-lists"].partial  # checked all the same, and marked
    for f in layers["schema"].findings:
        assert f.detail  # the validator's own words stay, for integrators
    lines = [f.line or 0 for f in report.findings if f in layers["schema"].findings]
    assert lines == sorted(lines)  # document order


def test_the_issue_example_three_mistakes_three_findings(validator) -> None:
    data = INVOICE.replace(b"<cbc:ID>TOSL108</cbc:ID>", b"", 1)
    data = data.replace(b"<cbc:IssueDate>2009-12-15<", b"<cbc:IssueDate>2009-13-45<", 1)
    data = data.replace(b'<cbc:PayableAmount currencyID="EUR">729<',
                        b'<cbc:PayableAmount currencyID="EUR">abc<', 1)
    report = validator.validate(data)
    found = {f.rule: f for f in report.errors()}
    assert set(found) == {"xsd.missing-element", "xsd.bad-date", "xsd.bad-number"}
    assert found["xsd.bad-date"].message == (
        "cbc:IssueDate must be a date as YYYY-MM-DD, e.g. 2026-12-06; found 2009-13-45")
    assert found["xsd.missing-element"].message == (
        "cbc:ID is missing: Invoice needs it here, before cbc:IssueDate")
    assert found["xsd.missing-element"].path == "/Invoice/cbc:ID"
    assert found["xsd.bad-number"].column == 3  # after the two tabs of the line
    # In the reader's language, from the same report
    ru = report.to_dict("ru")["layers"][1]["findings"]
    assert any(f["message"].startswith("Элемент cbc:IssueDate должен содержать дату") for f in ru)
    zh = localize(report.to_dict(), "zh_Hans")["layers"][1]["findings"]
    assert any(f["message"].startswith("缺少 cbc:ID") for f in zh)


@pytest.mark.parametrize(("old", "new", "rule", "words"), [
    (b"<cbc:ID>TOSL108</cbc:ID>\n\t<cbc:IssueDate>2009-12-15</cbc:IssueDate>",
     b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>\n\t<cbc:ID>TOSL108</cbc:ID>",
     "xsd.wrong-order", "cbc:ID is in the wrong place: in Invoice it must come before "
     "cbc:IssueDate"),
    (b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>",
     b"<cbc:IssueDate>2009-12-15</cbc:IssueDate><cbc:IssueDate>2009-12-16</cbc:IssueDate>",
     "xsd.too-many", "cbc:IssueDate appears too often: Invoice allows it at most 1 time(s)"),
    (b"<cbc:ChargeIndicator>false<", b"<cbc:ChargeIndicator>no<", "xsd.bad-boolean",
     "cbc:ChargeIndicator must be true or false; found no"),
    (b'<cbc:PayableAmount currencyID="EUR">729<', b'<cbc:PayableAmount currencyID="EUR"><',
     "xsd.empty", "cbc:PayableAmount is empty: give a value, e.g. 1234.50"),
    (b'<cbc:PayableAmount currencyID="EUR">', b"<cbc:PayableAmount>",
     "xsd.attribute-missing", 'cbc:PayableAmount needs the attribute currencyID, e.g. '
     'currencyID="EUR"'),
    (b"<cbc:IssueDate>", b"<cbc:IssueDat>", "xsd.unexpected-element",
     "cbc:IssueDat is not allowed in Invoice: check its name and namespace; expected here: "
     "cbc:IssueDate"),
    (b"<cbc:DocumentCurrencyCode", b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
     b"<cbc:DocumentCurrencyCode", "xsd.too-many", "cbc:DocumentCurrencyCode appears too often"),
])
def test_each_kind_of_mistake_has_its_message(validator, old, new, rule, words) -> None:
    data = INVOICE.replace(old, new, 1)
    if new.startswith(b"<cbc:IssueDat>"):
        data = data.replace(b"</cbc:IssueDate>", b"</cbc:IssueDat>", 1)
    report = validator.validate(data)
    assert any(f.rule == rule and f.message.startswith(words) for f in report.errors()), \
        [(f.rule, f.message) for f in report.errors()]


def test_two_mistakes_in_one_element_are_two_findings(validator) -> None:
    """libxml2 and xmlschema both stop an element's content model at its first error."""
    data = INVOICE.replace(b"<cbc:ID>TOSL108</cbc:ID>", b"", 1)
    data = data.replace(b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>", b"", 1)
    data = data.replace(b"<cbc:DocumentCurrencyCode", b"<cbc:DocumentCurrencyKode", 1)
    data = data.replace(b"</cbc:DocumentCurrencyCode>", b"</cbc:DocumentCurrencyKode>", 1)
    rules = [(f.rule, f.path) for f in validator.validate(data).errors()]
    assert ("xsd.missing-element", "/Invoice/cbc:ID") in rules
    assert ("xsd.missing-element", "/Invoice/cbc:IssueDate") in rules
    assert ("xsd.unexpected-element", "/Invoice/cbc:DocumentCurrencyKode") in rules


def test_a_valid_document_report_is_unchanged(validator) -> None:
    """No new key, no new layer state for a valid document without findings."""
    d = validator.validate(INVOICE, "inv.xml").to_dict()
    assert d["layers"] == [{"name": n, "status": "valid", "findings": []}
                           for n in ("well-formedness", "schema", "code-lists")]
    assert set(d) == {"source", "decision", "standard", "pack", "pack_version",
                      "document_type", "sha256", "size", "errors", "warnings", "layers"}
    assert validator.validate(INVOICE, "inv.xml").to_dict("ru") == d


def test_rec21_package_codes_are_units_with_an_x(validator) -> None:
    """UN/ECE Rec. 20 takes in Rec. 21 package codes with an X (Peppol uses XBX, XCS...):
    derived from the pack's PackagingTypeCode list, not written here."""
    lists = validator._lists(validator.store.catalog["ubl-2.4"])
    assert {"XBX", "XCS", "XPK", "XPX"} <= lists.unit
    # XSX: SX is a Rec. 21 code deleted since (in the pack's incl-deleted list): a warning,
    # as BX, the Rec. 20 box that XBX replaced
    for code, rule in (("XBX", None), ("XCS", None), ("XQ9", "codelist.unit"),
                       ("BX", "codelist.unit.deleted"), ("XSX", "codelist.unit.deleted")):
        data = INVOICE.replace(b'unitCode="C62"', f'unitCode="{code}"'.encode(), 1)
        rules = [f.rule for f in validator.validate(data).findings]
        assert rules == ([rule] if rule else []), code


def _second_pass(tmp_path, xsd: str, xml: bytes) -> list:
    path = tmp_path / "s.xsd"
    path.write_text(xsd)
    tree = parse_xml(xml)
    return SecondPass().findings(tree, path, Locator(tree, xml))


FACETS = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="r">
<xs:complexType><xs:sequence>
<xs:element name="a"><xs:simpleType><xs:restriction base="xs:string">
  <xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="b"><xs:simpleType><xs:restriction base="xs:string">
  <xs:enumeration value="X"/><xs:enumeration value="Y"/></xs:restriction></xs:simpleType>
</xs:element>
<xs:element name="c"><xs:simpleType><xs:restriction base="xs:string">
  <xs:pattern value="[0-9]{4}"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="d"><xs:simpleType><xs:restriction base="xs:integer">
  <xs:maxInclusive value="10"/></xs:restriction></xs:simpleType></xs:element>
<xs:element name="e" type="xs:integer"/>
</xs:sequence><xs:attribute name="k" type="xs:string"/></xs:complexType></xs:element>
</xs:schema>"""


def test_facets_have_their_messages(tmp_path) -> None:
    xml = b'<r z="1">\n<a>abcdef</a>\n<b>Z</b>\n<c>12</c>\n<d>11</d>\n<e>1.5</e>\n</r>'
    found = {f.rule: f for f in _second_pass(tmp_path, FACETS, xml)}
    assert found["xsd.too-long"].message == \
        "a is too long: at most 3 characters; found 6"
    assert found["xsd.bad-code"].message == "b must be one of X, Y; found Z"
    assert found["xsd.pattern"].message == \
        "c does not have the required form ([0-9]{4}); found 12"
    assert found["xsd.out-of-range"].message == "d is out of range (≤ 10); found 11"
    assert found["xsd.bad-number"].message.startswith("e must be a whole number")
    assert found["xsd.attribute-not-allowed"].message == \
        "r has the attribute z, which is not allowed; allowed: k"
    assert (found["xsd.attribute-not-allowed"].line, found["xsd.attribute-not-allowed"].column) \
        == (1, 4)
    assert [(found[r].line, found[r].column) for r in ("xsd.too-long", "xsd.bad-code")] == \
        [(2, 1), (3, 1)]


def _every_message_kind() -> list[i18n.Text]:
    """One Text of each message the findings use, built through messages.py."""
    e, p = "cbc:X", "cac:Y"
    pairs = [
        messages.missing(e, p, before="cbc:Z", after=None),
        messages.missing(e, p, before=None, after="cbc:W"),
        messages.missing(e, p, before=None, after=None),
        messages.wrong_order(e, p, "cbc:Z"), messages.misplaced(e, p, "cbc:Z"),
        messages.misplaced(e, p, None), messages.too_many(e, p, 1),
        messages.unexpected(e, p, "cbc:Z"), messages.unexpected(e, p, None),
        messages.text_not_allowed(e), messages.empty(e, "date"), messages.empty(e, None),
        messages.attribute_missing(e, "currencyID"), messages.attribute_missing(e, "q"),
        messages.attribute_not_allowed(e, "currencyid", ["currencyID"]),
        messages.attribute_not_allowed(e, "q", ["r"]),
        messages.attribute_not_allowed(e, "q", []),
        messages.unknown_type("'R'", "'urn:x'", "ubl-2.4"),
        messages.root_mismatch("'R'", "'S'"),
    ]
    pairs += [messages.bad_value(e, kind, "v") for kind in (
        "date", "time", "dateTime", "integer", "decimal", "boolean", "duration", None)]
    pairs += [messages.facet(e, kind, "value", "3") for kind in (
        "enumeration", "maxLength", "minLength", "length", "pattern", "range")]
    pairs += [messages.code_list(kind, "Q") for kind in (
        "currency", "country", "unit", "unit-deleted")]
    return [text for _, text in pairs]


@pytest.mark.parametrize("locale", ["ru", "zh_Hans"])
def test_every_message_kind_renders_in_each_language(locale: str) -> None:
    texts = _every_message_kind()
    assert len({t.msgid for t in texts}) == len(texts)  # each kind its own message
    for text in texts:
        english, translated = text.render("en"), text.render(locale)
        assert translated != english and "{" not in translated, (locale, text.msgid)
        for value in text.params.values():  # names and values stay as written
            assert str(value) in translated, (locale, text.msgid, value)


def test_a_report_dict_keeps_what_a_later_reader_needs(validator) -> None:
    data = INVOICE.replace(b"<cbc:IssueDate>2009-12-15<", b"<cbc:IssueDate>15.12.2009<", 1)
    d = json.loads(json.dumps(validator.validate(data).to_dict()))  # as stored
    f = d["layers"][1]["findings"][0]
    assert f["message_id"] and f["params"]["value"] == "15.12.2009" and f["detail"]
    assert localize(d, "ru")["layers"][1]["findings"][0]["message"].startswith("Элемент")
    assert localize(d, "en") is d
