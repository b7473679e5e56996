"""UN/EDIFACT for legacy national systems: UBL declarations -> CUSDEC, CUSRES -> decisions.

Segments are built and read with pydifact; every interchange written or read is checked
against the D.96B message structures and segment formats of :mod:`adapters.edifact_d96b`
and against the character set its UNB names (:mod:`adapters.edifact_syntax`).

The CAREC profile of D.96B (syntax identifier and version per member: ``syntax`` and
``syntax_version`` settings of the edifact-file adapter, default UNOW version 4). UUID
identifiers (36 characters, one more than RFF's an..35) travel as their 32 hex digits in
upper case and are read back in the canonical form; quantities carry their UN/ECE Rec. 20 unit and amounts their
ISO 4217 currency exactly as the declaration states them (nothing is converted). CUSRES
amounts are read with the decimal mark the UNA declares (``.`` without UNA).

CUSDEC (one message per interchange; control reference derived from the delivery id, so a
receiver can drop a re-sent interchange)::

    UNB+<syntax>:<version>+<sender>+<recipient>+<(CC)YYMMDD>:<hhmm>+<control ref>'
    UNH+1+CUSDEC:D:96B:UN'
    BGM+<830 export | 929 import | 950 transit>+<declaration ID>+9'
    LOC+35+<origin>'  LOC+28+<destination>'
    DTM+137:<issue date CCYYMMDD>:102'
    MEA+WT+AAB+<unit>:<gross weight>'  MEA+WT+AAA+<unit>:<net weight>'   (shipment totals)
    FTX+AAI++ROUTE+<KZ-UZ-AF>'  FTX+ACB++SHA256+<original sha256, upper-case hex>'
    RFF+ACW:<delivery id>'  RFF+SRN:<shipment id>'  RFF+ABT:<document id>:<version>'  (SG1)
    NAD+EX|IM|DT+<party id>++<name, 35-character parts>'                          (SG6)
    MOA+39:<total invoice amount>:<currency>'                                      (SG8)
    UNS+D'
    CST+<n>+<commodity code>:122'                             (SG30, one per goods item)
    FTX+AAA+++<description, 70-character parts>'  MEA+WT+AAB|AAA+<unit>:<weight>'
    MOA+40:<customs value>:<currency>'                                             (SG33)
    UNS+S'  UNT+<count>+1'  UNZ+1+<control ref>'

CUSRES (one message per decision; several messages per interchange allowed)::

    UNH+<ref>+CUSRES:D:96B:UN'
    BGM+962+<customs reference>+9'
    DTM+137:<CCYYMMDDhhmm>:203'                  (optional)
    FTX+AAI+++<free text, e.g. a query>'        (optional, up to 9)
    GIS+<ACK|ACC|REJ|HLD|QRY|ASM|GUA|REL>'
    RFF+ACW:<delivery id>'  RFF+SRN:<shipment id>'  RFF+ABT:<document id>'  RFF+GU:<ref>'
    ERP+1'  ERC+<reason code>'  FTX+AAO+++<reason text>'     (SG4, one per reason)
    TAX+<5 duty | 7 tax>+<CUD|VAT|EXC|other>+++:::<rate>'  MOA+125:<base>:<cur>'
    MOA+124:<amount>:<cur>'                                  (SG5, one per duty line)
    DOC+ZZZ:::GUARANTEE'  MOA+ZZZ:<amount>:<cur>'            (SG6: the amount a guarantee
                                                              covers; ZZZ = mutually defined)
    UNT+<count>+<ref>'
"""
from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from pydifact.segments import Segment

from adapters.contract import CustomsDecision, DecisionKind, DeliveryEnvelope, DutyLine, Reason
from adapters.edifact_syntax import (
    Envelope, read_interchange, structure_problem, values, write_interchange,
)
from adapters.errors import MalformedCusresError, PermanentDeliveryError
from signing.safexml import XmlError, parse_xml

__all__ = [
    "DECLARATION_CODES",
    "CusdecProfile",
    "control_reference",
    "element",
    "read_cusres",
    "reference_id",
    "reference_value",
    "render_cusdec",
    "render_cusres",
]

DECLARATION_CODES = {
    "ExportCustomsDeclaration": "830",
    "ImportCustomsDeclaration": "929",
    "TransitCustomsDeclaration": "950",
}
_GIS = {
    DecisionKind.ACKNOWLEDGED: "ACK", DecisionKind.ACCEPTED: "ACC",
    DecisionKind.REJECTED: "REJ", DecisionKind.HOLD: "HLD", DecisionKind.QUERY: "QRY",
    DecisionKind.ASSESSMENT: "ASM", DecisionKind.GUARANTEE_ACCEPTED: "GUA",
    DecisionKind.RELEASED: "REL",
}
_KIND_BY_GIS = {v: k for k, v in _GIS.items()}
_GUARANTEE = "ZZZ"
_TAX_CODES = {"customs-duty": "CUD", "vat": "VAT", "excise": "EXC"}
_TAX_BY_CODE = {v: k for k, v in _TAX_CODES.items()}
_DECIMAL = re.compile(r"-?\d+(\.\d+)?\Z")
_UNIT = re.compile(r"[A-Z0-9]{1,3}\Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_COMPACT_UUID = re.compile(r"[0-9A-F]{32}\Z")


@dataclass(frozen=True)
class CusdecProfile:
    sender_id: str
    recipient_id: str
    syntax: str = "UNOW"
    """UNB syntax identifier: the character set the member's system reads."""
    syntax_version: int = 4


def control_reference(delivery_id: str) -> str:
    """The UNB control reference (an..14) of a delivery: stable across retries."""
    return "C" + hashlib.sha256(delivery_id.encode()).hexdigest()[:13].upper()


def reference_value(identifier: str) -> str:
    """An identifier as an RFF reference (an..35): a UUID as its 32 hex digits."""
    if _UUID.match(identifier):
        return identifier.replace("-", "").upper()
    if _COMPACT_UUID.match(identifier):
        raise PermanentDeliveryError(f"identifier {identifier!r} would read back as a UUID",
                                     code="adapter.delivery.payload")
    return identifier


def reference_id(value: str) -> str:
    """The identifier an RFF reference stands for (inverse of :func:`reference_value`)."""
    return str(uuid.UUID(value)) if _COMPACT_UUID.match(value) else value


def element(segment: Segment, index: int, part: int = 0) -> str:
    """Component *part* of data element *index* of a segment, "" if absent."""
    elements = values(segment)
    if index >= len(elements) or part >= len(elements[index]):
        return ""
    return elements[index][part]


def _parts(text: str, size: int, most: int, what: str) -> list[str]:
    """*text* in pieces of *size* characters, at most *most* of them."""
    pieces = [text[i:i + size] for i in range(0, len(text), size)] or [""]
    if len(pieces) > most:
        raise PermanentDeliveryError(f"{what} is {len(text)} characters long, more than "
                                     f"{size * most} fit in D.96B", code="adapter.delivery.payload")
    return pieces


def _free_text(qualifier: str, text: str, most: int, what: str) -> list[Segment]:
    """FTX segments (4440: 5 x an..70 each) holding *text*, at most *most* of them."""
    pieces = _parts(text, 70, 5 * most, what)
    return [Segment("FTX", qualifier, "", "", pieces[i:i + 5]) for i in range(0, len(pieces), 5)]


def _elements(root: etree._Element, path: str) -> list[etree._Element]:
    """The elements *path* selects (lxml types XPath results as Any)."""
    found: list[etree._Element] = root.xpath(path)
    return found


def _first(root: etree._Element, path: str) -> str | None:
    found = _elements(root, path)
    value = " ".join((found[0].text or "").split()) if found else ""
    return value or None


def _ln(*names: str) -> str:
    return "/".join(f"*[local-name()='{n}']" for n in names)


def _either(*names: str) -> str:
    return "*[" + " or ".join(f"local-name()='{n}'" for n in names) + "]"


def _quantity(node: etree._Element | None, what: str, attribute: str,
              pattern: re.Pattern[str]) -> tuple[str, str] | None:
    """(value, unit or currency) of a UBL measure or amount, exactly as written."""
    if node is None:
        return None
    value, unit = (node.text or "").strip(), node.get(attribute, "")
    if not _DECIMAL.match(value):
        raise PermanentDeliveryError(f"{what} {value!r} is not a decimal number",
                                     code="adapter.delivery.payload")
    if not pattern.match(unit):
        raise PermanentDeliveryError(f"{what} {value} has no valid {attribute} ({unit!r})",
                                     code="adapter.delivery.payload")
    return value, unit


def _measures(root: etree._Element, base: str) -> list[Segment]:
    out = []
    for name, qualifier in (("GrossWeightMeasure", "AAB"), ("NetWeightMeasure", "AAA")):
        nodes = _elements(root, f"({base}/{_ln(name)})[1]")
        found = _quantity(nodes[0] if nodes else None, name, "unitCode", _UNIT)
        if found:
            out.append(Segment("MEA", "WT", qualifier, [found[1], found[0]]))
    return out


def _amount(root: etree._Element, path: str, qualifier: str, what: str) -> list[Segment]:
    nodes = _elements(root, f"({path})[1]")
    found = _quantity(nodes[0] if nodes else None, what, "currencyID", re.compile(r"[A-Z]{3}\Z"))
    return [Segment("MOA", [qualifier, found[0], found[1]])] if found else []


def render_cusdec(envelope: DeliveryEnvelope, profile: CusdecProfile, *,
                  now: datetime | None = None) -> bytes:
    """One CUSDEC interchange for a UBL customs declaration (the sealed document), checked
    against D.96B and encoded in the profile's character set."""
    code = DECLARATION_CODES.get(envelope.document_type)
    if code is None:
        raise PermanentDeliveryError(f"{envelope.document_type} is not a customs declaration",
                                     code="adapter.delivery.payload")
    try:
        root = parse_xml(envelope.document).getroot()
    except XmlError as exc:
        raise PermanentDeliveryError(f"the sealed document cannot be read: {exc.message}",
                                     code="adapter.delivery.payload") from exc
    declaration = _first(root, _ln("ID")) or reference_value(envelope.document_id)
    body = [Segment("BGM", code, declaration, "9"),
            Segment("LOC", "35", envelope.route[0]), Segment("LOC", "28", envelope.route[-1])]
    issued = _first(root, _ln("IssueDate"))
    if issued and re.fullmatch(r"\d{4}-\d{2}-\d{2}", issued):
        body.append(Segment("DTM", ["137", issued.replace("-", ""), "102"]))
    body += _measures(root, f"//{_either('Shipment', 'Consignment')}")
    body += [Segment("FTX", "AAI", "", "ROUTE", "-".join(envelope.route)),
             Segment("FTX", "ACB", "", "SHA256", envelope.original_sha256.upper()),
             Segment("RFF", ["ACW", reference_value(envelope.delivery_id)]),
             Segment("RFF", ["SRN", reference_value(envelope.shipment_id)]),
             Segment("RFF", ["ABT", reference_value(envelope.document_id),
                             str(envelope.document_version)])]
    for qualifier, party in (("EX", "ExporterParty"), ("IM", "ImporterParty"),
                             ("DT", "DeclarantParty")):
        base = f"//{_ln(party)}"
        name = _first(root, f"{base}/{_ln('PartyName', 'Name')}")
        if name:
            pid = _first(root, f"{base}/{_ln('PartyIdentification', 'ID')}") or ""
            body.append(Segment("NAD", qualifier, pid, "", _parts(name, 35, 5, "party name")))
    body += _amount(root, f"//{_ln('TotalInvoiceAmount')}", "39", "TotalInvoiceAmount")
    body.append(Segment("UNS", "D"))
    for number, item in enumerate(_elements(root, f"//{_ln('GoodsItem')}"), start=1):
        commodity = _first(item, f".//{_ln('CommodityClassification')}/"
                                 f"{_either('CommodityCode', 'ItemClassificationCode')}")
        body.append(Segment("CST", str(number), [commodity, "122"] if commodity else ""))
        description = _first(item, _ln("Description")) or _first(item, _ln("Item", "Description"))
        if description:
            body += _free_text("AAA", description, 9, f"goods item {number} description")
        body += _measures(item, ".")
        body += _amount(item, _ln("DeclaredCustomsValueAmount"), "40",
                        "DeclaredCustomsValueAmount")
    body.append(Segment("UNS", "S"))
    return write_interchange([("CUSDEC", body)], envelope=Envelope(
        profile.sender_id, profile.recipient_id, control_reference(envelope.delivery_id),
        (now or datetime.now(UTC)).replace(tzinfo=None), profile.syntax, profile.syntax_version))


def render_cusres(decisions: Sequence[CustomsDecision], *, sender_id: str, recipient_id: str,
                  control_ref: str, now: datetime | None = None, syntax: str = "UNOW",
                  syntax_version: int = 4) -> bytes:
    """A CUSRES interchange (what a national system sends back; used by the kit and tests)."""
    messages = []
    for d in decisions:
        body = [Segment("BGM", "962", d.customs_reference or "", "9")]
        if d.issued_at:
            body.append(Segment("DTM", ["137", d.issued_at.astimezone(UTC).strftime(
                "%Y%m%d%H%M"), "203"]))
        if d.text:
            body += _free_text("AAI", d.text, 9, "decision text")
        body.append(Segment("GIS", _GIS[d.kind]))
        for qualifier, value in (("ACW", d.delivery_id), ("SRN", d.shipment_id),
                                 ("ABT", d.document_id), ("GU", d.guarantee_reference)):
            if value:
                body.append(Segment("RFF", [qualifier, reference_value(value)]))
        for reason in d.reasons:
            body += [Segment("ERP", "1"), Segment("ERC", reason.code)]
            if reason.text:
                body += _free_text("AAO", reason.text, 99, "reason text")
        for line in d.duty_lines:
            function = "5" if line.tax_type == "customs-duty" else "7"
            body += [Segment("TAX", function, _TAX_CODES.get(line.tax_type, line.tax_type), "",
                             "", ["", "", "", line.rate]),
                     Segment("MOA", ["125", line.base, line.currency]),
                     Segment("MOA", ["124", line.amount, line.currency])]
        # (a decision has both a guarantee amount and its currency, or neither)
        if d.guarantee_amount is not None and d.guarantee_currency is not None:
            body += [Segment("DOC", [_GUARANTEE, "", "", "GUARANTEE"]),
                     Segment("MOA", [_GUARANTEE, d.guarantee_amount, d.guarantee_currency])]
        messages.append(("CUSRES", body))
    return write_interchange(messages, envelope=Envelope(
        sender_id, recipient_id, control_ref,
        (now or datetime.now(UTC)).replace(tzinfo=None), syntax, syntax_version))


def read_cusres(data: bytes | str, *, country: str, source: str = "CUSRES",
                expected_sender: str | None = None,
                expected_recipient: str | None = None) -> tuple[CustomsDecision, ...]:
    """Decisions from one CUSRES interchange (bytes decoded as its UNB says); anything
    malformed -> MalformedCusresError naming the segment."""
    ix = read_interchange(data, source=source)
    if expected_sender and ix.sender != expected_sender:
        raise MalformedCusresError(f"sent by {ix.sender!r}, expected {expected_sender!r}",
                                   source=source, segment=1)
    if expected_recipient and ix.recipient != expected_recipient:
        raise MalformedCusresError(f"addressed to {ix.recipient!r}, not {expected_recipient!r}",
                                   source=source, segment=1)
    return tuple(_decision(msg, start, country, ix.control_ref, source, ix.decimal_mark)
                 for start, msg in ix.messages)


def _decision(segments: list[Segment], start: int, country: str, control: str,
              source: str, mark: str) -> CustomsDecision:
    ref = element(segments[0], 0)

    def number(s: Segment, index: int, part: int) -> str:  # as written, "." for the mark
        value = element(s, index, part)
        return value.replace(",", ".") if mark == "," else value

    def fail(message: str, offset: int) -> MalformedCusresError:
        return MalformedCusresError(f"message {ref!r}: {message}", source=source,
                                    segment=start + offset)

    if element(segments[0], 1, 0) != "CUSRES" or [element(segments[0], 1, i)
                                                    for i in (1, 2, 3)] != ["D", "96B", "UN"]:
        raise fail(f"is {':'.join(values(segments[0])[1])}, not CUSRES:D:96B:UN", 0)
    problem = structure_problem([s.tag for s in segments], "CUSRES")
    if problem is not None:
        raise fail(problem[1], problem[0])
    heading = next(i for i, s in enumerate(segments)  # GIS of groups come after these
                   if s.tag in ("NAD", "RFF", "ERP", "TAX", "DOC", "CNT", "AUT", "UNT"))
    kinds = [(i, element(s, 0)) for i, s in enumerate(segments[:heading]) if s.tag == "GIS"]
    if len(kinds) != 1 or kinds[0][1] not in _KIND_BY_GIS:
        raise fail("needs exactly one GIS with one of " + ", ".join(_KIND_BY_GIS),
                   kinds[0][0] if kinds else 1)
    refs: dict[str, str] = {}
    reasons: list[Reason] = []
    texts: list[str] = []
    lines: list[DutyLine] = []
    issued: datetime | None = None
    section = "head"
    tax: tuple[int, str, str] | None = None
    moa: dict[str, tuple[str, str]] = {}
    guarantee: tuple[str, str] | None = None

    def close_tax() -> None:
        nonlocal tax, moa
        if tax is None:
            return
        at, tax_type, rate = tax
        if "125" not in moa or "124" not in moa:
            raise fail("TAX without MOA+125 (base) and MOA+124 (amount)", at)
        (base, cur_b), (amount, cur_a) = moa["125"], moa["124"]
        if cur_a != cur_b:
            raise fail("base and amount in different currencies", at)
        try:
            lines.append(DutyLine(tax_type, base, rate, amount, cur_a))
        except ValueError as exc:
            raise fail(f"bad duty line: {exc}", at) from exc
        tax, moa = None, {}

    for i, s in enumerate(segments):
        if s.tag == "DOC":  # SG6; what follows belongs to it (SG7..SG12) until the next DOC
            close_tax()
            section = "DOC" if element(s, 0, 0) == _GUARANTEE else "OTHER-DOC"
            continue
        if section not in ("DOC", "OTHER-DOC") and (
                s.tag in ("ERP", "TAX") or (s.tag == "RFF" and section == "head")):
            close_tax()
            section = "SG3" if s.tag == "RFF" else s.tag
        if s.tag == "RFF" and section == "SG3":
            refs[element(s, 0, 0)] = reference_id(element(s, 0, 1))
        elif s.tag == "FTX" and section == "head" and element(s, 0) == "AAI":
            texts.append("".join(values(s)[3]) if len(s.elements) > 3 else "")
        elif s.tag == "ERC" and section == "ERP":
            reasons.append(Reason(element(s, 0, 0)))
        elif s.tag == "FTX" and section == "ERP" and element(s, 0) == "AAO":
            if not reasons:
                raise fail("FTX+AAO reason text without ERC", i)
            text = "".join(values(s)[3]) if len(s.elements) > 3 else ""
            reasons[-1] = Reason(reasons[-1].code, reasons[-1].text + text)
        elif s.tag == "DTM" and section == "head" and element(s, 0, 0) == "137":
            try:
                issued = datetime.strptime(element(s, 0, 1), "%Y%m%d%H%M").replace(tzinfo=UTC)
            except ValueError:
                raise fail(f"bad DTM date {element(s, 0, 1)!r}", i) from None
        elif s.tag == "TAX" and section == "TAX":
            if not element(s, 1, 0):
                raise fail("TAX without a tax type", i)
            tax = (i, _TAX_BY_CODE.get(element(s, 1, 0), element(s, 1, 0)), number(s, 4, 3))
        elif s.tag == "MOA" and section in ("TAX", "DOC"):
            qualifier, amount, currency = element(s, 0, 0), number(s, 0, 1), element(s, 0, 2)
            if not _DECIMAL.match(amount):
                raise fail(f"MOA amount {amount!r} is not a decimal", i)
            if section == "TAX":
                moa[qualifier] = (amount, currency)
            elif qualifier == _GUARANTEE:
                if guarantee is not None:
                    raise fail(f"more than one MOA+{_GUARANTEE} (guarantee amount)", i)
                guarantee = (amount, currency)
    close_tax()
    try:
        return CustomsDecision(
            kind=_KIND_BY_GIS[kinds[0][1]], country=country,
            decision_id=f"{country}-{control}-{ref}",
            customs_reference=element(segments[1], 1) or None, delivery_id=refs.get("ACW"),
            shipment_id=refs.get("SRN"), document_id=refs.get("ABT"), issued_at=issued,
            reasons=tuple(reasons), duty_lines=tuple(lines),
            guarantee_reference=refs.get("GU"),
            guarantee_amount=guarantee[0] if guarantee else None,
            guarantee_currency=guarantee[1] if guarantee else None,
            text="".join(texts) or None)
    except ValueError as exc:
        raise fail(str(exc), 0) from exc
