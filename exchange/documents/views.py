"""Mapping rows to the JSON the API answers with (kept apart from the ORM rows); pure
functions, no database."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from exchange.config import DossierSettings
from exchange.documents.dossier import DocumentFacts, check_dossier
from exchange.documents.status import shipment_status
from exchange.domain import Route, rfc3339
from exchange.store.models import DocumentRow, EventRow, ShipmentRow

if TYPE_CHECKING:
    from adapters.members import Members
    from exchange.store.ledger import LedgerRepository

__all__ = [
    "PaymentsView",
    "document_view",
    "event_view",
    "route_of",
    "shipment_summary",
    "shipment_view",
]


class PaymentsView(Protocol):
    """The payments block of a shipment's view, read from the ledger in the reader's unit of
    work: :func:`exchange.payments.views.payments_view`, handed in by the entry point (the
    payments feature imports this one, so this one does not import it)."""

    def __call__(self, ledger: LedgerRepository, shipment: ShipmentRow, *,
                 members: Members | None = ...) -> Mapping[str, object]: ...


def route_of(row: ShipmentRow) -> Route:
    countries = [leg.country for leg in row.legs]
    return Route(origin=countries[0], destination=countries[-1], transit=tuple(countries[1:-1]))


def _base(row: ShipmentRow) -> dict[str, Any]:
    route = route_of(row)
    return {
        "id": row.id, "forwarder_id": row.forwarder_id, "transport_mode": row.transport_mode,
        "references": json.loads(row.references_json),
        "route": {"origin": route.origin, "transit": list(route.transit),
                  "destination": route.destination},
        "status": shipment_status(row.legs), "created_at": rfc3339(row.created_at),
        "links": {"self": f"/v1/shipments/{row.id}",
                  "events": f"/v1/shipments/{row.id}/events"},
    }


def shipment_summary(row: ShipmentRow) -> dict[str, Any]:
    return _base(row)


def document_view(row: DocumentRow, superseded_by: str | None = None, *,
                  reports: bool = True) -> dict[str, Any]:
    base = f"/v1/shipments/{row.shipment_id}/documents/{row.id}"
    out: dict[str, Any] = {
        "id": row.id, "document_type": row.root, "namespace": row.namespace,
        "pack": row.pack, "pack_version": row.pack_version, "version": row.version,
        "supersedes": row.supersedes_id, "superseded_by": superseded_by,
        "current": superseded_by is None, "filename": row.filename, "media_type": row.media_type,
        "sha256": row.sha256, "size": row.size, "sealed_sha256": row.sealed_sha256,
        "submitted_by": row.submitted_by, "created_at": rfc3339(row.created_at),
        "links": {"original": base, "sealed": f"{base}?version=sealed"},
    }
    if reports:
        out["validation"] = json.loads(row.validation_report)
        out["signature"] = json.loads(row.signature_report)
    return out


def shipment_view(row: ShipmentRow, documents: Sequence[DocumentRow],
                  dossier: DossierSettings, *, payments: Mapping[str, object] | None
                  ) -> dict[str, Any]:
    """One shipment with its legs, documents (each with its reports), totals, the dossier's
    cross-document checks and *payments* (see :class:`PaymentsView`)."""
    out = _base(row)
    out["legs"] = [{"seq": leg.seq, "country": leg.country, "role": leg.role,
                    "status": leg.status} for leg in row.legs]
    superseded = {d.supersedes_id: d.id for d in documents if d.supersedes_id}
    docs = [document_view(d, superseded.get(d.id)) for d in documents]
    current = [d for d in documents if d.id not in superseded]
    out["documents"] = docs
    out["totals"] = {"documents": len(documents), "current_documents": len(current),
                     "bytes": sum(d.size for d in documents),
                     "signed": sum(1 for d in docs if d["signature"].get("present"))}
    facts = [(d.id, DocumentFacts.from_dict(json.loads(d.facts_json))) for d in current]
    out["dossier"] = check_dossier(facts, route_of(row), dossier).to_dict()
    out["payments"] = payments
    out["links"]["payments"] = f"/v1/shipments/{row.id}/payments"
    return out


def event_view(row: EventRow) -> dict[str, Any]:
    return {"seq": row.seq, "kind": row.kind, "actor_id": row.actor_id,
            "occurred_at": row.occurred_at, "data": json.loads(row.data_json),
            "prev_hash": row.prev_hash, "hash": row.hash}
