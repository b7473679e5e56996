"""The rules layer's contract: which packs run, fail closed, installs pinned like schemas."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exchange.errors import DigestMismatchError, PackError, PackNotInstalledError, UnknownPackError
from exchange.validation import Validator
from exchange.validation.rulecheck import check_rules
from exchange.validation.rulepacks import RuleStore, load_rule_catalog
from exchange.validation.rules import RuleEngine, RuleSelection
from signing.safexml import parse_xml
from tests.fixtures.packs import EN16931_SOURCE, UBL_EXAMPLES

EXAMPLE = EN16931_SOURCE / "ubl" / "examples" / "ubl-tc434-example1.xml"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'

BROKEN = {
    # a stylesheet that does not compile (an undeclared prefix in an expression)
    "does-not-compile.xsl": f'<xsl:stylesheet {XSL} version="2.0"><xsl:template match="/">'
                            '<xsl:value-of select="foo:bar()"/></xsl:template></xsl:stylesheet>',
    # one that fails while running
    "dynamic-error.xsl": f'<xsl:stylesheet {XSL} version="2.0"><xsl:template match="/">'
                         "<xsl:value-of select=\"error((), 'the rules broke')\"/>"
                         "</xsl:template></xsl:stylesheet>",
    # one whose output is no report at all
    "not-svrl.xsl": f'<xsl:stylesheet {XSL} version="2.0"><xsl:output method="text"/>'
                    '<xsl:template match="/">all fine, trust me</xsl:template></xsl:stylesheet>',
    # one whose output is XML but no SVRL report (nothing in it would look like a finding)
    "not-svrl-xml.xsl": f'<xsl:stylesheet {XSL} version="2.0"><xsl:template match="/">'
                        '<ok/></xsl:template></xsl:stylesheet>',
    # a Schematron source in a query binding this engine cannot compile
    "xslt3.sch": '<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt3">'
                 '<pattern><rule context="/"><assert test="true()">x</assert></rule></pattern>'
                 "</schema>",
}


def _broken_store(tmp_path: Path, name: str) -> RuleStore:
    """A catalog with one built-in pack, *name*, for UBL invoices of any profile."""
    catalog_dir, packs = tmp_path / "catalog", tmp_path / "builtin"
    (packs / "broken").mkdir(parents=True)
    catalog_dir.mkdir()
    (packs / "broken" / name).write_text(BROKEN[name], encoding="utf-8")
    key = "schematron" if name.endswith(".sch") else "xslt"
    (catalog_dir / "broken.toml").write_text(
        'name = "broken"\nversion = "0.1"\nbuiltin = true\n[[rule_sets]]\nname = "UBL"\n'
        f'{key} = "{name}"\ndocument_types = [{{ root = "Invoice", namespace = "{INVOICE_NS}" }}]\n',
        encoding="utf-8")
    return RuleStore(tmp_path / "rules", catalog=load_rule_catalog(catalog_dir),
                     builtin_dir=packs)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_rule_processor_failure_makes_the_layer_invalid_never_valid(
        tmp_path, schema_store, name):
    validator = Validator(schema_store, rules=RuleEngine(_broken_store(tmp_path, name)))
    report = validator.validate(EXAMPLE.read_bytes(), "example1.xml")
    layer = report.layers[3]
    assert (layer.name, layer.status.value) == ("rules", "invalid")
    (finding,) = layer.findings
    assert finding.rule == "rules.processor-error" and finding.severity.value == "error"
    assert "broken 0.1" in finding.message
    assert report.decision.value == "reject"
    assert report.to_dict()["layers"][3]["packs"][0]["name"] == "broken"
    if name == "dynamic-error.xsl":
        assert "the rules broke" in finding.message
    checked = check_rules(EXAMPLE.read_bytes(), engine=RuleEngine(_broken_store(
        tmp_path / "again", name)), packs=["broken"])
    assert checked["decision"] == "reject" and checked["layer"]["status"] == "invalid"


def test_auto_runs_packs_by_type_and_profile_named_packs_by_type(rule_store, schema_store):
    engine = RuleEngine(rule_store)
    validator = Validator(schema_store, rules=engine)
    data = EXAMPLE.read_bytes()
    auto = validator.validate(data)
    assert [p.name for p in auto.layers[3].packs] == ["en16931"]  # EN 16931 profile
    other = data.replace(b"urn:cen.eu:en16931:2017", b"urn:example:other-profile")
    assert validator.validate(other).layers[3].status.value == "skipped"
    named = validator.validate(other, rules=RuleSelection(auto=False, packs=("en16931",)))
    assert [p.name for p in named.layers[3].packs] == ["en16931"]
    both = validator.validate(other, rules=RuleSelection.parse(["en16931,carec-corridor"]))
    assert [p.name for p in both.layers[3].packs] == ["en16931", "carec-corridor"]
    assert validator.validate(data, rules=RuleSelection.parse(["none"])).layers[3] \
        .status.value == "skipped"
    # a document type no pack covers in auto (a waybill of no corridor profile): skipped
    waybill = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
    report = validator.validate(waybill)
    assert report.layers[3].status.value == "skipped" and report.accepted


def test_selection_words():
    assert RuleSelection.parse(["auto"]) == RuleSelection()
    assert RuleSelection.parse([]) == RuleSelection()
    assert RuleSelection.parse(["none"]).off
    assert RuleSelection.parse(["a", "b"]) == RuleSelection(auto=False, packs=("a", "b"))
    assert RuleSelection.parse(["auto,a"]) == RuleSelection(auto=True, packs=("a",))
    with pytest.raises(ValueError, match="none cannot be combined"):
        RuleSelection.parse(["none", "a"])
    assert RuleSelection(auto=False).requiring(["x"]) == RuleSelection(False, ("x",))


def test_unknown_and_missing_packs_are_errors_not_findings(tmp_path, schema_store):
    engine = RuleEngine(RuleStore(tmp_path / "empty-rules"))
    validator = Validator(schema_store, rules=engine)
    with pytest.raises(UnknownPackError, match="unknown rule pack 'nope'"):
        validator.validate(EXAMPLE.read_bytes(), rules=RuleSelection(packs=("nope",)))
    with pytest.raises(PackNotInstalledError, match="exchange rules install en16931"):
        validator.validate(EXAMPLE.read_bytes(), rules=RuleSelection(packs=("en16931",)))
    # auto with nothing installed: only the built-in pack could apply, and not to this profile
    assert validator.validate(EXAMPLE.read_bytes()).layers[3].status.value == "skipped"


def test_install_checks_every_pinned_digest_and_changes_nothing_on_a_mismatch(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(EN16931_SOURCE / "ubl" / "xslt", source / "ubl" / "xslt")
    shutil.copytree(EN16931_SOURCE / "cii" / "xslt", source / "cii" / "xslt")
    for name in ("LICENSE.txt", "NOTICE.txt"):
        shutil.copy(EN16931_SOURCE / name, source / name)
    store = RuleStore(tmp_path / "rules")
    result = store.install("en16931", str(source))
    assert result.files == 4 and store.is_installed("en16931")
    before = (result.path / "ubl/xslt/EN16931-UBL-validation.xslt").read_bytes()
    tampered = source / "cii" / "xslt" / "EN16931-CII-validation.xslt"
    tampered.write_bytes(tampered.read_bytes().replace(b"BR-02", b"BR-0X", 1))
    with pytest.raises(DigestMismatchError, match="EN16931-CII-validation.xslt does not match"):
        store.install("en16931", str(source))
    assert (result.path / "ubl/xslt/EN16931-UBL-validation.xslt").read_bytes() == before
    assert (result.path / "cii/xslt/EN16931-CII-validation.xslt").read_bytes() != \
        tampered.read_bytes()
    with pytest.raises(PackError, match="built in"):
        store.install("carec-corridor", str(source))
    with pytest.raises(UnknownPackError):
        store.install("no-such-pack", str(source))


def test_each_stylesheet_is_compiled_once_per_process(rule_store, schema_store):
    from exchange.validation import rules

    validator = Validator(schema_store, rules=RuleEngine(rule_store))
    validator.validate(EXAMPLE.read_bytes())
    compiled = dict(rules._COMPILED)
    for _ in range(3):
        Validator(schema_store, rules=RuleEngine(rule_store)).validate(EXAMPLE.read_bytes())
    assert rules._COMPILED == compiled  # the same executables, no new compilations


def test_install_from_a_zip_with_the_files_under_a_top_folder(tmp_path):
    import zipfile

    archive = tmp_path / "eInvoicing-EN16931-main.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for rel in ("ubl/xslt/EN16931-UBL-validation.xslt", "cii/xslt/EN16931-CII-validation.xslt",
                    "LICENSE.txt", "NOTICE.txt"):
            zf.write(EN16931_SOURCE / rel, f"eInvoicing-EN16931-main/{rel}")
    store = RuleStore(tmp_path / "rules")
    assert store.install("en16931", str(archive)).files == 4
    engine = RuleEngine(store)
    layer = engine.layer(parse_xml(EXAMPLE.read_bytes()))
    assert layer.status.value == "valid" and layer.packs[0].version == "1.3.16"
