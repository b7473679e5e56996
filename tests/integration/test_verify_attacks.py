"""Attacks and faults from the issue: each is refused with its own reason code."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
from lxml import etree
from signxml import CanonicalizationMethod
from signxml.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from signing import Reason, Signer, TrustStore, VerificationPolicy, verify_document
from signing.placement import NS, insert_placeholder, root_child_order
from signing.safexml import UnsafeXmlError, parse_xml
from tests.fixtures.packs import UBL_EXAMPLES

INVOICE = UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
C14N = CanonicalizationMethod("http://www.w3.org/TR/2001/REC-xml-c14n-20010315")


@pytest.fixture(scope="module")
def world(pki, tmp_path_factory, validator):
    """Signers of every kind, then the trust folder (written after the revoked one, so its
    CRL lists it)."""
    signers = {
        "kz": pki.leaf("KZ"), "uz": pki.leaf("UZ", kind="ec"),
        "expired": pki.leaf("KZ", expired=True),
        "future": pki.leaf("KZ", not_yet_valid=True),
        "revoked": pki.leaf("KZ", revoked=True),
        "stranger": pki.self_signed(),
        "weak": pki.leaf("KZ", bits=1024),
    }
    trust = TrustStore(pki.trust_dir(tmp_path_factory.mktemp("trust"), ["KZ", "UZ"]))
    order = root_child_order(validator.schema_path(INVOICE_NS))
    return signers, trust, order


def _signed_invoice(world, who="kz") -> bytes:
    signers, _, order = world
    tree = parse_xml(INVOICE.read_bytes())
    return etree.tostring(Signer(signers[who].identity()).sign(tree, order=order))


def _signxml_sign(world, who, signer_cls=XAdESSigner, **kwargs) -> bytes:
    """Sign the invoice with signxml directly (to build signatures our Signer refuses)."""
    signers, _, order = world
    leaf = signers[who]
    root = parse_xml(INVOICE.read_bytes()).getroot()
    insert_placeholder(root, order=order)
    kwargs.setdefault("c14n_algorithm", C14N)
    signed = signer_cls(**kwargs).sign(root, key=leaf.key, cert=[leaf.cert],
                                       always_add_key_value=False)
    return etree.tostring(signed)


def _verify(world, data: bytes, country="KZ", **kw):
    _, trust, _ = world
    return verify_document(parse_xml(data), trust=trust, country=country, **kw)


def _only(report):
    assert len(report.signatures) == 1
    return report.signatures[0]


def test_untouched_document_verifies(world):
    sig = _only(_verify(world, _signed_invoice(world)))
    assert sig.valid and sig.reason is None
    assert sig.country == "KZ" and sig.whole_document
    assert sig.revocation == "checked against CRL"


def test_changed_text_node(world):
    data = _signed_invoice(world).replace(b"<cbc:ID>TOSL108</cbc:ID>", b"<cbc:ID>TOSL109</cbc:ID>")
    sig = _only(_verify(world, data))
    assert (sig.valid, sig.reason, sig.reference) == (False, Reason.DIGEST_MISMATCH, "")
    assert sig.signed_content is None


def test_removed_element(world):
    tree = parse_xml(_signed_invoice(world))
    line = tree.getroot().find(f"{{{NS['cac']}}}InvoiceLine")
    line.getparent().remove(line)
    assert _only(_verify(world, etree.tostring(tree))).reason is Reason.DIGEST_MISMATCH


def test_element_moved_within_the_document(world):
    tree = parse_xml(_signed_invoice(world))
    root = tree.getroot()
    note = root.find(f"{{{NS['cbc']}}}Note")
    root.append(note)  # moved to the end: same content, other place
    assert _only(_verify(world, etree.tostring(tree))).reason is Reason.DIGEST_MISMATCH


def test_bad_signature_value(world):
    tree = parse_xml(_signed_invoice(world))
    value = tree.getroot().find(f".//{{{NS['ds']}}}SignatureValue")
    value.text = "A" + value.text[1:] if value.text[0] != "A" else "B" + value.text[1:]
    assert _only(_verify(world, etree.tostring(tree))).reason is Reason.BAD_SIGNATURE_VALUE


def test_comment_injected_into_signed_text(world):
    data = _signed_invoice(world).replace(b"<cbc:ID>TOSL108</cbc:ID>",
                                          b"<cbc:ID>TOSL<!-- -->108</cbc:ID>")
    sig = _only(_verify(world, data))
    # canonicalisation drops the comment, so the digest still matches; we refuse anyway
    assert (sig.valid, sig.reason) == (False, Reason.COMMENT_IN_SIGNED_TEXT)


def test_document_wrapped_in_another_root(world):
    signed = parse_xml(_signed_invoice(world)).getroot()
    wrapper = etree.Element("Envelope")
    wrapper.append(etree.Element("Evil"))
    wrapper.append(signed)
    report = verify_document(etree.ElementTree(wrapper), trust=world[1], country="KZ")
    assert _only(report).reason is Reason.SIGNATURE_LOCATION


def test_signature_moved_into_the_body(world):
    tree = parse_xml(_signed_invoice(world))
    root = tree.getroot()
    sig = root.find(f".//{{{NS['ds']}}}Signature")
    root.find(f"{{{NS['cac']}}}InvoiceLine").append(sig)
    assert _only(_verify(world, etree.tostring(tree))).reason is Reason.SIGNATURE_LOCATION


def test_key_not_in_the_trust_list(world):
    sig = _only(_verify(world, _signed_invoice(world, "stranger")))
    assert (sig.valid, sig.reason) == (False, Reason.UNTRUSTED_CHAIN)


def test_certificate_of_another_country(world):
    data = _signed_invoice(world, "uz")
    sig = _only(_verify(world, data, country="KZ"))
    assert (sig.reason, sig.country) == (Reason.WRONG_COUNTRY, "UZ")
    assert _only(_verify(world, data, country="UZ")).valid


def test_expired_certificate(world):
    assert _only(_verify(world, _signed_invoice(world, "expired"))).reason is Reason.EXPIRED


def test_not_yet_valid_certificate(world):
    sig = _only(_verify(world, _signed_invoice(world, "future")))
    assert sig.reason is Reason.NOT_YET_VALID


def test_revoked_certificate(world):
    sig = _only(_verify(world, _signed_invoice(world, "revoked")))
    assert (sig.reason, sig.revocation) == (Reason.REVOKED, "revoked")


def test_signing_time_beyond_the_clock_skew(world):
    data = _signed_invoice(world)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    sig = _only(_verify(world, data, now=an_hour_ago))
    assert sig.reason is Reason.SIGNING_TIME_IN_FUTURE
    lenient = VerificationPolicy(clock_skew=dt.timedelta(hours=2))
    assert _only(_verify(world, data, now=an_hour_ago, policy=lenient)).valid


def test_rsa_sha1_is_refused(world):
    class LegacySigner(XAdESSigner):
        def check_deprecated_methods(self):  # signxml refuses SHA-1 unless told otherwise
            pass

    data = _signxml_sign(world, "kz", LegacySigner, signature_algorithm="rsa-sha1",
                         digest_algorithm="sha1")
    sig = _only(_verify(world, data))
    assert sig.reason is Reason.UNSUPPORTED_ALGORITHM and "sha1" in sig.detail


def test_1024_bit_rsa_is_refused(world):
    from signing import WeakKeyError

    with pytest.raises(WeakKeyError):
        world[0]["weak"].identity()
    sig = _only(_verify(world, _signxml_sign(world, "weak")))
    assert sig.reason is Reason.WEAK_KEY


def test_xslt_transform_is_refused_though_signxml_accepts_it(world):
    xslt = "http://www.w3.org/TR/1999/REC-xslt-19991116"

    class XsltSigner(XAdESSigner):
        def _build_transforms_for_reference(self, *, transforms_node, reference, **kw):
            super()._build_transforms_for_reference(transforms_node=transforms_node,
                                                    reference=reference, **kw)
            if reference.URI == "":
                t = etree.SubElement(transforms_node, f"{{{NS['ds']}}}Transform", Algorithm=xslt)
                etree.SubElement(t, "{http://www.w3.org/1999/XSL/Transform}stylesheet",
                                 version="1.0")

    data = _signxml_sign(world, "kz", XsltSigner)
    leaf = world[0]["kz"]
    # the library's edge: signxml skips the transform it does not implement and says valid
    results = XAdESVerifier().verify(
        data, x509_cert=leaf.cert, expect_config=XAdESSignatureConfiguration(location=".//"))
    assert results
    sig = _only(_verify(world, data))
    assert (sig.reason, sig.reference) == (Reason.UNSUPPORTED_TRANSFORM, "")


def test_entities_and_dtds_are_refused_before_verification():
    with pytest.raises(UnsafeXmlError):
        parse_xml(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')
    with pytest.raises(UnsafeXmlError):
        parse_xml(b'<!DOCTYPE r SYSTEM "http://example.org/r.dtd"><r/>')


def test_unsigned_document_is_not_valid(world):
    report = _verify(world, INVOICE.read_bytes())
    assert report.signatures == () and not report.all_valid
    assert report.to_dict()["reason"] == "no-signature"


# ---------------------------------------------------------------- partial signatures

def _partial(world, who="kz") -> bytes:
    """A signature over one element (#d1) of a non-UBL document, made with signxml."""
    leaf = world[0][who]
    root = etree.fromstring(b'<Envelope><Data Id="d1"><Amount>10</Amount></Data>'
                            b'<Other/></Envelope>')
    signed = XAdESSigner(c14n_algorithm=C14N).sign(
        root, key=leaf.key, cert=[leaf.cert], reference_uri="#d1", always_add_key_value=False)
    return etree.tostring(signed)


def test_partial_signature_says_what_it_covers(world):
    sig = _only(_verify(world, _partial(world)))
    assert sig.reason is Reason.PARTIAL_COVERAGE and sig.reference == "#d1"
    assert sig.covers == "only element /Envelope/Data (#d1)" and not sig.whole_document
    lenient = VerificationPolicy(require_whole_document=False)
    sig = _only(_verify(world, _partial(world), policy=lenient))
    assert sig.valid
    # only the signed element is handed out as trusted content
    assert etree.tostring(sig.signed_content) == b'<Data Id="d1"><Amount>10</Amount></Data>'


def test_element_moved_out_of_the_signed_subtree(world):
    tree = parse_xml(_partial(world))
    root = tree.getroot()
    root.find("Other").append(root.find("Data/Amount"))
    lenient = VerificationPolicy(require_whole_document=False)
    sig = _only(_verify(world, etree.tostring(tree), policy=lenient))
    assert (sig.reason, sig.reference) == (Reason.DIGEST_MISMATCH, "#d1")


def test_duplicated_signed_element(world):
    tree = parse_xml(_partial(world))
    root = tree.getroot()
    evil = copy.deepcopy(root.find("Data"))
    evil.find("Amount").text = "1000000"
    root.insert(0, evil)
    lenient = VerificationPolicy(require_whole_document=False)
    sig = _only(_verify(world, etree.tostring(tree), policy=lenient))
    assert (sig.reason, sig.reference) == (Reason.AMBIGUOUS_REFERENCE, "#d1")



def test_certificate_without_signing_key_usage(pki, world, tmp_path):
    from cryptography import x509

    encipher_only = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    leaf = pki.leaf("KZ", key_usage=encipher_only)
    data = etree.tostring(Signer(leaf.identity()).sign(parse_xml(INVOICE.read_bytes()),
                                                       order=world[2]))
    assert _only(_verify(world, data)).reason is Reason.KEY_USAGE


def test_missing_crl_when_the_policy_requires_one(pki, world, tmp_path):
    folder = tmp_path / "trust" / "KZ"
    folder.mkdir(parents=True)
    (folder / "ca.pem").write_bytes(pki.ca("KZ").cert_path.read_bytes())  # no CRL
    data = _signed_invoice(world)
    relaxed = verify_document(parse_xml(data), trust=TrustStore(tmp_path / "trust"))
    assert _only(relaxed).valid and _only(relaxed).revocation == "no CRL"
    strict = verify_document(parse_xml(data), trust=TrustStore(tmp_path / "trust"),
                             policy=VerificationPolicy(require_crl=True))
    assert _only(strict).reason is Reason.NO_CRL
