"""The https-push adapter against a real customs simulator over loopback HTTP."""
from __future__ import annotations

import httpx
import pytest

from adapters.contract import AdapterContext, DecisionKind, DeliveryEnvelope, DeliveryStatus
from adapters.errors import PermanentDeliveryError, RetryableDeliveryError
from adapters.messages import render_envelope
from adapters.registry import default_registry
from tests.fixtures.simulator import make_envelope


def push_adapter(sim, **settings):
    values = {"endpoint": sim.push_url, "decisions_url": sim.decisions_url,
              "timeout_seconds": 1.0, **settings}
    return default_registry().create("https-push", country=sim.state.config.country,
                                     settings=values, context=AdapterContext())


def test_delivery_is_acknowledged_and_the_assessment_collected(simulator):
    adapter = push_adapter(simulator)
    envelope = make_envelope("UZ")
    result = adapter.deliver(envelope)
    assert result.status is DeliveryStatus.ACKNOWLEDGED
    assert result.delivery_id == envelope.delivery_id and not result.duplicate
    [ack] = result.decisions
    assert ack.kind is DecisionKind.ACKNOWLEDGED and ack.customs_reference == \
        result.receipt_reference
    batch = adapter.collect_decisions()
    [assessment] = batch.decisions
    assert assessment.kind is DecisionKind.ASSESSMENT
    assert assessment.delivery_id == envelope.delivery_id
    assert [(d.tax_type, d.base, d.rate, d.amount, d.currency) for d in assessment.duty_lines] \
        == [("customs-duty", "12500.00", "5", "625.00", "UZS"),
            ("vat", "12500.00", "12", "1500.00", "UZS")]
    assert adapter.collect_decisions().decisions == (assessment,)  # nothing consumed yet
    adapter.confirm_collected(batch)
    assert adapter.collect_decisions().decisions == ()
    adapter.close()


def test_the_same_delivery_id_reaches_the_receiver_once_in_effect(simulator):
    adapter = push_adapter(simulator)
    envelope = make_envelope("UZ")
    first = adapter.deliver(envelope)
    again = adapter.deliver(DeliveryEnvelope(**{**envelope.__dict__, "attempt": 2}))
    assert again.duplicate and again.status is DeliveryStatus.DELIVERED
    assert again.receipt_reference == first.receipt_reference
    stats = simulator.state.stats()
    assert (stats["pushes"], stats["deliveries"], stats["duplicates"]) == (2, 1, 1)
    assert stats["pending_decisions"] == 1  # no second assessment for the copy


@pytest.mark.parametrize(("mode", "code"), [
    ("500", "adapter.delivery.server-error"),
    ("timeout", "adapter.delivery.timeout"),
    ("drop-connection", "adapter.delivery.connection-dropped"),
])
def test_faults_are_retryable_and_a_retry_goes_through(simulator, mode, code):
    simulator.configure(misbehaviour=mode, misbehave_times=1)
    adapter = push_adapter(simulator, timeout_seconds=0.5)
    envelope = make_envelope("UZ")
    with pytest.raises(RetryableDeliveryError) as info:
        adapter.deliver(envelope)
    assert info.value.code == code and info.value.retryable
    result = adapter.deliver(DeliveryEnvelope(**{**envelope.__dict__, "attempt": 2}))
    assert result.status in (DeliveryStatus.ACKNOWLEDGED, DeliveryStatus.DELIVERED)
    # the receiver kept one delivery whatever happened to the first answer
    assert simulator.state.stats()["delivery_ids"] == [envelope.delivery_id]
    if mode == "500":
        assert result.status is DeliveryStatus.ACKNOWLEDGED and not result.duplicate
    else:  # the first push got through before the answer was lost
        assert result.duplicate


def test_slow_receiver_within_the_timeout_is_fine(simulator):
    simulator.configure(misbehaviour="slow", slow_seconds=0.2)
    result = push_adapter(simulator, timeout_seconds=5).deliver(make_envelope("UZ"))
    assert result.status is DeliveryStatus.ACKNOWLEDGED


def test_endpoint_down_is_retryable(simulator):
    adapter = push_adapter(simulator)
    simulator.stop()
    with pytest.raises(RetryableDeliveryError) as info:
        adapter.deliver(make_envelope("UZ"))
    assert info.value.code == "adapter.delivery.unreachable"


def test_rejection_is_mapped_with_its_reason(simulator):
    simulator.configure(push_answer="reject")
    result = push_adapter(simulator).deliver(make_envelope("UZ"))
    assert result.status is DeliveryStatus.REJECTED
    assert result.reason == "SIM-R01: refused by the simulated national system"


def test_wrong_country_is_rejected_by_the_receiver(simulator):
    result = push_adapter(simulator).deliver(make_envelope("AF"))
    assert result.rejected and "SIM-COUNTRY" in (result.reason or "")


def test_an_envelope_that_fails_our_xsd_never_leaves(simulator):
    class Corrupting:  # a signer that breaks the envelope
        def sign(self, data: bytes) -> bytes:
            return data.replace(b"<Hub>", b"<Hubb>").replace(b"</Hub>", b"</Hubb>")

    adapter = default_registry().create("https-push", country="UZ",
                                        settings={"endpoint": simulator.push_url},
                                        context=AdapterContext(signer=Corrupting()))
    with pytest.raises(PermanentDeliveryError) as info:
        adapter.deliver(make_envelope("UZ"))
    assert info.value.code == "adapter.delivery.payload"
    assert simulator.state.stats()["pushes"] == 0


def test_signing_can_be_switched_off(simulator):
    class Refusing:
        def sign(self, data: bytes) -> bytes:
            raise AssertionError("must not be called")

    adapter = default_registry().create("https-push", country="UZ",
                                        settings={"endpoint": simulator.push_url,
                                                  "sign": False},
                                        context=AdapterContext(signer=Refusing()))
    assert adapter.deliver(make_envelope("UZ")).status is DeliveryStatus.ACKNOWLEDGED


def test_answers_that_make_no_sense_are_permanent_protocol_errors(simulator):
    adapter = push_adapter(simulator, endpoint=simulator.base_url + "/v1/admin/stats")
    with pytest.raises(PermanentDeliveryError) as info:  # 405 with a JSON body
        adapter.deliver(make_envelope("UZ"))
    assert info.value.code == "adapter.delivery.refused" and info.value.status_code == 405
    adapter = push_adapter(simulator, endpoint=simulator.decisions_url)
    with pytest.raises(PermanentDeliveryError):
        adapter.deliver(make_envelope("UZ"))


def test_receiver_refuses_garbage_with_400_and_counts_it(simulator):
    for body in (b"not xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                 b"<DeliveryEnvelope/>"):
        answer = httpx.post(simulator.push_url, content=body)
        assert answer.status_code == 400
    xml = render_envelope(make_envelope("UZ"))
    answer = httpx.post(simulator.push_url, content=xml, headers={"Idempotency-Key": "other"})
    assert answer.status_code == 400 and b"Idempotency-Key" in answer.content
    assert simulator.state.stats()["invalid"] == 4
    assert simulator.state.stats()["deliveries"] == 0


def test_bearer_token_comes_from_the_environment(start_simulator, monkeypatch):
    sim = start_simulator(country="UZ", bearer_token="s3cret")
    monkeypatch.setenv("TEST_UZ_TOKEN", "s3cret")
    adapter = push_adapter(sim, auth_token_env="TEST_UZ_TOKEN")
    assert adapter.deliver(make_envelope("UZ")).status is DeliveryStatus.ACKNOWLEDGED
    monkeypatch.setenv("TEST_UZ_TOKEN", "wrong")
    with pytest.raises(PermanentDeliveryError) as info:
        push_adapter(sim, auth_token_env="TEST_UZ_TOKEN").deliver(make_envelope("UZ"))
    assert info.value.code == "adapter.delivery.refused" and info.value.status_code == 401
    monkeypatch.delenv("TEST_UZ_TOKEN")
    from adapters.errors import SettingError

    with pytest.raises(SettingError, match="TEST_UZ_TOKEN is not set"):
        push_adapter(sim, auth_token_env="TEST_UZ_TOKEN")
    assert sim.state.stats()["deliveries"] == 1


def test_retry_after_is_passed_on_to_the_dispatcher(simulator):
    simulator.configure(misbehaviour="500", retry_after_seconds=42)
    with pytest.raises(RetryableDeliveryError) as info:
        push_adapter(simulator).deliver(make_envelope("UZ"))
    assert (info.value.status_code, info.value.retry_after) == (503, 42.0)
    simulator.configure(retry_after_seconds=None)
    with pytest.raises(RetryableDeliveryError) as info:
        push_adapter(simulator).deliver(make_envelope("UZ"))
    assert (info.value.status_code, info.value.retry_after) == (500, None)


def test_a_signer_that_fails_stops_the_delivery_before_it_leaves(simulator):
    from signing.errors import KeyLoadError

    class Broken:
        def sign(self, data: bytes) -> bytes:
            raise KeyLoadError("the hub key cannot be read")

    adapter = default_registry().create("https-push", country="UZ",
                                        settings={"endpoint": simulator.push_url},
                                        context=AdapterContext(signer=Broken()))
    with pytest.raises(PermanentDeliveryError) as info:
        adapter.deliver(make_envelope("UZ"))
    assert info.value.code == "adapter.delivery.signing"
    assert simulator.state.stats()["pushes"] == 0
