"""UN/EDIFACT for legacy national systems: UBL declarations -> CUSDEC, CUSRES -> decisions.

Built with pydifact (segments, escaping, parsing); never by string concatenation.

The CAREC profile (a subset of the D.96B directory, syntax UNOW version 4, UTF-8):

CUSDEC (one message per interchange; control reference derived from the delivery id, so
a receiver can drop a re-sent interchange)::

    UNB+UNOW:4+<sender>+<recipient>+<yymmdd>:<hhmm>+<control ref>'
    UNH+1+CUSDEC:D:96B:UN'
    BGM+<830 export | 929 import | 950 transit>+<declaration ID>+9'
    DTM+137:<issue date>:102'
    RFF+ACW:<delivery id>'  RFF+SRN:<shipment id>'  RFF+ABT:<document id>:<version>'
    LOC+35+<origin>'  LOC+28+<destination>'  FTX+AAI+++ROUTE:<KZ-UZ-AF>'
    FTX+ACB+++SHA256:<original sha256>'
    NAD+EX|IM|DT+<party id>++<name>'           (exporter, importer, declarant)
    MOA+39:<total invoice amount>:<currency>'   MEA+WT+AAB+KGM:<gross weight>'
    UNS+D'
    CST+<n>+<commodity code>:122'  FTX+AAA+++<description>'  MOA+40:<customs value>:<cur>'
    UNS+S'  UNT+<count>+1'  UNZ+1+<control ref>'

CUSRES (one message per decision; several messages per interchange allowed)::

    UNB+UNOW:4+<customs id>+<hub id>+<yymmdd>:<hhmm>+<control ref>'
    UNH+<ref>+CUSRES:D:96B:UN'
    BGM+962+<customs reference>+9'
    GIS+<ACK|ACC|REJ|HLD|QRY|ASM|GUA|REL>'
    DTM+137:<yyyymmddhhmm>:203'                 (optional)
    RFF+ACW:<delivery id>'  RFF+SRN:<shipment id>'  RFF+ABT:<document id>'  RFF+GU:<guarantee>'
    ERC+<reason code>'  FTX+AAO+++<reason text>'   (rejection reasons, repeatable)
    FTX+AAI+++<text>'                           (free text, e.g. a query)
    TAX+<5 duty | 7 tax>+<CUD|VAT|EXC|other>+++:::<rate>'  MOA+125:<base>:<cur>'
    MOA+124:<amount>:<cur>'                     (one group per duty line)
    MOA+ZZZ:<amount>:<cur>'                     (outside TAX groups: the amount a
                                                 guarantee covers; ZZZ, "mutually
                                                 defined", is this profile's qualifier)
    UNT+<count>+<ref>'  UNZ+<messages>+<control ref>'
"""
from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from pydifact.parser import Parser
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from adapters.contract import CustomsDecision, DecisionKind, DeliveryEnvelope, DutyLine, Reason
from adapters.errors import MalformedCusresError, PermanentDeliveryError
from signing.safexml import XmlError, parse_xml

__all__ = ["DECLARATION_CODES", "CusdecProfile", "control_reference", "render_cusdec",
           "render_cusres", "read_cusres", "parse_segments", "element"]

SYNTAX = ("UNOW", 4)
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
_GUARANTEE_MOA = "ZZZ"
_TAX_CODES = {"customs-duty": "CUD", "vat": "VAT", "excise": "EXC"}
_TAX_BY_CODE = {v: k for k, v in _TAX_CODES.items()}
_DECIMAL = re.compile(r"-?\d+(\.\d+)?\Z")


@dataclass(frozen=True)
class CusdecProfile:
    sender_id: str
    recipient_id: str


def control_reference(delivery_id: str) -> str:
    """The UNB control reference (an..14) of a delivery: stable across retries."""
    return "C" + hashlib.sha256(delivery_id.encode()).hexdigest()[:13].upper()


def _elements(root: etree._Element, path: str) -> list[etree._Element]:
    """The elements *path* selects (lxml types XPath results as Any; these paths select
    elements only)."""
    found: list[etree._Element] = root.xpath(path)
    return found


def _first(root: etree._Element, path: str) -> str | None:
    found: list[etree._Element | str] = root.xpath(path)
    if not found:
        return None
    value = found[0] if isinstance(found[0], str) else found[0].text
    value = (value or "").strip()
    return value or None


def _ln(*names: str) -> str:
    return "/".join(f"*[local-name()='{n}']" for n in names)


def render_cusdec(envelope: DeliveryEnvelope, profile: CusdecProfile, *,
                  now: datetime | None = None) -> str:
    """One CUSDEC interchange for a UBL customs declaration (the sealed document)."""
    code = DECLARATION_CODES.get(envelope.document_type)
    if code is None:
        raise PermanentDeliveryError(f"{envelope.document_type} is not a customs declaration",
                                     code="adapter.delivery.payload")
    try:
        root = parse_xml(envelope.document).getroot()
    except XmlError as exc:
        raise PermanentDeliveryError(f"the sealed document cannot be read: {exc.message}",
                                     code="adapter.delivery.payload") from exc
    ref = control_reference(envelope.delivery_id)
    ix = Interchange(profile.sender_id, profile.recipient_id, ref, SYNTAX,
                     timestamp=(now or datetime.now(UTC)).replace(tzinfo=None))
    msg = Message("1", ["CUSDEC", "D", "96B", "UN"])
    seg = msg.add_segment
    seg(Segment("BGM", code, _first(root, _ln("ID")) or envelope.document_id, "9"))
    issued = _first(root, _ln("IssueDate"))
    if issued and re.fullmatch(r"\d{4}-\d{2}-\d{2}", issued):
        seg(Segment("DTM", ["137", issued.replace("-", ""), "102"]))
    seg(Segment("RFF", ["ACW", envelope.delivery_id]))
    seg(Segment("RFF", ["SRN", envelope.shipment_id]))
    seg(Segment("RFF", ["ABT", envelope.document_id, str(envelope.document_version)]))
    seg(Segment("LOC", "35", envelope.route[0]))
    seg(Segment("LOC", "28", envelope.route[-1]))
    seg(Segment("FTX", "AAI", "", "", "ROUTE:" + "-".join(envelope.route)))
    seg(Segment("FTX", "ACB", "", "", "SHA256:" + envelope.original_sha256))
    for qualifier, party in (("EX", "ExporterParty"), ("IM", "ImporterParty"),
                             ("DT", "DeclarantParty")):
        base = f"//{_ln(party)}"
        name = _first(root, f"{base}/{_ln('PartyName', 'Name')}")
        if name:
            pid = _first(root, f"{base}/{_ln('PartyIdentification', 'ID')}") or ""
            seg(Segment("NAD", qualifier, pid, "", name))
    total = _elements(root, f"//{_ln('TotalInvoiceAmount')}")
    amount = (total[0].text or "").strip() if total else ""
    if _DECIMAL.match(amount):
        seg(Segment("MOA", ["39", amount, total[0].get("currencyID", "")]))
    gross = _first(root, f"//{_ln('Consignment', 'GrossWeightMeasure')}")
    if gross and _DECIMAL.match(gross):
        seg(Segment("MEA", "WT", "AAB", ["KGM", gross]))
    seg(Segment("UNS", "D"))
    for number, item in enumerate(_elements(root, f"//{_ln('GoodsItem')}"), start=1):
        commodity = _first(item, f".//{_ln('CommodityClassification', 'CommodityCode')}")
        seg(Segment("CST", str(number), [commodity or "", "122"]))
        description = _first(item, _ln("Description"))
        if description:
            seg(Segment("FTX", "AAA", "", "", description[:512]))
        value = _elements(item, _ln("DeclaredCustomsValueAmount"))
        declared = (value[0].text or "").strip() if value else ""
        if _DECIMAL.match(declared):
            seg(Segment("MOA", ["40", declared, value[0].get("currencyID", "")]))
    seg(Segment("UNS", "S"))
    ix.add_message(msg)
    return ix.serialize(break_lines=True)


def render_cusres(decisions: Sequence[CustomsDecision], *, sender_id: str, recipient_id: str,
                  control_ref: str, now: datetime | None = None) -> str:
    """A CUSRES interchange (what a national system sends back; used by the kit and tests)."""
    ix = Interchange(sender_id, recipient_id, control_ref, SYNTAX,
                     timestamp=(now or datetime.now(UTC)).replace(tzinfo=None))
    for number, d in enumerate(decisions, start=1):
        msg = Message(str(number), ["CUSRES", "D", "96B", "UN"])
        seg = msg.add_segment
        seg(Segment("BGM", "962", d.customs_reference or "", "9"))
        seg(Segment("GIS", _GIS[d.kind]))
        if d.issued_at:
            seg(Segment("DTM", ["137", d.issued_at.astimezone(UTC).strftime("%Y%m%d%H%M"),
                                "203"]))
        for qualifier, value in (("ACW", d.delivery_id), ("SRN", d.shipment_id),
                                 ("ABT", d.document_id), ("GU", d.guarantee_reference)):
            if value:
                seg(Segment("RFF", [qualifier, value]))
        # (a decision has both a guarantee amount and its currency, or neither)
        if d.guarantee_amount is not None and d.guarantee_currency is not None:
            seg(Segment("MOA", [_GUARANTEE_MOA, d.guarantee_amount, d.guarantee_currency]))
        for reason in d.reasons:
            seg(Segment("ERC", reason.code))
            if reason.text:
                seg(Segment("FTX", "AAO", "", "", reason.text))
        if d.text:
            seg(Segment("FTX", "AAI", "", "", d.text))
        for line in d.duty_lines:
            function = "5" if line.tax_type == "customs-duty" else "7"
            seg(Segment("TAX", function, _TAX_CODES.get(line.tax_type, line.tax_type), "", "",
                        ["", "", "", line.rate]))
            seg(Segment("MOA", ["125", line.base, line.currency]))
            seg(Segment("MOA", ["124", line.amount, line.currency]))
        ix.add_message(msg)
    return ix.serialize(break_lines=True)


def parse_segments(text: str, source: str) -> list[Segment]:
    """All segments of an interchange (pydifact); MalformedCusresError if it cannot parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(Parser().parse(text))
    except Exception as exc:  # pydifact raises several types for bad syntax
        raise MalformedCusresError(f"not an EDIFACT interchange: {exc}", source=source) \
            from exc


def element(segment: Segment, index: int, part: int | None = None) -> str:
    """Data element *index* of a segment (component *part* of a composite), "" if absent."""
    elements = segment.elements
    if index >= len(elements):
        return ""
    value = elements[index]
    if part is not None:
        if isinstance(value, list):
            return value[part] if part < len(value) and value[part] else ""
        return value if part == 0 and isinstance(value, str) else ""
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


def read_cusres(text: str, *, country: str, source: str = "CUSRES",
                expected_sender: str | None = None,
                expected_recipient: str | None = None) -> tuple[CustomsDecision, ...]:
    """Decisions from one CUSRES interchange; anything malformed -> MalformedCusresError."""
    segments = [s for s in parse_segments(text, source) if s.tag != "UNA"]
    if not segments or segments[0].tag != "UNB":
        raise MalformedCusresError("the interchange does not start with UNB", source=source,
                                   segment=1)
    unb, unz = segments[0], segments[-1]
    if unz.tag != "UNZ":
        raise MalformedCusresError("the interchange does not end with UNZ", source=source,
                                   segment=len(segments))
    control = element(unb, 4)
    if not control or element(unz, 1) != control:
        raise MalformedCusresError(f"UNZ control reference {element(unz, 1)!r} does not match "
                                   f"UNB {control!r}", source=source, segment=len(segments))
    sender, recipient = element(unb, 1, 0), element(unb, 2, 0)
    if expected_sender and sender != expected_sender:
        raise MalformedCusresError(f"sent by {sender!r}, expected {expected_sender!r}",
                                   source=source, segment=1)
    if expected_recipient and recipient != expected_recipient:
        raise MalformedCusresError(f"addressed to {recipient!r}, not {expected_recipient!r}",
                                   source=source, segment=1)
    messages: list[tuple[int, list[Segment]]] = []
    current: list[Segment] | None = None
    start = 0
    for position, segment in enumerate(segments[1:-1], start=2):
        if segment.tag == "UNH":
            if current is not None:
                raise MalformedCusresError("UNH before the previous message's UNT",
                                           source=source, segment=position)
            current, start = [segment], position
        elif current is None:
            raise MalformedCusresError(f"{segment.tag} outside a message", source=source,
                                       segment=position)
        else:
            current.append(segment)
            if segment.tag == "UNT":
                messages.append((start, current))
                current = None
    if current is not None:
        raise MalformedCusresError("a message has no UNT", source=source, segment=start)
    if not messages:
        raise MalformedCusresError("the interchange holds no message", source=source)
    if element(unz, 0) != str(len(messages)):
        raise MalformedCusresError(f"UNZ counts {element(unz, 0)} messages, found {len(messages)}",
                                   source=source, segment=len(segments))
    return tuple(_decision(msg, start, country, control, source) for start, msg in messages)


def _decision(segments: list[Segment], start: int, country: str, control: str,
              source: str) -> CustomsDecision:
    unh, unt = segments[0], segments[-1]
    ref = element(unh, 0)
    if element(unh, 1, 0) != "CUSRES":
        raise MalformedCusresError(f"message {ref!r} is {element(unh, 1, 0)!r}, not CUSRES",
                                   source=source, segment=start)
    if element(unt, 0) != str(len(segments)) or element(unt, 1) != ref:
        raise MalformedCusresError(f"UNT of message {ref!r} does not match (count "
                                   f"{element(unt, 0)}, found {len(segments)})", source=source,
                                   segment=start + len(segments) - 1)
    body = segments[1:-1]

    def fail(message: str, offset: int) -> MalformedCusresError:
        return MalformedCusresError(f"message {ref!r}: {message}", source=source,
                                    segment=start + offset)

    gis = [(i, s) for i, s in enumerate(body, start=1) if s.tag == "GIS"]
    bgm = [s for s in body if s.tag == "BGM"]
    if not bgm:
        raise fail("no BGM segment", 0)
    if len(gis) != 1 or element(gis[0][1], 0) not in _KIND_BY_GIS:
        raise fail("needs exactly one GIS with one of " + ", ".join(_KIND_BY_GIS),
                   gis[0][0] if gis else 0)
    kind = _KIND_BY_GIS[element(gis[0][1], 0)]
    refs: dict[str, str] = {}
    reasons: list[Reason] = []
    texts: list[str] = []
    lines: list[DutyLine] = []
    issued: datetime | None = None
    pending_tax: tuple[int, str, str] | None = None
    moa: dict[str, tuple[str, str]] = {}
    guarantee: tuple[str, str] | None = None

    def close_tax() -> None:
        nonlocal pending_tax, moa
        if pending_tax is None:
            return
        at, tax_type, rate = pending_tax
        if "125" not in moa or "124" not in moa:
            raise fail("TAX without MOA+125 (base) and MOA+124 (amount)", at)
        (base, cur_b), (amount, cur_a) = moa["125"], moa["124"]
        if cur_a != cur_b:
            raise fail("base and amount in different currencies", at)
        try:
            lines.append(DutyLine(tax_type, base, rate, amount, cur_a))
        except ValueError as exc:
            raise fail(f"bad duty line: {exc}", at) from exc
        pending_tax, moa = None, {}

    for i, s in enumerate(body, start=1):
        if s.tag == "RFF":
            refs[element(s, 0, 0)] = element(s, 0, 1)
        elif s.tag == "ERC":
            reasons.append(Reason(element(s, 0, 0) or "unspecified"))
        elif s.tag == "FTX" and element(s, 0) == "AAO":
            if not reasons:
                raise fail("FTX+AAO reason text without ERC", i)
            reasons[-1] = Reason(reasons[-1].code, element(s, 3, 0))
        elif s.tag == "FTX" and element(s, 0) == "AAI":
            texts.append(element(s, 3, 0))
        elif s.tag == "DTM" and element(s, 0, 0) == "137":
            try:
                issued = datetime.strptime(element(s, 0, 1), "%Y%m%d%H%M").replace(tzinfo=UTC)
            except ValueError:
                raise fail(f"bad DTM date {element(s, 0, 1)!r}", i) from None
        elif s.tag == "TAX":
            close_tax()
            code = element(s, 1, 0)
            if not code:
                raise fail("TAX without a tax type", i)
            pending_tax = (i, _TAX_BY_CODE.get(code, code), element(s, 4, 3))
        elif s.tag == "MOA":
            qualifier, amount, currency = element(s, 0, 0), element(s, 0, 1), element(s, 0, 2)
            if not _DECIMAL.match(amount):
                raise fail(f"MOA amount {amount!r} is not a decimal", i)
            if qualifier == _GUARANTEE_MOA:
                close_tax()
                if guarantee is not None:
                    raise fail(f"more than one MOA+{_GUARANTEE_MOA} (guarantee amount)", i)
                guarantee = (amount, currency)
                continue
            if pending_tax is None:
                raise fail(f"MOA+{qualifier} outside a TAX group", i)
            moa[qualifier] = (amount, currency)
    close_tax()
    try:
        return CustomsDecision(
            kind=kind, country=country, decision_id=f"{country}-{control}-{ref}",
            customs_reference=element(bgm[0], 1) or None, delivery_id=refs.get("ACW"),
            shipment_id=refs.get("SRN"), document_id=refs.get("ABT"), issued_at=issued,
            reasons=tuple(reasons), duty_lines=tuple(lines),
            guarantee_reference=refs.get("GU"),
            guarantee_amount=guarantee[0] if guarantee else None,
            guarantee_currency=guarantee[1] if guarantee else None,
            text="\n".join(texts) or None)
    except ValueError as exc:
        raise fail(str(exc), 0) from exc


