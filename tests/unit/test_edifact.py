"""EDIFACT rendering and reading without files: round trips hold for any text (escaping of
+ : ' ? and non-Latin scripts), and a CUSDEC reads back to what was sent."""
from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason
from adapters.edifact import (
    CusdecProfile, control_reference, read_cusres, render_cusdec, render_cusres,
)
from adapters.testing.edifact_simulator import read_cusdec
from tests.fixtures.simulator import make_envelope

# Any printable text, including the EDIFACT service characters and Cyrillic/CJK letters.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                max_size=40).filter(lambda t: t.strip() == t and t)
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False).map(str)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,30}", fullmatch=True)


@st.composite
def decisions(draw):
    kind = draw(st.sampled_from(list(DecisionKind)))
    reasons = tuple(Reason(draw(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True)), draw(texts))
                    for _ in range(draw(st.integers(1 if kind == "rejected" else 0, 3))))
    lines = tuple(DutyLine(draw(st.sampled_from(["customs-duty", "vat", "excise", "ECO"])),
                           draw(amounts), draw(st.sampled_from(["0", "5", "12.5"])),
                           draw(amounts), "AFN")
                  for _ in range(draw(st.integers(1 if kind == "assessment" else 0, 3))))
    amount = draw(st.none() | amounts)
    return CustomsDecision(
        kind=kind, country="AF", decision_id="x", customs_reference=draw(ids),
        guarantee_amount=amount, guarantee_currency=None if amount is None else "AFN",
        delivery_id=draw(ids), shipment_id=draw(st.none() | ids),
        issued_at=draw(st.none() | st.just(datetime(2026, 3, 4, 5, 6, tzinfo=UTC))),
        reasons=reasons, duty_lines=lines, text=draw(st.none() | texts),
        guarantee_reference=draw(st.none() | ids))


@settings(max_examples=60, deadline=None)
@given(st.lists(decisions(), min_size=1, max_size=4))
def test_cusres_round_trips_any_decisions(sent):
    text = render_cusres(sent, sender_id="AFCUSTOMS", recipient_id="CARECHUB",
                         control_ref="R42")
    back = read_cusres(text, country="AF", expected_sender="AFCUSTOMS",
                       expected_recipient="CARECHUB")
    assert len(back) == len(sent)
    for number, (a, b) in enumerate(zip(sent, back, strict=True), start=1):
        assert b.decision_id == f"AF-R42-{number}"
        assert (b.kind, b.customs_reference, b.delivery_id, b.shipment_id, b.issued_at,
                b.reasons, b.duty_lines, b.text, b.guarantee_reference, b.guarantee_amount,
                b.guarantee_currency) == (
            a.kind, a.customs_reference, a.delivery_id, a.shipment_id, a.issued_at,
            a.reasons, a.duty_lines, a.text, a.guarantee_reference, a.guarantee_amount,
            a.guarantee_currency)


DECLARATION = b"""<ExportCustomsDeclaration
  xmlns="urn:oasis:names:specification:ubl:schema:xsd:ExportCustomsDeclaration-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
  <cbc:ID>%s</cbc:ID>
  <cac:GoodsItem><cbc:Description>%s</cbc:Description>
    <cbc:DeclaredCustomsValueAmount currencyID="USD">1234.50</cbc:DeclaredCustomsValueAmount>
  </cac:GoodsItem>
</ExportCustomsDeclaration>"""


@settings(max_examples=40, deadline=None)
@given(ids, texts)
def test_cusdec_reads_back_what_was_declared(declaration_id, description):
    from xml.sax.saxutils import escape

    document = DECLARATION % (declaration_id.encode(), escape(description).encode())
    envelope = make_envelope("AF", document=document)
    text = render_cusdec(envelope, CusdecProfile("CARECHUB", "AFCUSTOMS"))
    summary = read_cusdec(text)
    assert summary.control_ref == control_reference(envelope.delivery_id)
    assert (summary.document_code, summary.declaration_id) == ("830", declaration_id)
    assert (summary.delivery_id, summary.shipment_id) == (envelope.delivery_id,
                                                          envelope.shipment_id)
    assert str(summary.customs_value) == "1234.50"
    assert b"FTX+AAA" in text


def test_control_reference_is_stable_and_fits_unb():
    ref = control_reference("dlv-8d4f")
    assert ref == control_reference("dlv-8d4f") != control_reference("dlv-8d4e")
    assert len(ref) == 14 and ref.isalnum()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOW", "UNOY"]),
       texts)
def test_any_text_round_trips_or_is_refused_by_name_in_every_set(syntax, text):
    """A CUSRES text either comes back exactly in the set written, or is refused naming a
    character the set does not hold; never altered."""
    from adapters.edifact_charset import CHARACTER_SETS
    from adapters.errors import PermanentDeliveryError

    cs = CHARACTER_SETS[syntax]
    version = 4 if syntax in ("UNOW", "UNOY") else 3
    decision = CustomsDecision(kind="query", country="AF", decision_id="x",
                               customs_reference="R-1", text=text)
    try:
        data = render_cusres([decision], sender_id="AFCUSTOMS", recipient_id="CARECHUB",
                             control_ref="R1", syntax=syntax, syntax_version=version)
    except PermanentDeliveryError as exc:
        bad = cs.foreign(text + "CARECHUB" + "AFCUSTOMS" + "R-1" + "QRY")
        assert bad is not None and f"character {bad!r}" in exc.message
        return
    assert cs.foreign(text) is None
    [back] = read_cusres(data, country="AF")
    assert back.text == text
