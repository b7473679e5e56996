"""The EN 16931 rule pack against the rule set's own test suite and published examples.

Every test of ``test/Invoice-unit-UBL`` (the VEFA ``testSet`` format: a fragment and the rule
that must succeed, or fire as an error or a warning) gives exactly the expected result
through ``exchange rules check`` (the service function in-process for all of them; a few
through the real CLI). Every published example, UBL and CII, passes the whole validation
(schema, code lists, rules); a broken copy fires the rules the test suite expects for that
break."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from exchange.validation.rulecheck import check_rules
from exchange.validation.rules import RuleEngine, RuleSelection
from tests.fixtures.packs import EN16931_SOURCE

UNIT_TESTS = EN16931_SOURCE / "test" / "Invoice-unit-UBL"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"
UBL_EXAMPLES = sorted((EN16931_SOURCE / "ubl" / "examples").iterdir())
CII_EXAMPLES = sorted((EN16931_SOURCE / "cii" / "examples").iterdir())


def _unit_tests() -> list[tuple[str, int]]:
    cases = []
    for path in sorted(UNIT_TESTS.glob("*.xml")):
        tests = etree.parse(str(path)).getroot().findall(f"{VEFA}test")
        cases.extend((path.name, i) for i in range(len(tests)))
    return cases


@cache
def _case(name: str, index: int) -> tuple[bytes, dict[str, list[str]], str]:
    """(the document, {"success"|"error"|"warning": [rule ids]}, its description)."""
    test = etree.parse(str(UNIT_TESTS / name)).getroot().findall(f"{VEFA}test")[index]
    expect: dict[str, list[str]] = {"success": [], "error": [], "warning": []}
    for el in test.find(f"{VEFA}assert"):
        kind = etree.QName(el).localname
        if kind in expect:
            expect[kind].append((el.text or "").strip())
    (doc,) = [c for c in test if isinstance(c.tag, str) and not c.tag.startswith(VEFA)]
    data = etree.tostring(copy.deepcopy(doc), xml_declaration=True, encoding="UTF-8")
    return data, expect, test.findtext(f"{VEFA}assert/{VEFA}description") or ""


CASES = _unit_tests()


def test_the_suite_is_there():
    assert len(CASES) > 900  # 206 files, 915 tests in release 1.3.16


@pytest.fixture(scope="module")
def engine(rule_store) -> RuleEngine:
    return RuleEngine(rule_store)


@pytest.mark.parametrize("name,index", CASES, ids=[f"{n[:-4]}-{i}" for n, i in CASES])
def test_unit_test_of_the_rule_set(engine, name, index):
    data, expect, description = _case(name, index)
    result = check_rules(data, engine=engine, packs=["en16931"], source=f"{name}#{index}")
    layer = result["layer"]
    assert layer["status"] != "skipped" and layer["packs"][0]["name"] == "en16931"
    assert not [f for f in layer["findings"] if f["rule"] == "rules.processor-error"]
    fired = {(f["rule"], f["severity"]) for f in layer["findings"]}
    rules_fired = {rule for rule, _ in fired}
    for rule in expect["success"]:
        assert rule not in rules_fired, f"{rule} fired but must succeed: {description}"
    for rule in expect["error"]:
        assert (rule, "error") in fired, f"{rule} must fire as an error: {description}"
    for rule in expect["warning"]:
        assert (rule, "warning") in fired, f"{rule} must fire as a warning: {description}"


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name,kind", [("BR-01.xml", "success"), ("BR-01.xml", "error"),
                                       ("BR-51.xml", "warning"), ("BR-CO-10.xml", "error")])
def test_unit_tests_through_the_real_command(tmp_path, cli_env, name, kind):
    index = next(i for n, i in CASES if n == name and _case(n, i)[1][kind])
    data, expect, _ = _case(name, index)
    path = tmp_path / "fragment.xml"
    path.write_bytes(data)
    run = _cli(["rules", "check", str(path), "--pack", "en16931", "--format", "json"], cli_env)
    assert run.returncode in (0, 1), run.stderr
    (doc,) = json.loads(run.stdout)["documents"]
    fired = {(f["rule"], f["severity"]) for f in doc["layer"]["findings"]}
    (rule,) = expect[kind]
    if kind == "success":
        assert rule not in {r for r, _ in fired}
    else:
        assert (rule, kind) in fired
        assert run.returncode == (1 if kind == "error" else run.returncode)
    assert doc["layer"]["packs"] == [{"name": "en16931", "version": "1.3.16", "rule_set": "UBL",
                                      "title": "EN 16931 semantic and syntax rules (CEN/TC 434)"}]
    text = _cli(["rules", "check", str(path), "--pack", "en16931"], cli_env)
    if kind != "success":
        assert f" {kind} {rule} [en16931]" in text.stdout


@pytest.mark.parametrize("path", UBL_EXAMPLES + CII_EXAMPLES, ids=lambda p: p.name)
def test_published_example_passes_schema_code_lists_and_rules(rules_validator, path):
    data = path.read_bytes()
    selection = None  # auto: the pack applies by document type and profile
    if b"urn:cen.eu:en16931:2017" not in data:  # ZUGFeRD 1.0 "comfort" examples
        assert rules_validator.validate(data, path.name).layers[3].status.value == "skipped"
        selection = RuleSelection(packs=("en16931",))  # as a member requiring the pack
    report = rules_validator.validate(data, path.name, rules=selection)
    assert [(layer.name, layer.status.value) for layer in report.layers] == [
        ("well-formedness", "valid"), ("schema", "valid"), ("code-lists", "valid"),
        ("rules", "valid")], report.errors()
    assert report.accepted
    rules = report.to_dict()["layers"][3]
    assert [(p["name"], p["version"], p["rule_set"]) for p in rules["packs"]] == [
        ("en16931", "1.3.16", "CII" if path in CII_EXAMPLES else "UBL")]
    assert report.pack == ("cii-d16b" if path in CII_EXAMPLES else "ubl-2.4")


def _expected_error(rule: str) -> str:
    """The rule id that the suite's failing test for *rule* expects (its own file)."""
    name = f"{rule}.xml"
    index = next(i for n, i in CASES if n == name and _case(n, i)[1]["error"])
    (expected,) = _case(name, index)[1]["error"]
    return expected


UBL_BREAKS = {  # what is removed -> the suite's file for that rule
    "BR-01": "/*/*[local-name()='CustomizationID']",  # specification identifier
    "BR-02": "/*/*[local-name()='ID']",  # invoice number
}
CII_BREAKS = {
    "BR-01": "/*/*[local-name()='ExchangedDocumentContext']"
             "/*[local-name()='GuidelineSpecifiedDocumentContextParameter']/*[local-name()='ID']",
    "BR-02": "/*/*[local-name()='ExchangedDocument']/*[local-name()='ID']",
}


@pytest.mark.parametrize("path", UBL_EXAMPLES + CII_EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("rule", ["BR-01", "BR-02"])
def test_broken_copy_of_an_example_fires_the_rule_the_suite_expects(engine, path, rule):
    tree = etree.parse(str(path))
    intact = check_rules(path.read_bytes(), engine=engine, packs=["en16931"])
    assert intact["decision"] == "accept", intact["layer"]["findings"]
    breaks = CII_BREAKS if path in CII_EXAMPLES else UBL_BREAKS
    (gone,) = tree.xpath(breaks[rule])
    gone.getparent().remove(gone)
    broken = check_rules(etree.tostring(tree), engine=engine, packs=["en16931"])
    fired = {f["rule"] for f in broken["layer"]["findings"] if f["severity"] == "error"}
    assert _expected_error(rule) in fired
    assert broken["decision"] == "reject"
