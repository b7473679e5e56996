"""Trust folders per member country: add, list, refusals."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from lxml import etree

from signing import Reason, Signer, TrustStore, TrustStoreError, verify_document
from signing.safexml import parse_xml


def test_add_a_ca_and_its_crl(pki, tmp_path):
    store = TrustStore(tmp_path / "trust")
    assert store.countries() == []
    ca = pki.ca("KG")
    target = store.add("KG", ca.cert_path)
    assert target.parent == tmp_path / "trust" / "KG"
    assert [a.certificate for a in store.anchors("KG")] == [ca.cert]
    crl = tmp_path / "kg.crl"
    crl.write_bytes(ca.crl_pem())
    assert store.add("KG", crl).suffix == ".crl"
    assert len(store.crls("KG")) == 1
    assert store.countries() == ["KG"]
    assert TrustStore(tmp_path / "trust").all_anchors()[0].country == "KG"


def test_refusals_change_nothing(pki, tmp_path):
    store = TrustStore(tmp_path / "trust")
    leaf = pki.leaf("KG")
    with pytest.raises(TrustStoreError, match="not a CA certificate"):
        store.add("KG", leaf.cert_path)
    with pytest.raises(TrustStoreError, match="not an ISO 3166-1"):
        store.add("kz", pki.ca("KZ").cert_path)
    with pytest.raises(TrustStoreError, match="cannot be read"):
        store.add("KZ", tmp_path / "missing.pem")
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"junk")
    with pytest.raises(TrustStoreError, match="neither an X.509 certificate nor a CRL"):
        store.add("KZ", junk)
    assert not (tmp_path / "trust").exists()


def test_unreadable_file_is_named_and_skipped(pki, tmp_path):
    """A broken file is a warning naming it; the rest of the country's list still works."""
    folder = tmp_path / "KZ"
    folder.mkdir()
    (folder / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nxx\n")
    (folder / "ca.pem").write_bytes(pki.ca("KZ").cert.public_bytes(Encoding.PEM))
    store = TrustStore(tmp_path)
    assert [a.certificate for a in store.anchors("KZ")] == [pki.ca("KZ").cert]
    (warning,) = store.warnings("KZ")
    assert str(folder / "broken.pem") in warning and "skipped" in warning


# ----------------------------------------------- files classified by content, not by name

@pytest.fixture(scope="module")
def revoking(pki):
    """A KZ signer whose certificate the KZ CA has revoked, and one it has not."""
    return pki.leaf("KZ", revoked=True), pki.leaf("KZ")


def _signed(leaf) -> etree._ElementTree:
    doc = parse_xml(b'<Envelope xmlns="urn:envelope"><Data>Hello</Data></Envelope>')
    return Signer(leaf.identity()).sign(doc)


def _folder(tmp_path, files: dict[str, bytes]) -> TrustStore:
    (tmp_path / "KZ").mkdir(parents=True)
    for name, data in files.items():
        (tmp_path / "KZ" / name).write_bytes(data)
    return TrustStore(tmp_path)


def _pem(cert) -> bytes:
    return cert.public_bytes(Encoding.PEM)


@pytest.mark.parametrize("layout", ["crl.pem", "crl-der.cer", "bundle.pem", "no-suffix"])
def test_trust_folder_layouts_verify_and_enforce_revocation(pki, revoking, tmp_path, layout,
                                                             caplog):
    """ca.pem beside a PEM CRL named crl.pem, a DER CRL named .cer, one .pem holding several
    certificates (the CA among others) and the CRL, files without a suffix; a junk file is
    named in a warning and skipped. Revocation from the CRL is enforced in each layout."""
    ca = pki.ca("KZ")
    other = pki.ca("UZ").cert  # an unrelated CA in the bundle changes nothing
    crl = ca.crl()
    junk = {"README.txt": b"trust list of KZ, see the wiki"}
    files = {
        "crl.pem": {"ca.pem": _pem(ca.cert), "crl.pem": crl.public_bytes(Encoding.PEM)},
        "crl-der.cer": {"ca.pem": _pem(ca.cert), "revoked.cer": crl.public_bytes(Encoding.DER)},
        "bundle.pem": {"bundle.pem": _pem(other) + _pem(ca.cert)
                       + crl.public_bytes(Encoding.PEM)},
        "no-suffix": {"ca": ca.cert.public_bytes(Encoding.DER),
                      "list": crl.public_bytes(Encoding.PEM)},
    }[layout]
    store = _folder(tmp_path, {**files, **junk})
    with caplog.at_level("WARNING", logger="signing.trust"):
        assert ca.cert in [a.certificate for a in store.anchors("KZ")]
        assert [c.issuer for c in store.crls("KZ")] == [ca.cert.subject]
    (warning,) = store.warnings("KZ")
    assert "README.txt" in warning and "neither an X.509 certificate nor a CRL" in warning
    assert "README.txt" in caplog.text
    revoked, good = revoking
    ok = verify_document(_signed(good), trust=store, country="KZ").signatures[0]
    assert ok.valid and ok.revocation == "checked against CRL", ok.summary()
    bad = verify_document(_signed(revoked), trust=store, country="KZ").signatures[0]
    assert (bad.valid, bad.reason) == (False, Reason.REVOKED), bad.summary()


def test_a_private_key_in_the_folder_is_skipped_not_fatal(pki, tmp_path):
    leaf = pki.leaf("KZ")
    key = leaf.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    store = _folder(tmp_path, {"ca.pem": _pem(pki.ca("KZ").cert), "oops.pem": key})
    assert len(store.anchors("KZ")) == 1
    (warning,) = store.warnings("KZ")
    assert "oops.pem" in warning and "PRIVATE KEY" in warning
    assert verify_document(_signed(leaf), trust=store, country="KZ").all_valid


def test_trust_list_command_names_the_skipped_file(pki, tmp_path, run_cli):
    _folder(tmp_path, {"ca.pem": _pem(pki.ca("KZ").cert),
                       "crl.pem": pki.ca("KZ").crl_pem(), "notes.doc": b"\x00\x01junk"})
    done = run_cli("trust", "list", "--trust", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert b"KZ: 1 CA certificate(s), 1 CRL(s)" in done.stdout
    assert b"notes.doc" in done.stderr and b"skipped" in done.stderr


# ----------------------------------------------------------- the hub's pinned certificate

def test_the_hub_pin_trusts_that_certificate_only(pki, tmp_path):
    """Pinning trusts the hub's own certificate (the first of the published file), whatever
    country is expected; not another self-signed signer, not the CA of a chain after it."""
    hub, stranger = pki.self_signed(), pki.self_signed()
    published = tmp_path / "hub.pem"
    published.write_bytes(_pem(hub.cert) + _pem(pki.ca("UZ").cert))
    store = TrustStore(pki.trust_dir(tmp_path / "trust", ["KZ"]))
    target = store.add_hub(published)
    assert target.parent == tmp_path / "trust" / "hub"
    assert [a.certificate for a in store.hub_certificates()] == [hub.cert]
    assert store.countries() == ["KZ"] and store.anchors("KZ")[0].certificate == pki.ca("KZ").cert
    for country in (None, "KZ"):
        sig = verify_document(_signed(hub), trust=store, country=country).signatures[0]
        assert sig.valid and sig.country == "hub"
        assert sig.anchor == hub.cert.subject.rfc4514_string()
        assert sig.revocation == "not checked (pinned certificate)"
        other = verify_document(_signed(stranger), trust=store, country=country).signatures[0]
        assert other.reason is Reason.UNTRUSTED_CHAIN
        uz = verify_document(_signed(pki.leaf("UZ")), trust=store, country=country).signatures[0]
        assert not uz.valid  # the UZ CA after the hub's certificate was not pinned
    assert TrustStore(tmp_path / "trust").hub_certificates()[0].certificate == hub.cert


def test_an_expired_pinned_hub_certificate_is_refused_for_its_expiry(pki, tmp_path):
    leaf = pki.leaf("KZ", expired=True)
    store = TrustStore(tmp_path / "trust")
    store.add_hub(leaf.cert_path)
    sig = verify_document(_signed(leaf), trust=store).signatures[0]
    assert sig.reason is Reason.EXPIRED
