"""XML messages of the exchange's own: the delivery envelope and the customs answers.

Schemas: ``schemas/xsd/delivery-envelope.xsd`` and ``schemas/xsd/customs-response.xsd``.
Reading always goes through :func:`signing.safexml.parse_xml` then the XSD; any problem is
an :class:`~adapters.errors.InvalidMessageError` with a stable code and the line.
"""
from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from adapters.contract import (
    CustomsDecision,
    DecisionKind,
    DeliveryEnvelope,
    DutyLine,
    EnvelopeSigner,
    Reason,
)
from adapters.errors import InvalidMessageError
from schemas import project_schema
from signing.safexml import UnsafeXmlError, XmlError, compile_schema, parse_xml

__all__ = [
    "DS_NS",
    "ENVELOPE_MEDIA_TYPE",
    "ENVELOPE_NS",
    "RESPONSE_MEDIA_TYPE",
    "RESPONSE_NS",
    "Receipt",
    "envelope_element",
    "parse_message",
    "read_decisions",
    "read_envelope",
    "read_receipt",
    "render_decision",
    "render_decisions",
    "render_envelope",
    "render_receipt",
    "validate_message",
]

ENVELOPE_NS = "urn:carec:exchange:delivery-envelope:1"
RESPONSE_NS = "urn:carec:exchange:customs-response:1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ENVELOPE_MEDIA_TYPE = "application/vnd.carec.delivery-envelope+xml"
RESPONSE_MEDIA_TYPE = "application/vnd.carec.customs-response+xml"

_E = f"{{{ENVELOPE_NS}}}"
_R = f"{{{RESPONSE_NS}}}"
_R_LEN = len(_R)


_compiled = threading.local()


def _schema(name: str) -> etree.XMLSchema:
    """Our own XSD, compiled once per thread. A compiled libxml2 schema keeps per-validation
    state (and lxml its error log) in the object, so one shared between the dispatcher's
    threads crashed the process when two threads validated at once; these schemas are
    small, so each thread gets its own rather than a lock to queue on."""
    schemas: dict[str, etree.XMLSchema] = _compiled.__dict__.setdefault("by_name", {})
    schema = schemas.get(name)
    if schema is None:
        schema = schemas[name] = compile_schema(str(project_schema(name)))
    return schema


def parse_message(data: bytes, *, schema: str, root: str,
                  source: str = "message") -> etree._ElementTree:
    """Safe parse + XSD validation of one of our messages; *root* is the expected tag."""
    return validate_message(_parse(data, source), schema=schema, root=root, source=source)


def _parse(data: bytes, source: str) -> etree._ElementTree:
    """Safe parse; InvalidMessageError (unsafe or malformed) with the line."""
    try:
        return parse_xml(data)
    except UnsafeXmlError as exc:
        raise InvalidMessageError(f"{source}: unsafe XML: {exc.message}",
                                  code="adapter.message.unsafe", line=exc.line,
                                  column=exc.column) from exc
    except XmlError as exc:
        raise InvalidMessageError(f"{source}: {exc.message}",
                                  code="adapter.message.malformed", line=exc.line,
                                  column=exc.column) from exc


def validate_message(tree: etree._ElementTree, *, schema: str, root: str,
                     source: str = "message") -> etree._ElementTree:
    top = tree.getroot()
    if top.tag != root:
        raise InvalidMessageError(f"{source}: root element is {top.tag!s}, expected {root}",
                                  code="adapter.message.invalid", line=top.sourceline)
    xsd = _schema(schema)
    if not xsd.validate(tree):
        err = xsd.error_log.filter_from_errors()[0]
        raise InvalidMessageError(f"{source}: not valid against {schema}: {err.message}",
                                  code="adapter.message.invalid", line=err.line,
                                  column=err.column)
    return tree


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- delivery envelope -------------------------------------------------------------------

def render_envelope(envelope: DeliveryEnvelope, *, hub_id: str = "CARECHUB") -> bytes:
    """The unsigned envelope XML (deterministic for a given envelope)."""
    return _bytes(envelope_element(envelope, hub_id=hub_id))


def envelope_element(envelope: DeliveryEnvelope, *, hub_id: str = "CARECHUB"
                     ) -> etree._Element:
    """The unsigned envelope as an element (validate it before serialising)."""
    root = etree.Element(f"{_E}DeliveryEnvelope", nsmap={None: ENVELOPE_NS})
    root.set("version", "1")
    _sub(root, f"{_E}DeliveryId", envelope.delivery_id)
    _sub(root, f"{_E}Attempt", str(envelope.attempt))
    _sub(root, f"{_E}Hub", hub_id)
    shipment = _sub(root, f"{_E}Shipment")
    _sub(shipment, f"{_E}ShipmentId", envelope.shipment_id)
    route = _sub(shipment, f"{_E}Route")
    for code in envelope.route:
        _sub(route, f"{_E}Country", code)
    _sub(root, f"{_E}SenderCountry", envelope.sender_country)
    _sub(root, f"{_E}ReceiverCountry", envelope.receiver_country)
    doc = _sub(root, f"{_E}Document")
    _sub(doc, f"{_E}DocumentId", envelope.document_id)
    _sub(doc, f"{_E}Version", str(envelope.document_version))
    _sub(doc, f"{_E}Type", envelope.document_type)
    _sub(doc, f"{_E}OriginalSha256", envelope.original_sha256)
    _sub(doc, f"{_E}SealedSha256", envelope.sealed_sha256)
    content = _sub(doc, f"{_E}Content", base64.b64encode(envelope.document).decode("ascii"))
    content.set("mediaType", "application/xml")
    return root


def read_envelope(data: bytes, *, source: str = "envelope") -> tuple[
        DeliveryEnvelope, etree._ElementTree]:
    """Envelope from bytes (safe parse, XSD, digest check); also returns the tree for
    signature verification."""
    tree = parse_message(data, schema="delivery-envelope.xsd", root=f"{_E}DeliveryEnvelope",
                         source=source)
    root = tree.getroot()

    def text(path: str) -> str:
        return root.findtext(path, namespaces={"e": ENVELOPE_NS}) or ""

    content = root.find("e:Document/e:Content", namespaces={"e": ENVELOPE_NS})
    if content is None:  # (the XSD requires it)
        raise InvalidMessageError(f"{source}: no document content",
                                  code="adapter.message.invalid", line=root.sourceline)
    try:
        document = base64.b64decode("".join((content.text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMessageError(f"{source}: document content is not base64",
                                  code="adapter.message.invalid",
                                  line=content.sourceline) from exc
    try:
        envelope = DeliveryEnvelope(
            delivery_id=text("e:DeliveryId"), attempt=int(text("e:Attempt")),
            document_id=text("e:Document/e:DocumentId"),
            document_version=int(text("e:Document/e:Version")),
            shipment_id=text("e:Shipment/e:ShipmentId"),
            route=tuple(el.text or "" for el in root.iterfind(
                "e:Shipment/e:Route/e:Country", namespaces={"e": ENVELOPE_NS})),
            sender_country=text("e:SenderCountry"), receiver_country=text("e:ReceiverCountry"),
            document_type=text("e:Document/e:Type"), document=document,
            original_sha256=text("e:Document/e:OriginalSha256"),
        )
    except ValueError as exc:
        raise InvalidMessageError(f"{source}: {exc}", code="adapter.message.inconsistent") \
            from exc
    if envelope.sealed_sha256 != text("e:Document/e:SealedSha256"):
        raise InvalidMessageError(f"{source}: document content does not match SealedSha256",
                                  code="adapter.message.inconsistent",
                                  line=content.sourceline)
    return envelope, tree


# --- receipts and decisions --------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """A national system's synchronous answer to one pushed envelope."""

    delivery_id: str
    status: str
    """received | received-with-warnings | duplicate | rejected"""
    reference: str | None = None
    warnings: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    decisions: tuple[CustomsDecision, ...] = ()


def _decision_element(decision: CustomsDecision) -> etree._Element:
    el = etree.Element(f"{_R}Decision", nsmap={None: RESPONSE_NS})
    _sub(el, f"{_R}DecisionId", decision.decision_id)
    _sub(el, f"{_R}Kind", str(decision.kind))
    _sub(el, f"{_R}Country", decision.country)
    for tag, value in (("CustomsReference", decision.customs_reference),
                       ("DeliveryId", decision.delivery_id),
                       ("ShipmentId", decision.shipment_id),
                       ("DocumentId", decision.document_id),
                       ("IssuedAt", decision.issued_at.isoformat() if decision.issued_at
                        else None)):
        if value is not None:
            _sub(el, f"{_R}{tag}", value)
    for reason in decision.reasons:
        _reason(el, reason)
    for line in decision.duty_lines:
        d = _sub(el, f"{_R}DutyLine")
        for tag, value in (("TaxType", line.tax_type), ("Base", line.base), ("Rate", line.rate),
                           ("Amount", line.amount), ("Currency", line.currency)):
            _sub(d, f"{_R}{tag}", value)
    if decision.guarantee_reference is not None:
        _sub(el, f"{_R}GuaranteeReference", decision.guarantee_reference)
    if decision.guarantee_amount is not None:
        _sub(el, f"{_R}GuaranteeAmount", decision.guarantee_amount).set(
            "currency", decision.guarantee_currency or "")
    if decision.text is not None:
        _sub(el, f"{_R}Text", decision.text)
    return el


def _reason(parent: etree._Element, reason: Reason) -> None:
    r = _sub(parent, f"{_R}Reason")
    _sub(r, f"{_R}Code", reason.code)
    if reason.text:
        _sub(r, f"{_R}Text", reason.text)


def _texts(el: etree._Element) -> dict[str, str]:
    """The text of each child element of *el* in the response namespace, by local name (the
    first of each name; "" when empty, as ``findtext``): one pass over the children instead
    of one path search per field."""
    out: dict[str, str] = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith(_R):  # not comments or PIs
            out.setdefault(tag[_R_LEN:], child.text or "")
    return out


def _read_reasons(el: etree._Element) -> tuple[Reason, ...]:
    return tuple(Reason(t.get("Code", ""), t.get("Text", ""))
                 for t in (_texts(r) for r in el.iterchildren(f"{_R}Reason")))


def _read_decision(el: etree._Element, source: str,
                   signed_xml: bytes | None = None) -> CustomsDecision:
    fields = _texts(el)
    opt = fields.get
    guarantee = el.find(f"{_R}GuaranteeAmount")
    try:
        issued = opt("IssuedAt")
        return CustomsDecision(
            kind=DecisionKind(fields.get("Kind", "")), country=opt("Country") or "",
            decision_id=opt("DecisionId") or "", customs_reference=opt("CustomsReference"),
            delivery_id=opt("DeliveryId"), shipment_id=opt("ShipmentId"),
            document_id=opt("DocumentId"),
            issued_at=datetime.fromisoformat(issued) if issued else None,
            reasons=_read_reasons(el),
            duty_lines=tuple(
                DutyLine(*(line.get(t, "") for t in
                           ("TaxType", "Base", "Rate", "Amount", "Currency")))
                for line in (_texts(d) for d in el.iterchildren(f"{_R}DutyLine"))),
            guarantee_reference=opt("GuaranteeReference"),
            guarantee_amount=None if guarantee is None else guarantee.text or "",
            guarantee_currency=None if guarantee is None else guarantee.get("currency"),
            text=opt("Text"),
            signed_xml=signed_xml if el.find(f"{{{DS_NS}}}Signature") is not None else None,
        )
    except ValueError as exc:
        raise InvalidMessageError(f"{source}: decision: {exc}",
                                  code="adapter.message.inconsistent",
                                  line=el.sourceline) from exc


def render_decisions(decisions: Iterable[CustomsDecision], *,
                     signer: EnvelopeSigner | None = None) -> bytes:
    """A CustomsDecisions list; with *signer* each decision is signed on its own and carried
    as SignedDecision."""
    root = etree.Element(f"{_R}CustomsDecisions", nsmap={None: RESPONSE_NS})
    for decision in decisions:
        if signer is None:
            root.append(_decision_element(decision))
        else:
            signed = signer.sign(render_decision(decision))
            _sub(root, f"{_R}SignedDecision", base64.b64encode(signed).decode("ascii"))
    return _bytes(root)


def render_decision(decision: CustomsDecision) -> bytes:
    """One decision as its own document (the form a customs authority signs)."""
    return _bytes(_decision_element(decision))


def read_decisions(data: bytes, *, source: str = "decisions") -> tuple[CustomsDecision, ...]:
    """A CustomsDecisions list, or a single (possibly signed) Decision document."""
    tree = _parse(data, source)
    root_tag = tree.getroot().tag
    if root_tag == f"{_R}Decision":
        validate_message(tree, schema="customs-response.xsd", root=root_tag, source=source)
        return (_read_decision(tree.getroot(), source, signed_xml=data),)
    validate_message(tree, schema="customs-response.xsd", root=f"{_R}CustomsDecisions",
                     source=source)
    out: list[CustomsDecision] = []
    for el in tree.getroot():
        if el.tag == f"{_R}Decision":
            out.append(_read_decision(el, source))
            continue
        try:
            signed = base64.b64decode("".join((el.text or "").split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidMessageError(f"{source}: SignedDecision is not base64",
                                      code="adapter.message.invalid",
                                      line=el.sourceline) from exc
        inner = parse_message(signed, schema="customs-response.xsd", root=f"{_R}Decision",
                              source=f"{source} (signed decision, line {el.sourceline})")
        out.append(_read_decision(inner.getroot(), source, signed_xml=signed))
    return tuple(out)


def render_receipt(receipt: Receipt) -> bytes:
    root = etree.Element(f"{_R}DeliveryReceipt", nsmap={None: RESPONSE_NS})
    _sub(root, f"{_R}DeliveryId", receipt.delivery_id)
    _sub(root, f"{_R}Status", receipt.status)
    if receipt.reference is not None:
        _sub(root, f"{_R}ReceiptReference", receipt.reference)
    for warning in receipt.warnings:
        _sub(root, f"{_R}Warning", warning)
    for reason in receipt.reasons:
        _reason(root, reason)
    for decision in receipt.decisions:
        root.append(_decision_element(decision))
    return _bytes(root)


def read_receipt(data: bytes, *, source: str = "receipt") -> Receipt:
    tree = parse_message(data, schema="customs-response.xsd", root=f"{_R}DeliveryReceipt",
                         source=source)
    root = tree.getroot()
    fields = _texts(root)
    status = fields.get("Status", "")
    reasons = _read_reasons(root)
    if status == "rejected" and not reasons:
        raise InvalidMessageError(f"{source}: a rejected receipt carries no Reason",
                                  code="adapter.message.inconsistent", line=root.sourceline)
    return Receipt(
        delivery_id=fields.get("DeliveryId", ""), status=status,
        reference=fields.get("ReceiptReference"),
        warnings=tuple(w.text or "" for w in root.iterchildren(f"{_R}Warning")),
        reasons=reasons,
        decisions=tuple(_read_decision(el, source)
                        for el in root.iterchildren(f"{_R}Decision")),
    )
