"""Adapter conformance kit: the same scenarios against any registered adapter kind.

    report = check_adapter("https-push")                      # reference receiver set up here
    report = check_adapter("my-kind", settings={"endpoint": "http://127.0.0.1:9000/in"})
    report.passed, [(r.name, r.outcome, r.detail) for r in report.results]

Scenarios: ``deliver-ok``, ``duplicate-delivery-id``, ``endpoint-down``, ``server-error-500``,
``timeout``, ``rejection`` (mapped to a ``rejected`` result or decision) and
``malformed-response`` (a national answer that makes no sense raises ResponseError).

Each kind gets a *harness* that provides a healthy receiver and breaks it on demand:

* kinds with a URL setting (``https-push`` and any HTTP adapter): a customs simulator on
  127.0.0.1 serves as receiver; ``endpoint-down`` points the URL at a closed port; 500 and
  timeout use the simulator's misbehaviour (those faults do not depend on the protocol);
  ``rejection`` needs a receiver speaking the CAREC push protocol (the simulator), so it is
  skipped when ``--setting`` points the endpoint elsewhere;
* ``edifact-file``: temporary folders; endpoint-down is an outbox that cannot be created;
  the rejection is a CUSRES file in the inbox; HTTP-only faults are skipped;
* anything else (``inbox``): the given settings; transport faults are skipped.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypedDict

from adapters.contract import (
    Adapter, AdapterContext, CustomsDecision, DecisionKind, DeliveryEnvelope, DeliveryResult,
    DeliveryStatus, Reason,
)
from adapters.errors import (
    AdapterError, PermanentDeliveryError, ResponseError, RetryableDeliveryError,
)
from adapters.registry import AdapterRegistry, default_registry
from adapters.settings import SettingType, path_setting, text_setting

__all__ = ["Outcome", "ScenarioResult", "ConformanceReport", "ScenarioResultDict",
           "ConformanceReportDict", "SCENARIOS", "check_adapter", "sample_envelope",
           "SAMPLE_DECLARATION"]

SAMPLE_DECLARATION = b"""<?xml version="1.0" encoding="UTF-8"?>
<ExportCustomsDeclaration
    xmlns="urn:oasis:names:specification:ubl:schema:xsd:ExportCustomsDeclaration-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>CONFORMANCE-1</cbc:ID>
  <cbc:IssueDate>2026-01-15</cbc:IssueDate>
  <cac:ExporterParty><cac:PartyName><cbc:Name>Almaty Textiles LLP</cbc:Name></cac:PartyName>
  </cac:ExporterParty>
  <cac:CustomsDeclaration><cbc:ID>CONFORMANCE-1</cbc:ID><cac:Shipment><cbc:ID>S-1</cbc:ID>
    <cac:Consignment><cbc:ID>1</cbc:ID>
      <cbc:TotalInvoiceAmount currencyID="USD">12500.00</cbc:TotalInvoiceAmount>
      <cbc:GrossWeightMeasure unitCode="KGM">1800.00</cbc:GrossWeightMeasure>
    </cac:Consignment>
    <cac:GoodsItem><cbc:ID>1</cbc:ID><cbc:Description>Cotton yarn</cbc:Description>
      <cbc:DeclaredCustomsValueAmount currencyID="USD">12500.00</cbc:DeclaredCustomsValueAmount>
      <cac:Item><cbc:Name>Cotton yarn</cbc:Name><cac:CommodityClassification>
        <cbc:CommodityCode>520512</cbc:CommodityCode></cac:CommodityClassification></cac:Item>
    </cac:GoodsItem>
  </cac:Shipment></cac:CustomsDeclaration>
</ExportCustomsDeclaration>
"""


def sample_envelope(receiver: str = "UZ", *, delivery_id: str | None = None,
                    document: bytes = SAMPLE_DECLARATION,
                    document_type: str = "ExportCustomsDeclaration") -> DeliveryEnvelope:
    """A delivery of a small export declaration on the route KZ -> receiver (-> AF)."""
    route: tuple[str, ...] = ("KZ", receiver) if receiver != "KZ" else ("KZ", "UZ")
    if receiver not in ("AF", "KZ"):
        route = (*route, "AF")
    return DeliveryEnvelope(
        delivery_id=delivery_id or str(uuid.uuid4()), document_id=f"doc-{uuid.uuid4().hex[:24]}",
        document_version=1, shipment_id="shp-conformance", route=route,
        sender_country="KZ", receiver_country=receiver, document_type=document_type,
        document=document, original_sha256=hashlib.sha256(document).hexdigest())


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    outcome: Outcome
    detail: str = ""


class ScenarioResultDict(TypedDict):
    name: str
    outcome: str
    detail: str


class ConformanceReportDict(TypedDict):
    kind: str
    country: str
    passed: bool
    results: list[ScenarioResultDict]


@dataclass(frozen=True)
class ConformanceReport:
    kind: str
    country: str
    results: tuple[ScenarioResult, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(r.outcome is not Outcome.FAILED for r in self.results)

    def outcome(self, name: str) -> Outcome:
        return next(r.outcome for r in self.results if r.name == name)

    def to_dict(self) -> ConformanceReportDict:
        return {"kind": self.kind, "country": self.country, "passed": self.passed,
                "results": [{"name": r.name, "outcome": str(r.outcome), "detail": r.detail}
                            for r in self.results]}


class _Skip(Exception):
    pass


class _Fail(Exception):
    pass


# --- harnesses ---------------------------------------------------------------------------

class _Harness:
    """A healthy receiver for one kind, and ways to break it (settings raw, unchecked)."""

    def __init__(self, registry: AdapterRegistry, kind: str, country: str,
                 given: Mapping[str, object], context: AdapterContext):
        self.registry, self.kind, self.country = registry, kind, country
        self.given, self.context = dict(given), context

    def healthy(self) -> dict[str, object]:
        return dict(self.given)

    @contextmanager
    def fault(self, name: str) -> Iterator[dict[str, object]]:
        raise _Skip(f"{name} does not apply to {self.kind} (no transport to break)")
        yield {}  # pragma: no cover

    def distinct_deliveries(self, envelope: DeliveryEnvelope) -> int | None:
        """How many separate deliveries of this document the receiver kept (None: unknown)."""
        return None

    @contextmanager
    def rejecting(self) -> Iterator[Callable[[Adapter, DeliveryEnvelope], None]]:
        raise _Skip(f"{self.kind}: rejections do not come back through the adapter")
        yield  # pragma: no cover

    def adapter(self, settings: Mapping[str, object]) -> Adapter:
        return self.registry.create(self.kind, country=self.country, settings=settings,
                                    context=self.context)

    def close(self) -> None:
        return None


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/deliveries"


class _HttpHarness(_Harness):
    def __init__(self, registry: AdapterRegistry, kind: str, country: str,
                 given: Mapping[str, object], context: AdapterContext):
        super().__init__(registry, kind, country, given, context)
        from adapters.testing.simulator import SimulatorConfig, SimulatorServer

        spec = self.registry.factory(self.kind).settings_spec
        self.url_settings = [s.name for s in spec if s.type is SettingType.URL]
        self.timeouts = [s.name for s in spec
                         if s.type is SettingType.FLOAT and "timeout" in s.name]
        self.sim = SimulatorServer(SimulatorConfig(country=self.country, hang_seconds=3.0,
                                                   follow_up=())).start()
        self.ours = not any(name in self.given for name in self.url_settings)

    def _pointed(self, base: str) -> dict[str, object]:
        out: dict[str, object] = {}
        for name in self.url_settings:
            out[name] = f"{base}/v1/decisions" if "decision" in name else f"{base}/v1/deliveries"
        return out

    def healthy(self) -> dict[str, object]:
        return {**self._pointed(self.sim.base_url), **self.given}

    @contextmanager
    def fault(self, name: str) -> Iterator[dict[str, object]]:
        settings = {**self.given, **self._pointed(self.sim.base_url)}
        if name == "endpoint-down":
            closed = _closed_port_url()
            yield {**settings, **{n: closed for n in self.url_settings}}
            return
        mode = {"server-error-500": "500", "timeout": "timeout"}[name]
        if name == "timeout":
            settings.update({n: 0.5 for n in self.timeouts})
        self.sim.configure(misbehaviour=mode)
        try:
            yield settings
        finally:
            self.sim.configure(misbehaviour="none")

    def distinct_deliveries(self, envelope: DeliveryEnvelope) -> int | None:
        if not self.ours:
            return None
        return sum(1 for seen in list(self.sim.state.deliveries.values())
                   if seen["document_id"] == envelope.document_id)

    @contextmanager
    def rejecting(self) -> Iterator[Callable[[Adapter, DeliveryEnvelope], None]]:
        if not self.ours:
            raise _Skip("the endpoint was given: the kit cannot make that receiver reject")
        self.sim.configure(push_answer="reject")
        try:
            yield lambda adapter, envelope: None
        finally:
            self.sim.configure(push_answer="acknowledge")

    def close(self) -> None:
        self.sim.stop()


class _EdifactHarness(_Harness):
    def __init__(self, registry: AdapterRegistry, kind: str, country: str,
                 given: Mapping[str, object], context: AdapterContext):
        super().__init__(registry, kind, country, given, context)
        self.root = Path(tempfile.mkdtemp(prefix="edifact-kit-"))

    def healthy(self) -> dict[str, object]:
        return {"outbox_dir": str(self.root / "out"), "inbox_dir": str(self.root / "in"),
                **self.given}

    @contextmanager
    def fault(self, name: str) -> Iterator[dict[str, object]]:
        if name != "endpoint-down":
            raise _Skip(f"{name} does not apply to file exchange")
        blocker = self.root / "not-a-folder"
        blocker.write_bytes(b"")
        yield {**self.healthy(), "outbox_dir": str(blocker / "out")}

    def distinct_deliveries(self, envelope: DeliveryEnvelope) -> int | None:
        out = self.healthy()["outbox_dir"]
        if not isinstance(out, (str, os.PathLike)):
            raise TypeError(f"outbox_dir is not a path: {out!r}")
        return sum(1 for path in Path(out).iterdir() if not path.name.startswith(".")
                   and envelope.document_id.encode() in path.read_bytes())

    @contextmanager
    def rejecting(self) -> Iterator[Callable[[Adapter, DeliveryEnvelope], None]]:
        from adapters.edifact import render_cusres
        from adapters.edifact_file import write_atomically

        settings = self.registry.check_settings(self.kind, self.healthy())

        def answer(adapter: Adapter, envelope: DeliveryEnvelope) -> None:
            text = render_cusres([CustomsDecision(
                kind=DecisionKind.REJECTED, country=self.country, decision_id="kit",
                customs_reference=f"{self.country}-KIT-1", delivery_id=envelope.delivery_id,
                reasons=(Reason("KIT-R1", "refused by the conformance kit"),))],
                sender_id=text_setting(settings, "recipient_id") or f"{self.country}CUSTOMS",
                recipient_id=text_setting(settings, "sender_id", required=True), control_ref="KIT1")
            write_atomically(path_setting(settings, "inbox_dir", required=True),
                             "kit-rejection.edi", text)

        yield answer

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _harness(registry: AdapterRegistry, kind: str, country: str,
             given: Mapping[str, object], context: AdapterContext) -> _Harness:
    spec = registry.factory(kind).settings_spec
    if kind == "edifact-file":
        return _EdifactHarness(registry, kind, country, given, context)
    if any(s.type is SettingType.URL and s.required for s in spec):
        return _HttpHarness(registry, kind, country, given, context)
    return _Harness(registry, kind, country, given, context)


# --- scenarios ---------------------------------------------------------------------------

_ACCEPTED = {DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED_WITH_WARNINGS,
             DeliveryStatus.ACKNOWLEDGED, DeliveryStatus.AWAITING_PULL}


def _check_result(result: object, envelope: DeliveryEnvelope, country: str) -> DeliveryResult:
    if not isinstance(result, DeliveryResult):
        raise _Fail(f"deliver returned {type(result).__name__}, not DeliveryResult")
    if result.delivery_id != envelope.delivery_id:
        raise _Fail(f"result is for {result.delivery_id!r}, not {envelope.delivery_id!r}")
    for decision in result.decisions:
        if not isinstance(decision, CustomsDecision) or decision.country != country:
            raise _Fail(f"result carries a foreign or untyped decision: {decision!r}")
    return result


def _deliver_ok(h: _Harness) -> str:
    adapter = h.adapter(h.healthy())
    try:
        envelope = sample_envelope(h.country)
        payload = adapter.render(envelope)
        if not payload.body:
            raise _Fail("render produced an empty payload")
        result = _check_result(adapter.deliver(envelope), envelope, h.country)
        if result.status not in _ACCEPTED:
            raise _Fail(f"a healthy receiver answered {result.status}: {result.reason}")
        return str(result.status)
    finally:
        adapter.close()


def _duplicate(h: _Harness) -> str:
    adapter = h.adapter(h.healthy())
    try:
        first = sample_envelope(h.country)
        again = DeliveryEnvelope(**{**first.__dict__, "attempt": 2})
        one = _check_result(adapter.deliver(first), first, h.country)
        two = _check_result(adapter.deliver(again), again, h.country)
        if one.rejected or two.rejected:
            raise _Fail("a repeated delivery id was rejected")
        kept = h.distinct_deliveries(first)
        if kept is not None and kept != 1:
            raise _Fail(f"the receiver kept {kept} deliveries of one document; the delivery "
                        "id must stay the same across attempts")
        return f"second attempt: {two.status}{' (duplicate dropped)' if two.duplicate else ''}"
    finally:
        adapter.close()


def _expect_retryable(h: _Harness, fault: str) -> str:
    with h.fault(fault) as settings:
        adapter = h.adapter(settings)
        try:
            envelope = sample_envelope(h.country)
            try:
                result = adapter.deliver(envelope)
            except RetryableDeliveryError as exc:
                return f"RetryableDeliveryError {exc.code}"
            except AdapterError as exc:
                raise _Fail(f"expected RetryableDeliveryError, got {type(exc).__name__} "
                            f"{exc.code}: {exc}") from exc
            raise _Fail(f"expected RetryableDeliveryError, deliver returned {result.status}")
        finally:
            adapter.close()


def _rejection(h: _Harness) -> str:
    with h.rejecting() as answer:
        adapter = h.adapter(h.healthy())
        try:
            envelope = sample_envelope(h.country)
            result = _check_result(adapter.deliver(envelope), envelope, h.country)
            if result.rejected:
                if not result.reason:
                    raise _Fail("rejected without a reason")
                return f"rejected at delivery: {result.reason}"
            answer(adapter, envelope)
            batch = adapter.collect_decisions()
            if batch.errors:
                raise _Fail(f"the rejection could not be read: {batch.errors[0]}")
            rejected = [d for d in batch.decisions if d.kind is DecisionKind.REJECTED
                        and d.delivery_id == envelope.delivery_id]
            if not rejected or not rejected[0].reasons:
                raise _Fail("no rejected decision with reasons was mapped")
            adapter.confirm_collected(batch)
            if adapter.collect_decisions().decisions:
                raise _Fail("confirmed decisions were collected again")
            return f"rejected decision: {rejected[0].reasons[0].code}"
        finally:
            adapter.close()


def _malformed(h: _Harness) -> str:
    adapter = h.adapter(h.healthy())
    try:
        for garbage in (b"", b"\x00\xffnot a national answer", b"<!DOCTYPE x [<!ENTITY e "
                        b"SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"):
            try:
                adapter.parse_response(garbage, source="kit")
            except ResponseError:
                continue
            except Exception as exc:
                raise _Fail(f"a malformed answer raised {type(exc).__name__}, "
                            "not ResponseError") from exc
            raise _Fail("a malformed answer was accepted")
        return "ResponseError for every malformed answer"
    finally:
        adapter.close()


SCENARIOS: tuple[tuple[str, Callable[[_Harness], str]], ...] = (
    ("deliver-ok", _deliver_ok),
    ("duplicate-delivery-id", _duplicate),
    ("endpoint-down", lambda h: _expect_retryable(h, "endpoint-down")),
    ("server-error-500", lambda h: _expect_retryable(h, "server-error-500")),
    ("timeout", lambda h: _expect_retryable(h, "timeout")),
    ("rejection", _rejection),
    ("malformed-response", _malformed),
)


def check_adapter(kind: str, *, country: str = "UZ",
                  settings: Mapping[str, object] | None = None,
                  registry: AdapterRegistry | None = None,
                  context: AdapterContext | None = None) -> ConformanceReport:
    """Run every scenario against *kind*; UnknownAdapterError / SettingError if it cannot be
    built at all."""
    registry = registry or default_registry()
    harness = _harness(registry, kind, country, settings or {}, context or AdapterContext())
    try:
        registry.check_settings(kind, harness.healthy())
        results = []
        for name, scenario in SCENARIOS:
            try:
                detail = scenario(harness)
                results.append(ScenarioResult(name, Outcome.PASSED, detail))
            except _Skip as skip:
                results.append(ScenarioResult(name, Outcome.SKIPPED, str(skip)))
            except _Fail as fail:
                results.append(ScenarioResult(name, Outcome.FAILED, str(fail)))
            except PermanentDeliveryError as exc:
                results.append(ScenarioResult(name, Outcome.FAILED,
                                              f"PermanentDeliveryError {exc.code}: {exc}"))
            except Exception as exc:  # an adapter bug is a finding, not a crash of the kit
                results.append(ScenarioResult(name, Outcome.FAILED,
                                              f"{type(exc).__name__}: {exc}"))
        return ConformanceReport(kind, country, tuple(results))
    finally:
        harness.close()
