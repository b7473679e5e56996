"""`exchange validate` as an integrator runs it: a real subprocess, real files."""
from __future__ import annotations

import json
import os
import re

import pytest
from lxml import etree

from tests.fixtures.packs import UBL_EXAMPLES

INVOICE = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
BAD_DATE = INVOICE.replace(b"<cbc:IssueDate>2009-12-15<", b"<cbc:IssueDate>2009-13-45<", 1)
BAD_LINE = INVOICE[: INVOICE.index(b"<cbc:IssueDate>")].count(b"\n") + 1
BAD_CURRENCY = INVOICE.replace(b">EUR</cbc:DocumentCurrencyCode>",
                               b">XYZ</cbc:DocumentCurrencyCode>", 1)


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "nested").mkdir(parents=True)
    (folder / "good.xml").write_bytes(INVOICE)
    (folder / "nested" / "bad-date.xml").write_bytes(BAD_DATE)
    (folder / "nested" / "bad-currency.xml").write_bytes(BAD_CURRENCY)
    (folder / "notes.txt").write_text("ignored: not *.xml")
    return folder


def test_valid_file_exits_0(run_cli):
    r = run_cli("validate", str(UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml"))
    assert r.returncode == 0, r.stderr
    assert b"valid (Waybill, ubl-2.4)" in r.stdout


def test_folder_is_searched_recursively_and_invalid_exits_1(run_cli, docs):
    r = run_cli("validate", str(docs))
    assert r.returncode == 1
    out = r.stdout.decode()
    assert "3 document(s): 1 valid, 2 invalid" in out
    assert f"bad-date.xml:{BAD_LINE}" in out and "/Invoice/cbc:IssueDate" in out
    assert "codelist.currency /Invoice/cbc:DocumentCurrencyCode" in out
    assert "notes.txt" not in out


def test_json_report_for_all_inputs(run_cli, docs):
    r = run_cli("validate", "--format", "json", str(docs))
    assert r.returncode == 1
    payload = json.loads(r.stdout)
    assert payload["summary"] == {"documents": 3, "valid": 1, "invalid": 2, "not_checked": 0,
                                  "errors": 2, "warnings": 0}
    by_name = {os.path.basename(d["source"]): d for d in payload["documents"]}
    date = by_name["bad-date.xml"]
    assert date["decision"] == "reject"
    schema = next(l for l in date["layers"] if l["name"] == "schema")
    assert schema["status"] == "invalid"
    assert schema["findings"][0]["line"] == BAD_LINE
    assert schema["findings"][0]["path"] == "/Invoice/cbc:IssueDate"
    cur = by_name["bad-currency.xml"]
    codes = next(l for l in cur["layers"] if l["name"] == "code-lists")
    assert codes["findings"][0]["rule"] == "codelist.currency"


def test_junit_report(run_cli, docs):
    r = run_cli("validate", "--format", "junit", str(docs))
    assert r.returncode == 1
    root = etree.fromstring(r.stdout)
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    failures = {os.path.basename(c.get("name")): c.find("failure") for c in suite}
    assert failures["good.xml"] is None
    assert f"line {BAD_LINE}" in failures["bad-date.xml"].get("message")
    assert "/Invoice/cbc:IssueDate" in failures["bad-date.xml"].text
    assert failures["bad-currency.xml"].get("type") == "codelist.currency"


def test_standard_input(run_cli):
    r = run_cli("validate", "-", input=BAD_DATE)
    assert r.returncode == 1
    assert f"<stdin>:{BAD_LINE}" in r.stdout.decode()


def test_parallel_jobs_give_the_same_report(run_cli, docs):
    one = json.loads(run_cli("validate", "-f", "json", str(docs)).stdout)
    two = json.loads(run_cli("validate", "-f", "json", "--jobs", "2", str(docs)).stdout)
    assert one == two


def test_missing_file_is_a_usage_error(run_cli, docs):
    r = run_cli("validate", str(docs / "good.xml"), str(docs / "nope.xml"))
    assert r.returncode == 2
    assert b"nope.xml: no such file or folder; check the path" in r.stderr


def test_empty_folder_is_a_usage_error(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_cli("validate", str(tmp_path / "empty"))
    assert r.returncode == 2 and b"no *.xml files" in r.stderr


def test_bad_option_is_a_usage_error(run_cli):
    r = run_cli("validate", "--format", "yaml", "x.xml")
    assert r.returncode == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its mode; "
                    "the unreadable-file case below covers the I/O error path as root")
def test_unreadable_folder_is_a_usage_error(run_cli, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "a.xml").write_bytes(INVOICE)
    folder.chmod(0o000)
    try:
        r = run_cli("validate", str(folder))
    finally:
        folder.chmod(0o700)
    assert r.returncode == 2, r.stderr
    assert b"folder cannot be read" in r.stderr


def test_unreadable_file_is_an_io_error(run_cli, docs):
    # /proc/self/mem exists but reading it from offset 0 fails with EIO, even for root.
    r = run_cli("validate", str(docs / "good.xml"), "/proc/self/mem")
    assert r.returncode == 2
    assert b"/proc/self/mem: cannot be read" in r.stderr
    assert b"good.xml: valid" in r.stdout


def test_malicious_documents_are_refused_and_fetch_nothing(run_cli, tmp_path, file_server):
    base, folder, hits = file_server
    (folder / "evil.dtd").write_text('<!ENTITY x "pwned">')
    cases = {
        "xxe-file.xml": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                        b'"file:///etc/passwd">]><r>&x;</r>',
        "xxe-net.xml": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{base}/evil.dtd">]>'
                       f'<r>&x;</r>'.encode(),
        "ext-dtd.xml": f'<!DOCTYPE r SYSTEM "{base}/evil.dtd"><r/>'.encode(),
        "xinclude.xml": f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include '
                        f'href="{base}/evil.dtd" parse="text"/></r>'.encode(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    r = run_cli("validate", "-f", "json", *(str(tmp_path / n) for n in cases))
    assert r.returncode == 1
    payload = json.loads(r.stdout)
    rules = [d["layers"][0]["findings"][0]["rule"] for d in payload["documents"]]
    assert rules == ["xml.doctype-forbidden"] * 3 + ["xml.xinclude-forbidden"]
    assert hits == []
    assert b"root:" not in r.stdout and b"pwned" not in r.stdout


def test_schemas_list_and_install(run_cli, tmp_path, cli_env):
    env = dict(cli_env, EXCHANGE_HOME=str(tmp_path / "home"))
    r = run_cli("schemas", "list", env=env)
    assert r.returncode == 0 and b"not installed" in r.stdout
    r = run_cli("validate", str(UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml"), env=env)
    assert r.returncode == 2 and b"exchange schemas install ubl-2.4" in r.stderr
    from tests.fixtures.packs import UBL_SOURCE
    r = run_cli("schemas", "install", "ubl-2.4", "--from", str(UBL_SOURCE), env=env)
    assert r.returncode == 0, r.stderr
    assert b"201 files checked" in r.stdout
    r = run_cli("schemas", "list", "--types", env=env)
    assert b"installed" in r.stdout and b"TransitCustomsDeclaration" in r.stdout
    r = run_cli("schemas", "install", "ubl-2.4", "--from", str(tmp_path / "nowhere"), env=env)
    assert r.returncode == 2 and b"does not exist" in r.stderr


# ------------------------------------------------- issue 19: every mistake, in one run
@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    from tests.fixtures.broken import broken_documents

    folder = tmp_path_factory.mktemp("broken")
    docs = broken_documents()
    for doc in docs:
        (folder / doc.name).write_bytes(doc.data)
    return folder, {doc.name: doc for doc in docs}


def test_broken_corpus_json_reports_every_mistake_with_line_and_column(run_cli, broken):
    folder, docs = broken
    r = run_cli("validate", "--format", "json", str(folder))
    assert r.returncode == 1
    payload = json.loads(r.stdout)
    assert payload["summary"]["invalid"] == len(docs) >= 20
    for d in payload["documents"]:
        doc = docs[os.path.basename(d["source"])]
        errors = [f for layer in d["layers"] for f in layer["findings"]
                  if f["severity"] == "error"]
        assert {(f["rule"], f["line"]) for f in errors} == doc.expected, d["source"]
        assert all(f["column"] for f in errors)


def test_broken_corpus_text_and_junit_name_each_line_and_column(run_cli, broken):
    folder, docs = broken
    text = run_cli("validate", str(folder)).stdout.decode()
    junit = etree.fromstring(run_cli("validate", "--format", "junit", str(folder)).stdout)
    cases = {os.path.basename(c.get("name")): c for c in junit.iter("testcase")}
    for name, doc in docs.items():
        body = cases[name].find("failure").text
        for rule, line in doc.expected:
            pattern = re.compile(rf"{re.escape(name)}:{line}:\d+ error \[[a-z, -]+\] {rule} ")
            assert pattern.search(text), (name, rule, line)
            assert pattern.search(body), (name, rule, line)


def test_findings_in_the_readers_language(run_cli, broken, cli_env):
    folder, docs = broken
    one = str(folder / sorted(docs)[0])
    ru = run_cli("validate", "--lang", "ru", one).stdout.decode()
    assert "Элемент" in ru or "не является" in ru
    zh = run_cli("validate", one, env=dict(cli_env, LANG="zh_CN.UTF-8", LC_ALL="")).stdout
    assert "：" in zh.decode()
    en = run_cli("validate", one, env=dict(cli_env, LANG="C")).stdout.decode()
    assert "is missing" in en or "is not" in en
