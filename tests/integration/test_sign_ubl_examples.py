"""Every schema-valid official UBL 2.4 example, signed, stays schema-valid and verifies;
with a second signature (another signer, another country) both verify."""
from __future__ import annotations

import pytest
from lxml import etree

from signing import Signer, TrustStore, verify_document
from signing.placement import NS
from signing.safexml import parse_xml
from tests.fixtures.packs import UBL_EXAMPLES

EXAMPLES = sorted(p.name for p in UBL_EXAMPLES.glob("*.xml"))


@pytest.fixture(scope="module")
def parties(pki, tmp_path_factory):
    forwarder, hub = pki.leaf("KZ"), pki.leaf("UZ", kind="ec")
    trust = TrustStore(pki.trust_dir(tmp_path_factory.mktemp("trust"), ["KZ", "UZ"]))
    return Signer(forwarder.identity()), Signer(hub.identity()), trust


@pytest.mark.parametrize("name", EXAMPLES)
def test_signed_example_stays_valid_and_verifies(name, validator, parties):
    forwarder, hub, trust = parties
    original = validator.validate((UBL_EXAMPLES / name).read_bytes(), name)
    if not original.accepted:
        pytest.skip(f"{name} is not a schema-valid UBL 2.4 document")
    schema = validator.schema_path(etree.QName(original.tree.getroot()).namespace)

    before = len(verify_document(original.tree).signatures)  # signatures it came with

    once = etree.tostring(forwarder.sign(original.tree, schema=schema))
    report = validator.validate(once, name)
    assert report.accepted, [f.message for f in report.errors()]
    result = verify_document(parse_xml(once), trust=trust, country="KZ")
    assert len(result.signatures) == before + 1
    assert result.signatures[-1].valid, result.summary_lines()
    assert result.all_valid == (before == 0)

    twice = etree.tostring(hub.sign(parse_xml(once), schema=schema))
    report = validator.validate(twice, name)
    assert report.accepted, [f.message for f in report.errors()]
    result = verify_document(parse_xml(twice), trust=trust)
    assert all(s.valid for s in result.signatures[before:]), result.summary_lines()
    assert [s.country for s in result.signatures][-2:] == ["KZ", "UZ"]
    root = parse_xml(twice).getroot()
    assert len(root.findall(f"{{{NS['cac']}}}Signature")) >= 2


def test_an_example_signed_with_rsa_sha1_keeps_its_old_signature_reported(parties):
    """UBL-Invoice-2.0-Enveloped.xml comes with an RSA-SHA1 signature: adding ours leaves
    it in place, and verification reports it as a weak algorithm."""
    tree = parse_xml((UBL_EXAMPLES / "UBL-Invoice-2.0-Enveloped.xml").read_bytes())
    old = verify_document(tree, trust=parties[2]).signatures
    assert [s.reason for s in old] == ["unsupported-algorithm"]


def test_the_input_tree_is_not_changed(validator, parties):
    tree = parse_xml((UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes())
    before = etree.tostring(tree)
    schema = validator.schema_path(etree.QName(tree.getroot()).namespace)
    parties[0].sign(tree, schema=schema)
    assert etree.tostring(tree) == before


def test_cac_signature_stands_where_the_schema_puts_it(validator, parties):
    from signing import root_child_order

    for name in ("UBL-Waybill-2.0-Example-International.xml", "UBL-Invoice-2.1-Example.xml"):
        tree = parse_xml((UBL_EXAMPLES / name).read_bytes())
        schema = validator.schema_path(etree.QName(tree.getroot()).namespace)
        order = root_child_order(schema)
        root = parties[0].sign(tree, schema=schema).getroot()
        tags = [c.tag for c in root if isinstance(c.tag, str)]
        assert tags[0] == "{%s}UBLExtensions" % NS["ext"]
        assert [order.index(t) for t in tags] == sorted(order.index(t) for t in tags)
        info = root.find(".//{%s}SignatureInformation" % NS["sac"])
        ref = info.findtext("{%s}ReferencedSignatureID" % NS["sbc"])
        assert root.find("{%s}Signature" % NS["cac"]).findtext("{%s}ID" % NS["cbc"]) == ref
    # Waybill puts cac:Signature last, Invoice right after the header fields
    assert order.index("{%s}Signature" % NS["cac"]) < order.index(
        "{%s}AccountingSupplierParty" % NS["cac"])


def test_non_ubl_documents_get_an_enveloped_signature(parties):
    tree = parse_xml(b'<Manifest xmlns="urn:example:manifest"><Item>1</Item></Manifest>')
    signed = parties[0].sign(tree).getroot()
    assert signed[-1].tag == "{%s}Signature" % NS["ds"]
    twice = parties[1].sign(signed)
    report = verify_document(twice, trust=parties[2])
    assert report.all_valid and len(report.signatures) == 2, report.summary_lines()
