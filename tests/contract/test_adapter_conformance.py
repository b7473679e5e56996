"""One suite every adapter passes: the conformance kit against each reference adapter,
and against deliberately broken adapters to show that the kit catches them."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from adapters.testing.conformance import SCENARIOS, Outcome, check_adapter
from adapters.contract import (
    AdapterContext, DecisionBatch, DeliveryEnvelope, DeliveryResult, DeliveryStatus,
    RenderedPayload,
)
from adapters.https_push import HttpsPushAdapter
from adapters.registry import default_registry
from adapters.settings import Setting

EXPECTED = {
    # kind: (country, scenarios that must pass; the rest may only be skipped)
    "https-push": ("UZ", {name for name, _ in SCENARIOS}),
    "edifact-file": ("AF", {"deliver-ok", "duplicate-delivery-id", "endpoint-down",
                            "rejection", "malformed-response"}),
    "inbox": ("KZ", {"deliver-ok", "duplicate-delivery-id", "malformed-response"}),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_reference_adapter_conforms(kind):
    country, must_pass = EXPECTED[kind]
    report = check_adapter(kind, country=country)
    assert report.passed, report.to_dict()
    outcomes = {r.name: r.outcome for r in report.results}
    assert list(outcomes) == [name for name, _ in SCENARIOS]
    for name, outcome in outcomes.items():
        expected = Outcome.PASSED if name in must_pass else Outcome.SKIPPED
        assert outcome is expected, (name, report.to_dict())


class ForgetfulPush(HttpsPushAdapter):
    """Invents a new delivery id on every attempt and swallows server errors."""

    kind: ClassVar[str] = "forgetful-push"

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        import dataclasses
        import uuid

        fresh = dataclasses.replace(envelope, delivery_id=f"x-{uuid.uuid4()}")
        try:
            result = super().deliver(fresh)
        except Exception:
            return DeliveryResult(DeliveryStatus.DELIVERED, envelope.delivery_id)
        return dataclasses.replace(result, delivery_id=envelope.delivery_id)


def test_the_kit_fails_an_adapter_that_breaks_the_contract():
    registry = default_registry().with_factory(ForgetfulPush)
    report = check_adapter("forgetful-push", registry=registry)
    assert not report.passed
    failed = {r.name for r in report.results if r.outcome is Outcome.FAILED}
    assert {"duplicate-delivery-id", "endpoint-down", "server-error-500", "timeout"} <= failed
    detail = next(r.detail for r in report.results if r.name == "duplicate-delivery-id")
    assert "delivery id must stay the same" in detail


class Crashing:
    """Raises untyped errors everywhere: a third-party adapter with bugs."""

    kind: ClassVar[str] = "crashing"
    description: ClassVar[str] = "broken on purpose"
    settings_spec: ClassVar[tuple[Setting, ...]] = ()
    country = "UZ"

    @classmethod
    def create(cls, *, country: str, settings: Mapping[str, Any],
               context: AdapterContext) -> Crashing:
        return cls()

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        return RenderedPayload("text/plain", b"x")

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        raise RuntimeError("boom")

    def parse_response(self, data: bytes, *, source: str = "response") -> tuple:
        raise KeyError("oops")

    def collect_decisions(self) -> DecisionBatch:
        return DecisionBatch()

    def confirm_collected(self, batch: DecisionBatch) -> None:
        return None

    def close(self) -> None:
        return None


def test_untyped_adapter_errors_are_findings_not_crashes():
    report = check_adapter("crashing", registry=default_registry().with_factory(Crashing))
    outcomes = {r.name: (r.outcome, r.detail) for r in report.results}
    assert outcomes["deliver-ok"] == (Outcome.FAILED, "RuntimeError: boom")
    assert outcomes["malformed-response"][0] is Outcome.FAILED
    assert "not ResponseError" in outcomes["malformed-response"][1]
    assert not report.passed
