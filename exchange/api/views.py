"""Mapping rows to the JSON the API answers with (kept apart from the ORM rows)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..config import DossierSettings
from ..customs import shipment_status
from ..domain import Route
from ..dossier import DocumentFacts, check_dossier
from ..store.models import DocumentRow, EventRow, ShipmentRow

__all__ = ["document_view", "event_view", "route_of", "shipment_summary", "shipment_view"]


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
        "status": shipment_status(row.legs), "created_at": row.created_at.isoformat(),
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
        "submitted_by": row.submitted_by, "created_at": row.created_at.isoformat(),
        "links": {"original": base, "sealed": f"{base}?version=sealed"},
    }
    if reports:
        out["validation"] = json.loads(row.validation_report)
        out["signature"] = json.loads(row.signature_report)
    return out


def shipment_view(row: ShipmentRow, documents: Sequence[DocumentRow],
                  dossier: DossierSettings) -> dict[str, Any]:
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
    out["payments"] = _payments(row)
    out["links"]["payments"] = f"/v1/shipments/{row.id}/payments"
    return out


def _payments(row: ShipmentRow) -> dict[str, Any] | None:
    """Payment status and outstanding amounts per leg (from the ledger's stored sums)."""
    from sqlalchemy.orm import object_session

    from ..payments import payments_view
    from ..store.ledger import LedgerRepository

    session = object_session(row)
    return None if session is None else payments_view(LedgerRepository(session), row)


def event_view(row: EventRow) -> dict[str, Any]:
    return {"seq": row.seq, "kind": row.kind, "actor_id": row.actor_id,
            "occurred_at": row.occurred_at, "data": json.loads(row.data_json),
            "prev_hash": row.prev_hash, "hash": row.hash}
