"""Many inputs at once: folders expand as pathlib would, and the JSON report made from
per-document texts is the report made from the whole list."""
from __future__ import annotations

import os
from pathlib import Path

from exchange.validation.batch import collect_inputs, validate_inputs, validate_inputs_json
from exchange.validation.formats import render_json, render_json_texts
from tests.fixtures.packs import UBL_EXAMPLES

INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()


def test_folders_expand_like_sorted_rglob(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    for rel in ["a/b.xml", "a-b/c.xml", "a.xml", ".hidden.xml", "Z.xml", "z.XML", "x.xml/in.xml",
                "deep/er/est.xml", "notes.txt", "a/b.xml.bak"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"<r/>")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "linked.xml").write_bytes(b"<r/>")
    os.symlink(tmp_path / "elsewhere", root / "link-to-folder")
    os.symlink(tmp_path / "elsewhere" / "linked.xml", root / "link-to-file.xml")
    monkeypatch.chdir(tmp_path)
    for arg in [str(root), str(root) + "/", "docs", "./docs", "docs//a/..//a"]:
        inputs, problems = collect_inputs([arg], stdin=bytes)
        expected = sorted(p for p in Path(arg).rglob("*.xml") if p.is_file())
        assert not problems
        assert [i.name for i in inputs] == [str(p) for p in expected], arg
        assert [i.path for i in inputs] == expected
    monkeypatch.chdir(root / "deep")
    inputs, _ = collect_inputs(["."], stdin=bytes)
    assert [i.name for i in inputs] == ["er/est.xml"]


def test_json_from_texts_is_the_json_of_the_results(tmp_path, schema_store):
    (tmp_path / "good.xml").write_bytes(INVOICE)
    (tmp_path / "bad.xml").write_bytes(INVOICE.replace(b">EUR<", b">XYZ<", 1))
    (tmp_path / "broken.xml").write_bytes(b"<Invoice>")
    (tmp_path / "unknown.xml").write_bytes("<r xmlns='urn:x'>é</r>".encode())
    inputs, _ = collect_inputs([str(tmp_path), "-"], stdin=lambda: INVOICE[:-40])
    for jobs in (1, 2):
        results = list(validate_inputs(inputs, store=schema_store, jobs=jobs))
        pairs = list(validate_inputs_json(inputs, store=schema_store, jobs=jobs))
        assert render_json_texts([b for b, _ in pairs], [t for _, t in pairs]) == \
            render_json(results)
    assert render_json_texts([], []) == render_json([])
