"""Signature profiles: plain enveloped XML-DSig, as national signing tools make it (here by
xmlsec1 and by signxml's XMLSigner, two independent implementations), is accepted where the
member's profile is ``xmldsig`` and refused with a clear reason under ``xades-bes``; the
members file carries the profile and the submission pipeline applies it."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from lxml import etree

from adapters.errors import MembersFileError
from adapters.members import default_members_path, load_members
from exchange.documents.pipeline import DocumentInput, inspect_document
from exchange.documents.signatures import HubSealer, MemberChecker
from signing import Reason, TrustStore, VerificationPolicy, verify_document
from signing.placement import insert_placeholder, root_child_order
from signing.policy import Profile
from signing.safexml import parse_xml
from tests.integration.test_verify_interop import (
    DS,
    WAYBILL,
    WAYBILL_NS,
    XMLSEC1,
    _template,
    _xmlsec_sign,
)

pytestmark = pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 is not installed")
ENVELOPE = b'<Envelope xmlns="urn:envelope"><Data>Hello</Data></Envelope>'
XMLDSIG = VerificationPolicy(profile=Profile.XMLDSIG)


def _by_xmlsec1(leaf, tmp_path, root: etree._Element | None = None) -> bytes:
    """A plain enveloped XML-DSig signature (no XAdES) made by xmlsec1."""
    tpl = _template(leaf, prefixed=True, algorithm="rsa-sha256")
    si = tpl.find(f"{{{DS}}}SignedInfo")
    si.remove(si.findall(f"{{{DS}}}Reference")[1])
    tpl.remove(tpl.find(f"{{{DS}}}Object"))
    if root is None:
        root = etree.fromstring(ENVELOPE)
        root.append(tpl)
    else:
        placeholder = root.find(f".//{{{DS}}}Signature[@Id='placeholder']")
        placeholder.getparent().replace(placeholder, tpl)
    return _xmlsec_sign(leaf, etree.tostring(root), tmp_path)


def _by_signxml(leaf, root: etree._Element | None = None) -> bytes:
    """A plain enveloped XML-DSig signature made by signxml's XMLSigner (C14N 1.1)."""
    from signxml import XMLSigner, methods
    from signxml.algorithms import DigestAlgorithm, SignatureMethod

    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256)
    signed = signer.sign(root if root is not None else etree.fromstring(ENVELOPE),
                         key=leaf.key, cert=[leaf.cert], always_add_key_value=False)
    return etree.tostring(signed)


def _ubl_slot(validator) -> etree._Element:
    root = parse_xml(WAYBILL.read_bytes()).getroot()
    insert_placeholder(root, order=root_child_order(validator.schema_path(WAYBILL_NS)))
    return root


@pytest.fixture(scope="module")
def trust(pki, tmp_path_factory):
    return TrustStore(pki.trust_dir(tmp_path_factory.mktemp("trust"), ["KZ", "UZ"]))


@pytest.fixture(scope="module")
def plain(pki, tmp_path_factory, validator):
    """Plain XML-DSig signatures by a KZ signer: xmlsec1 and signxml, plain XML and UBL."""
    leaf, tmp = pki.leaf("KZ"), tmp_path_factory.mktemp("plain")
    return {"xmlsec1": _by_xmlsec1(leaf, tmp),
            "xmlsec1-ubl": _by_xmlsec1(leaf, tmp, _ubl_slot(validator)),
            "signxml": _by_signxml(leaf),
            "signxml-ubl": _by_signxml(leaf, _ubl_slot(validator))}


KINDS = ["xmlsec1", "xmlsec1-ubl", "signxml", "signxml-ubl"]


@pytest.mark.parametrize("kind", KINDS)
def test_plain_xmldsig_verifies_under_the_xmldsig_profile(plain, trust, kind, pki, tmp_path):
    data = plain[kind]
    if kind.startswith("signxml"):  # independent check of what signxml made
        path = tmp_path / "s.xml"
        path.write_bytes(data)
        done = subprocess.run([XMLSEC1, "--verify", "--trusted-pem",
                               str(pki.ca("KZ").cert_path), str(path)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    report = verify_document(parse_xml(data), trust=trust, country="KZ", policy=XMLDSIG)
    sig, = report.signatures
    assert sig.valid, sig.summary()
    assert sig.profile == "xmldsig" and sig.whole_document and sig.country == "KZ"
    assert "valid (xmldsig)" in sig.summary()
    assert report.to_dict()["required_profile"] == "xmldsig"
    # the same checks as ever: tampering, a foreign signer
    bad = data.replace(b"Hello", b"Hullo") if b"Hello" in data else \
        data.replace(b"<cbc:ID>", b"<cbc:ID>X", 1)
    tampered, = verify_document(parse_xml(bad), trust=trust, policy=XMLDSIG).signatures
    assert tampered.reason is Reason.DIGEST_MISMATCH
    wrong, = verify_document(parse_xml(data), trust=trust, country="UZ",
                             policy=XMLDSIG).signatures
    assert wrong.reason is Reason.WRONG_COUNTRY


@pytest.mark.parametrize("kind", KINDS)
def test_plain_xmldsig_is_refused_under_xades_bes_with_the_reason(plain, trust, kind):
    sig, = verify_document(parse_xml(plain[kind]), trust=trust, country="KZ").signatures
    assert (sig.valid, sig.reason) == (False, Reason.XADES_REQUIRED), sig.summary()
    assert "plain XML-DSig" in sig.detail and "xades-bes profile is required" in sig.detail
    assert "xmldsig" in sig.detail  # what the member could do instead
    assert sig.profile == "xmldsig" and sig.signer is not None  # intact, just not XAdES


def test_xades_signatures_meet_both_profiles(pki, trust):
    from signing import Signer

    signed = Signer(pki.leaf("KZ").identity()).sign(parse_xml(ENVELOPE))
    for policy in (VerificationPolicy(), XMLDSIG):
        sig, = verify_document(signed, trust=trust, policy=policy).signatures
        assert sig.valid and sig.profile == "xades-bes", sig.summary()


# ------------------------------------------------- the members file and the pipeline

def _members(tmp_path, pki, **profiles: str):
    trust = pki.trust_dir(tmp_path / "trust", ["KZ", "UZ"])
    text = default_members_path().read_text(encoding="utf-8")
    text = re.sub(r'trust_dir = "trust/([A-Z]{2})"',
                  lambda m: f'trust_dir = "{trust / m.group(1)}"', text)
    for code, profile in profiles.items():
        text = text.replace(f"[members.{code}]\n",
                            f'[members.{code}]\nsignature_profile = "{profile}"\n', 1)
    path = tmp_path / "members.toml"
    path.write_text(text, encoding="utf-8")
    return load_members(path)


def test_members_file_profile_default_and_bad_value(tmp_path, pki):
    members = _members(tmp_path, pki, KZ="xmldsig")
    assert members["KZ"].signature_profile is Profile.XMLDSIG
    assert members["UZ"].signature_profile is Profile.XADES_BES  # the default
    bad = (tmp_path / "members.toml").read_text().replace('signature_profile = "xmldsig"',
                                                   'signature_profile = "pades"')
    (tmp_path / "bad.toml").write_text(bad)
    line = next(n for n, t in enumerate(bad.splitlines(), 1) if '"pades"' in t)
    with pytest.raises(MembersFileError, match=rf"line {line}: KZ: signature_profile must be "
                                               r"one of 'xades-bes', 'xmldsig'"):
        load_members(tmp_path / "bad.toml")


@pytest.mark.parametrize("kind", ["xmlsec1-ubl", "signxml-ubl"])
def test_the_pipeline_applies_the_origin_members_profile(tmp_path, pki, plain, validator, kind):
    """The same plain signature of a KZ signer, submitted from KZ: accepted where KZ's
    profile is xmldsig, refused for the profile (not for its signer) where KZ keeps the
    default xades-bes."""
    members = _members(tmp_path, pki, KZ="xmldsig")
    checker = MemberChecker(members)
    sealer = HubSealer(pki.leaf("UZ").identity(), validator.schema_path)
    doc = DocumentInput(plain[kind], "waybill.xml")
    kz = inspect_document(doc, validator=validator, checker=checker, sealer=sealer,
                          origin="KZ", require_signature=True)
    assert not kz.refused, kz.refusal
    assert kz.signature["valid"] and kz.signature["required_profile"] == "xmldsig"
    assert kz.signature["signatures"][0]["profile"] == "xmldsig"
    assert kz.sealed is not None

    strict = _members(tmp_path / "strict", pki)
    assert strict["KZ"].signature_profile is Profile.XADES_BES
    refused = inspect_document(doc, validator=validator, checker=MemberChecker(strict),
                               sealer=sealer, origin="KZ", require_signature=True)
    assert refused.refusal.code == "signature-invalid" and refused.sealed is None
    assert refused.signature["signatures"][0]["reason"] == "xades-required"
    assert "the xades-bes profile is required" in str(refused.refusal.detail)
    assert refused.signature["signatures"][0]["signer"]  # the signer itself was fine
    assert json.dumps(refused.signature)  # the report goes to the client as JSON


def test_verify_command_profile_option(plain, pki, tmp_path, run_cli):
    trust = pki.trust_dir(tmp_path / "trust", ["KZ"])
    path = tmp_path / "plain.xml"
    path.write_bytes(plain["signxml"])
    refused = run_cli("verify", str(path), "--trust", str(trust))
    assert refused.returncode == 1 and b"[xades-required]" in refused.stdout
    ok = run_cli("verify", str(path), "--trust", str(trust), "--profile", "xmldsig",
                 "--format", "json")
    assert ok.returncode == 0, ok.stdout
    report = json.loads(ok.stdout)
    assert report["required_profile"] == "xmldsig"
    assert report["signatures"][0]["profile"] == "xmldsig"
    bad = run_cli("verify", str(path), "--trust", str(trust), "--profile", "cades")
    assert bad.returncode == 2 and b"cades" in bad.stderr
    ubl = tmp_path / "waybill.xml"  # and `exchange validate --verify` takes it too
    ubl.write_bytes(plain["signxml-ubl"])
    strict = run_cli("validate", str(ubl), "--verify", "--trust", str(trust), "-f", "json")
    assert strict.returncode == 1 and b"xades-required" in strict.stdout
    loose = run_cli("validate", str(ubl), "--verify", "--trust", str(trust), "--profile",
                    "xmldsig")
    assert loose.returncode == 0, loose.stdout
