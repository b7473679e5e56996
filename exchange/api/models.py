"""The answers of the API as models: what ``/openapi.json`` promises and a generated client
gets as classes. Routes keep building their JSON with the services' views and name the model
as their ``response_model``: FastAPI checks each answer against it.

Every model allows members beyond those it names (``extra="allow"``): an answer may grow a
member without breaking a client. Nested reports whose shape belongs to a feature (a
validation or signature report, the dossier's checks, a payments block) are JSON objects.
Times are RFC 3339 with an offset (:data:`Timestamp`)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from adapters.contract import DecisionKind
from exchange.delivery.outbox import DeliveryStatus
from exchange.payments.balances import PaymentState

__all__ = [
    "CamtImportOut", "DecisionOut", "DeliveryListOut", "DeliveryOut", "DocumentOut",
    "EventsOut", "InboxOut", "OperatorDeliveriesOut", "PaymentAnswerOut", "PaymentsOut",
    "ShipmentOut", "ShipmentPageOut", "ShipmentSummaryOut", "SubmissionOut", "Timestamp",
    "UnmatchedOut",
]

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                           "description": "RFC 3339, with its UTC offset"})]
"""A time as the API sends it (kept as sent; its schema says ``date-time``)."""

JsonObject = dict[str, Any]  # Any: a report or block whose shape is its feature's


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class RouteOut(Out):
    origin: str
    transit: list[str]
    destination: str


class LegOut(Out):
    seq: int | None = None
    country: str
    role: str
    status: str


class ShipmentSummaryOut(Out):
    """A shipment as listed (without its documents)."""

    id: str
    forwarder_id: str
    transport_mode: str
    references: dict[str, str]
    route: RouteOut
    status: str
    created_at: Timestamp
    links: dict[str, str]


class DocumentOut(Out):
    """A document of a shipment, with its validation and signature reports."""

    id: str
    document_type: str | None
    namespace: str | None
    pack: str | None
    pack_version: str | None
    version: int
    supersedes: str | None
    superseded_by: str | None
    current: bool
    filename: str | None
    media_type: str
    sha256: str
    size: int
    sealed_sha256: str | None
    submitted_by: str | None
    created_at: Timestamp
    links: dict[str, str]
    validation: JsonObject | None = None
    signature: JsonObject | None = None


class ShipmentOut(ShipmentSummaryOut):
    """One shipment tracked: legs, documents with their reports, totals, the dossier's
    cross-document checks, the payment status."""

    legs: list[LegOut]
    documents: list[DocumentOut]
    totals: dict[str, int]
    dossier: JsonObject
    payments: JsonObject | None


class ShipmentPageOut(Out):
    items: list[ShipmentSummaryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on "
                                                "the last")


class RefusalOut(Out):
    code: str
    title: str
    detail: str | None = None


class SubmissionOut(Out):
    """A document submitted: accepted (201) or a duplicate of one already there (200)."""

    status: Literal["accepted", "duplicate"]
    id: str | None = None
    version: int | None = None
    duplicate_of: str | None = None
    filename: str | None
    sha256: str
    size: int
    document_type: str | None
    validation: JsonObject
    signature: JsonObject
    refusal: RefusalOut | None = None
    links: dict[str, str]


class EventOut(Out):
    seq: int
    kind: str
    actor_id: str | None
    occurred_at: Timestamp
    data: JsonObject
    prev_hash: str
    hash: str


class ChainOut(Out):
    intact: bool
    break_: str | None = Field(alias="break")


class EventsOut(Out):
    events: list[EventOut]
    next_after: int | None = Field(description="pass as ?after= for the next page")
    chain: ChainOut | None = Field(default=None, description="the hash chain checked (on a "
                                                             "read of the whole log)")


class DeliveryOut(Out):
    """A document's delivery to one country's customs system."""

    id: str
    shipment_id: str
    document_id: str
    first_document_id: str
    country: str
    adapter: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Timestamp | None
    last_error: str | None
    reason: str | None
    receipt_reference: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    first_sent_at: Timestamp | None
    completed_at: Timestamp | None


class DeliveryListOut(Out):
    shipment_id: str
    items: list[DeliveryOut]


class OperatorDeliveriesOut(Out):
    items: list[DeliveryOut]
    counts: dict[str, int] = Field(description="deliveries by status")


class InboxItemOut(DeliveryOut):
    shipment: ShipmentSummaryOut
    document: DocumentOut
    links: dict[str, str]


class InboxOut(Out):
    country: str
    items: list[InboxItemOut]


class DecisionLegOut(Out):
    country: str
    role: str
    status: str


class DecisionOut(Out):
    """A customs decision as recorded (201), or the same decision already recorded (200)."""

    decision_id: str
    kind: DecisionKind
    legs: list[DecisionLegOut]
    signature: JsonObject | None


class PaymentsOut(Out):
    """A shipment's payment status per leg and for the shipment, a page of its ledger
    entries (newest first) and its accepted guarantees."""

    shipment_id: str
    state: PaymentState
    overdue: bool
    legs: list[JsonObject]
    entries: list[JsonObject]
    next_before: int | None
    guarantees: list[JsonObject]
    links: dict[str, str]


class PaymentAnswerOut(Out):
    recorded: bool = Field(description="false: this reference was recorded before (200)")
    entry: JsonObject
    payments: JsonObject


class CamtImportOut(Out):
    message_id: str
    version: str
    transactions: int
    counts: dict[str, int]


class UnmatchedItemOut(Out):
    key: str
    message_id: str
    reason: str
    message: str
    received_at: Timestamp
    transaction: JsonObject


class UnmatchedOut(Out):
    items: list[UnmatchedItemOut]
