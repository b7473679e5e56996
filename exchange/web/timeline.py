"""A shipment's timeline: its hash-chained event log in the reader's words.

Each event (:func:`exchange.documents.tracking.shipment_events`) becomes one line: when (in the
reader's zone), what happened (a sentence in the reader's language), who did it (the party's
name; a decision the hub's help desk keyed in says so) and, where it helps, a reference. A
delivery's technical error never appears here (it may name a server's folders): the operator
reads it on the operator's page.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exchange.i18n import Text, format_money, render, t
from exchange.web.words import word

__all__ = ["TimelineItem", "document_word", "timeline"]

DOCUMENT_TYPES: dict[str, Text] = {
    "Waybill": t("Waybill"), "ExportCustomsDeclaration": t("Export declaration"),
    "ImportCustomsDeclaration": t("Import declaration"),
    "TransitCustomsDeclaration": t("Transit declaration"), "Invoice": t("Commercial invoice"),
    "PackingList": t("Packing list"), "CertificateOfOrigin": t("Certificate of origin"),
    "BillOfLading": t("Bill of lading"), "ForwardingInstructions": t("Forwarding instructions"),
}


def document_word(root: str | None) -> Text | str:
    """A document type (its root element) in words: ``ExportCustomsDeclaration`` ->
    "Export declaration"; an unknown one with its words spaced out."""
    if not root:
        return t("Document")
    return DOCUMENT_TYPES.get(root) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", root)


@dataclass(frozen=True)
class TimelineItem:
    seq: int
    kind: str
    occurred_at: Any
    text: Text
    actor: str | None
    """The acting party's name (None: the exchange itself)."""
    keyed_in_for: str | None = None
    reference: str | None = None


def _money(data: Mapping[str, Any] | None, locale: str) -> str:
    from decimal import Decimal

    if not data or data.get("amount") is None:
        return "–"
    return format_money(Decimal(str(data["amount"])), str(data.get("currency")), locale)


def _describe(kind: str, data: Mapping[str, Any], locale: str) -> tuple[Text, str | None]:
    country = str(data.get("country") or "")
    document = render(document_word(data.get("document_type")), locale)
    if kind == "shipment.created":
        return t("Shipment created for the route {route}",
                 route=" → ".join(data.get("route") or [])), None
    if kind == "document.accepted":
        return t("{document} accepted and sealed by the exchange (version {version})",
                 document=document, version=data.get("version") or 1), None
    if kind == "document.refused":
        return t("A document was refused; nothing of it was kept"), None
    if kind == "document.duplicate":
        return t("The same document was sent again; the first one is kept"), None
    if kind == "delivery.queued":
        return t("{document} queued for the customs of {country}", document=document,
                 country=country), None
    if kind == "delivery.amended":
        return t("The amended document replaces the one queued for {country}",
                 country=country), None
    if kind == "delivery.retrying":
        return t("Delivery to {country} did not get through; the exchange will try again",
                 country=country), None
    if kind == "delivery.dead":
        return t("Delivery to {country} failed; the operator has been told and will send it "
                 "again", country=country), None
    if kind == "delivery.replayed":
        return t("The operator sent the delivery to {country} again", country=country), None
    if kind == "delivery.acknowledged":
        return t("The customs of {country} acknowledged receipt", country=country), \
            data.get("reference")
    if kind.startswith("delivery."):
        status = render(word(kind.removeprefix("delivery."), "delivery"), locale)
        return t("Delivery to {country}: {status}", country=country, status=status), \
            data.get("receipt_reference")
    if kind.startswith("customs."):
        status = render(word(data.get("leg_status") or kind.removeprefix("customs."), "leg"),
                        locale)
        return t("Customs of {country}: {status}", country=country, status=status), \
            data.get("customs_reference")
    entry = data.get("entry") or {}
    country = str(entry.get("country") or country)
    if kind == "payments.assessment":
        return t("Customs of {country} assessed {amount}; payment reference {reference}",
                 country=country, amount=_money(entry.get("amount"), locale),
                 reference=entry.get("reference") or "–"), entry.get("customs_reference")
    if kind == "payments.payment":
        return t("Payment of {amount} received for {country}", country=country,
                 amount=_money(entry.get("amount"), locale)), entry.get("reference")
    if kind == "payments.refund":
        return t("Refund of {amount} for {country}", country=country,
                 amount=_money(entry.get("amount"), locale)), entry.get("reference")
    if kind == "payments.adjustment":
        return t("Adjustment of {amount} for {country}", country=country,
                 amount=_money(entry.get("amount"), locale)), None
    if kind == "payments.guarantee":
        return t("Guarantee of {amount} accepted for {country}", country=country,
                 amount=_money(data.get("amount"), locale)), data.get("reference")
    return t("Recorded: {what}", what=kind.replace(".", " ").replace("_", " ")), None


def timeline(events: list[dict[str, Any]], *, names: Mapping[str, str], locale: str
             ) -> list[TimelineItem]:
    """The timeline's lines, newest first, for a reader in *locale*."""
    out = []
    for event in events:
        data = event.get("data") or {}
        text, reference = _describe(str(event["kind"]), data, locale)
        actor = event.get("actor_id")
        out.append(TimelineItem(
            seq=int(event["seq"]), kind=str(event["kind"]), occurred_at=event["occurred_at"],
            text=text, actor=names.get(actor, actor) if actor else None,
            keyed_in_for=data.get("on_behalf_of"),
            reference=str(reference) if reference else None))
    return list(reversed(out))
