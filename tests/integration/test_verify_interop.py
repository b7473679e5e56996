"""Interoperability with an independent implementation (xmlsec1), with signatures written
the way .NET and Java stacks write them, and with the XML-DSig interop vectors."""
from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from lxml import etree

from signing import Reason, Signer, TrustStore, verify_document
from signing.placement import NS, insert_placeholder, root_child_order
from signing.safexml import parse_xml
from tests.fixtures.packs import UBL_EXAMPLES, XMLDSIG_VECTORS

XMLSEC1 = shutil.which("xmlsec1")
pytestmark = pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 is not installed")

DS = NS["ds"]
XADES = "http://uri.etsi.org/01903/v1.3.2#"
ID_ATTRS = ["--id-attr:Id", f"{XADES}:SignedProperties", "--id-attr:Id", f"{DS}:KeyInfo"]
WAYBILL = UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml"
WAYBILL_NS = "urn:oasis:names:specification:ubl:schema:xsd:Waybill-2"


@pytest.fixture(scope="module")
def setup(pki, tmp_path_factory, validator):
    signers = {"rsa": pki.leaf("KZ"), "ec": pki.leaf("KZ", kind="ec"),
               "uz": pki.leaf("UZ")}
    trust = TrustStore(pki.trust_dir(tmp_path_factory.mktemp("trust"), ["KZ", "UZ"]))
    order = root_child_order(validator.schema_path(WAYBILL_NS))
    return signers, trust, order, pki


def _xmlsec_verify(path: Path, *cas: Path, xpath: str | None = None):
    args = [XMLSEC1, "--verify", *ID_ATTRS]
    for ca in cas:
        args += ["--trusted-pem", str(ca)]
    if xpath:
        args += ["--node-xpath", xpath]
    return subprocess.run([*args, str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_xmlsec1_verifies_what_we_sign(setup, tmp_path, kind):
    signers, _, order, pki = setup
    signed = Signer(signers[kind].identity()).sign(parse_xml(WAYBILL.read_bytes()), order=order)
    out = tmp_path / "signed.xml"
    out.write_bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
    done = _xmlsec_verify(out, pki.ca("KZ").cert_path)
    assert done.returncode == 0, done.stderr
    assert "References (ok/all): 3/3" in done.stderr
    # and a CA it does not know is refused by xmlsec1 too
    assert _xmlsec_verify(out, pki.ca("UZ").cert_path).returncode != 0


def test_xmlsec1_verifies_the_seal_over_a_signed_document(setup, tmp_path):
    """The second signature covers the first; xmlsec1 checks it independently."""
    signers, trust, order, pki = setup
    once = Signer(signers["rsa"].identity()).sign(parse_xml(WAYBILL.read_bytes()), order=order)
    twice = Signer(signers["uz"].identity()).sign(once, order=order)
    out = tmp_path / "twice.xml"
    out.write_bytes(etree.tostring(twice))
    xpath = f"(//*[local-name()='Signature' and namespace-uri()='{DS}'])[2]"
    done = _xmlsec_verify(out, pki.ca("UZ").cert_path, xpath=xpath)
    assert done.returncode == 0, done.stderr
    assert verify_document(parse_xml(out.read_bytes()), trust=trust).all_valid


def test_xmlsec1_verifies_non_ubl_documents_we_sign(setup, tmp_path):
    signers, _, _, pki = setup
    tree = parse_xml(b'<Envelope xmlns="urn:envelope"><Data>Hello</Data></Envelope>')
    out = tmp_path / "env.xml"
    out.write_bytes(etree.tostring(Signer(signers["ec"].identity()).sign(tree)))
    done = _xmlsec_verify(out, pki.ca("KZ").cert_path)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------ signed by xmlsec1

def _template(leaf, *, prefixed: bool, algorithm: str) -> etree._Element:
    """A XAdES-BES signature template for xmlsec1 --sign: it fills the digests, the
    signature value and the certificate; SigningTime and the certificate digest are ours."""
    p = "ds:" if prefixed else ""
    ns_decl = f'xmlns:ds="{DS}"' if prefixed else f'xmlns="{DS}"'
    cert_digest = base64.b64encode(leaf.cert.fingerprint(hashes.SHA256())).decode()
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    text = f"""<{p}Signature {ns_decl} xmlns:xades="{XADES}" Id="xmlsecSig">
  <{p}SignedInfo>
    <{p}CanonicalizationMethod Algorithm="{c14n}"/>
    <{p}SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#{algorithm}"/>
    <{p}Reference URI="">
      <{p}Transforms><{p}Transform Algorithm="{DS}enveloped-signature"/></{p}Transforms>
      <{p}DigestMethod Algorithm="{sha256}"/><{p}DigestValue/>
    </{p}Reference>
    <{p}Reference URI="#xmlsecProps" Type="http://uri.etsi.org/01903#SignedProperties">
      <{p}Transforms><{p}Transform Algorithm="{c14n}"/></{p}Transforms>
      <{p}DigestMethod Algorithm="{sha256}"/><{p}DigestValue/>
    </{p}Reference>
  </{p}SignedInfo>
  <{p}SignatureValue/>
  <{p}KeyInfo><{p}X509Data/></{p}KeyInfo>
  <{p}Object>
    <xades:QualifyingProperties Target="#xmlsecSig">
      <xades:SignedProperties Id="xmlsecProps">
        <xades:SignedSignatureProperties>
          <xades:SigningTime>{now}</xades:SigningTime>
          <xades:SigningCertificateV2><xades:Cert><xades:CertDigest>
            <{p}DigestMethod Algorithm="{sha256}"/>
            <{p}DigestValue>{cert_digest}</{p}DigestValue>
          </xades:CertDigest></xades:Cert></xades:SigningCertificateV2>
        </xades:SignedSignatureProperties>
      </xades:SignedProperties>
    </xades:QualifyingProperties>
  </{p}Object>
</{p}Signature>"""
    return etree.fromstring(text)


def _xmlsec_sign(leaf, template_doc: bytes, tmp_path: Path) -> bytes:
    src, out = tmp_path / "template.xml", tmp_path / "signed-by-xmlsec1.xml"
    src.write_bytes(template_doc)
    done = subprocess.run(
        [XMLSEC1, "--sign", *ID_ATTRS, "--privkey-pem", f"{leaf.key_path},{leaf.cert_path}",
         "--output", str(out), str(src)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.parametrize("kind,prefixed", [("rsa", True), ("ec", True), ("rsa", False)],
                         ids=["rsa-prefixed", "ec-prefixed", "rsa-dotnet-style-unprefixed"])
def test_ubl_signed_by_xmlsec1_verifies_with_us(setup, tmp_path, kind, prefixed, validator):
    signers, trust, order, _ = setup
    leaf = signers[kind]
    root = parse_xml(WAYBILL.read_bytes()).getroot()
    placeholder = insert_placeholder(root, order=order)
    algorithm = "ecdsa-sha256" if kind == "ec" else "rsa-sha256"
    placeholder.getparent().replace(placeholder, _template(leaf, prefixed=prefixed,
                                                           algorithm=algorithm))
    signed = _xmlsec_sign(leaf, etree.tostring(root), tmp_path)
    if not prefixed:
        assert b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"' in signed
    report = verify_document(parse_xml(signed), trust=trust, country="KZ")
    assert report.all_valid, report.summary_lines()
    assert report.signatures[0].whole_document
    assert validator.validate(signed).accepted


def test_dotnet_style_default_namespace_signature_in_plain_xml(setup, tmp_path):
    """An unprefixed Signature inside a document whose default namespace it inherits and
    overrides, inclusive C14N, as .NET's SignedXml and Java's XMLSignatureFactory write."""
    signers, trust, _, _ = setup
    leaf = signers["rsa"]
    root = etree.fromstring(b'<Envelope xmlns="urn:envelope"><Data>Hello</Data></Envelope>')
    root.append(_template(leaf, prefixed=False, algorithm="rsa-sha256"))
    signed = _xmlsec_sign(leaf, etree.tostring(root), tmp_path)
    report = verify_document(parse_xml(signed), trust=trust, country="KZ")
    assert report.all_valid, report.summary_lines()
    # tampering is still caught
    bad = signed.replace(b"<Data>Hello</Data>", b"<Data>Hullo</Data>")
    sig = verify_document(parse_xml(bad), trust=trust, country="KZ").signatures[0]
    assert sig.reason is Reason.DIGEST_MISMATCH


# ------------------------------------------------------------ XML-DSig vectors

VECTORS = sorted(XMLDSIG_VECTORS.glob("*/*.xml"))
# Enveloped vectors all use an XPath transform (refused: we never run transforms outside
# the allow-list). The others are enveloping signatures (the signature is the document).
XPATH = {"enveloped-sha256-ecdsa-sha256.xml", "enveloped-sha256-ecdsa-sha256-with-asn1.xml",
         "enveloped-x509-digest-sha256.xml"}
# With enveloping signatures allowed, XAdES not required and the vectors' CAs as anchors:
ENVELOPING = {
    "enveloping-sha256-rsa-sha256.xml": None,      # valid, chains to the second-level CA
    "enveloping-sha256-ecdsa-sha256.xml": None,    # valid
    # a SignatureValue with leading zero padding: signxml requires the exact length
    "enveloping-sha256-ecdsa-sha256_padded.xml": Reason.BAD_SIGNATURE_VALUE,
    "signature-enveloping-rsa-sha256.xml": Reason.UNSUPPORTED_ALGORITHM,  # SHA-1 digest
}
# every other enveloping vector names its key by value, by DER or by reference, never by a
# certificate: nothing to chain to a trust list


@pytest.fixture(scope="module")
def vector_trust(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vector-trust") / "US"
    folder.mkdir()
    for name in ("cacert.pem", "ca2cert.pem"):
        shutil.copy(XMLDSIG_VECTORS / "keys" / name, folder / name)
    return TrustStore(folder.parent)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.name)
def test_xmldsig_vectors_under_the_default_policy(path, setup):
    _, trust, _, _ = setup
    report = verify_document(parse_xml(path.read_bytes()), trust=trust)
    assert len(report.signatures) == 1 and not report.all_valid
    expected = Reason.UNSUPPORTED_TRANSFORM if path.name in XPATH else \
        Reason.ENVELOPING  # enveloping signatures are not accepted by default
    sig = report.signatures[0]
    assert sig.reason is expected, report.summary_lines()
    if expected is Reason.ENVELOPING:  # named as such, with what to do instead: not "moved"
        assert "enveloping signatures are not accepted" in sig.detail
        assert "enveloped signature" in sig.detail and "moved" not in sig.detail


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.name)
def test_xmldsig_vectors_with_enveloping_allowed(path, vector_trust):
    from signing import SignatureLocation, VerificationPolicy
    from signing.policy import Profile

    policy = VerificationPolicy(
        locations=frozenset({SignatureLocation.ENVELOPING, SignatureLocation.ENVELOPED_ROOT}),
        profile=Profile.XMLDSIG)
    report = verify_document(parse_xml(path.read_bytes()), trust=vector_trust, policy=policy)
    sig = report.signatures[0]
    if path.name in XPATH:
        expected = Reason.UNSUPPORTED_TRANSFORM
    else:
        expected = ENVELOPING.get(path.name, Reason.UNTRUSTED_CHAIN)
    assert sig.reason is expected, report.summary_lines()
    if expected is None:
        assert sig.valid and sig.country == "US" and sig.covers.startswith("its own ds:Object")
        assert sig.signed_content.tag == "{%s}Object" % DS


def test_two_signatures_in_one_ubl_extension(setup):
    """Some stacks put every signature in one sig:UBLDocumentSignatures; the earlier one is
    checked without the later sac:SignatureInformation, and both verify."""
    from signxml import CanonicalizationMethod
    from signxml.xades import XAdESSigner

    signers, trust, order, _ = setup
    once = Signer(signers["rsa"].identity()).sign(parse_xml(WAYBILL.read_bytes()), order=order)
    root = once.getroot()
    info = root.find(".//{%s}SignatureInformation" % NS["sac"])
    second = etree.SubElement(info.getparent(), info.tag)
    etree.SubElement(second, f"{{{DS}}}Signature", Id="placeholder")
    leaf = signers["uz"]
    twice = XAdESSigner(c14n_algorithm=CanonicalizationMethod(
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")).sign(
        root, key=leaf.key, cert=[leaf.cert], always_add_key_value=False)
    report = verify_document(parse_xml(etree.tostring(twice)), trust=trust)
    assert report.all_valid, report.summary_lines()
    assert [s.country for s in report.signatures] == ["KZ", "UZ"]
