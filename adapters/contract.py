"""The adapter contract: what the dispatcher hands an adapter and what it gets back.

An adapter turns a :class:`DeliveryEnvelope` (one sealed document for one receiving
country) into the national payload (:meth:`Adapter.render`), delivers it
(:meth:`Adapter.deliver`) and maps the national answers back to :class:`CustomsDecision`
values (:meth:`Adapter.parse_response`, :meth:`Adapter.collect_decisions`). Adapters never
touch the database: everything they need is in the envelope, their settings and the
:class:`AdapterContext`.

Outcome of ``deliver``:

* returns :class:`DeliveryResult` -- ``delivered``, ``delivered-with-warnings``,
  ``acknowledged``, ``awaiting-pull`` (inbox: the receiver pulls it) or ``rejected``
  (the receiver refused the document; ``reason`` says why; do not retry the same version);
* raises :class:`RetryableDeliveryError` -- try again later with the same delivery id;
* raises :class:`PermanentDeliveryError` -- retrying cannot help: dead letter.

Every delivery id is stable across retries and replays; adapters pass it to the receiver
(HTTP ``Idempotency-Key`` header, EDIFACT interchange reference) so duplicates are dropped.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import ClassVar, Protocol, TypedDict, runtime_checkable

from adapters.errors import (
    AdapterError, DeliveryError, PermanentDeliveryError, ResponseError, RetryableDeliveryError,
)
from adapters.settings import Setting, SettingValue

__all__ = [
    "DeliveryEnvelope", "RenderedPayload", "DeliveryStatus", "DeliveryResult", "DecisionKind",
    "Reason", "DutyLine", "CustomsDecision", "DecisionBatch", "EnvelopeSigner",
    "AdapterContext", "Adapter", "AdapterFactory", "ReasonDict", "DutyLineDict",
    "CustomsDecisionDict",
    "AdapterError", "DeliveryError", "RetryableDeliveryError", "PermanentDeliveryError",
    "ResponseError",
]

_COUNTRY = re.compile(r"[A-Z]{2}\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}\Z")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class DeliveryEnvelope:
    """One sealed document on its way to one receiving country."""

    delivery_id: str
    """Stable across retries and replays (the receiver's idempotency key)."""
    document_id: str
    document_version: int
    shipment_id: str
    route: tuple[str, ...]
    """Ordered member codes: origin, transit countries..., destination."""
    sender_country: str
    receiver_country: str
    document_type: str
    """Local name of the UBL root element, e.g. ``ExportCustomsDeclaration``."""
    document: bytes = field(repr=False)
    """The sealed document bytes, exactly as stored (never re-serialised)."""
    original_sha256: str
    """SHA-256 (lowercase hex) of the document as the forwarder submitted it."""
    attempt: int = 1

    def __post_init__(self) -> None:
        for name in ("delivery_id", "document_id", "shipment_id"):
            _check(bool(_ID.match(getattr(self, name))),
                   f"{name} must be 1-128 letters, digits, '.', '_', ':' or '-'")
        object.__setattr__(self, "route", tuple(self.route))
        for code in (*self.route, self.sender_country, self.receiver_country):
            _check(bool(_COUNTRY.match(code)), f"{code!r} is not an ISO 3166 alpha-2 code")
        _check(self.receiver_country in self.route, "receiver_country is not on the route")
        _check(self.document_version >= 1 and self.attempt >= 1,
               "document_version and attempt start at 1")
        _check(bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", self.document_type)),
               "document_type must be an XML local name")
        _check(bool(self.document), "document bytes are empty")
        _check(bool(_SHA256.match(self.original_sha256)),
               "original_sha256 must be 64 lowercase hex digits")

    @property
    def sealed_sha256(self) -> str:
        return hashlib.sha256(self.document).hexdigest()


@dataclass(frozen=True)
class RenderedPayload:
    """The national payload an adapter produced from an envelope."""

    media_type: str
    body: bytes = field(repr=False)
    filename: str | None = None


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    DELIVERED_WITH_WARNINGS = "delivered-with-warnings"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_PULL = "awaiting-pull"
    REJECTED = "rejected"


@dataclass(frozen=True)
class DeliveryResult:
    """What a receiver said about one delivery attempt that reached it."""

    status: DeliveryStatus
    delivery_id: str
    reason: str | None = None
    """Why the receiver rejected it (required when status is rejected)."""
    warnings: tuple[str, ...] = ()
    receipt_reference: str | None = None
    """The receiver's own reference for the receipt, if any."""
    duplicate: bool = False
    """The receiver had seen this delivery id before (and dropped the copy)."""
    decisions: tuple[CustomsDecision, ...] = ()
    """Decisions that came back in the same answer (e.g. the acknowledgement)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", DeliveryStatus(self.status))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "decisions", tuple(self.decisions))
        _check(self.status is not DeliveryStatus.REJECTED or bool(self.reason),
               "a rejected delivery needs a reason")

    @property
    def rejected(self) -> bool:
        return self.status is DeliveryStatus.REJECTED


class DecisionKind(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    HOLD = "hold"
    """Held for inspection."""
    QUERY = "query"
    """Customs asks the declarant a question; the text says what."""
    ASSESSMENT = "assessment"
    GUARANTEE_ACCEPTED = "guarantee-accepted"
    RELEASED = "released"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str = ""


def _decimal_text(value: str, name: str) -> str:
    _check(isinstance(value, str), f"{name} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a decimal number") from None
    _check(number.is_finite() and bool(re.fullmatch(r"-?\d+(\.\d+)?", value)),
           f"{name} {value!r} must be written like 1234.50")
    return value


@dataclass(frozen=True)
class DutyLine:
    """One assessed tax; amounts are exact decimal strings as the customs wrote them."""

    tax_type: str
    """e.g. ``customs-duty``, ``vat``, ``excise``, ``fee`` (or the national code)."""
    base: str
    rate: str
    """Percent, e.g. ``"15"`` for 15 %."""
    amount: str
    currency: str

    def __post_init__(self) -> None:
        _check(bool(self.tax_type), "tax_type is empty")
        for name in ("base", "rate", "amount"):
            _decimal_text(getattr(self, name), name)
        _check(bool(re.fullmatch(r"[A-Z]{3}", self.currency)),
               f"currency {self.currency!r} is not an ISO 4217 code")

    @property
    def amount_value(self) -> Decimal:
        return Decimal(self.amount)

    @property
    def base_value(self) -> Decimal:
        return Decimal(self.base)

    @property
    def rate_value(self) -> Decimal:
        return Decimal(self.rate)


class ReasonDict(TypedDict):
    code: str
    text: str


class DutyLineDict(TypedDict):
    tax_type: str
    base: str
    rate: str
    amount: str
    currency: str


class CustomsDecisionDict(TypedDict):
    """JSON form of :class:`CustomsDecision` (:meth:`~CustomsDecision.to_dict`); decimals
    are strings, times ISO 8601, ``signed_xml`` is left out."""

    kind: str
    country: str
    decision_id: str
    customs_reference: str | None
    delivery_id: str | None
    shipment_id: str | None
    document_id: str | None
    issued_at: str | None
    reasons: list[ReasonDict]
    duty_lines: list[DutyLineDict]
    guarantee_reference: str | None
    guarantee_amount: str | None
    guarantee_currency: str | None
    text: str | None


@dataclass(frozen=True)
class CustomsDecision:
    """One message from a customs authority about a shipment or a delivery."""

    kind: DecisionKind
    country: str
    decision_id: str
    """Unique per country and stable: store decisions idempotently by (country, decision_id)."""
    customs_reference: str | None = None
    delivery_id: str | None = None
    shipment_id: str | None = None
    document_id: str | None = None
    issued_at: datetime | None = None
    reasons: tuple[Reason, ...] = ()
    duty_lines: tuple[DutyLine, ...] = ()
    guarantee_reference: str | None = None
    guarantee_amount: str | None = None
    """What a ``guarantee-accepted`` decision covers: a decimal string, with its currency."""
    guarantee_currency: str | None = None
    text: str | None = None
    signed_xml: bytes | None = field(default=None, repr=False)
    """The customs authority's signed message as received, when it signed one."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DecisionKind(self.kind))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "duty_lines", tuple(self.duty_lines))
        _check(bool(_COUNTRY.match(self.country)), f"{self.country!r} is not a country code")
        _check(bool(self.decision_id), "decision_id is empty")
        _check(self.kind is not DecisionKind.REJECTED or bool(self.reasons),
               "a rejection needs at least one reason")
        _check(self.kind is not DecisionKind.ASSESSMENT or bool(self.duty_lines),
               "an assessment needs at least one duty line")
        _check((self.guarantee_amount is None) == (self.guarantee_currency is None),
               "guarantee_amount and guarantee_currency go together")
        if self.guarantee_amount is not None:
            _decimal_text(self.guarantee_amount, "guarantee_amount")
            _check(bool(re.fullmatch(r"[A-Z]{3}", str(self.guarantee_currency))),
                   f"guarantee_currency {self.guarantee_currency!r} is not an ISO 4217 code")

    def to_dict(self) -> CustomsDecisionDict:
        """JSON-able form (decimals stay strings, times ISO 8601)."""
        return {
            "kind": str(self.kind), "country": self.country, "decision_id": self.decision_id,
            "customs_reference": self.customs_reference, "delivery_id": self.delivery_id,
            "shipment_id": self.shipment_id, "document_id": self.document_id,
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "duty_lines": [
                {"tax_type": d.tax_type, "base": d.base, "rate": d.rate, "amount": d.amount,
                 "currency": d.currency} for d in self.duty_lines],
            "guarantee_reference": self.guarantee_reference,
            "guarantee_amount": self.guarantee_amount,
            "guarantee_currency": self.guarantee_currency, "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: CustomsDecisionDict) -> CustomsDecision:
        """Inverse of :meth:`to_dict`. Every value is checked at run time (*data* is often
        decoded JSON): bad data raises :class:`ResponseError`."""
        try:
            issued = data.get("issued_at")
            return cls(
                kind=DecisionKind(data["kind"]), country=data["country"],
                decision_id=data["decision_id"],
                customs_reference=data.get("customs_reference"),
                delivery_id=data.get("delivery_id"), shipment_id=data.get("shipment_id"),
                document_id=data.get("document_id"),
                issued_at=datetime.fromisoformat(issued) if issued else None,
                reasons=tuple(Reason(r["code"], r.get("text", ""))
                              for r in data.get("reasons") or ()),
                duty_lines=tuple(DutyLine(**d) for d in data.get("duty_lines") or ()),
                guarantee_reference=data.get("guarantee_reference"),
                guarantee_amount=data.get("guarantee_amount"),
                guarantee_currency=data.get("guarantee_currency"), text=data.get("text"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResponseError(f"not a customs decision: {exc}",
                                code="adapter.response.decision-invalid") from exc


@dataclass(frozen=True)
class DecisionBatch:
    """Decisions collected from a national system, plus what could not be read.

    Nothing is consumed by collecting: after the caller has stored the decisions (by
    ``decision_id``, idempotently) it calls :meth:`Adapter.confirm_collected` with the batch.
    """

    decisions: tuple[CustomsDecision, ...] = ()
    errors: tuple[ResponseError, ...] = ()
    tokens: tuple[str, ...] = ()
    """Adapter-private handles (file names, server ids) released by confirm_collected."""


@runtime_checkable
class EnvelopeSigner(Protocol):
    """Signs a delivery envelope: returns the XML with an enveloped ds:Signature added."""

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class AdapterContext:
    """What the hub lends every adapter it builds (never the database)."""

    signer: EnvelopeSigner | None = None
    """Signs outgoing envelopes with the hub's key; None sends them unsigned."""
    hub_id: str = "CARECHUB"


@runtime_checkable
class Adapter(Protocol):
    """One member country's customs channel. Built by its factory from checked settings."""

    kind: ClassVar[str]
    country: str

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        """The national payload (no I/O); PermanentDeliveryError if it cannot be made."""
        ...

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        """Render and hand over; raises Retryable/PermanentDeliveryError on failure."""
        ...

    def parse_response(self, data: bytes, *, source: str = "response") -> tuple[
            CustomsDecision, ...]:
        """Map one national answer to decisions; ResponseError if it makes no sense."""
        ...

    def collect_decisions(self) -> DecisionBatch:
        """Answers waiting at the national side (folder, server); consumes nothing."""
        ...

    def confirm_collected(self, batch: DecisionBatch) -> None:
        """The caller stored *batch*: let the national side forget it."""
        ...

    def close(self) -> None: ...


class AdapterFactory(Protocol):
    """What an ``exchange.adapters`` entry point names (usually the adapter class)."""

    kind: str
    settings_spec: tuple[Setting, ...]
    description: str

    def create(self, *, country: str, settings: Mapping[str, SettingValue],
               context: AdapterContext) -> Adapter:
        """Build the adapter of *country* from checked *settings* (see
        :func:`adapters.settings.check_settings`)."""
        ...
