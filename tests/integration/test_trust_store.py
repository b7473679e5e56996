"""Trust folders per member country: add, list, refusals."""
from __future__ import annotations

import pytest

from signing import TrustStore, TrustStoreError


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


def test_unreadable_anchor_is_reported(tmp_path):
    (tmp_path / "KZ").mkdir()
    (tmp_path / "KZ" / "broken.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(TrustStoreError, match="broken.pem"):
        TrustStore(tmp_path).anchors("KZ")
