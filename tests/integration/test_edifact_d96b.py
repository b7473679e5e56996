"""Every CUSDEC written from the official UBL customs declaration examples, as published and
with their weights in TNE, GRM and LBR, passes an independent D.96B check (the bots
grammars over pydifact's parse) and reads back with the same numbers, units and currencies.
Bad declarations are refused before anything is written, naming what does not fit."""
from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from adapters.contract import AdapterContext
from adapters.edifact import CusdecProfile, reference_id, render_cusdec
from adapters.errors import PermanentDeliveryError
from adapters.registry import default_registry
from adapters.testing.edifact_simulator import read_cusdec
from tests.fixtures.d96b_reference import parse, reference_problems
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.simulator import make_envelope

EXAMPLES = sorted(UBL_EXAMPLES.glob("UBL-*CustomsDeclaration-*-Example.xml"))
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
WEIGHTS = ("GrossWeightMeasure", "NetWeightMeasure")
# kilograms per unit (UN/ECE Rec. 20): the variants restate the same weight exactly
PER_KG = {"TNE": Decimal(1000), "GRM": Decimal("0.001"), "LBR": Decimal("0.45359237")}


def test_the_official_examples_are_all_there():
    assert [p.name.split("-")[1] for p in EXAMPLES] == [
        "ExportCustomsDeclaration", "ImportCustomsDeclaration", "TransitCustomsDeclaration"]


def _variant(path, unit: str | None) -> bytes:
    tree = etree.parse(str(path))
    if unit is not None:
        for node in tree.iter(*(f"{{{CBC}}}{n}" for n in WEIGHTS)):
            assert node.get("unitCode") == "KGM"
            kilograms = Decimal(node.text.strip())
            node.text = f"{(kilograms / PER_KG[unit]).quantize(Decimal('0.000001')).normalize():f}"
            node.set("unitCode", unit)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _carried(document: bytes) -> tuple[list, list]:
    """What the declaration states, read here without the mapping: every shipment,
    consignment and goods item weight, and the invoice total and customs values."""
    root = etree.fromstring(document)
    weights = sorted((n.get("unitCode"), n.text.strip()) for n in root.iter(
        *(f"{{{CBC}}}{w}" for w in WEIGHTS))
        if etree.QName(n.getparent()).localname in ("Shipment", "Consignment", "GoodsItem"))
    amounts = sorted((n.text.strip(), n.get("currencyID")) for n in root.iter(
        f"{{{CBC}}}TotalInvoiceAmount", f"{{{CBC}}}DeclaredCustomsValueAmount"))
    return weights, amounts


@pytest.mark.parametrize("unit", [None, "TNE", "GRM", "LBR"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name.split("-")[1])
def test_official_declarations_pass_d96b_and_read_back_exactly(path, unit):
    document = _variant(path, unit)
    doc_type = path.name.split("-")[1]
    envelope = make_envelope("AF", document=document, document_type=doc_type)
    data = render_cusdec(envelope, CusdecProfile("CARECHUB", "AFCUSTOMS"))
    assert reference_problems(data, codec="utf-8") == []
    segments = parse(data.decode("utf-8"))
    weights = sorted((e[2][0], e[2][1]) for tag, e in segments if tag == "MEA")
    amounts = sorted((e[0][1], e[0][2]) for tag, e in segments if tag == "MOA")
    expected_weights, expected_amounts = _carried(document)
    assert weights == expected_weights and weights  # every weight, in its own unit
    assert amounts == expected_amounts  # every amount with its currency
    if unit is not None:
        assert {u for u, _ in weights} == {unit}
    refs = {e[0][0]: e[0][1] for tag, e in segments if tag == "RFF"}
    assert reference_id(refs["ACW"]) == envelope.delivery_id
    summary = read_cusdec(data)  # the national side's strict reading
    assert summary.delivery_id == envelope.delivery_id
    assert summary.document_id == envelope.document_id


def test_eighty_eight_tonnes_are_not_eighty_eight_kilograms():
    document = (UBL_EXAMPLES / "UBL-ExportCustomsDeclaration-2.3-Example.xml").read_bytes()
    document = document.replace(b'<cbc:GrossWeightMeasure unitCode="KGM">88.00',
                                b'<cbc:GrossWeightMeasure unitCode="TNE">88')
    data = render_cusdec(make_envelope("AF", document=document), CusdecProfile("A", "B"))
    assert b"MEA+WT+AAB+TNE:88'" in data and b"KGM:88" not in data


def _declaration(*, name="Gedevang Mejeri", description="cheese", weight=(
        'unitCode="KGM"', "88"), amount=('currencyID="EUR"', "10.00"),
        declaration_id="EX-1") -> bytes:
    return f"""<ExportCustomsDeclaration
  xmlns="urn:oasis:names:specification:ubl:schema:xsd:ExportCustomsDeclaration-2"
  xmlns:cbc="{CBC}"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
  <cbc:ID>{declaration_id}</cbc:ID><cbc:IssueDate>2026-03-04</cbc:IssueDate>
  <cac:ExporterParty><cac:PartyIdentification><cbc:ID>KZ-1</cbc:ID></cac:PartyIdentification>
    <cac:PartyName><cbc:Name>{name}</cbc:Name></cac:PartyName></cac:ExporterParty>
  <cac:Shipment><cbc:GrossWeightMeasure {weight[0]}>{weight[1]}</cbc:GrossWeightMeasure>
    <cac:GoodsItem><cbc:Description>{description}</cbc:Description>
      <cbc:DeclaredCustomsValueAmount {amount[0]}>{amount[1]}</cbc:DeclaredCustomsValueAmount>
    </cac:GoodsItem></cac:Shipment>
</ExportCustomsDeclaration>""".encode()


def test_long_names_and_descriptions_are_split_as_d96b_allows():
    name, description = "N" * 175, "d" * (9 * 5 * 70)
    data = render_cusdec(make_envelope("AF", document=_declaration(
        name=name, description=description)), CusdecProfile("A", "B"))
    assert reference_problems(data, codec="utf-8") == []
    segments = parse(data.decode())
    [nad] = [e for tag, e in segments if tag == "NAD"]
    assert nad[3] == ["N" * 35] * 5 and "".join(nad[3]) == name
    texts = [e[3] for tag, e in segments if tag == "FTX" and e[0] == ["AAA"]]
    assert len(texts) == 9 and "".join("".join(t) for t in texts) == description


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weight": ("", "88")}, "GrossWeightMeasure 88 has no valid unitCode"),
    ({"weight": ('unitCode="KILOGRAM"', "88")}, "has no valid unitCode \\('KILOGRAM'\\)"),
    ({"weight": ('unitCode="kgm"', "88")}, "has no valid unitCode"),
    ({"weight": ('unitCode="KGM"', "88 kg")}, "GrossWeightMeasure '88 kg' is not a decimal"),
    ({"weight": ('unitCode="KGM"', "1e3")}, "is not a decimal"),
    ({"amount": ("", "10.00")}, "DeclaredCustomsValueAmount 10.00 has no valid currencyID"),
    ({"amount": ('currencyID="EUR"', "1" * 19)}, "5004 \\(n..18\\) '1+' is 19 long"),
    ({"declaration_id": "X" * 36}, "segment 3: BGM C106/1004 \\(an..35\\) 'X+' is 36 long"),
    ({"name": "N" * 176}, "party name is 176 characters long, more than 175 fit"),
    ({"description": "d" * 3151}, "goods item 1 description is 3151 characters long"),
])
def test_what_does_not_fit_d96b_is_refused_and_nothing_written(tmp_path, kwargs, message):
    adapter = default_registry().create(
        "edifact-file", country="AF", context=AdapterContext(),
        settings={"outbox_dir": str(tmp_path / "out"), "inbox_dir": str(tmp_path / "in")})
    with pytest.raises(PermanentDeliveryError, match=message) as info:
        adapter.deliver(make_envelope("AF", document=_declaration(**kwargs)))
    assert info.value.code == "adapter.delivery.payload" and not info.value.retryable
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_identifier_that_would_read_back_as_a_uuid_is_refused():
    envelope = make_envelope("AF", document=_declaration(),
                             delivery_id="0123456789ABCDEF0123456789ABCDEF")
    with pytest.raises(PermanentDeliveryError, match="would read back as a UUID"):
        render_cusdec(envelope, CusdecProfile("A", "B"))
