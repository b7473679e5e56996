"""The edifact-file adapter on real folders, with the official UBL declaration examples."""
from __future__ import annotations

import re

import pytest

from adapters.contract import AdapterContext, DecisionKind, DeliveryStatus, DutyLine, Reason
from adapters.edifact import control_reference, read_cusres, render_cusres
from adapters.errors import MalformedCusresError, RetryableDeliveryError
from adapters.registry import default_registry
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.simulator import make_envelope


@pytest.fixture
def adapter(tmp_path):
    return default_registry().create(
        "edifact-file", country="AF",
        settings={"outbox_dir": str(tmp_path / "out"), "inbox_dir": str(tmp_path / "in")},
        context=AdapterContext())


@pytest.mark.parametrize(("doc_type", "code"), [
    ("ExportCustomsDeclaration", "830"), ("ImportCustomsDeclaration", "929"),
    ("TransitCustomsDeclaration", "950")])
def test_official_declarations_become_cusdec_interchanges(adapter, tmp_path, doc_type, code):
    document = (UBL_EXAMPLES / f"UBL-{doc_type}-2.3-Example.xml").read_bytes()
    envelope = make_envelope("AF", document=document, document_type=doc_type)
    result = adapter.deliver(envelope)
    assert result.status is DeliveryStatus.DELIVERED and not result.duplicate
    written = tmp_path / "out" / f"{envelope.delivery_id}.edi"
    text = written.read_text(encoding="utf-8")
    lines = text.splitlines()
    ref = control_reference(envelope.delivery_id)
    assert re.fullmatch(rf"UNB\+UNOW:4\+CARECHUB\+AFCUSTOMS\+20\d{{6}}:\d{{4}}\+{ref}'",
                        lines[0])  # syntax version 4: CCYYMMDD
    assert lines[1] == "UNH+1+CUSDEC:D:96B:UN'"
    assert lines[2].startswith(f"BGM+{code}+")
    assert f"RFF+ACW:{envelope.delivery_id.replace('-', '').upper()}'" in lines
    assert lines[-1] == f"UNZ+1+{ref}'"
    unt = lines[-2].split("+")
    assert unt[0] == "UNT" and int(unt[1]) == len(lines) - 2  # UNH..UNT counted
    assert [p.name for p in (tmp_path / "out").iterdir()] == [written.name]  # no temp left


def test_supporting_documents_travel_as_the_sealed_xml(adapter, tmp_path):
    envelope = make_envelope("AF", document=b"<Waybill/>", document_type="Waybill")
    adapter.deliver(envelope)
    assert (tmp_path / "out" / f"{envelope.delivery_id}.xml").read_bytes() == b"<Waybill/>"


def test_a_file_still_in_the_outbox_is_not_written_twice(adapter, tmp_path):
    envelope = make_envelope("AF")
    adapter.deliver(envelope)
    path = tmp_path / "out" / f"{envelope.delivery_id}.edi"
    before = path.stat().st_mtime_ns
    assert adapter.deliver(envelope).duplicate
    assert path.stat().st_mtime_ns == before


def test_an_outbox_that_cannot_be_created_is_retryable(tmp_path):
    blocker = tmp_path / "share-not-mounted"
    blocker.write_bytes(b"")  # a file where the folder should be: even root cannot write
    adapter = default_registry().create(
        "edifact-file", country="AF",
        settings={"outbox_dir": str(blocker / "out"), "inbox_dir": str(tmp_path / "in")})
    with pytest.raises(RetryableDeliveryError) as info:
        adapter.deliver(make_envelope("AF"))
    assert info.value.code == "adapter.delivery.io" and info.value.retryable
    assert blocker.read_bytes() == b""


def _cusres(*decisions, sender="AFCUSTOMS", recipient="CARECHUB", ref="R1"):
    return render_cusres(list(decisions), sender_id=sender, recipient_id=recipient,
                         control_ref=ref)


def test_cusres_answers_are_collected_then_confirmed(adapter, tmp_path):
    from adapters.contract import CustomsDecision, DutyLine, Reason

    envelope = make_envelope("AF")
    adapter.deliver(envelope)
    inbox = tmp_path / "in"
    inbox.mkdir()
    assessment = CustomsDecision(
        kind="assessment", country="AF", decision_id="ignored", customs_reference="AF-77",
        delivery_id=envelope.delivery_id,
        duty_lines=[DutyLine("customs-duty", "12500.00", "2.5", "312.50", "AFN"),
                    DutyLine("vat", "12500.00", "10", "1250.00", "AFN")])
    rejection = CustomsDecision(kind="rejected", country="AF", decision_id="ignored",
                                delivery_id=envelope.delivery_id,
                                reasons=[Reason("E12", "HS code unknown")])
    (inbox / "a.edi").write_bytes(_cusres(assessment, rejection))
    (inbox / "b.edi").write_text("UNB+UNOW:4+AFCUSTOMS+CARECHUB+20260101:0101+X'GARBAGE'",
                                 encoding="utf-8")
    batch = adapter.collect_decisions()
    assert [d.kind for d in batch.decisions] == [DecisionKind.ASSESSMENT, DecisionKind.REJECTED]
    assert batch.decisions[0].duty_lines == assessment.duty_lines
    assert batch.decisions[0].decision_id == "AF-R1-1"
    assert batch.decisions[1].reasons == (Reason("E12", "HS code unknown"),)
    [error] = batch.errors
    assert isinstance(error, MalformedCusresError) and error.source == "b.edi"
    assert adapter.collect_decisions().decisions == batch.decisions  # nothing consumed
    adapter.confirm_collected(batch)
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == ["a.edi"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["b.edi"]
    assert adapter.collect_decisions() == type(batch)()


GOOD = ("UNB+UNOW:4+AFCUSTOMS+CARECHUB+20260101:0101+R1'\n"
        "UNH+1+CUSRES:D:96B:UN'\nBGM+962+AF-1+9'\nGIS+ACK'\nRFF+ACW:dlv-1'\n"
        "UNT+5+1'\nUNZ+1+R1'\n")


def test_the_well_formed_reference_cusres_is_read():
    [decision] = read_cusres(GOOD, country="AF", expected_sender="AFCUSTOMS")
    assert decision.kind is DecisionKind.ACKNOWLEDGED and decision.delivery_id == "dlv-1"
    assert read_cusres(_msg(), country="AF")[0].delivery_id == "dlv-1"


def test_amounts_are_read_with_the_decimal_mark_the_una_declares():
    comma = "UNA:+,? '\n" + _msg(gis="ASM", groups=TAX.replace("12", "12,5")
                                 + "MOA+125:100,00:AFN'\nMOA+124:12,50:AFN'\n")
    [d] = read_cusres(comma, country="AF")
    assert d.duty_lines == (DutyLine("vat", "100.00", "12.5", "12.50", "AFN"),)
    point = "UNA:+.? '\n" + _msg(gis="ASM", groups=TAX + "MOA+125:100,00:AFN'\n"
                                 "MOA+124:12:AFN'\n")
    with pytest.raises(MalformedCusresError, match="'100,00' is not a decimal"):
        read_cusres(point, country="AF")


def test_a_full_d96b_cusres_with_groups_the_profile_does_not_read_is_accepted():
    """A national system may send what D.96B allows beyond the profile (places, parties,
    document groups, counts): read for what the profile needs, the rest left alone."""
    text = _msg(gis="ASM", before_gis="DTM+137:202603040506:203'\nFTX+AAI+++see '\n"
                "FTX+AAI+++annex'\nLOC+22+AFKBL'\n",
                after_gis="NAD+DT+KZ123'\nCTA+IC'\nCOM+1:TE'\n",
                groups="RFF+GU:G-9'\nERP+1'\nRFF+ABT:x'\nERC+E7'\nFTX+AAO+++part one '\n"
                "FTX+AAO+++part two'\n" + TAX + "MOA+125:100:AFN'\nMOA+124:12:AFN'\n"
                "GIS+1'\nDOC+ZZZ:::GUARANTEE'\nMOA+ZZZ:500:AFN'\nDOC+380+INV-1'\n"
                "MOA+77:1:AFN'\nCST+1'\nTAX+5+CUD'\nCNT+2:1'\nAUT+X'\n")
    [d] = read_cusres(text, country="AF")
    assert (d.kind, d.text, d.guarantee_reference) == (
        DecisionKind.ASSESSMENT, "see annex", "G-9")
    assert d.reasons == (Reason("E7", "part one part two"),)
    assert d.duty_lines == (DutyLine("vat", "100", "12", "12", "AFN"),)
    assert (d.guarantee_amount, d.guarantee_currency) == ("500", "AFN")
    assert d.issued_at is not None and d.issued_at.minute == 6


def _msg(*, gis: str = "ACK", before_gis: str = "", after_gis: str = "", groups: str = "",
         bgm: str = "BGM+962+AF-1+9'\n") -> str:
    """A one-message CUSRES: BGM, *before_gis*, GIS, *after_gis*, RFF+ACW, *groups*; UNT
    counts what is there."""
    body = f"UNH+1+CUSRES:D:96B:UN'\n{bgm}{before_gis}GIS+{gis}'\n{after_gis}" \
           f"RFF+ACW:dlv-1'\n{groups}"
    return (f"UNB+UNOW:4+AFCUSTOMS+CARECHUB+20260101:0101+R1'\n{body}"
            f"UNT+{body.count(chr(39)) + 1}+1'\nUNZ+1+R1'\n")


TAX = "TAX+7+VAT+++:::12'\n"


@pytest.mark.parametrize(("text", "message", "segment"), [
    ("", "does not start with UNB", 1),
    ("hello world", "not an EDIFACT interchange|does not start with UNB", 1),
    (GOOD.replace("UNZ+1+R1'\n", ""), "does not end with UNZ", 6),
    (GOOD.replace("UNZ+1+R1", "UNZ+1+R2"), "control reference", 7),
    (GOOD.replace("UNZ+1+R1", "UNZ+2+R1"), "UNZ counts 2 messages, found 1", 7),
    (GOOD.replace("UNT+5+1", "UNT+9+1"), "UNT of message '1' does not match", 6),
    (GOOD.replace("CUSRES:D", "CUSDEC:D"), "not CUSRES", 2),
    (_msg(gis="MAY"), "needs exactly one GIS", 4),
    (_msg(bgm=""), "GIS where the mandatory BGM must come first", 3),
    (GOOD.replace("UNT+5+1'\n", ""), "a message has no UNT", 2),
    (_msg(gis="REJ"), "a rejection needs at least one reason", 2),
    (_msg(gis="ASM", groups=TAX + "MOA+124:1,5:AFN'\n"), "not a decimal", 7),
    (_msg(gis="ASM", groups=TAX + "MOA+124:1.50:AFN'\n"), "TAX without MOA", 6),
    (GOOD.replace("AFCUSTOMS", "KZCUSTOMS"), "sent by 'KZCUSTOMS'", 1),
    # --- the D.96B CUSRES structure (segment groups, order, repeats)
    (_msg(gis="GUA", after_gis="MOA+124:100:AFN'\n"),
     "MOA is not allowed here by the D.96B CUSRES structure", 5),
    (_msg(after_gis="FTX+AAI+++late'\n"), "FTX is not allowed here", 5),
    (_msg(groups="ERC+E1'\n"), "ERC is not allowed here", 6),  # outside its ERP group
    (_msg(groups="ERP+1'\nERC+E1'\n" + TAX + "RFF+ACW:dlv-2'\n"), "RFF is not allowed", 9),
    (_msg(bgm="BGM+962+AF-1+9'\n" * 2), "BGM repeated more than 1 times", 4),
    (_msg(groups="RFF+ZZZ:x'\n" * 999), "SG3 \\(RFF\\) repeated more than 999 times", 1004),
    (_msg(before_gis="DTM+137:202601010101:203'\n" * 10), "DTM repeated more than 9 times",
     13),
    (_msg(gis="GUA", groups="DOC+ZZZ'\nMOA+ZZZ:100:AFN'\nMOA+ZZZ:5:AFN'\n"),
     "more than one MOA\\+ZZZ", 8),
    (_msg(gis="GUA", groups="DOC+ZZZ'\nMOA+ZZZ:100'\n"),
     "guarantee_amount and guarantee_currency go together|guarantee_currency", 2),
    (_msg(gis="GUA", groups="DOC+ZZZ'\nMOA+ZZZ:1e3:AFN'\n"),
     "5004 \\(n..18\\) '1e3' is not a number", 7),
    # --- the D.96B element formats
    (GOOD.replace("dlv-1", "d" * 36), "RFF C506/1154 \\(an..35\\) '.*' is 36 long, more than 35",
     5),
    (_msg(groups="ERP+1'\nERC'\n"), "ERC element 1 \\(C901\\) is mandatory", 7),
    (_msg(gis="ACKN"), "GIS C529/7365 \\(an..3\\) 'ACKN' is 4 long", 4),
    (_msg(gis="ACK+1"), "GIS has 2 data elements, at most 1", 4),
    (_msg(gis="ASM", groups=TAX + "MOA+124:1" + "0" * 18 + ":AFN'\nMOA+125:1:AFN'\n"),
     "is 19 long, more than 18", 7),
    (_msg(groups="ERP+1'\nERC+" + "E" * 9 + "'\n"), "9321 \\(an..8\\) 'EEEEEEEEE' is 9 long", 7),
    # --- the envelope (ISO 9735)
    (GOOD.replace("20260101:0101", "260101:0101"),
     "UNB date/time 260101:0101 is not CCYYMMDD:HHMM as syntax version 4 requires", 1),
    (GOOD.replace("UNOW:4", "UNOC:3").replace("20260101", "2026010"),
     "is not YYMMDD:HHMM as syntax version 3 requires", 1),
    (GOOD.replace("UNOW:4", "UNOC:3"), "is not YYMMDD:HHMM as syntax version 3 requires", 1),
    (GOOD.replace("20260101:0101", "20261341:0101"), "is not CCYYMMDD", 1),
    (GOOD.replace("20260101:0101", "20260101:2561"), "is not CCYYMMDD:HHMM", 1),
    (GOOD.replace("UNOW:4", "UNOW:3").replace("20260101", "260101"),
     "UNOW is not defined in syntax version 3", 1),
    (GOOD.replace("UNOW:4", "UNOX:4"), "unknown or unsupported syntax identifier 'UNOX'", 1),
    (GOOD.replace("UNOW:4", "UNOW:5"), "syntax version 5 is not one of", 1),
    (GOOD.replace("UNH+1+CUSRES:D:96B:UN", "UNH+1+CUSRES:D:01B:UN"), "not CUSRES:D:96B:UN", 2),
])
def test_malformed_cusres_gets_a_clear_typed_error(text, message, segment):
    with pytest.raises(MalformedCusresError, match=message) as info:
        read_cusres(text, country="AF", source="x.edi", expected_sender="AFCUSTOMS",
                    expected_recipient="CARECHUB")
    assert info.value.segment == segment
    assert info.value.code == "adapter.edifact.cusres-malformed"
    assert str(info.value).startswith("x.edi: ")


def test_undecodable_and_oversized_cusres_files(adapter):
    with pytest.raises(MalformedCusresError, match="does not start with UNB"):
        adapter.parse_response(b"UNB+\xff\xfe'")
    with pytest.raises(MalformedCusresError, match=r"byte 0xFF at offset \d+ is not UNOW "
                       r"\(ISO 10646 in UTF-8\) \(segment 3\)"):
        adapter.parse_response(GOOD.encode().replace(b"AF-1", b"AF-\xff"))
    with pytest.raises(MalformedCusresError, match="larger than"):
        adapter.parse_response(b"x" * (5 * 1024 * 1024 + 1))


# --- the national side of the file channel ---------------------------------------------

def test_file_channel_round_trip_through_the_edifact_simulator(adapter, tmp_path):
    from adapters.testing.edifact_simulator import EdifactCustomsSimulator

    sim = EdifactCustomsSimulator(tmp_path / "out", tmp_path / "in", country="AF",
                                  currency="AFN", follow_up=("assessment", "release"))
    document = (UBL_EXAMPLES / "UBL-ImportCustomsDeclaration-2.3-Example.xml").read_bytes()
    envelope = make_envelope("AF", document=document,
                             document_type="ImportCustomsDeclaration")
    adapter.deliver(envelope)
    adapter.deliver(make_envelope("AF", document=b"<Waybill/>", document_type="Waybill"))
    assert sim.run_once() == 1
    batch = adapter.collect_decisions()
    assert [d.kind for d in batch.decisions] == [
        DecisionKind.ACKNOWLEDGED, DecisionKind.ASSESSMENT, DecisionKind.RELEASED]
    assert {d.delivery_id for d in batch.decisions} == {envelope.delivery_id}
    assert all(line.currency == "AFN" for line in batch.decisions[1].duty_lines)
    assert len({d.decision_id for d in batch.decisions}) == 3
    adapter.confirm_collected(batch)
    # the hub re-sends the same delivery (say after a crash): the receiver drops it
    assert adapter.deliver(envelope).duplicate is False  # the outbox copy was taken away
    assert sim.run_once() == 0 and sim.duplicates == 1
    assert adapter.collect_decisions().decisions == ()
    assert sorted(p.suffix for p in (tmp_path / "out" / "processed").iterdir()) == [
        ".edi", ".xml"]


def test_the_edifact_simulator_files_malformed_cusdec_apart(tmp_path):
    from adapters.testing.edifact_simulator import EdifactCustomsSimulator, read_cusdec
    from adapters.errors import MalformedCusdecError

    out = tmp_path / "out"
    out.mkdir()
    (out / "bad.edi").write_text(
        "UNB+UNOW:4+A+B+20260101:0101+X'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+X'")
    sim = EdifactCustomsSimulator(out, tmp_path / "in", country="AF", currency="AFN")
    assert sim.run_once() == 0 and sim.failed == 1
    assert (out / "failed" / "bad.edi").exists() and not (tmp_path / "in").exists()
    with pytest.raises(MalformedCusdecError, match="not a CUSDEC") as info:
        read_cusdec((out / "failed" / "bad.edi").read_bytes(), source="bad.edi")
    assert info.value.code == "adapter.edifact.cusdec-malformed"
