"""Installing schema packs: from a folder, a zip and a URL; digests pinned; the store changes
only when every file matches."""
from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from exchange.errors import DigestMismatchError, PackSourceError, UnknownPackError
from exchange.validation.packs import SchemaStore, get_pack, load_catalog
from tests.fixtures.packs import UBL_SOURCE

SPEC = get_pack("ubl-2.4")


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_zip(path: Path, prefix: str = "UBL-2.4/", tamper: str | None = None,
             omit: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in SPEC.files:
            if rel == omit:
                continue
            data = (UBL_SOURCE / rel).read_bytes()
            if rel == tamper:
                data = data.replace(b"<", b"< ", 1)
            zf.writestr(prefix + rel, data)
        zf.writestr(prefix + "README-extra.txt", b"not part of the pack")
    return path


def test_catalog_maps_every_maindoc_schema():
    assert len(SPEC.document_types) == 93
    names = {d.root for d in SPEC.document_types}
    assert {"Waybill", "Invoice", "ExportCustomsDeclaration", "TransitCustomsDeclaration",
            "ImportCustomsDeclaration", "CertificateOfOrigin", "PackingList",
            "Manifest"} <= names
    for d in SPEC.document_types:
        assert d.namespace == f"urn:oasis:names:specification:ubl:schema:xsd:{d.root}-2"
        assert d.schema in SPEC.files
    assert SPEC.download_url.startswith("https://docs.oasis-open.org/ubl/os-UBL-2.4/")
    assert all(len(h) == 64 for h in SPEC.files.values())


def test_catalog_digests_match_the_official_manifest():
    manifest = dict(reversed(line.split(None, 1)) for line in
                    (UBL_SOURCE / "MANIFEST.sha256").read_text().splitlines())
    manifest = {k.strip(): v for k, v in manifest.items()}
    for rel, digest in SPEC.files.items():
        assert manifest[rel] == digest, rel


def test_install_from_folder(tmp_path):
    store = SchemaStore(tmp_path / "schemas")
    assert not store.is_installed("ubl-2.4")
    result = store.install("ubl-2.4", str(UBL_SOURCE))
    assert store.is_installed("ubl-2.4") and result.files == len(SPEC.files)
    installed = tree_digest(result.path)
    installed.pop(".installed.toml")
    assert installed == SPEC.files  # exactly the pinned files, nothing else


def test_install_from_zip_with_a_top_folder(tmp_path):
    store = SchemaStore(tmp_path / "schemas")
    store.install("ubl-2.4", str(make_zip(tmp_path / "UBL-2.4.zip")))
    assert store.is_installed("ubl-2.4")
    assert not (store.pack_dir("ubl-2.4") / "README-extra.txt").exists()


def test_install_from_url_over_loopback_http(tmp_path, file_server):
    base, folder, hits = file_server
    make_zip(folder / "UBL-2.4.zip", prefix="")
    store = SchemaStore(tmp_path / "schemas")
    store.install("ubl-2.4", f"{base}/UBL-2.4.zip")
    assert store.is_installed("ubl-2.4") and hits == ["/UBL-2.4.zip"]


def test_url_that_answers_404(tmp_path, file_server):
    base, _, _ = file_server
    with pytest.raises(PackSourceError, match="HTTP 404"):
        SchemaStore(tmp_path / "schemas").install("ubl-2.4", f"{base}/missing.zip")


@pytest.mark.parametrize("how", ["tampered", "missing"])
def test_digest_mismatch_refuses_and_leaves_the_store_as_it_was(tmp_path, how):
    store = SchemaStore(tmp_path / "schemas")
    store.install("ubl-2.4", str(UBL_SOURCE))
    before = tree_digest(store.root)
    victim = "xsdrt/common/UBL-CommonBasicComponents-2.4.xsd"
    bad = make_zip(tmp_path / "bad.zip", tamper=victim if how == "tampered" else None,
                   omit=victim if how == "missing" else None)
    with pytest.raises(DigestMismatchError, match=victim):
        store.install("ubl-2.4", str(bad))
    assert tree_digest(store.root) == before
    assert [p.name for p in store.root.iterdir()] == ["ubl-2.4"]  # no staging left over


def test_digest_mismatch_on_a_fresh_store_installs_nothing(tmp_path):
    source = tmp_path / "copy"
    shutil.copytree(UBL_SOURCE, source)
    victim = source / "cl/gc/default/CurrencyCode-2.4.gc"
    victim.write_bytes(victim.read_bytes() + b"\n")
    store = SchemaStore(tmp_path / "schemas")
    with pytest.raises(DigestMismatchError, match="cl/gc/default/CurrencyCode-2.4.gc"):
        store.install("ubl-2.4", str(source))
    assert not store.is_installed("ubl-2.4")
    assert list(store.root.iterdir()) == []


@pytest.mark.parametrize("source,message", [
    ("/no/such/folder", "does not exist"),
    ("not-a-zip.zip", "not a readable zip"),
    ("empty-folder", "does not hold this pack"),
])
def test_bad_sources(tmp_path, source, message):
    (tmp_path / "not-a-zip.zip").write_bytes(b"hello")
    (tmp_path / "empty-folder").mkdir()
    path = source if source.startswith("/") else str(tmp_path / source)
    with pytest.raises(PackSourceError, match=message):
        SchemaStore(tmp_path / "schemas").install("ubl-2.4", path)


def test_unknown_pack(tmp_path):
    with pytest.raises(UnknownPackError, match=r"known packs: cii-d16b, iso20022-camt, ubl-2.4\)"):
        SchemaStore(tmp_path / "schemas").install("ubl-9.9", str(UBL_SOURCE))


def test_catalog_loads_every_pack_file():
    assert "ubl-2.4" in load_catalog()
