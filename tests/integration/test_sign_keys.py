"""Keys and certificates: PEM (encrypted or not), PKCS#12, passphrases, refusals."""
from __future__ import annotations

import pytest
from lxml import etree

from signing import (
    KeyLoadError,
    KeyMismatchError,
    PassphraseError,
    Signer,
    SigningError,
    WeakKeyError,
    load_identity,
    read_passphrase,
    verify_document,
)
from signing.safexml import parse_xml

DOC = b"<Order xmlns='urn:example'><Line>1</Line></Order>"


@pytest.fixture(scope="module")
def leaf(pki):
    return pki.leaf("KZ")


def test_plain_pem(leaf):
    identity = load_identity(leaf.key_path, leaf.cert_path)
    assert identity.certificate == leaf.cert
    signed = Signer(identity).sign(parse_xml(DOC))
    assert len(verify_document(signed).signatures) == 1


def test_encrypted_pem(leaf, tmp_path):
    key = leaf.write_key(tmp_path / "k.pem", b"s3cret")
    assert load_identity(key, leaf.cert_path, passphrase=b"s3cret").certificate == leaf.cert
    with pytest.raises(PassphraseError, match="encrypted; give its passphrase"):
        load_identity(key, leaf.cert_path)
    with pytest.raises(PassphraseError, match="wrong passphrase") as err:
        load_identity(key, leaf.cert_path, passphrase=b"nope")
    assert err.value.code == "signing.passphrase" and "nope" not in str(err.value)
    with pytest.raises(PassphraseError, match="not encrypted"):
        load_identity(leaf.key_path, leaf.cert_path, passphrase=b"s3cret")


def test_pkcs12(leaf, tmp_path):
    p12 = leaf.write_pkcs12(tmp_path / "id.p12", b"p12pass")
    identity = load_identity(pkcs12_file=p12, passphrase=b"p12pass")
    assert identity.certificate == leaf.cert and identity.chain == (leaf.ca.cert,)
    with pytest.raises(PassphraseError):
        load_identity(pkcs12_file=p12, passphrase=b"wrong")
    with pytest.raises(KeyLoadError):
        load_identity(leaf.key_path, pkcs12_file=p12, passphrase=b"p12pass")


def test_key_that_does_not_match_its_certificate_is_refused(pki, leaf):
    other = pki.leaf("KZ")
    with pytest.raises(KeyMismatchError, match="does not belong") as err:
        load_identity(other.key_path, leaf.cert_path)
    assert isinstance(err.value, ValueError) and isinstance(err.value, SigningError)


def test_weak_rsa_key_is_refused(pki):
    weak = pki.leaf("KZ", bits=1024)
    with pytest.raises(WeakKeyError, match="1024 bits"):
        load_identity(weak.key_path, weak.cert_path)


def test_unreadable_and_garbage_files(tmp_path, leaf):
    with pytest.raises(KeyLoadError, match="cannot be read"):
        load_identity(tmp_path / "missing.pem", leaf.cert_path)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a key")
    with pytest.raises(KeyLoadError, match="not a PEM private key"):
        load_identity(junk, leaf.cert_path)
    with pytest.raises(KeyLoadError, match="not an X.509 certificate"):
        load_identity(leaf.key_path, junk)


def test_passphrase_from_environment_or_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNING_TEST_PASS", "from-env")
    assert read_passphrase(env="SIGNING_TEST_PASS") == b"from-env"
    f = tmp_path / "pass.txt"
    f.write_bytes(b"from-file\nignored\n")
    assert read_passphrase(file=f) == b"from-file"
    assert read_passphrase() is None
    with pytest.raises(PassphraseError, match="not set"):
        read_passphrase(env="SIGNING_TEST_UNSET_VAR")
    with pytest.raises(PassphraseError, match="cannot be read"):
        read_passphrase(file=tmp_path / "missing")
    with pytest.raises(PassphraseError, match="not both"):
        read_passphrase(env="SIGNING_TEST_PASS", file=f)


def test_identity_repr_shows_no_key_material(leaf):
    identity = load_identity(leaf.key_path, leaf.cert_path)
    assert "PRIVATE" not in repr(identity) and "Forwarder" in repr(identity)


def test_ecdsa_p256_and_stronger_digests(pki):
    ec_leaf = pki.leaf("KZ", kind="ec")
    for digest in ("sha256", "sha384", "sha512"):
        signer = Signer(ec_leaf.identity(), digest=digest)
        signed = signer.sign(parse_xml(DOC))
        method = signed.getroot().find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureMethod")
        assert method.get("Algorithm").endswith(f"ecdsa-{digest}")
    with pytest.raises(SigningError):
        Signer(ec_leaf.identity(), digest="sha1")


def test_a_ubl_document_without_its_schema_is_refused_before_signing(leaf):
    from signing import PlacementError

    ubl = b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>"
    with pytest.raises(PlacementError, match="needs its schema"):
        Signer(load_identity(leaf.key_path, leaf.cert_path)).sign(parse_xml(ubl))
    assert etree.tostring(parse_xml(ubl).getroot()).count(b"Signature") == 0
