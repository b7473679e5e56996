"""What a simulated national customs system does with a delivery, apart from HTTP: its
configuration (answers, follow-up decisions, misbehaviour), what it saw, the receipts and
decisions it makes. :mod:`adapters.testing.simulator` serves it over real HTTP.
"""
from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from lxml import etree

from adapters.contract import (
    CustomsDecision, DecisionKind, DeliveryEnvelope, DutyLine, EnvelopeSigner, Reason,
)
from adapters.errors import InvalidMessageError
from adapters.messages import (
    Receipt, read_envelope, render_receipt,
)
from signing.safexml import XmlError, parse_xml

if TYPE_CHECKING:
    pass

__all__ = ["EnvelopeVerifier", "FollowUp", "Misbehaviour", "SeenDelivery", "SimulatorConfig",
           "SimulatorState", "SimulatorStats"]


class Misbehaviour(StrEnum):
    NONE = "none"
    TIMEOUT = "timeout"
    ERROR_500 = "500"
    DROP_CONNECTION = "drop-connection"
    SLOW = "slow"
    ANSWER_TWICE = "answer-twice"


class FollowUp(StrEnum):
    ASSESSMENT = "assessment"
    QUERY = "query"
    REJECTION = "rejection"
    ACCEPTANCE = "acceptance"
    RELEASE = "release"


@dataclass(frozen=True)
class SimulatorConfig:
    country: str = "UZ"
    currency: str = "UZS"
    push_answer: str = "acknowledge"
    """acknowledge | reject (422 with a rejected receipt)"""
    follow_up: tuple[FollowUp, ...] = (FollowUp.ASSESSMENT,)
    decision_delay_seconds: float = 0.0
    misbehaviour: Misbehaviour = Misbehaviour.NONE
    misbehave_times: int = 0
    hang_seconds: float = 30.0
    slow_seconds: float = 1.0
    callback_url: str | None = None
    max_body_bytes: int = 25 * 1024 * 1024
    retry_after_seconds: int | None = None
    """With misbehaviour "500": also answer ``Retry-After: <seconds>``."""
    bearer_token: str | None = None
    """When set, pushes without ``Authorization: Bearer <token>`` are answered 401."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "misbehaviour", Misbehaviour(self.misbehaviour))
        object.__setattr__(self, "follow_up", tuple(FollowUp(f) for f in self.follow_up))
        if self.push_answer not in ("acknowledge", "reject"):
            raise ValueError("push_answer must be acknowledge or reject")
        if self.misbehave_times < 0 or self.decision_delay_seconds < 0:
            raise ValueError("misbehave_times and decision_delay_seconds must be >= 0")

    def updated(self, changes: Mapping[str, object]) -> SimulatorConfig:
        """A copy with *changes* (as in a JSON request); ValueError or TypeError if bad."""
        names = {f.name for f in dataclasses.fields(self)} - {"country"}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
        # (values passed on as given: __post_init__ coerces and checks some of them)
        values: dict[str, Any] = dict(changes)
        follow_up = values.get("follow_up")
        if isinstance(follow_up, str):
            values["follow_up"] = tuple(f for f in follow_up.split(",") if f)
        return dataclasses.replace(self, **values)


EnvelopeVerifier = Callable[[etree._ElementTree, DeliveryEnvelope], None]
"""Raises ValueError (or a subclass) when the envelope's signature does not verify."""


class SeenDelivery(TypedDict):
    """What the simulator keeps of a delivery id it received."""

    reference: str | None
    copies: int
    rejected: bool
    document_id: str
    document_type: str
    shipment_id: NotRequired[str]  # (when it was accepted)


class SimulatorStats(TypedDict):
    country: str
    pushes: int
    deliveries: int
    duplicates: int
    invalid: int
    misbehaved: int
    pending_decisions: int
    delivery_ids: list[str]
    callbacks: int


@dataclass
class SimulatorState:
    """What the simulator saw and what it will answer; safe across threads."""

    config: SimulatorConfig
    verifier: EnvelopeVerifier | None = None
    decision_signer: EnvelopeSigner | None = None
    """Signs every follow-up decision served by GET /v1/decisions or called back (e.g. a
    HubEnvelopeSigner with the customs key)."""
    pushes: int = 0
    duplicates: int = 0
    invalid: int = 0
    misbehaved: int = 0
    deliveries: dict[str, SeenDelivery] = field(default_factory=dict)
    pending: list[tuple[float, CustomsDecision]] = field(default_factory=list)
    confirmed: set[str] = field(default_factory=set)
    callbacks: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def take_misbehaviour(self) -> Misbehaviour:
        with self._lock:
            self.pushes += 1
            cfg = self.config
            if cfg.misbehaviour in (Misbehaviour.NONE, Misbehaviour.ANSWER_TWICE):
                return Misbehaviour.NONE
            if cfg.misbehave_times and self.misbehaved >= cfg.misbehave_times:
                return Misbehaviour.NONE
            self.misbehaved += 1
            return cfg.misbehaviour

    def receive(self, body: bytes, idempotency_key: str | None) -> tuple[int, bytes, list[
            CustomsDecision]]:
        """Judge one push: (HTTP status, answer bytes, follow-up decisions scheduled)."""
        try:
            envelope, tree = read_envelope(body, source="envelope")
            if idempotency_key and idempotency_key != envelope.delivery_id:
                raise InvalidMessageError("Idempotency-Key differs from DeliveryId",
                                          code="adapter.message.inconsistent")
            if self.verifier is not None:
                self.verifier(tree, envelope)
        except (InvalidMessageError, ValueError) as exc:
            with self._lock:
                self.invalid += 1
            code = getattr(exc, "code", "signature")
            return 400, f"{code}: {exc}".encode(), []
        cfg = self.config
        with self._lock:
            seen = self.deliveries.get(envelope.delivery_id)
            if seen is not None:
                self.duplicates += 1
                seen["copies"] += 1
                return 200, render_receipt(Receipt(envelope.delivery_id, "duplicate",
                                                   reference=seen["reference"])), []
            refusal = _refusal(envelope, cfg)
            if refusal is not None:
                reason = refusal
                self.deliveries[envelope.delivery_id] = {
                    "reference": None, "copies": 1, "rejected": True,
                    "document_id": envelope.document_id, "document_type": envelope.document_type}
                return 422, render_receipt(Receipt(envelope.delivery_id, "rejected",
                                                   reasons=(reason,))), []
            number = next(self._seq)
            reference = f"{cfg.country}{datetime.now(UTC):%Y}{number:07d}"
            self.deliveries[envelope.delivery_id] = {
                "reference": reference, "copies": 1, "rejected": False,
                "document_id": envelope.document_id, "document_type": envelope.document_type,
                "shipment_id": envelope.shipment_id}
            ack = self._decision(envelope, reference, DecisionKind.ACKNOWLEDGED)
            follow = [self._follow_up(envelope, reference, f) for f in cfg.follow_up]
            copies = 2 if cfg.misbehaviour is Misbehaviour.ANSWER_TWICE else 1
            due = time.monotonic() + cfg.decision_delay_seconds
            for decision in follow:
                self.pending.extend([(due, decision)] * copies)
        return 200, render_receipt(Receipt(envelope.delivery_id, "received",
                                           reference=reference, decisions=(ack,))), follow

    def due_decisions(self) -> list[CustomsDecision]:
        now = time.monotonic()
        with self._lock:
            return [d for due, d in self.pending
                    if due <= now and d.decision_id not in self.confirmed]

    def confirm(self, ids: list[str]) -> int:
        with self._lock:
            before = len(self.pending)
            self.confirmed.update(ids)
            self.pending = [(due, d) for due, d in self.pending if d.decision_id not in ids]
            return before - len(self.pending)

    def stats(self) -> SimulatorStats:
        with self._lock:
            return {"country": self.config.country, "pushes": self.pushes,
                    "deliveries": len(self.deliveries), "duplicates": self.duplicates,
                    "invalid": self.invalid, "misbehaved": self.misbehaved,
                    "pending_decisions": len(self.pending),
                    "delivery_ids": sorted(self.deliveries),
                    "callbacks": len(self.callbacks)}

    def _decision(self, envelope: DeliveryEnvelope, reference: str, kind: DecisionKind, *,
                  reasons: tuple[Reason, ...] = (), duty_lines: tuple[DutyLine, ...] = (),
                  text: str | None = None) -> CustomsDecision:
        return CustomsDecision(kind=kind, country=self.config.country,
                               decision_id=f"{self.config.country}-{uuid.uuid4().hex[:16]}",
                               customs_reference=reference, delivery_id=envelope.delivery_id,
                               shipment_id=envelope.shipment_id,
                               document_id=envelope.document_id,
                               issued_at=datetime.now(UTC).replace(microsecond=0),
                               reasons=reasons, duty_lines=duty_lines, text=text)

    def _follow_up(self, envelope: DeliveryEnvelope, reference: str,
                   follow: FollowUp) -> CustomsDecision:
        match follow:
            case FollowUp.ASSESSMENT:
                base = _declared_value(envelope.document)
                lines = tuple(DutyLine(tax, str(base), rate,
                                       str((base * Decimal(rate) / 100).quantize(
                                           Decimal("0.01"))), self.config.currency)
                              for tax, rate in (("customs-duty", "5"), ("vat", "12")))
                return self._decision(envelope, reference, DecisionKind.ASSESSMENT,
                                      duty_lines=lines)
            case FollowUp.QUERY:
                return self._decision(envelope, reference, DecisionKind.QUERY,
                                      text="Please provide the packing list of this shipment")
            case FollowUp.REJECTION:
                return self._decision(envelope, reference, DecisionKind.REJECTED, reasons=(
                    Reason("SIM-R02", "declared value could not be verified"),))
            case FollowUp.ACCEPTANCE:
                return self._decision(envelope, reference, DecisionKind.ACCEPTED)
            case FollowUp.RELEASE:
                return self._decision(envelope, reference, DecisionKind.RELEASED)
        raise AssertionError(follow)  # pragma: no cover


def _refusal(envelope: DeliveryEnvelope, cfg: SimulatorConfig) -> Reason | None:
    """Why the simulated national system refuses this delivery, if it does."""
    if envelope.receiver_country != cfg.country:
        return Reason("SIM-COUNTRY", f"not for {cfg.country}")
    try:
        root = parse_xml(envelope.document).getroot()
    except XmlError as exc:
        return Reason("SIM-DOCUMENT", f"the document cannot be read: {exc.message}")
    if etree.QName(root).localname != envelope.document_type:
        return Reason("SIM-TYPE", f"the document is a {etree.QName(root).localname}, "
                                  f"not a {envelope.document_type}")
    if cfg.push_answer == "reject":
        return Reason("SIM-R01", "refused by the simulated national system")
    return None


def _declared_value(document: bytes) -> Decimal:
    """The declared customs value (or payable amount) of a UBL document, else 1000.00."""
    try:
        root = parse_xml(document).getroot()
    except XmlError:
        return Decimal("1000.00")
    for name in ("DeclaredCustomsValueAmount", "PayableAmount", "LineExtensionAmount"):
        for el in root.iter(f"{{*}}{name}"):
            try:
                value = Decimal((el.text or "").strip())
            except ArithmeticError:
                continue
            if value.is_finite() and value > 0:
                return value.quantize(Decimal("0.01"))
    return Decimal("1000.00")
