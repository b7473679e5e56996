"""Reading shipments back, within what the caller may see: one shipment, a page of them, a
shipment's event log, one stored document.

Every query carries the caller's :class:`~exchange.store.Scope` (from
:func:`exchange.parties.keys.scope_of`); a shipment outside it is the same
:class:`~exchange.documents.errors.ShipmentNotFound` as a missing one, with the same words.
Each function reads in one transaction of its own (one snapshot) and answers with values:
the JSON views of :mod:`exchange.documents.views`, or frozen dataclasses; never ORM rows.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from exchange.audit import verify_chain
from exchange.config import DossierSettings
from exchange.documents.errors import CursorInvalid, DocumentNotFound, ShipmentNotFound
from exchange.documents.views import PaymentsView, event_view, shipment_summary, shipment_view
from exchange.i18n import t
from exchange.store import Scope, ShipmentFilter, UnitOfWork, UnitOfWorkFactory
from exchange.store.models import DocumentRow, ShipmentRow

if TYPE_CHECKING:
    from adapters.members import Members

__all__ = [
    "DocumentFile",
    "DocumentQuery",
    "DocumentReport",
    "DocumentVersion",
    "EventsQuery",
    "ShipmentPage",
    "ShipmentQuery",
    "ShipmentsQuery",
    "document_file",
    "document_report",
    "list_shipments",
    "read_shipment",
    "readable_shipments",
    "shipment_events",
    "track_shipment",
]


# -------------------------------------------------------------------- shipments
@dataclass(frozen=True)
class ShipmentQuery:
    shipment_id: str
    scope: Scope


def readable_shipments(uow: UnitOfWork, scope: Scope, shipment_ids: Sequence[str]) -> set[str]:
    """Which of *shipment_ids* a caller with *scope* may read: those every query here
    answers for (the rest are :class:`ShipmentNotFound` to it). Event notifications go
    through this too, so a party is told only of what it could read."""
    return uow.shipments.readable(scope, shipment_ids)


def _shipment(uow: UnitOfWork, query: ShipmentQuery, *, legs: bool = True) -> ShipmentRow:
    row = uow.shipments.get(query.shipment_id, query.scope, legs=legs)
    if row is None:
        raise ShipmentNotFound(t("no shipment {shipment_id}", shipment_id=query.shipment_id))
    return row


def read_shipment(query: ShipmentQuery, *, uow_factory: UnitOfWorkFactory,
                  dossier: DossierSettings, payments: PaymentsView) -> dict[str, Any]:
    """The shipment's view (:func:`~exchange.documents.views.shipment_view`): legs, documents
    with their reports, the dossier's checks, payments."""
    with uow_factory.reading() as uow:
        row = _shipment(uow, query)
        return shipment_view(row, uow.documents.for_shipment(row.id), dossier,
                             payments=payments(uow.ledger, row))


def track_shipment(query: ShipmentQuery, *, uow_factory: UnitOfWorkFactory,
                   dossier: DossierSettings, payments: PaymentsView, members: Members
                   ) -> dict[str, Any]:
    """The shipment's view with what followed it: its deliveries and customs decisions (a
    customs officer's scope sees only their country's), and payments per leg with each
    member's currency."""
    country = query.scope.country
    with uow_factory.reading() as uow:
        row = _shipment(uow, query)
        view = shipment_view(row, uow.documents.for_shipment(row.id), dossier,
                             payments=payments(uow.ledger, row, members=members))
        deliveries = [d for d in uow.deliveries.for_shipment(row.id)
                      if country is None or d.country == country]
        view["deliveries"] = [
            {"id": d.id, "country": d.country, "adapter": d.adapter, "status": d.status,
             "attempts": d.attempts, "reason": d.reason, "last_error": d.last_error,
             "document_id": d.document_id, "receipt_reference": d.receipt_reference,
             "updated_at": d.updated_at} for d in deliveries]
        view["decisions"] = [dict(json.loads(d.decision_json), source=d.source,
                                  created_at=d.created_at, actor_id=d.actor_id)
                             for d in uow.decisions.for_shipment(row.id, country=country)]
        return view


@dataclass(frozen=True)
class ShipmentsQuery:
    """A page of the shipments in *scope*, newest first; *cursor* continues a page."""

    scope: Scope
    limit: int = 50
    cursor: str | None = None
    with_legs: bool = False
    """Add each leg's country and status to the items (the dashboard's list shows them)."""
    search: str | None = None
    """Only shipments whose references hold this text (or whose id starts with it)."""
    through: str | None = None
    """Only shipments routed through this country."""
    leg_status: str | None = None
    """Only shipments with a leg in this status (in *through*, when given)."""
    with_total: bool = False
    """Count every shipment that matches (``ShipmentPage.total``)."""


@dataclass(frozen=True)
class ShipmentPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None
    """How many match, over every page (when the query asked: ``with_total``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def list_shipments(query: ShipmentsQuery, *, uow_factory: UnitOfWorkFactory) -> ShipmentPage:
    """Summaries (:func:`~exchange.documents.views.shipment_summary`) of one page;
    :class:`CursorInvalid` for a cursor this server did not give out."""
    with uow_factory.reading() as uow:
        filters = ShipmentFilter(search=query.search, through=query.through,
                                 leg_status=query.leg_status)
        try:
            rows, cursor = uow.shipments.page(query.scope, limit=query.limit,
                                              cursor=query.cursor, filters=filters)
        except ValueError as exc:
            raise CursorInvalid(t("the page cursor is not one this server gave out")) from None
        items = []
        for row in rows:
            item = shipment_summary(row)
            if query.with_legs:
                item["legs"] = [{"country": leg.country, "status": leg.status,
                                 "role": leg.role} for leg in row.legs]
            items.append(item)
        total = uow.shipments.count_in(query.scope, filters) if query.with_total else None
        return ShipmentPage(items, cursor, total)


# ------------------------------------------------------------------------ events
@dataclass(frozen=True)
class EventsQuery:
    """The shipment's events after sequence number *after*, at most *limit* of them."""

    shipment_id: str
    scope: Scope
    after: int = 0
    limit: int = 200


def shipment_events(query: EventsQuery, *, uow_factory: UnitOfWorkFactory) -> dict[str, Any]:
    """``events`` (oldest first, with their chain hashes) and ``next_after`` (None on the last
    page); a read of the whole log from its start also checks the hash chain (``chain``)."""
    with uow_factory.reading() as uow:
        _shipment(uow, ShipmentQuery(query.shipment_id, query.scope), legs=False)
        rows = uow.events.list(query.shipment_id, after=query.after, limit=query.limit)
        out: dict[str, Any] = {
            "events": [event_view(r) for r in rows],
            "next_after": rows[-1].seq if len(rows) == query.limit else None}
        if query.after == 0 and len(rows) < query.limit:
            broken = verify_chain(query.shipment_id, rows, uow.events.head(query.shipment_id))
            out["chain"] = {"intact": broken is None,
                            "break": str(broken) if broken else None}
        return out


# --------------------------------------------------------------------- documents
class DocumentVersion(StrEnum):
    ORIGINAL = "original"
    """The bytes as received."""
    SEALED = "sealed"
    """As sealed by the hub (refused documents have none)."""


@dataclass(frozen=True)
class DocumentQuery:
    shipment_id: str
    document_id: str
    scope: Scope


@dataclass(frozen=True)
class DocumentFile:
    """One version of a stored document, byte for byte, and the name to save it under."""

    data: bytes
    sha256: str
    media_type: str
    filename: str


@dataclass(frozen=True)
class DocumentReport:
    """A stored document as received, with its validation and signature reports."""

    id: str
    shipment_id: str
    document_type: str
    filename: str | None
    version: int
    sha256: str
    size: int
    validation: dict[str, Any]
    signature: dict[str, Any]
    original: bytes


def _document(uow: UnitOfWork, query: DocumentQuery) -> DocumentRow:
    _shipment(uow, ShipmentQuery(query.shipment_id, query.scope), legs=False)
    row = uow.documents.get(query.shipment_id, query.document_id, with_bytes=True)
    if row is None:
        raise DocumentNotFound(t("no document {document_id} in shipment {shipment_id}",
                                 document_id=query.document_id, shipment_id=query.shipment_id))
    return row


def document_file(query: DocumentQuery, *, version: DocumentVersion,
                  uow_factory: UnitOfWorkFactory) -> DocumentFile:
    """The original or the sealed bytes; :class:`DocumentNotFound` when the document has no
    such version."""
    with uow_factory.reading() as uow:
        row = _document(uow, query)
    sealed = version is DocumentVersion.SEALED
    data = row.sealed if sealed else row.original
    if data is None:
        raise DocumentNotFound(t("this document has no sealed version"))
    name = row.filename or f"{row.root}-{row.id}.xml"
    return DocumentFile(data=data, sha256=(row.sealed_sha256 if sealed else row.sha256) or "",
                        media_type=row.media_type,
                        filename=f"sealed-{name}" if sealed else name)


def document_report(query: DocumentQuery, *, uow_factory: UnitOfWorkFactory
                    ) -> DocumentReport:
    with uow_factory.reading() as uow:
        row = _document(uow, query)
    return DocumentReport(
        id=row.id, shipment_id=row.shipment_id, document_type=row.root, filename=row.filename,
        version=row.version, sha256=row.sha256, size=row.size,
        validation=json.loads(row.validation_report),
        signature=json.loads(row.signature_report), original=row.original)
