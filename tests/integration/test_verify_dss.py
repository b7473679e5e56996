"""XAdES signatures made by another implementation (the EU DSS project, LGPL samples in
``../shared/interop/xades-dss``, see its README), and the refusals whose cause used to be
named wrongly: each is refused for its real reason, with what the signer should do instead.
xmlsec1 gives the independent view of each sample's cryptography."""
from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from signing import Reason, TrustStore, VerificationPolicy, verify_document
from signing.policy import Profile
from signing.safexml import parse_xml
from tests.fixtures.packs import shared_dir
from tests.integration.test_verify_interop import DS, _template, _xmlsec_sign

DSS = shared_dir() / "interop" / "xades-dss"
XMLSEC1 = shutil.which("xmlsec1")
XADES_ID = ["--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"]
PROFILES = [VerificationPolicy(), VerificationPolicy(profile=Profile.XMLDSIG)]


def _xmlsec_insecure(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([XMLSEC1, "--verify", "--insecure", *XADES_ID, str(DSS / name)],
                          capture_output=True, text=True, timeout=60)


def _verify(name: str, **kw):
    return verify_document(parse_xml((DSS / name).read_bytes()), **kw)


def _embedded(name: str) -> list[x509.Certificate]:
    text = (DSS / name).read_text()
    return [x509.load_der_x509_certificate(base64.b64decode(re.sub(r"\s", "", b64)))
            for b64 in re.findall(r"<ds:X509Certificate>(.*?)</ds:X509Certificate>", text, re.S)]


@pytest.mark.parametrize("policy", PROFILES, ids=["xades-bes", "xmldsig"])
def test_dss_signed_is_intact_but_its_signer_is_not_trusted(policy):
    assert XMLSEC1 and _xmlsec_insecure("dss-signed.xml").returncode == 0  # 2/2 references
    sig, = _verify("dss-signed.xml", trust=TrustStore(DSS / "no-trust-here"),
                   policy=policy).signatures
    # the cryptography (exclusive C14N, XAdES signed properties) holds ...
    assert sig.profile == "xades-bes" and sig.whole_document
    assert sig.signing_time == dt.datetime(2019, 2, 19, 12, 29, 1, tzinfo=dt.UTC)
    # ... what is missing is trust; the expired certificate is said too
    assert sig.reason is Reason.UNTRUSTED_CHAIN, sig.summary()
    assert "does not chain to any trust list" in sig.detail and "expired" in sig.detail


def test_dss_signed_with_its_ca_trusted(tmp_path):
    """With DSS's own issuing CA as an anchor the signature is valid at its signing time,
    and refused today only because the certificate has expired."""
    ca = next(c for c in _embedded("dss-signed.xml") if c.subject.rfc4514_string().endswith(
        "CN=good-ca"))
    (tmp_path / "LU").mkdir()
    (tmp_path / "LU" / "good-ca.crt").write_bytes(ca.public_bytes(Encoding.DER))
    trust = TrustStore(tmp_path)
    then = dt.datetime(2019, 2, 19, 12, 30, tzinfo=dt.UTC)
    at_signing, = _verify("dss-signed.xml", trust=trust, country="LU", now=then).signatures
    assert at_signing.valid, at_signing.summary()
    assert at_signing.country == "LU" and at_signing.profile == "xades-bes"
    today, = _verify("dss-signed.xml", trust=trust, country="LU").signatures
    assert today.reason is Reason.EXPIRED and "good-user" in today.detail


@pytest.mark.parametrize("policy", PROFILES, ids=["xades-bes", "xmldsig"])
def test_dss_reference_removed_covers_no_part_of_the_document(policy):
    assert _xmlsec_insecure("dss-signed-altered-refRemoved.xml").returncode != 0
    sig, = _verify("dss-signed-altered-refRemoved.xml", policy=policy).signatures
    assert sig.reason is Reason.MALFORMED
    assert "covers no part of the document" in sig.detail
    assert 'URI=""' in sig.detail  # what to do instead


@pytest.mark.parametrize("policy", PROFILES, ids=["xades-bes", "xmldsig"])
def test_dss_multi_algo_is_a_detached_signature(policy):
    """The README calls it a digest mismatch (xmlsec1: 0/1 references). The sample is a
    detached signature of an external file, test.text, which is not there: xmlsec1 cannot
    fetch it, and neither can we. The real cause is that the signed data is outside the
    document; it is named so, not as an enveloping signature nor as a moved one."""
    done = _xmlsec_insecure("dss1811-multi-algo.xml")
    assert done.returncode != 0 and "0/1" in done.stderr
    root = parse_xml((DSS / "dss1811-multi-algo.xml").read_bytes()).getroot()
    assert root.tag == f"{{{DS}}}Signature"
    assert root.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference").get("URI") == "test.text"
    sig, = _verify("dss1811-multi-algo.xml", policy=policy).signatures
    assert sig.reason is Reason.DETACHED, sig.summary()
    assert sig.reference == "test.text"
    assert "detached signatures are not accepted" in sig.detail and "moved" not in sig.detail


@pytest.mark.parametrize("policy", PROFILES, ids=["xades-bes", "xmldsig"])
def test_dss_double_signed_uses_xpath_transforms(policy):
    assert _xmlsec_insecure("doubleSignedTest.xml").returncode == 0  # both intact
    report = _verify("doubleSignedTest.xml", policy=policy)
    assert len(report.signatures) == 2
    for sig in report.signatures:
        assert sig.reason is Reason.UNSUPPORTED_TRANSFORM, sig.summary()
        assert "REC-xpath-19991116" in sig.detail and "enveloped-signature" in sig.detail


# ------------------------------------------------------------ manifests

def _manifest_signature(leaf, tmp_path) -> bytes:
    """A XAdES signature (made by xmlsec1) whose only document reference is to a
    ds:Manifest that holds the enveloped reference to the document."""
    tpl = _template(leaf, prefixed=True, algorithm="rsa-sha256")
    si = tpl.find(f"{{{DS}}}SignedInfo")
    first = si.findall(f"{{{DS}}}Reference")[0]
    inner = etree.fromstring(etree.tostring(first))
    first.set("URI", "#manifest-1")
    first.set("Type", f"{DS}Manifest")
    first.remove(first.find(f"{{{DS}}}Transforms"))
    obj = etree.SubElement(tpl, f"{{{DS}}}Object")
    manifest = etree.SubElement(obj, f"{{{DS}}}Manifest", Id="manifest-1")
    manifest.append(inner)
    root = etree.fromstring(b'<Envelope xmlns="urn:envelope"><Data>Hello</Data></Envelope>')
    root.append(tpl)
    return _xmlsec_sign(leaf, etree.tostring(root), tmp_path)


@pytest.mark.parametrize("policy", PROFILES, ids=["xades-bes", "xmldsig"])
def test_enveloped_manifest_is_named_as_not_supported(pki, tmp_path, policy):
    leaf = pki.leaf("KZ")
    signed = _manifest_signature(leaf, tmp_path)
    out = tmp_path / "manifest.xml"
    out.write_bytes(signed)
    done = subprocess.run([XMLSEC1, "--verify", *XADES_ID, "--trusted-pem",
                           str(pki.ca("KZ").cert_path), str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr  # a sound signature, for xmlsec1
    trust = TrustStore(pki.trust_dir(tmp_path / "trust", ["KZ"]))
    sig, = verify_document(parse_xml(signed), trust=trust, policy=policy).signatures
    assert sig.reason is Reason.MANIFEST, sig.summary()
    assert sig.reference == "#manifest-1"
    assert "manifests are not supported" in sig.detail and 'URI=""' in sig.detail
    assert "covers no part" not in sig.detail


@pytest.mark.parametrize("name", sorted(p.name for p in DSS.glob("*.xml")))
def test_every_dss_refusal_is_said_in_full_in_russian_and_chinese(name):
    """The verdict sentence of each signature another implementation made, refused here for
    its own reason, has every value it names (never the short fallback word)."""
    from exchange.verdicts import SIGNATURE_WORDS, signature_verdict

    refused = [s for s in _verify(name, trust=TrustStore(DSS / "no-trust-here")).signatures
               if not s.valid]
    assert refused, name
    for sig in refused:
        verdict = signature_verdict(str(sig.reason), sig.params)
        assert verdict.msgid != SIGNATURE_WORDS[str(sig.reason)].msgid, (sig.reason, sig.params)
        for locale, script in (("ru", "[А-Яа-я]"), ("zh_Hans", "[\u4e00-\u9fff]")):
            said = verdict.render(locale)
            assert re.search(script, said) and "{" not in said, (locale, said)
