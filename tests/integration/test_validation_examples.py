"""Every official UBL 2.4 example is checked; the ones that are not valid 2.4 documents are
listed here with the reason, and the tests check that reason."""
from __future__ import annotations

import pytest

from tests.fixtures.packs import UBL_EXAMPLES

# Examples that are not (only) valid UBL 2.4 documents, and what the engine must say.
NOT_VALID = {
    # A detached XML signature, not a UBL document: its root is ds:Signature.
    "UBL-Invoice-2.0-Detached-Signature.xml": "document.unknown-type",
}
# Valid examples whose code values draw warnings, with the rule that fires.
WARNINGS = {
    # 'KG' was deleted from UN/ECE Rec. 20 (the code is KGM); UBL keeps it in its
    # incl-deleted list, so it is a warning, not an error.
    "UBL-GoodsCertificate-2.3-Example.xml": "codelist.unit.deleted",
}

EXAMPLES = sorted(p.name for p in UBL_EXAMPLES.glob("*.xml"))


def test_the_official_examples_are_all_there():
    assert len(EXAMPLES) == 77
    assert set(NOT_VALID) | set(WARNINGS) <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_official_example(validator, name):
    report = validator.validate((UBL_EXAMPLES / name).read_bytes(), name)
    if name in NOT_VALID:
        assert report.decision == "reject"
        assert [f.rule for f in report.errors()] == [NOT_VALID[name]]
        return
    assert report.decision == "accept", [f.message for f in report.errors()]
    assert report.pack == "ubl-2.4" and report.pack_version == "2.4"
    assert [layer.status for layer in report.layers] == ["valid", "valid", "valid"]
    assert report.document_type.root == report.tree.getroot().tag.split("}")[1]
    rules = {f.rule for f in report.warnings()}
    assert rules == ({WARNINGS[name]} if name in WARNINGS else set())


def test_schemas_are_compiled_once_per_document_type(validator):
    data = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
    validator.validate(data)
    compiled = validator._schemas[
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"]
    validator.validate(data)
    assert validator._schemas[
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"] is compiled
