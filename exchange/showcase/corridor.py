"""The demo's dossiers, made from the official UBL examples so that they tell the truth.

The official examples come from unrelated trades (a Danish export, a Finnish import, a US
waybill...): submitted together they contradict each other on every fact the dossier checks.
:func:`corridor_documents` edits copies of them, in memory, into one consistent KZ -> UZ -> AF
road consignment: the same shipment and consignment ids, the same gross weight, declared
customs values that add up to the commercial invoice's total, and the route's countries of
departure, export, transit and destination. Everything else in each example stays as OASIS
wrote it, so each document stays schema-valid.

:data:`MISMATCH` is the second demo shipment: the same dossier with one real inconsistency
(the import declaration says the goods were exported from China, while the route starts in
Kazakhstan), which the dossier check reports and explains.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from lxml import etree

from signing.safexml import parse_xml

__all__ = ["CORRIDOR", "Corridor", "DOCUMENTS", "MISMATCH", "corridor_documents"]

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}

DOCUMENTS = (
    "UBL-ExportCustomsDeclaration-2.3-Example.xml",
    "UBL-TransitCustomsDeclaration-2.3-Example.xml",
    "UBL-ImportCustomsDeclaration-2.3-Example.xml",
    "UBL-Waybill-2.0-Example-International.xml",
    "UBL-Invoice-2.1-Example.xml",
)
"""The official examples the demo dossier is made of (from the installed UBL 2.4 pack)."""

# The shipment of a document, wherever its type nests it (as the dossier reads it).
_SHIPS = ("/*/cac:Shipment", "/*/cac:CustomsDeclaration/cac:Shipment",
          "/*/cac:Consignment/cac:Shipment")


@dataclass(frozen=True)
class Corridor:
    """The facts every document of the demo dossier agrees on."""

    shipment_id: str
    consignment_id: str
    gross_weight: str
    weight_unit: str
    origin: str
    transit: tuple[str, ...]
    destination: str
    wrong: tuple[tuple[str, str, str], ...] = ()
    """Deliberate mistakes: (document type, country element, the wrong code it names)."""


CORRIDOR = Corridor(shipment_id="DEMO-KZ-UZ-AF-0001", consignment_id="CONS-KZ-UZ-AF-0001",
                    gross_weight="12400", weight_unit="KGM", origin="KZ", transit=("UZ",),
                    destination="AF")
MISMATCH = replace(CORRIDOR, shipment_id="DEMO-KZ-UZ-AF-0002",
                   consignment_id="CONS-KZ-UZ-AF-0002",
                   wrong=(("ImportCustomsDeclaration", "ExportCountry", "CN"),))


def corridor_documents(examples: Path, corridor: Corridor = CORRIDOR
                       ) -> list[tuple[str, etree._ElementTree]]:
    """The demo dossier: ``(file name, tree)`` for each of :data:`DOCUMENTS`, made to agree."""
    trees = [(name, parse_xml((examples / name).read_bytes())) for name in DOCUMENTS]
    invoice_total = _invoice_total(trees)
    for _, tree in trees:
        _agree(tree.getroot(), corridor, invoice_total)
    return trees


def _xpath(root: etree._Element, path: str) -> list[etree._Element]:
    found = root.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return [node for node in found if isinstance(node, etree._Element)]


def _under(*tails: str) -> str:
    return " | ".join(f"{ship}/{tail}" for tail in tails for ship in _SHIPS)


def _invoice_total(trees: list[tuple[str, etree._ElementTree]]) -> tuple[Decimal, str]:
    for _, tree in trees:
        for total in _xpath(tree.getroot(), "/*/cac:LegalMonetaryTotal/cbc:PayableAmount"):
            return Decimal((total.text or "0").strip()), total.get("currencyID", "")
    raise ValueError("the demo dossier has no commercial invoice")


def _agree(root: etree._Element, corridor: Corridor, invoice: tuple[Decimal, str]) -> None:
    for node in _xpath(root, _under("cbc:ID")):
        node.text = corridor.shipment_id
    for node in _xpath(root, "/*/cac:Consignment/cbc:ID | " + _under("cac:Consignment/cbc:ID")):
        node.text = corridor.consignment_id
    for node in _xpath(root, _under("cbc:GrossWeightMeasure",
                                    "cac:Consignment/cbc:GrossWeightMeasure")):
        node.text, node.attrib["unitCode"] = corridor.gross_weight, corridor.weight_unit
    ship = "(" + " | ".join(_SHIPS) + ")"
    countries = {"OriginalDepartureCountry": corridor.origin,
                 "FinalDestinationCountry": corridor.destination,
                 "ExportCountry": corridor.origin}
    kind = etree.QName(root).localname
    countries.update({tag: code for doc, tag, code in corridor.wrong if doc == kind})
    for tag, code in countries.items():
        for node in _xpath(root, f"{ship}//cac:{tag}/cbc:IdentificationCode"):
            node.text = code
    transits = _xpath(root, f"{ship}//cac:TransitCountry/cbc:IdentificationCode")
    for node, code in zip(transits, corridor.transit * len(transits)):
        node.text = code
    _declare_value(root, invoice)


def _declare_value(root: etree._Element, invoice: tuple[Decimal, str]) -> None:
    """The declared customs value (declarations, waybill): the invoice total on the shipment
    or consignment, and split over the goods items (cents down on all but the last, which
    takes the rest)."""
    amount, currency = invoice
    whole = _xpath(root, _under("cbc:DeclaredCustomsValueAmount",
                                "cac:Consignment/cbc:DeclaredCustomsValueAmount"))
    items = _xpath(root, _under("/cac:GoodsItem/cbc:DeclaredCustomsValueAmount"))
    for node in whole:
        node.text, node.attrib["currencyID"] = format(amount, "f"), currency
    share = (amount / len(items)).quantize(Decimal("0.01"), ROUND_DOWN) if items else amount
    for index, node in enumerate(items):
        value = amount - share * (len(items) - 1) if index == len(items) - 1 else share
        node.text, node.attrib["currencyID"] = format(value, "f"), currency
