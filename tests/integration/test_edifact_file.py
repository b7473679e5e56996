"""The edifact-file adapter on real folders, with the official UBL declaration examples."""
from __future__ import annotations

import pytest

from adapters.contract import AdapterContext, DecisionKind, DeliveryStatus
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
    assert lines[0].startswith("UNB+UNOW:4+CARECHUB+AFCUSTOMS+") and lines[0].endswith(
        f"+{ref}'")
    assert lines[1] == "UNH+1+CUSDEC:D:96B:UN'"
    assert lines[2].startswith(f"BGM+{code}+")
    assert f"RFF+ACW:{envelope.delivery_id}'" in lines
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
    (inbox / "a.edi").write_text(_cusres(assessment, rejection), encoding="utf-8")
    (inbox / "b.edi").write_text("UNB+UNOW:4+AFCUSTOMS+CARECHUB+260101:0101+X'GARBAGE'",
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


GOOD = ("UNB+UNOW:4+AFCUSTOMS+CARECHUB+260101:0101+R1'\n"
        "UNH+1+CUSRES:D:96B:UN'\nBGM+962+AF-1+9'\nGIS+ACK'\nRFF+ACW:dlv-1'\n"
        "UNT+5+1'\nUNZ+1+R1'\n")


def test_the_well_formed_reference_cusres_is_read():
    [decision] = read_cusres(GOOD, country="AF", expected_sender="AFCUSTOMS")
    assert decision.kind is DecisionKind.ACKNOWLEDGED and decision.delivery_id == "dlv-1"


@pytest.mark.parametrize(("text", "message"), [
    ("", "does not start with UNB"),
    ("hello world", "not an EDIFACT interchange|does not start with UNB"),
    (GOOD.replace("UNZ+1+R1'\n", ""), "does not end with UNZ"),
    (GOOD.replace("UNZ+1+R1", "UNZ+1+R2"), "control reference"),
    (GOOD.replace("UNZ+1+R1", "UNZ+2+R1"), "UNZ counts 2 messages, found 1"),
    (GOOD.replace("UNT+5+1", "UNT+9+1"), "UNT of message '1' does not match"),
    (GOOD.replace("CUSRES:D", "CUSDEC:D"), "not CUSRES"),
    (GOOD.replace("GIS+ACK", "GIS+MAYBE"), "needs exactly one GIS"),
    (GOOD.replace("BGM+962+AF-1+9'\n", "").replace("UNT+5", "UNT+4"), "no BGM"),
    (GOOD.replace("UNT+5+1'\n", ""), "a message has no UNT"),
    (GOOD.replace("GIS+ACK'", "GIS+REJ'"), "a rejection needs at least one reason"),
    (GOOD.replace("GIS+ACK'\n", "GIS+ASM'\nTAX+7+VAT+++:::12'\nMOA+124:1,5:AFN'\n")
     .replace("UNT+5", "UNT+7"), "not a decimal"),
    (GOOD.replace("GIS+ACK'\n", "GIS+ASM'\nTAX+7+VAT+++:::12'\nMOA+124:1.50:AFN'\n")
     .replace("UNT+5", "UNT+7"), "TAX without MOA"),
    (GOOD.replace("AFCUSTOMS", "KZCUSTOMS"), "sent by 'KZCUSTOMS'"),
    (GOOD.replace("GIS+ACK'\n", "GIS+GUA'\nMOA+124:100:AFN'\n").replace("UNT+5", "UNT+6"),
     "MOA\\+124 outside a TAX group"),
    (GOOD.replace("GIS+ACK'\n", "GIS+GUA'\nMOA+ZZZ:100:AFN'\nMOA+ZZZ:5:AFN'\n")
     .replace("UNT+5", "UNT+7"), "more than one MOA\\+ZZZ"),
    (GOOD.replace("GIS+ACK'\n", "GIS+GUA'\nMOA+ZZZ:100'\n").replace("UNT+5", "UNT+6"),
     "guarantee_amount and guarantee_currency go together|guarantee_currency"),
    (GOOD.replace("GIS+ACK'\n", "GIS+GUA'\nMOA+ZZZ:1e3:AFN'\n").replace("UNT+5", "UNT+6"),
     "not a decimal"),
])
def test_malformed_cusres_gets_a_clear_typed_error(text, message):
    with pytest.raises(MalformedCusresError, match=message) as info:
        read_cusres(text, country="AF", source="x.edi", expected_sender="AFCUSTOMS",
                    expected_recipient="CARECHUB")
    assert info.value.code == "adapter.edifact.cusres-malformed"
    assert str(info.value).startswith("x.edi: ")


def test_non_utf8_and_oversized_cusres_files(adapter):
    with pytest.raises(MalformedCusresError, match="not UTF-8"):
        adapter.parse_response(b"UNB+\xff\xfe'")
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
        "UNB+UNOW:4+A+B+260101:0101+X'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+X'")
    sim = EdifactCustomsSimulator(out, tmp_path / "in", country="AF", currency="AFN")
    assert sim.run_once() == 0 and sim.failed == 1
    assert (out / "failed" / "bad.edi").exists() and not (tmp_path / "in").exists()
    with pytest.raises(MalformedCusdecError, match="not a CUSDEC") as info:
        read_cusdec((out / "failed" / "bad.edi").read_text(), source="bad.edi")
    assert info.value.code == "adapter.edifact.cusdec-malformed"
