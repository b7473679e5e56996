"""Placement, policy and report pieces that need no files."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from lxml import etree

from signing import DEFAULT_POLICY, Reason, SignatureLocation, VerificationReport
from signing.errors import PlacementError
from signing.placement import NS, insert_placeholder, later_blocks, location_of
from signing.report import SignatureReport

INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
ORDER = (f"{{{NS['ext']}}}UBLExtensions", f"{{{NS['cbc']}}}ID", f"{{{NS['cbc']}}}Note",
         f"{{{NS['cac']}}}Signature", f"{{{NS['cac']}}}InvoiceLine")


def _doc() -> etree._Element:
    return etree.fromstring(
        f'<Invoice xmlns="{INV}" xmlns:cbc="{NS["cbc"]}" xmlns:cac="{NS["cac"]}">'
        '<cbc:ID>1</cbc:ID><cbc:Note>n</cbc:Note><cac:InvoiceLine/></Invoice>'.encode())


def _names(root):
    return [etree.QName(c).localname for c in root]


def test_ubl_placeholder_and_cac_signature_follow_the_content_model():
    root = _doc()
    ph = insert_placeholder(root, order=ORDER)
    assert _names(root) == ["UBLExtensions", "ID", "Note", "Signature", "InvoiceLine"]
    assert location_of(ph, root) is SignatureLocation.UBL_EXTENSION
    ph2 = insert_placeholder(root, order=ORDER)
    assert _names(root) == ["UBLExtensions", "ID", "Note", "Signature", "Signature",
                            "InvoiceLine"]
    ids = [s.findtext(f"{{{NS['cbc']}}}ID") for s in root.findall(f"{{{NS['cac']}}}Signature")]
    assert ids == ["urn:oasis:names:specification:ubl:signature:1",
                   "urn:oasis:names:specification:ubl:signature:2"]
    blocks, n = later_blocks(root, ph)
    assert n == 1 and [etree.QName(b).localname for b in blocks] == ["UBLExtension", "Signature"]
    assert later_blocks(root, ph2) == ([], 0)


def test_ubl_without_an_order_or_a_place_is_refused():
    with pytest.raises(PlacementError):
        insert_placeholder(_doc(), order=None)
    with pytest.raises(PlacementError, match="no place for Signature"):
        insert_placeholder(_doc(), order=ORDER[:3])


def test_other_xml_gets_a_root_child_signature():
    root = etree.fromstring(b"<a><b/></a>")
    ph = insert_placeholder(root, order=None)
    assert root[-1] is ph and location_of(ph, root) is SignatureLocation.ENVELOPED_ROOT
    nested = etree.SubElement(root.find("b"), ph.tag)
    assert location_of(nested, root) is SignatureLocation.OTHER


def test_a_signature_directly_under_a_ubl_root_or_as_the_root():
    root = _doc()
    sig = etree.SubElement(root, f"{{{NS['ds']}}}Signature")
    assert location_of(sig, root) is SignatureLocation.OTHER  # UBL: only in the extension
    alone = etree.Element(f"{{{NS['ds']}}}Signature")
    assert location_of(alone, alone) is SignatureLocation.ENVELOPING
    assert SignatureLocation.ENVELOPING not in DEFAULT_POLICY.locations


def test_policy_is_frozen_with_secure_defaults():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.min_rsa_bits = 1024  # type: ignore[misc]
    assert DEFAULT_POLICY.require_xades and DEFAULT_POLICY.require_whole_document
    assert not any("sha1" in m for m in DEFAULT_POLICY.signature_methods)
    assert not any("xpath" in t.lower() or "xslt" in t.lower()
                   for t in DEFAULT_POLICY.transforms)
    assert DEFAULT_POLICY.clock_skew == dt.timedelta(minutes=5)


def test_report_serialises_and_raises():
    from signing import VerificationFailed

    bad = SignatureReport(index=0, id="s", path="/x", location="other", valid=False,
                          reason=Reason.SIGNATURE_LOCATION, detail="moved")
    report = VerificationReport((bad,), "KZ", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    d = report.to_dict()
    assert d["all_valid"] is False and d["signatures"][0]["reason"] == "signature-location"
    assert "signed_content" not in d["signatures"][0]
    assert report.trusted_content() == []
    with pytest.raises(VerificationFailed) as err:
        report.raise_for_status()
    assert err.value.report is report and err.value.code == "signing.verification-failed"
    assert not VerificationReport((), None, dt.datetime.now(dt.UTC)).all_valid


def test_later_signature_sharing_an_extension_is_removed_alone():
    root = _doc()
    first = insert_placeholder(root, order=ORDER)
    info = first.getparent()
    second_info = etree.SubElement(info.getparent(), info.tag)
    second = etree.SubElement(second_info, first.tag)
    blocks, n = later_blocks(root, first)
    assert n == 1 and blocks == [second_info]
    assert later_blocks(root, second) == ([], 0)
