"""The document pipeline with the real validator: refusals happen before anything is sealed
or stored, with the reason as the problem code."""
from __future__ import annotations

import pytest

from exchange.documents.pipeline import DocumentInput, inspect_document
from tests.fixtures.packs import UBL_EXAMPLES

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()


class MustNotSeal:
    def seal(self, tree, data):  # a refused document is never sealed
        raise AssertionError("sealed a refused document")


def inspect(validator, data: bytes, *, require: bool = False):
    return inspect_document(DocumentInput(data, "doc.xml"), validator=validator, checker=None,
                            sealer=MustNotSeal(), origin="KZ", require_signature=require)


@pytest.mark.parametrize("data, code, rule", [
    (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", "xml-unsafe",
     "xml.doctype-forbidden"),
    (b"<a><b></a>", "document-invalid", "xml.not-well-formed"),
    (b"", "document-invalid", "xml.not-well-formed"),
    (b"<Waybill xmlns='urn:unknown'/>", "document-invalid", "document.unknown-type"),
])
def test_refusals_carry_the_report_and_their_code(validator, data, code, rule):
    ins = inspect(validator, data)
    assert ins.refused and ins.refusal.code == code
    assert ins.validation["decision"] == "reject"
    rules = [f["rule"] for layer in ins.validation["layers"] for f in layer["findings"]]
    assert rule in rules
    assert ins.sealed is None


def test_schema_errors_keep_line_and_path(validator):
    bad = WAYBILL.replace(b"<cbc:IssueDate>2005-06-25</cbc:IssueDate>",
                          b"<cbc:IssueDate>25.06.2005</cbc:IssueDate>")
    ins = inspect(validator, bad)
    assert ins.refusal.code == "document-invalid"
    (finding,) = [f for layer in ins.validation["layers"] for f in layer["findings"]]
    assert finding["line"] == 9 and "IssueDate" in finding["path"]


def test_unsigned_document_refused_where_a_signature_is_required(validator):
    ins = inspect(validator, WAYBILL, require=True)
    assert ins.refusal.code == "signature-required"
    assert ins.validation["decision"] == "accept"  # valid, but unsigned
    assert ins.signature == {"present": False, "required": True}


@pytest.mark.parametrize("name", ["camt054.v8.xml", "camt053.v4.xml"])
def test_a_bank_file_is_not_taken_as_a_shipment_document(validator, name):
    """A valid camt file (the exchange knows its schema, for the payments import) submitted
    with a shipment is refused, saying where bank files go."""
    from tests.fixtures.packs import CAMT_SOURCE

    ins = inspect(validator, (CAMT_SOURCE / name).read_bytes())
    assert ins.validation["decision"] == "accept"  # valid against its own XSD
    assert ins.refused and ins.refusal.code == "document-type-not-accepted"
    assert "payments import" in str(ins.refusal.detail) and ins.sealed is None
class Sealer:
    def seal(self, tree, data):
        return data


def test_a_member_requiring_a_rule_pack_has_it_run_on_its_documents(rules_validator, tmp_path):
    """members file ``rule_packs``: the corridor rules refuse the official waybill (it has no
    HS code) from a member that requires them, and not from one that does not."""
    from adapters.members import default_members_path, load_members
    from exchange.documents.pipeline import Inspector

    unsigned = [m.code for m in load_members() if not m.require_signature]
    strict, lax = unsigned[:2]
    text = default_members_path().read_text(encoding="utf-8")
    text = text.replace(f"[members.{strict}]\n",
                        f'[members.{strict}]\nrule_packs = ["carec-corridor"]\n', 1)
    (tmp_path / "members.toml").write_text(text, encoding="utf-8")
    members = load_members(tmp_path / "members.toml", base_dir=tmp_path)
    assert members[strict].rule_packs == ("carec-corridor",) and members[lax].rule_packs == ()
    inspector = Inspector(validator=rules_validator, sealer=Sealer(), checker=None,
                          members=members)
    (from_kz,) = inspector.inspect([DocumentInput(WAYBILL, "waybill.xml")], origin=strict)
    assert from_kz.refusal is not None and from_kz.refusal.code == "document-invalid"
    rules = from_kz.validation["layers"][3]
    assert rules["status"] == "invalid" and rules["packs"][0]["name"] == "carec-corridor"
    assert [f["rule"] for f in rules["findings"]] == ["CAREC-07"]
    (from_uz,) = inspector.inspect([DocumentInput(WAYBILL, "waybill.xml")], origin=lax)
    assert from_uz.refusal is None and from_uz.validation["layers"][3]["status"] == "skipped"
