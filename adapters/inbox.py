"""The ``inbox`` adapter: nothing is pushed; the customs authority pulls its inbox.

The authority reads ``GET /v1/customs/{country}/inbox`` on the exchange's API and
acknowledges with ``POST .../deliveries/{id}/ack``; the hub records those answers itself.
``deliver`` therefore only says that the delivery is waiting to be pulled.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from adapters.contract import (
    AdapterContext, CustomsDecision, DecisionBatch, DeliveryEnvelope, DeliveryResult,
    DeliveryStatus, RenderedPayload,
)
from adapters.errors import ResponseError
from adapters.settings import Setting, SettingValue

__all__ = ["InboxAdapter"]


class InboxAdapter:
    kind: ClassVar[str] = "inbox"
    description: ClassVar[str] = "the customs authority pulls its inbox from the exchange API"
    settings_spec: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, country: str, context: AdapterContext | None = None):
        self.country = country
        self.context = context or AdapterContext()

    @classmethod
    def create(cls, *, country: str, settings: Mapping[str, SettingValue],
               context: AdapterContext) -> InboxAdapter:
        return cls(country, context)

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        """The authority pulls the sealed document itself, byte for byte."""
        return RenderedPayload(media_type="application/xml", body=envelope.document,
                               filename=f"{envelope.delivery_id}.xml")

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        return DeliveryResult(status=DeliveryStatus.AWAITING_PULL,
                              delivery_id=envelope.delivery_id)

    def parse_response(self, data: bytes, *, source: str = "response") -> tuple[
            CustomsDecision, ...]:
        raise ResponseError(f"{source}: the inbox adapter has no national responses; "
                            "decisions arrive through the exchange API",
                            code="adapter.response.unsupported")

    def collect_decisions(self) -> DecisionBatch:
        return DecisionBatch()

    def confirm_collected(self, batch: DecisionBatch) -> None:
        return None

    def close(self) -> None:
        return None
