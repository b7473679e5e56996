"""The corridor's own rule pack (schemas/rules/carec-corridor) on a corridor dossier.

The dossier is made here from the official UBL examples (export, transit and import
declarations, waybill, invoice), edited so that they agree: the corridor profile, one
shipment id, KZ -> UZ -> AF, six-digit HS codes, gross weights with units. It passes the
whole validation; each broken variant reports exactly the rule it breaks, at its line."""
from __future__ import annotations

from functools import cache

import pytest
from lxml import etree

from exchange.documents.dossier import extract_facts
from exchange.validation.rulecheck import check_rules
from exchange.validation.rules import RuleEngine, RuleSelection
from signing.safexml import parse_xml
from tests.fixtures.packs import UBL_EXAMPLES, UBL_SOURCE

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}
PROFILE = "urn:carec.org:corridor:1.0"
SHIPMENT = "CAREC-KZ-2026-000731"
EXAMPLES = {
    "export": "UBL-ExportCustomsDeclaration-2.3-Example.xml",
    "transit": "UBL-TransitCustomsDeclaration-2.3-Example.xml",
    "import": "UBL-ImportCustomsDeclaration-2.3-Example.xml",
    "waybill": "UBL-Waybill-2.0-Example-International.xml",
    "invoice": "UBL-Invoice-2.1-Example.xml",
}


XSD = {"xsd": "http://www.w3.org/2001/XMLSchema"}


@cache
def _cac_schema() -> etree._ElementTree:
    return etree.parse(str(UBL_SOURCE / "xsdrt/common/UBL-CommonAggregateComponents-2.4.xsd"))


@cache
def _sequence(element: str) -> tuple[str, ...]:
    """Child element names of a UBL aggregate, in schema order (from the UBL XSD)."""
    (type_name,) = _cac_schema().xpath(f"/xsd:schema/xsd:element[@name='{element}']/@type",
                                       namespaces=XSD)
    refs = _cac_schema().xpath(f"//xsd:complexType[@name='{type_name}']//xsd:element/@ref",
                               namespaces=XSD)
    return tuple(r.split(":")[1] for r in refs)


def _child(parent: etree._Element, ns: str, name: str) -> etree._Element:
    """*parent*'s child ``{ns}name``, made at its place in the schema's order if missing."""
    found = parent.find(f"{{{ns}}}{name}")
    if found is not None:
        return found
    order = _sequence(etree.QName(parent).localname)
    rank = order.index(name)
    el = etree.Element(f"{{{ns}}}{name}")
    later = [c for c in parent if isinstance(c.tag, str)
             and etree.QName(c).localname in order[rank + 1:]]
    if later:
        later[0].addprevious(el)
    else:
        parent.append(el)
    return el


def _set_profile(root: etree._Element) -> None:
    el = root.find(f"{{{CBC}}}CustomizationID")
    if el is None:
        el = etree.Element(f"{{{CBC}}}CustomizationID")
        before = [c for c in root[:2] if etree.QName(c).localname in
                  ("UBLExtensions", "UBLVersionID")]
        if before:
            before[-1].addnext(el)
        else:
            root.insert(0, el)
    el.text = PROFILE


def _country(parent: etree._Element, which: str, code: str) -> None:
    _child(_child(parent, CAC, which), CBC, "IdentificationCode").text = code


def _consistent(kind: str) -> etree._ElementTree:
    tree = etree.parse(str(UBL_EXAMPLES / EXAMPLES[kind]))
    root = tree.getroot()
    _set_profile(root)
    for ship_id in root.xpath("cac:Shipment/cbc:ID | cac:CustomsDeclaration/cac:Shipment/cbc:ID",
                              namespaces=NS):
        ship_id.text = SHIPMENT
    for item in root.xpath(".//cac:GoodsItem", namespaces=NS):
        code = _child(_child(_child(item, CAC, "Item"), CAC, "CommodityClassification"),
                      CBC, "CommodityCode")
        code.text = "870323"  # HS 8703.23: motor cars, 1 500 - 3 000 cc
    for weight in root.xpath(".//cbc:GrossWeightMeasure", namespaces=NS):
        weight.text, weight.attrib["unitCode"] = "1250", "KGM"
    if kind in ("export", "transit", "import", "waybill"):
        (consignment,) = root.xpath(
            "(cac:Shipment/cac:Consignment | cac:CustomsDeclaration/cac:Shipment"
            "/cac:Consignment)[1]", namespaces=NS)
        _country(consignment, "OriginalDepartureCountry", "KZ")
        _country(consignment, "FinalDestinationCountry", "AF")
    return tree


@cache
def dossier() -> dict[str, bytes]:
    return {kind: etree.tostring(_consistent(kind), xml_declaration=True, encoding="UTF-8")
            for kind in EXAMPLES}


@pytest.fixture(scope="module")
def engine_ru(rule_store) -> RuleEngine:
    return RuleEngine(rule_store, lang="ru")


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_consistent_corridor_dossier_passes(rules_validator, kind):
    report = rules_validator.validate(dossier()[kind], f"{kind}.xml")
    statuses = {layer.name: layer.status.value for layer in report.layers}
    assert statuses == {"well-formedness": "valid", "schema": "valid", "code-lists": "valid",
                        "rules": "valid"}, report.errors()
    assert report.accepted and report.findings == []
    assert [(p.name, p.version) for p in report.layers[3].packs] == [("carec-corridor", "1.0")]


def test_the_dossier_agrees_across_documents():
    facts = {kind: extract_facts(parse_xml(data)) for kind, data in dossier().items()}
    for kind in ("export", "transit", "import", "waybill"):
        assert SHIPMENT in facts[kind].shipment_ids
        assert facts[kind].gross_weight_kg == "1250"
    assert facts["export"].departure_country == "KZ"
    assert facts["import"].destination_country == "AF"


def _line_of(data: bytes, needle: str, nth: int = 0) -> int:
    lines = [i for i, text in enumerate(data.decode().splitlines(), 1) if needle in text]
    return lines[nth]


def _break(kind: str, xpath: str, change) -> bytes:
    tree = _consistent(kind)
    (el,) = tree.xpath(xpath, namespaces=NS)
    change(el)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _text(value: str):
    def change(el: etree._Element) -> None:
        el.text = value
    return change


def _remove(el: etree._Element) -> None:
    el.getparent().remove(el)


def _drop_unit(el: etree._Element) -> None:
    del el.attrib["unitCode"]


# (rule, severity, document, what to break, how, the line's marker in the broken text)
BROKEN = [
    ("CAREC-01", "error", "waybill", "/*/cac:Shipment/cbc:ID", _text(" "), "<Waybill "),
    ("CAREC-03", "error", "transit", "/*/cbc:IssueDate", _remove, "<TransitCustomsDeclaration "),
    ("CAREC-04", "error", "import", "//cac:OriginalDepartureCountry", _remove,
     "<ImportCustomsDeclaration "),
    ("CAREC-05", "error", "export", "//cac:FinalDestinationCountry", _remove,
     "<ExportCustomsDeclaration "),
    ("CAREC-06", "error", "export", "//cac:FinalDestinationCountry/cbc:IdentificationCode",
     _text("XK9"), ">XK9<"),
    ("CAREC-07", "error", "transit", "//cac:GoodsItem//cbc:CommodityCode", _text("8703"),
     "<cac:GoodsItem>"),
    ("CAREC-08", "error", "import", "/*/cac:Shipment/cbc:GrossWeightMeasure", _text("-5"),
     ">-5<"),
    ("CAREC-09", "error", "transit", "/*/cac:Shipment/cbc:GrossWeightMeasure", _drop_unit,
     "<cbc:GrossWeightMeasure>"),
    ("CAREC-10", "warning", "transit", "/*/cac:Shipment/cac:GoodsItem/cbc:GrossWeightMeasure",
     _text("1000"), "<cac:Shipment>"),
    ("CAREC-11", "error", "import", "(//cac:AdditionalDocumentReference/cbc:IssueDate)[1]",
     _text("2013-09-30"), ">2013-09-30<"),
    ("CAREC-12", "error", "invoice", "/*/cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
     _text("1437.50"), "<cac:LegalMonetaryTotal>"),
]


@pytest.mark.parametrize("rule,severity,kind,xpath,change,marker", BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_variant_reports_exactly_its_rule_at_its_line(
        rules_validator, rule_store, rule, severity, kind, xpath, change, marker):
    data = _break(kind, xpath, change)
    expected = [(rule, severity, _line_of(data, marker))]
    checked = check_rules(data, engine=RuleEngine(rule_store), packs=["carec-corridor"])
    assert [(f["rule"], f["severity"], f["line"]) for f in checked["layer"]["findings"]] \
        == expected
    report = rules_validator.validate(data, f"{kind}.xml")
    if rule == "CAREC-09":  # UBL's schema wants a unit too: it refuses first
        assert report.layers[1].status.value == "invalid"
        assert report.layers[3].status.value == "skipped"
        return
    assert [layer.status.value for layer in report.layers[:3]] == ["valid"] * 3, \
        report.errors()
    findings = [(f.rule, f.severity.value, f.line) for f in report.layers[3].findings]
    assert findings == expected
    assert report.accepted is (severity == "warning")


def test_messages_tell_the_forwarder_what_to_fix_in_english_and_russian(rule_store, engine_ru):
    data = _break("transit", "//cac:GoodsItem//cbc:CommodityCode", _text("8703"))
    tree = parse_xml(data)
    english = RuleEngine(rule_store).layer(tree, RuleSelection(packs=("carec-corridor",)))
    russian = engine_ru.layer(tree, RuleSelection(packs=("carec-corridor",)))
    (en,), (ru,) = english.findings, russian.findings
    assert "at least six digits" in en.message and "'8703'" in en.message
    assert "не менее чем из шести цифр" in ru.message and "'8703'" in ru.message
    assert dict(ru.messages) == {"en": en.message, "ru": ru.message}
    assert en.to_dict()["flag"] == "fatal" and en.to_dict()["pack"] == "carec-corridor"
    assert en.path == "/TransitCustomsDeclaration/cac:Shipment/cac:GoodsItem"


def test_a_member_requiring_the_pack_gets_it_whatever_the_profile(rules_validator):
    official = (UBL_EXAMPLES / EXAMPLES["waybill"]).read_bytes()  # no corridor profile
    assert rules_validator.validate(official).layers[3].status.value == "skipped"
    required = rules_validator.validate(
        official, rules=RuleSelection().requiring(["carec-corridor"]))
    assert [f.rule for f in required.layers[3].findings] == ["CAREC-07"]  # no HS code
    assert not required.accepted
