"""Signed delivery envelopes: the hub signs with the signing package, the simulator verifies,
xmlsec1 agrees, and tampered, unsigned, untrusted or wrapped envelopes are refused."""
from __future__ import annotations

import copy
import subprocess

import pytest
from lxml import etree

from adapters.contract import AdapterContext, DeliveryStatus
from adapters.envelope_signing import EnvelopeSignatureCheck, HubEnvelopeSigner
from adapters.errors import InvalidMessageError, PermanentDeliveryError
from adapters.messages import read_envelope, render_envelope
from adapters.registry import default_registry
from adapters.testing.simulator import SimulatorConfig, SimulatorServer
from tests.fixtures.simulator import make_envelope


@pytest.fixture(scope="module")
def hub(pki):
    return pki.leaf("KZ", cn="CAREC exchange hub")


@pytest.fixture
def trust(pki, tmp_path):
    return pki.trust_dir(tmp_path / "trust", ["KZ"])


@pytest.fixture
def signer(hub):
    return HubEnvelopeSigner.from_files(hub.key_path, hub.cert_path)


def test_signed_envelope_stays_valid_and_verifies_with_xmlsec1(signer, pki, tmp_path):
    envelope = make_envelope("UZ")
    signed = signer.sign(render_envelope(envelope))
    back, tree = read_envelope(signed)  # still valid against delivery-envelope.xsd
    assert back == envelope
    assert tree.getroot()[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    path = tmp_path / "envelope.xml"
    path.write_bytes(signed)
    out = subprocess.run(["xmlsec1", "--verify", "--trusted-pem", str(pki.ca("KZ").cert_path),
                          "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                          str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_simulator_accepts_signed_pushes_and_refuses_unsigned_ones(signer, trust):
    check = EnvelopeSignatureCheck(trust, required=True)
    with SimulatorServer(SimulatorConfig(country="UZ"), verifier=check) as sim:
        signed = default_registry().create("https-push", country="UZ",
                                           settings={"endpoint": sim.push_url},
                                           context=AdapterContext(signer=signer))
        assert signed.deliver(make_envelope("UZ")).status is DeliveryStatus.ACKNOWLEDGED
        unsigned = default_registry().create("https-push", country="UZ",
                                             settings={"endpoint": sim.push_url})
        with pytest.raises(PermanentDeliveryError) as info:
            unsigned.deliver(make_envelope("UZ"))
        assert info.value.status_code == 400
        assert "adapter.message.unsigned" in str(info.value)
        stats = sim.state.stats()
        assert (stats["deliveries"], stats["invalid"]) == (1, 1)


def _signed(signer, receiver="UZ"):
    envelope = make_envelope(receiver)
    return envelope, signer.sign(render_envelope(envelope))


def test_tampered_envelope_is_refused(signer, trust):
    _, signed = _signed(signer)
    tampered = signed.replace(b"<Attempt>1</Attempt>", b"<Attempt>7</Attempt>")
    env, tree = read_envelope(tampered)
    with pytest.raises(InvalidMessageError) as info:
        EnvelopeSignatureCheck(trust)(tree, env)
    assert info.value.code == "adapter.message.signature"


def test_signer_outside_the_trust_list_is_refused(pki, trust):
    stranger = HubEnvelopeSigner(pki.self_signed().identity())
    uz_signer = HubEnvelopeSigner(pki.leaf("UZ").identity())
    for other in (stranger, uz_signer):  # trust holds only the KZ CA
        _, signed = _signed(other)
        env, tree = read_envelope(signed)
        with pytest.raises(InvalidMessageError) as info:
            EnvelopeSignatureCheck(trust)(tree, env)
        assert info.value.code == "adapter.message.signature"


def test_a_signature_moved_onto_another_envelope_is_refused(signer, trust):
    _, signed = _signed(signer)
    other = make_envelope("UZ")
    root = etree.fromstring(render_envelope(other))
    signature = etree.fromstring(signed)[-1]
    root.append(copy.deepcopy(signature))
    wrapped = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    env, tree = read_envelope(wrapped)
    with pytest.raises(InvalidMessageError) as info:
        EnvelopeSignatureCheck(trust)(tree, env)
    assert info.value.code == "adapter.message.signature"


def test_optional_signature_lets_unsigned_envelopes_through(trust):
    envelope = make_envelope("UZ")
    env, tree = read_envelope(render_envelope(envelope))
    EnvelopeSignatureCheck(trust, required=False)(tree, env)


def test_decisions_signed_by_customs_reach_the_hub_byte_for_byte(pki, tmp_path):
    from signing import TrustStore, verify_document
    from signing.safexml import parse_xml

    customs = HubEnvelopeSigner(pki.leaf("UZ", cn="UZ customs").identity())
    uz_trust = pki.trust_dir(tmp_path / "uz-trust", ["UZ"])
    with SimulatorServer(SimulatorConfig(country="UZ", follow_up=("assessment", "release")),
                         decision_signer=customs) as sim:
        adapter = default_registry().create(
            "https-push", country="UZ",
            settings={"endpoint": sim.push_url, "decisions_url": sim.decisions_url})
        envelope = make_envelope("UZ")
        adapter.deliver(envelope)
        batch = adapter.collect_decisions()
    assessment, release = batch.decisions
    assert (assessment.kind, release.kind) == ("assessment", "released")
    assert assessment.delivery_id == envelope.delivery_id and assessment.duty_lines
    for decision in batch.decisions:
        report = verify_document(parse_xml(decision.signed_xml), trust=TrustStore(uz_trust),
                                 country="UZ")
        assert report.all_valid, report.to_dict()
    forged = assessment.signed_xml.replace(b"<Amount>", b"<Amount>1")
    report = verify_document(parse_xml(forged), trust=TrustStore(uz_trust), country="UZ")
    assert not report.all_valid
    wrong_country = verify_document(parse_xml(assessment.signed_xml),
                                    trust=TrustStore(uz_trust), country="KZ")
    assert not wrong_country.all_valid


def test_a_signed_decision_that_is_not_base64_or_not_a_decision_is_refused():
    from adapters.messages import RESPONSE_NS, read_decisions

    head = f'<CustomsDecisions xmlns="{RESPONSE_NS}"><SignedDecision>'.encode()
    with pytest.raises(InvalidMessageError):
        read_decisions(head + b"@@@@</SignedDecision></CustomsDecisions>")
    import base64

    inner = base64.b64encode(b"<Decision xmlns='urn:other'/>")
    with pytest.raises(InvalidMessageError) as info:
        read_decisions(head + inner + b"</SignedDecision></CustomsDecisions>")
    assert "expected" in str(info.value)
