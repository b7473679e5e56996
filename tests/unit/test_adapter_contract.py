"""The adapter contract's values, the settings checks and the registry (no I/O)."""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.contract import (
    AdapterContext, CustomsDecision, DecisionKind, DeliveryEnvelope, DeliveryResult,
    DeliveryStatus, DutyLine, Reason,
)
from adapters.errors import (
    AdapterConfigError, AdapterError, DeliveryError, PermanentDeliveryError, ResponseError,
    RetryableDeliveryError, SettingError, UnknownAdapterError,
)
from adapters.inbox import InboxAdapter
from adapters.registry import AdapterRegistry, default_registry
from adapters.settings import Setting, SettingType, check_settings

DOC = b"<Invoice/>"


def envelope(**changes):
    values = dict(delivery_id="dlv-1", document_id="doc-1", document_version=1,
                  shipment_id="shp-1", route=("KZ", "UZ", "AF"), sender_country="KZ",
                  receiver_country="UZ", document_type="Invoice", document=DOC,
                  original_sha256=hashlib.sha256(DOC).hexdigest())
    values.update(changes)
    return DeliveryEnvelope(**values)


def test_envelope_is_frozen_and_knows_the_sealed_digest():
    env = envelope(route=["KZ", "UZ", "AF"])
    assert env.route == ("KZ", "UZ", "AF")
    assert env.sealed_sha256 == hashlib.sha256(DOC).hexdigest()
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.delivery_id = "other"  # type: ignore[misc]
    assert "document=" not in repr(env)


@pytest.mark.parametrize(("changes", "message"), [
    ({"delivery_id": ""}, "delivery_id"),
    ({"delivery_id": "a b"}, "delivery_id"),
    ({"receiver_country": "FR"}, "not on the route"),
    ({"route": ("KZ", "uz")}, "not an ISO 3166"),
    ({"document_version": 0}, "start at 1"),
    ({"document_type": "not a name"}, "local name"),
    ({"document": b""}, "empty"),
    ({"original_sha256": "ABC"}, "64 lowercase hex"),
])
def test_bad_envelopes_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        envelope(**changes)


def test_rejected_result_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        DeliveryResult(DeliveryStatus.REJECTED, "dlv-1")
    result = DeliveryResult("rejected", "dlv-1", reason="bad value")
    assert result.rejected and result.status is DeliveryStatus.REJECTED


def test_duty_lines_keep_exact_decimal_strings():
    line = DutyLine("vat", "1000.50", "12", "120.06", "UZS")
    assert line.amount_value == Decimal("120.06") and line.base_value == Decimal("1000.50")
    for bad in ("1e3", "NaN", "12,5", "", "+1", ".5"):
        with pytest.raises(ValueError):
            DutyLine("vat", bad, "12", "1.00", "UZS")
    with pytest.raises(ValueError, match="ISO 4217"):
        DutyLine("vat", "1.00", "12", "1.00", "usd")


def test_decision_rules_and_dict_round_trip():
    with pytest.raises(ValueError, match="reason"):
        CustomsDecision(kind="rejected", country="UZ", decision_id="d1")
    with pytest.raises(ValueError, match="duty line"):
        CustomsDecision(kind="assessment", country="UZ", decision_id="d1")
    decision = CustomsDecision(
        kind=DecisionKind.ASSESSMENT, country="UZ", decision_id="UZ-1",
        customs_reference="UZ2026001", delivery_id="dlv-1", shipment_id="shp-1",
        issued_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), reasons=[Reason("R1", "why")],
        duty_lines=[DutyLine("customs-duty", "100.00", "5", "5.00", "UZS")], text="t")
    assert CustomsDecision.from_dict(decision.to_dict()) == decision
    guarantee = CustomsDecision(kind="guarantee-accepted", country="AF", decision_id="AF-1",
                                guarantee_reference="G-1", guarantee_amount="1500.00",
                                guarantee_currency="AFN")
    assert CustomsDecision.from_dict(guarantee.to_dict()) == guarantee
    for bad, message in (({"guarantee_amount": "1500.00"}, "go together"),
                         ({"guarantee_currency": "AFN"}, "go together"),
                         ({"guarantee_amount": "1,500", "guarantee_currency": "AFN"},
                          "not a decimal"),
                         ({"guarantee_amount": "1500", "guarantee_currency": "afn"},
                          "ISO 4217")):
        with pytest.raises(ValueError, match=message):
            CustomsDecision(kind="guarantee-accepted", country="AF", decision_id="AF-1",
                            guarantee_reference="G-1", **bad)
    with pytest.raises(ResponseError) as info:
        CustomsDecision.from_dict({"kind": "maybe", "country": "UZ", "decision_id": "x"})
    assert info.value.code == "adapter.response.decision-invalid"


def test_error_tree_tells_retryable_from_permanent():
    assert issubclass(RetryableDeliveryError, DeliveryError)
    assert issubclass(PermanentDeliveryError, DeliveryError)
    assert issubclass(DeliveryError, AdapterError)
    assert RetryableDeliveryError("x").retryable and not PermanentDeliveryError("x").retryable
    err = RetryableDeliveryError("down", code="adapter.delivery.unreachable", status_code=None)
    assert err.code == "adapter.delivery.unreachable" and str(err) == "down"
    assert issubclass(UnknownAdapterError, LookupError)
    assert issubclass(SettingError, ValueError)


def test_settings_are_typed_defaulted_and_strict(tmp_path):
    spec = (Setting("endpoint", SettingType.URL, required=True),
            Setting("timeout", SettingType.FLOAT, default=2.0),
            Setting("sign", SettingType.BOOL, default=True),
            Setting("folder", SettingType.PATH))
    out = check_settings(spec, {"endpoint": "https://h/x", "sign": "no", "folder": "out"},
                         base_dir=tmp_path)
    assert out == {"endpoint": "https://h/x", "timeout": 2.0, "sign": False,
                   "folder": tmp_path / "out"}
    cases = [({}, "adapter.setting-missing"),
             ({"endpoint": "https://h", "colour": "red"}, "adapter.setting-unknown"),
             ({"endpoint": "file:///etc"}, "adapter.setting-invalid"),
             ({"endpoint": "https://h", "timeout": -1}, "adapter.setting-invalid"),
             ({"endpoint": "https://h", "timeout": True}, "adapter.setting-invalid"),
             ({"endpoint": "https://h", "sign": "perhaps"}, "adapter.setting-invalid")]
    for raw, code in cases:
        with pytest.raises(SettingError) as info:
            check_settings(spec, raw)
        assert info.value.code == code, raw


def test_registry_finds_the_reference_adapters_through_entry_points():
    from importlib.metadata import entry_points

    declared = {ep.name for ep in entry_points(group="exchange.adapters")}
    assert {"https-push", "inbox", "edifact-file"} <= declared
    registry = default_registry()
    assert {"https-push", "inbox", "edifact-file"} <= set(registry.kinds)
    assert registry.factory("inbox") is InboxAdapter
    with pytest.raises(UnknownAdapterError) as info:
        registry.factory("carrier-pigeon")
    assert info.value.code == "adapter.unknown-kind" and "https-push" in str(info.value)


def test_registry_reports_a_broken_plugin_as_a_typed_error():
    from importlib.metadata import EntryPoint

    registry = AdapterRegistry({"broken": EntryPoint("broken", "no_such_module:Thing",
                                                     "exchange.adapters")})
    with pytest.raises(AdapterConfigError) as info:
        registry.factory("broken")
    assert info.value.code == "adapter.load-failed"


def test_inbox_adapter_waits_for_the_pull():
    adapter = default_registry().create("inbox", country="UZ", settings={},
                                        context=AdapterContext())
    result = adapter.deliver(envelope())
    assert result.status is DeliveryStatus.AWAITING_PULL and result.delivery_id == "dlv-1"
    assert adapter.render(envelope()).body == DOC
    assert adapter.collect_decisions().decisions == ()
    with pytest.raises(ResponseError):
        adapter.parse_response(b"<x/>")


@pytest.mark.parametrize(("kind", "settings"), [
    ("inbox", {}),
    ("https-push", {"endpoint": "http://127.0.0.1:9/v1/deliveries"}),
    ("edifact-file", {"outbox_dir": "/nonexistent/out", "inbox_dir": "/nonexistent/in"}),
])
def test_reference_adapters_satisfy_the_protocol(kind, settings):
    from adapters.contract import Adapter

    adapter = default_registry().create(kind, country="UZ", settings=settings)
    assert isinstance(adapter, Adapter) and adapter.kind == kind and adapter.country == "UZ"
    adapter.close()



def test_every_shipped_member_builds_its_adapter(tmp_path):
    """for_member re-checks settings that load_members completed (None for optional ones)."""
    from adapters.members import load_members

    members = load_members(base_dir=tmp_path)
    for member in members:
        adapter = default_registry().for_member(member, context=AdapterContext())
        assert adapter.kind == member.adapter and adapter.country == member.code
        adapter.close()
    assert not list(tmp_path.iterdir())  # building an adapter creates no folder
