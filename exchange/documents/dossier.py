"""Cross-document checks of one shipment (the "dossier").

Each accepted document leaves its *facts* (identifiers, gross weight, customs value, invoice
total, countries), extracted once from the parsed tree by :func:`extract_facts` and stored with
it. A commercial invoice may be UBL or UN/CEFACT Cross Industry Invoice (CII D16B): both give
its total and currency (and a CII invoice its delivery's consignment id). :func:`check_dossier` compares the facts of a shipment's current documents (superseded
versions left out) pair by pair and against the route:

* ``identifiers``: two documents that both name shipment (or consignment) ids share at least one;
* ``gross-weight``: waybill, bill of lading, packing list and customs declarations agree on the
  gross weight within ``weight_tolerance`` (relative), after unit conversion;
* ``customs-value``: a declaration's customs value matches the commercial invoice total within
  ``value_tolerance`` (relative), in the same currency;
* ``route-countries``: a declaration's countries of departure
  (``Consignment/OriginalDepartureCountry``), export (``Shipment/ExportCountry``), transit
  (``Consignment/TransitCountry``) and destination (``Consignment/FinalDestinationCountry``),
  wherever the declaration type nests its shipment, are those of the shipment's route: the
  departure and export countries its origin, the destination its destination, each transit
  country one of its transit countries.

Each finding's message is a catalogue message (:mod:`exchange.i18n`): ``to_dict`` gives the
English text and the message id with its parameters, so a page renders it in its reader's
language.

Each check's findings count as errors, warnings or not at all, per
:class:`exchange.config.DossierSettings`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Any

from lxml import etree

from exchange.config import CheckSeverity, DossierSettings
from exchange.domain import Route
from exchange.i18n import Text, t

__all__ = ["DocumentFacts", "DossierFinding", "DossierReport", "check_dossier", "extract_facts"]

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}
CII_NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
          "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}

DECLARATIONS = {"ExportCustomsDeclaration", "ImportCustomsDeclaration",
                "TransitCustomsDeclaration"}
WEIGHED = DECLARATIONS | {"Waybill", "BillOfLading", "PackingList", "ForwardingInstructions"}
INVOICES = {"Invoice", "CrossIndustryInvoice"}
TO_KG = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001"),
         "LBR": Decimal("0.45359237")}


@dataclass(frozen=True)
class DocumentFacts:
    root: str
    shipment_ids: tuple[str, ...] = ()
    consignment_ids: tuple[str, ...] = ()
    gross_weight_kg: str | None = None
    customs_value: tuple[str, str] | None = None  # (amount, currency)
    invoice_total: tuple[str, str] | None = None
    departure_country: str | None = None
    destination_country: str | None = None
    transit_countries: tuple[str, ...] = ()
    export_countries: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocumentFacts:
        d = {"root": "", **d}
        for k in ("shipment_ids", "consignment_ids", "transit_countries", "export_countries"):
            d[k] = tuple(d.get(k) or ())
        for k in ("customs_value", "invoice_total"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _texts(root: etree._Element, xpath: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in root.xpath(xpath, namespaces=NS):
        text = (v if isinstance(v, str) else (v.text or "")).strip()
        if text:
            seen[text] = None
    return tuple(seen)


def _first(root: etree._Element, xpath: str) -> etree._Element | None:
    hits = root.xpath(xpath, namespaces=NS)
    return hits[0] if hits else None


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


def _cii_facts(root: etree._Element) -> DocumentFacts:
    """An invoice's facts from CII: the amount due (BT-115; else the grand total, BT-112) in
    the invoice currency, and the consignment of its delivery."""
    settlement = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/" \
                 "ram:ApplicableHeaderTradeSettlement"
    currency = "".join(root.xpath(f"string({settlement}/ram:InvoiceCurrencyCode)",
                                  namespaces=CII_NS)).strip()
    total = None
    for field_name in ("DuePayableAmount", "GrandTotalAmount"):
        hits = [h for h in root.xpath(
            f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{field_name}",
            namespaces=CII_NS) if isinstance(h, etree._Element)]
        # BT-112 may be given twice (in the invoice and in the VAT currency): take the
        # invoice currency's, or the only one
        amount = next((h for h in hits if h.get("currencyID", currency) == currency), None)
        if amount is not None and _decimal(amount.text) is not None:
            total = (str(_decimal(amount.text)), amount.get("currencyID") or currency)
            break
    consignments = tuple(dict.fromkeys(
        str(t).strip() for t in root.xpath(
            "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
            "ram:ApplicableHeaderTradeDelivery/ram:RelatedSupplyChainConsignment//ram:ID/text()",
            namespaces=CII_NS) if str(t).strip()))
    return DocumentFacts(root=etree.QName(root).localname, invoice_total=total,
                         consignment_ids=consignments)


def extract_facts(tree: etree._ElementTree) -> DocumentFacts:
    """Facts for the dossier checks, from the top-level shipment/consignment of a document."""
    root = tree.getroot()
    if etree.QName(root).namespace == CII_NS["rsm"]:
        return _cii_facts(root)
    name = etree.QName(root).localname
    ships = ("/*/cac:Shipment", "/*/cac:CustomsDeclaration/cac:Shipment",
             "/*/cac:Consignment/cac:Shipment")
    ship = " | ".join(ships)

    def under(*tails: str) -> str:
        return " | ".join(f"{s}/{t}" for t in tails for s in ships)

    weight = None
    w = _first(root, under("cbc:GrossWeightMeasure", "cac:Consignment/cbc:GrossWeightMeasure"))
    if w is not None:
        measure, factor = _decimal(w.text), TO_KG.get(w.get("unitCode", "KGM"))
        if measure is not None and factor is not None:
            weight = format((measure * factor).normalize(), "f")
    value: tuple[str, str] | None = None
    v = _first(root, under("cbc:DeclaredCustomsValueAmount",
                           "cac:Consignment/cbc:DeclaredCustomsValueAmount"))
    if v is not None and _decimal(v.text) is not None:
        value = (str(_decimal(v.text)), v.get("currencyID", ""))
    else:
        items = root.xpath(under("/cac:GoodsItem/cbc:DeclaredCustomsValueAmount"),
                           namespaces=NS)
        amounts = [a for a in (_decimal(i.text) for i in items) if a is not None]
        currencies = {i.get("currencyID", "") for i in items}
        if items and len(amounts) == len(items) and len(currencies) == 1:
            value = (str(sum(amounts, Decimal(0))), currencies.pop())
    total = None
    t = _first(root, "/*/cac:LegalMonetaryTotal/cbc:PayableAmount")
    if t is not None and _decimal(t.text) is not None:
        total = (str(_decimal(t.text)), t.get("currencyID", ""))

    def country(tag: str) -> str | None:
        c = _texts(root, f"({ship})//cac:{tag}/cbc:IdentificationCode")
        return c[0] if c else None

    return DocumentFacts(
        root=name,
        shipment_ids=_texts(root, f"({ship})/cbc:ID"),
        consignment_ids=_texts(root, "/*/cac:Consignment/cbc:ID | "
                                     + under("cac:Consignment/cbc:ID")),
        gross_weight_kg=weight, customs_value=value, invoice_total=total,
        departure_country=country("OriginalDepartureCountry"),
        destination_country=country("FinalDestinationCountry"),
        transit_countries=_texts(root, f"({ship})//cac:TransitCountry/cbc:IdentificationCode"),
        export_countries=_texts(root, f"({ship})//cac:ExportCountry/cbc:IdentificationCode"),
    )


@dataclass(frozen=True)
class DossierFinding:
    check: str
    severity: str
    documents: tuple[str, ...]  # one or two document ids
    message: Text

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity,
                "documents": list(self.documents), "message": str(self.message),
                "message_id": self.message.msgid, "params": dict(self.message.params)}


@dataclass(frozen=True)
class DossierReport:
    findings: tuple[DossierFinding, ...] = field(default=())

    @property
    def status(self) -> str:
        severities = {f.severity for f in self.findings}
        return "error" if "error" in severities else "warning" if severities else "consistent"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "findings": [f.to_dict() for f in self.findings]}


def _relative_gap(a: Decimal, b: Decimal) -> Decimal:
    scale = max(abs(a), abs(b))
    return Decimal(0) if scale == 0 else abs(a - b) / scale


def check_dossier(documents: Sequence[tuple[str, DocumentFacts]], route: Route,
                  settings: DossierSettings) -> DossierReport:
    """Compare the current documents of one shipment: ``(document id, facts)`` pairs."""
    found: list[DossierFinding] = []

    def add(check: str, severity: CheckSeverity, docs: tuple[str, ...], message: Text) -> None:
        if severity is not CheckSeverity.OFF:
            found.append(DossierFinding(check, str(severity), docs, message))

    for (ida, a), (idb, b) in combinations(documents, 2):
        pair = (ida, idb)
        for label, xa, xb in (("shipment", a.shipment_ids, b.shipment_ids),
                              ("consignment", a.consignment_ids, b.consignment_ids)):
            if xa and xb and not set(xa) & set(xb):
                names = {"first": a.root, "second": b.root, "ids": ", ".join(xa),
                         "other": ", ".join(xb)}
                add("identifiers", settings.identifiers, pair,
                    t("{first} and {second} name different shipment ids: {ids} vs {other}",
                      **names) if label == "shipment" else
                    t("{first} and {second} name different consignment ids: {ids} vs {other}",
                      **names))
        if a.root in WEIGHED and b.root in WEIGHED and a.gross_weight_kg and b.gross_weight_kg:
            wa, wb = Decimal(a.gross_weight_kg), Decimal(b.gross_weight_kg)
            if _relative_gap(wa, wb) > settings.weight_tolerance:
                add("gross-weight", settings.gross_weight, pair,
                    t("The gross weight differs: {first} {weight} kg, {second} {other} kg "
                      "(tolerance {tolerance} %)", first=a.root, weight=str(wa),
                      second=b.root, other=str(wb),
                      tolerance=str(settings.weight_tolerance * 100)))
        for decl, inv, ids in ((a, b, pair), (b, a, (idb, ida))):
            if decl.root in DECLARATIONS and inv.root in INVOICES and decl.customs_value \
                    and inv.invoice_total:
                (va, ca), (vb, cb) = decl.customs_value, inv.invoice_total
                if ca != cb:
                    add("customs-value", settings.customs_value, ids,
                        t("The declared customs value is in {currency} but the invoice total "
                          "in {other}: they cannot be compared", currency=ca, other=cb))
                elif _relative_gap(Decimal(va), Decimal(vb)) > settings.value_tolerance:
                    add("customs-value", settings.customs_value, ids,
                        t("The declared customs value {value} {currency} differs from the "
                          "invoice total {total} {other} (tolerance {tolerance} %)",
                          value=va, currency=ca, total=vb, other=cb,
                          tolerance=str(settings.value_tolerance * 100)))
    for doc_id, f in documents:
        if f.root not in DECLARATIONS:
            continue
        where = {"document": f.root, "route": " -> ".join(route.countries)}
        if f.departure_country and f.departure_country != route.origin:
            add("route-countries", settings.route_countries, (doc_id,),
                t("{document} departs from {country}, the route from {origin} ({route})",
                  country=f.departure_country, origin=route.origin, **where))
        for cc in f.export_countries:
            if cc != route.origin:
                add("route-countries", settings.route_countries, (doc_id,),
                    t("{document} names {country} as the country of export, the route starts "
                      "in {origin} ({route})", country=cc, origin=route.origin, **where))
        if f.destination_country and f.destination_country != route.destination:
            add("route-countries", settings.route_countries, (doc_id,),
                t("{document} is destined for {country}, the route for {destination} ({route})",
                  country=f.destination_country, destination=route.destination, **where))
        for cc in f.transit_countries:
            if cc not in route.transit:
                add("route-countries", settings.route_countries, (doc_id,),
                    t("{document} names transit country {country}, not a transit country of "
                      "the route ({route})", country=cc, **where))
    return DossierReport(tuple(found))
