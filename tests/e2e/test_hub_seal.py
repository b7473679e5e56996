"""The hub's seal verified by the people who receive it: the hub's certificate published on
the API (``GET /v1/hub/certificate``) and by ``exchange hub certificate``, pinned with the one
documented command (``exchange trust add --hub hub.pem``), then both signatures of a sealed
document from a real server checked by ``exchange verify`` and, independently, by xmlsec1."""
from __future__ import annotations

import json
import subprocess

import pytest
from cryptography import x509
from lxml import etree

from signing.placement import NS
from tests.e2e.test_api_submission import KZ_ROUTE, WAYBILL, signed
from tests.fixtures.server import create, submit

DS = NS["ds"]
XADES_ID = ["--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"]


def _xmlsec1(path, trusted, nth: int) -> subprocess.CompletedProcess[str]:
    xpath = f"(//*[local-name()='Signature' and namespace-uri()='{DS}'])[{nth}]"
    return subprocess.run(["xmlsec1", "--verify", *XADES_ID, "--trusted-pem", str(trusted),
                           "--node-xpath", xpath, str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def sealed(world, pki, validator, tmp_path_factory):
    """A document signed by a KZ forwarder, submitted to the real server, downloaded as
    received and as sealed."""
    folder = tmp_path_factory.mktemp("hub-seal")
    sid = create(world, route=KZ_ROUTE).json()["id"]
    r = submit(world, sid, signed(WAYBILL, pki.leaf("KZ"), validator))
    assert r.status_code == 201, r.text
    with world.client("forwarder") as c:
        url = f"/v1/shipments/{sid}/documents/{r.json()['id']}"
        original, sealed = c.get(url).content, c.get(url, params={"version": "sealed"}).content
    (folder / "original.xml").write_bytes(original)
    (folder / "sealed.xml").write_bytes(sealed)
    return folder


def test_the_hub_certificate_is_public_and_documented(world):
    with world.client() as c:  # no API key
        r = c.get("/v1/hub/certificate")
        spec = c.get("/openapi.json").json()
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-pem-file"
    published = x509.load_pem_x509_certificates(r.content)
    hub_file = open(world.env["EXCHANGE_HUB_CERT_FILE"], "rb").read()
    assert published[0] == x509.load_pem_x509_certificate(hub_file)
    op = spec["paths"]["/v1/hub/certificate"]["get"]
    assert "application/x-pem-file" in op["responses"]["200"]["content"]
    assert "exchange trust add --hub" in op["description"]


def test_the_command_prints_the_same_certificate(world, run_cli, tmp_path):
    done = run_cli("hub", "certificate", env=world.env)
    assert done.returncode == 0, done.stderr
    with world.client() as c:
        assert done.stdout == c.get("/v1/hub/certificate").content
    out = tmp_path / "hub.pem"
    assert run_cli("hub", "certificate", "-o", str(out), env=world.env).returncode == 0
    assert out.read_bytes() == done.stdout


def test_both_signatures_verify_after_the_one_documented_command(world, pki, sealed, run_cli,
                                                                 tmp_path):
    trust = pki.trust_dir(tmp_path / "customs-trust", ["KZ"])  # the authority's own list
    doc = sealed / "sealed.xml"
    before = run_cli("verify", str(doc), "--trust", str(trust), "--format", "json")
    assert before.returncode == 1
    sigs = json.loads(before.stdout)["signatures"]
    assert [s["valid"] for s in sigs] == [True, False]
    assert sigs[1]["reason"] == "untrusted-chain"

    hub_pem = tmp_path / "hub.pem"
    with world.client() as c:
        hub_pem.write_bytes(c.get("/v1/hub/certificate").content)
    added = run_cli("trust", "add", "--hub", str(hub_pem), "--trust", str(trust))
    assert added.returncode == 0, added.stderr

    for country in ((), ("--country", "KZ")):  # the forwarder's country, or any
        after = run_cli("verify", str(doc), "--trust", str(trust), *country, "--format", "json")
        assert after.returncode == 0, after.stdout
        report = json.loads(after.stdout)
        assert report["all_valid"] and len(report["signatures"]) == 2
        forwarder, hub = report["signatures"]
        assert forwarder["country"] == "KZ" and forwarder["whole_document"]
        assert hub["country"] == "hub" and "pinned hub certificate" in hub["checks"]
        assert hub["signer"]["subject"] == "O=CAREC exchange,CN=CAREC exchange hub (test)"
        assert hub["profile"] == forwarder["profile"] == "xades-bes"
    text = run_cli("verify", str(doc), "--trust", str(trust))
    assert b"all signatures valid" in text.stdout and b"(hub)" in text.stdout
    listed = run_cli("trust", "list", "--trust", str(trust))
    assert b"hub (pinned): O=CAREC exchange,CN=CAREC exchange hub (test)" in listed.stdout


def test_both_signatures_verify_with_xmlsec1(world, pki, sealed, tmp_path):
    hub_pem = tmp_path / "hub.pem"
    with world.client() as c:
        hub_pem.write_bytes(c.get("/v1/hub/certificate").content)
    doc = sealed / "sealed.xml"
    hub = _xmlsec1(doc, hub_pem, 2)  # the seal covers the whole document, forwarder's included
    assert hub.returncode == 0, hub.stderr
    assert _xmlsec1(doc, pki.ca("KZ").cert_path, 2).returncode != 0  # not the KZ CA's
    # the forwarder's signature covers the document as it was sent: the version received,
    # and the sealed one without the hub's UBL extension and cac:Signature
    ca = pki.ca("KZ").cert_path
    original = _xmlsec1(sealed / "original.xml", ca, 1)
    assert original.returncode == 0, original.stderr
    root = etree.parse(str(doc)).getroot()
    ext = root.find(f"{{{NS['ext']}}}UBLExtensions")
    ext.remove(ext[-1])
    root.remove(root.findall(f"{{{NS['cac']}}}Signature")[-1])
    stripped = tmp_path / "without-seal.xml"
    stripped.write_bytes(etree.tostring(root))
    forwarder = _xmlsec1(stripped, ca, 1)
    assert forwarder.returncode == 0, forwarder.stderr
    assert _xmlsec1(stripped, hub_pem, 1).returncode != 0  # not the hub's


def test_pinning_refuses_what_is_not_a_certificate(run_cli, tmp_path, pki):
    junk = tmp_path / "hub.pem"
    junk.write_bytes(b"not a certificate")
    done = run_cli("trust", "add", "--hub", str(junk), "--trust", str(tmp_path / "t"))
    assert done.returncode == 2 and b"neither an X.509 certificate nor a CRL" in done.stderr
    assert not (tmp_path / "t").exists()
    both = run_cli("trust", "add", "--hub", "--country", "KZ", str(pki.ca("KZ").cert_path),
                   "--trust", str(tmp_path / "t"))
    assert both.returncode == 2 and b"--country CC" in both.stderr
