"""Character sets on the EDIFACT file channel: a CUSRES is decoded as its UNB says (or refused
naming the byte or character and the segment), a CUSDEC is written in the member's set, and
Cyrillic party names of Central Asian members survive the round trip where the set holds
them (UNOW always; UNOE only for letters in ISO 8859-5) and are refused clearly where not."""
from __future__ import annotations

from pathlib import Path

import pytest

from adapters.contract import AdapterContext, CustomsDecision, DecisionKind, Reason
from adapters.edifact import CusdecProfile, read_cusres, render_cusdec, render_cusres
from adapters.errors import MalformedCusresError, MembersFileError, PermanentDeliveryError
from adapters.errors import SettingError
from adapters.members import default_members_path, load_members
from adapters.registry import default_registry
from adapters.testing.edifact_simulator import EdifactCustomsSimulator
from tests.fixtures.d96b_reference import parse, reference_problems
from tests.fixtures.simulator import make_envelope


def cusres(syntax: str, text: bytes, *, version: int | None = None,
           date: bytes | None = None) -> bytes:
    """A one-decision CUSRES written by hand (not by our writer): a rejection whose reason
    text is *text*, already encoded."""
    version = version or (4 if syntax in ("UNOW", "UNOY", "UNOG", "UNOK") else 3)
    for char in b"?:+'":  # release character first
        text = text.replace(bytes([char]), b"?" + bytes([char]))
    date = date or (b"20260304" if version == 4 else b"260304")
    return (b"UNB+" + syntax.encode() + b":" + str(version).encode() + b"+AFCUSTOMS+CARECHUB+"
            + date + b":0506+R1'\nUNH+1+CUSRES:D:96B:UN'\nBGM+962+AF-1+9'\nGIS+REJ'\n"
            b"RFF+ACW:DLV-1'\nERP+1'\nERC+E1'\nFTX+AAO+++" + text + b"'\nUNT+8+1'\nUNZ+1+R1'\n")


def reason_of(data: bytes | str) -> str:
    [decision] = read_cusres(data, country="AF", source="r.edi")
    return decision.reasons[0].text


@pytest.mark.parametrize(("syntax", "text", "codec"), [
    ("UNOA", "DECLARATION INCOMPLETE (BOX 31): SEE ANNEX", "ascii"),
    ("UNOB", "declaration incomplete {box 31} @ annex_2 #3", "ascii"),
    ("UNOC", "Kløver Økologisk gedeost, København", "iso8859-1"),
    ("UNOD", "Łódź, Příbram, Győr: zgłoszenie niekompletne", "iso8859-2"),
    ("UNOE", "Таможенная декларация неполная, Ўзбекистон", "iso8859-5"),
    ("UNOF", "Ελλιπής τελωνειακή διασάφηση", "iso8859-7"),
    ("UNOG", "Ħal Qormi, ġurnata", "iso8859-3"),
    ("UNOK", "Gümrük beyannamesi eksik, İstanbul", "iso8859-9"),
    ("UNOW", "Қазақстан кедені: декларация толық емес; Тоҷикистон; 海关", "utf-8"),
    ("UNOY", "Кыргыз Республикасынын бажысы: Өзгөн, Үч-Коргон", "utf-8"),
])
def test_each_declared_set_is_read_as_itself(syntax, text, codec):
    data = cusres(syntax, text.encode(codec))
    assert reason_of(data) == text
    assert reference_problems(data, codec=codec) == []


@pytest.mark.parametrize(("data", "message", "segment"), [
    # the bytes are not the declared set at all
    (cusres("UNOA", "DÉCLARATION".encode("iso8859-1")), "byte 0xC9 at offset \\d+ is not UNOA",
     8),
    (cusres("UNOB", "déclaration".encode("utf-8")), "byte 0xC3 .* is not UNOB", 8),
    (cusres("UNOW", "Kløver".encode("iso8859-1")), "byte 0xF8 .* is not UNOW", 8),
    (cusres("UNOW", b"\xd2"), "byte 0xD2 .* is not UNOW \\(ISO 10646 in UTF-8\\)", 8),
    (cusres("UNOF", b"\xff"), "byte 0xFF .* is not UNOF", 8),  # unassigned in ISO 8859-7
    # the bytes decode, but hold characters the declared set does not have
    (cusres("UNOA", b"declaration incomplete"),
     "character 'd' \\(U\\+0064\\) in FTX cannot be written in UNOA", 8),
    (cusres("UNOA", b"DECLARATION [31]"), "character '\\[' .* in FTX .* UNOA", 8),
    (cusres("UNOA", b"DECLARATION 31").replace(b"DLV-1", b"dlv-1"), "character 'd' .* in RFF",
     5),
    # UTF-8 bytes labelled ISO 8859: their continuation bytes 0x80-0x9F are C1 controls
    (cusres("UNOC", "Қазақстан".encode("utf-8")),
     "character '\\\\x9a' \\(U\\+009A\\) in FTX cannot be written in UNOC", 8),
    (cusres("UNOE", "Кеден".encode("utf-8")), "character '\\\\x9a' .* UNOE", 8),
    # control characters are never data
    (cusres("UNOW", b"bell\x07"), "character '\\\\x07' \\(U\\+0007\\) in FTX", 8),
    (cusres("UNOC", b"line\nbreak"), "character '\\\\n' \\(U\\+000A\\) in FTX", 8),
    # syntax identifier and version
    (cusres("UNOW", b"x", version=3), "UNOW is not defined in syntax version 3", 1),
    (cusres("UNOY", b"x", version=2), "UNOY is not defined in syntax version 2", 1),
    (cusres("UNOK", b"x", version=3), "UNOK is not defined in syntax version 3", 1),
    (cusres("UNOX", b"x", version=4), "unknown or unsupported syntax identifier 'UNOX'", 1),
    (cusres("UNOZ", b"x"), "unknown or unsupported syntax identifier 'UNOZ'", 1),
    (cusres("UNOC", b"x", version=4, date=b"260304"),
     "260304:0506 is not CCYYMMDD:HHMM as syntax version 4 requires", 1),
    (cusres("UNOC", b"x", version=3, date=b"20260304"),
     "20260304:0506 is not YYMMDD:HHMM as syntax version 3 requires", 1),
    (b"\xef\xbb\xbf" + cusres("UNOW", b"x"), "does not start with UNB", 1),  # a BOM
    (cusres("UNOW", b"x").replace(b"UNOW:4", b"UNOW?:4"), "does not start with UNB", 1),
])
def test_what_the_declared_set_cannot_hold_is_refused(data, message, segment):
    with pytest.raises(MalformedCusresError, match=message) as info:
        read_cusres(data, country="AF", source="r.edi")
    assert info.value.segment == segment
    assert info.value.code == "adapter.edifact.cusres-malformed"


def test_utf8_labelled_latin1_is_read_as_latin1_never_as_utf8():
    """Bytes that are valid ISO 8859-1 read as what UNOC says: 'ø' in UTF-8 (C3 B8) is
    'Ã¸' in Latin 1, never silently 'ø'."""
    text = reason_of(cusres("UNOC", "Kløver".encode("utf-8")))
    assert text == "KlÃ¸ver" and text != "Kløver"


def test_a_str_is_checked_against_its_label_too():
    with pytest.raises(MalformedCusresError, match="character 'é' .* UNOA"):
        reason_of(cusres("UNOA", b"X").decode().replace("+++X", "+++é"))
    assert reason_of(cusres("UNOC", b"X").decode().replace("+++X", "+++é")) == "é"


def test_the_file_adapter_decodes_by_unb(tmp_path):
    adapter = default_registry().create(
        "edifact-file", country="AF", context=AdapterContext(),
        settings={"outbox_dir": str(tmp_path / "out"), "inbox_dir": str(tmp_path / "in"),
                  "recipient_id": "AFCUSTOMS"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.edi").write_bytes(cusres("UNOE", "Неполная".encode("iso8859-5")))
    (tmp_path / "in" / "b.edi").write_bytes(cusres("UNOC", "Неполная".encode("utf-8")))
    batch = adapter.collect_decisions()
    assert [d.reasons[0].text for d in batch.decisions] == ["Неполная"]
    [error] = batch.errors
    assert error.source == "b.edi" and "cannot be written in UNOC" in str(error)


# --- writing: the member's set ----------------------------------------------------------

NAMES = {  # (Cyrillic party names; which letters ISO 8859-5 lacks)
    "KZ": ("Қазақстан Темір Жолы", "Қ"), "KG": ("Өзгөн Жүк Ташуу", "Ө"),
    "TJ": ("Тоҷикистон Роҳи Оҳан", "ҷ"), "UZ": ("Тошкент Ғалла Савдо", "Ғ"),
}
IN_ISO_8859_5 = {"KZ": "Алматы Тасымал", "KG": "Бишкек Транзит", "TJ": "Душанбе Транс",
                 "UZ": "Ўзбекистон Темир Йўллари"}


def _declaration(name: str) -> bytes:
    return f"""<ExportCustomsDeclaration
  xmlns="urn:oasis:names:specification:ubl:schema:xsd:ExportCustomsDeclaration-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
  <cbc:ID>EX-1</cbc:ID><cac:ExporterParty><cac:PartyName><cbc:Name>{name}</cbc:Name>
  </cac:PartyName></cac:ExporterParty></ExportCustomsDeclaration>""".encode()


def _nad_name(data: bytes, codec: str) -> str:
    [nad] = [e for tag, e in parse(data.decode(codec)) if tag == "NAD"]
    return "".join(nad[3])


@pytest.mark.parametrize("country", sorted(NAMES))
@pytest.mark.parametrize(("syntax", "codec"), [("UNOW", "utf-8"), ("UNOE", "iso8859-5")])
def test_cyrillic_names_round_trip_where_the_set_holds_them(country, syntax, codec):
    profile = CusdecProfile("CARECHUB", "AFCUSTOMS", syntax, 4)
    for name in (IN_ISO_8859_5[country], *([NAMES[country][0]] if syntax == "UNOW" else [])):
        data = render_cusdec(make_envelope("AF", document=_declaration(name)), profile)
        assert data.startswith(f"UNB+{syntax}:4+".encode())
        assert reference_problems(data, codec=codec) == []
        assert _nad_name(data, codec) == name


@pytest.mark.parametrize("country", sorted(NAMES))
def test_letters_iso_8859_5_lacks_are_refused_in_unoe(country):
    name, letter = NAMES[country]
    with pytest.raises(PermanentDeliveryError, match=(
            f"segment 11: character '{letter}' \\(U\\+{ord(letter):04X}\\) in NAD cannot be "
            "written in UNOE \\(ISO 8859-5, Latin/Cyrillic\\)")):
        render_cusdec(make_envelope("AF", document=_declaration(name)),
                      CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOE", 3))


def test_unoa_refuses_lower_case_naming_the_first_segment_holding_it():
    """(the digest travels in upper case, so a UNOA member can take it; a lower-case
    shipment id it cannot)"""
    envelope = make_envelope("AF", document=_declaration("ACME"))
    with pytest.raises(PermanentDeliveryError, match="segment 9: character 's' \\(U\\+0073\\) "
                       "in RFF cannot be written in UNOA \\(level A"):
        render_cusdec(envelope, CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOA", 3))
    upper = type(envelope)(**{**envelope.__dict__, "shipment_id": "SHP-1",
                              "document_id": envelope.document_id.upper()})
    data = render_cusdec(upper, CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOA", 3))
    assert reference_problems(data, codec="ascii") == [] and _nad_name(data, "ascii") == "ACME"


def test_syntax_version_3_writes_yymmdd_and_4_ccyymmdd():
    envelope = make_envelope("AF", document=_declaration("ACME"))
    v3 = render_cusdec(envelope, CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOC", 3))
    v4 = render_cusdec(envelope, CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOC", 4))
    (_, unb3), (_, unb4) = parse(v3.decode("latin-1"))[0], parse(v4.decode("latin-1"))[0]
    assert (unb3[0], len(unb3[3][0])) == (["UNOC", "3"], 6)
    assert (unb4[0], len(unb4[3][0])) == (["UNOC", "4"], 8)


def test_unob_says_its_separators_in_una():
    data = render_cusdec(make_envelope("AF", document=_declaration("ACME")),
                         CusdecProfile("CARECHUB", "AFCUSTOMS", "UNOB", 3))
    assert data.startswith(b"UNA:+.? '\nUNB+UNOB:3+")


def test_a_unoe_member_round_trips_through_the_national_side(tmp_path):
    """The member writes UNOE; the simulated national system reads it strictly and answers
    in the same set; the hub reads the Cyrillic answer back."""
    adapter = default_registry().create(
        "edifact-file", country="UZ", context=AdapterContext(),
        settings={"outbox_dir": str(tmp_path / "out"), "inbox_dir": str(tmp_path / "in"),
                  "syntax": "UNOE", "syntax_version": 3})
    envelope = make_envelope("UZ", document=_declaration(IN_ISO_8859_5["UZ"]),
                             document_type="ExportCustomsDeclaration")
    adapter.deliver(envelope)
    written = tmp_path / "out" / f"{envelope.delivery_id}.edi"
    assert _nad_name(written.read_bytes(), "iso8859-5") == IN_ISO_8859_5["UZ"]
    sim = EdifactCustomsSimulator(tmp_path / "out", tmp_path / "in", country="UZ",
                                  currency="UZS", follow_up=("query",))
    assert sim.run_once() == 1
    [answer] = Path(tmp_path / "in").glob("*.edi")
    assert answer.read_bytes().startswith(b"UNB+UNOE:3+UZCUSTOMS+CARECHUB+")
    batch = adapter.collect_decisions()
    assert [d.kind for d in batch.decisions] == [DecisionKind.ACKNOWLEDGED, DecisionKind.QUERY]
    assert {d.delivery_id for d in batch.decisions} == {envelope.delivery_id}


def test_cusres_written_in_unoe_round_trips_cyrillic_reasons():
    decision = CustomsDecision(kind=DecisionKind.REJECTED, country="KG", decision_id="x",
                               delivery_id="dlv-1",
                               reasons=(Reason("E1", "Бишкек: декларация толук эмес " * 20),))
    data = render_cusres([decision], sender_id="KGCUSTOMS", recipient_id="CARECHUB",
                         control_ref="R1", syntax="UNOE", syntax_version=3)
    assert reference_problems(data, codec="iso8859-5") == []
    assert reason_of_kg(data) == decision.reasons[0].text
    with pytest.raises(PermanentDeliveryError, match="character 'ө'"):
        render_cusres([CustomsDecision(kind=DecisionKind.REJECTED, country="KG",
                                       decision_id="x", reasons=(Reason("E1", "өтө"),))],
                      sender_id="KGCUSTOMS", recipient_id="CARECHUB", control_ref="R1",
                      syntax="UNOE", syntax_version=3)


def reason_of_kg(data: bytes) -> str:
    [decision] = read_cusres(data, country="KG")
    return decision.reasons[0].text


# --- the member setting -----------------------------------------------------------------

def _members_with(tmp_path: Path, lines: str) -> Path:
    text = default_members_path().read_text(encoding="utf-8")
    anchor = 'recipient_id = "AFCUSTOMS"\n'
    assert anchor in text
    path = tmp_path / "members.toml"
    path.write_text(text.replace(anchor, anchor + lines), encoding="utf-8")
    return path


def test_the_members_file_sets_a_member_s_character_set(tmp_path):
    members = load_members(_members_with(tmp_path, 'syntax = "UNOE"\nsyntax_version = 3\n'),
                           base_dir=tmp_path)
    assert (members["AF"].settings["syntax"], members["AF"].settings["syntax_version"]) == (
        "UNOE", 3)
    assert load_members(base_dir=tmp_path)["AF"].settings["syntax"] == "UNOW"  # the default


@pytest.mark.parametrize(("lines", "message"), [
    ('syntax = "UTF-8"\n', "setting 'syntax' must be one of UNOA, UNOB, .*got 'UTF-8'"),
    ('syntax = "unoc"\n', "must be one of"),
    ("syntax_version = 2\n", "setting 'syntax_version' must be one of 3, 4, got 2"),
])
def test_a_bad_character_set_setting_names_the_line(tmp_path, lines, message):
    with pytest.raises(MembersFileError, match=message) as info:
        load_members(_members_with(tmp_path, lines), base_dir=tmp_path)
    assert info.value.line is not None and info.value.line > 30


def test_a_set_the_syntax_version_does_not_define_is_refused_at_start(tmp_path):
    with pytest.raises(SettingError, match="UNOW is not defined in syntax version 3"):
        default_registry().create(
            "edifact-file", country="AF", context=AdapterContext(),
            settings={"outbox_dir": str(tmp_path), "inbox_dir": str(tmp_path),
                      "syntax": "UNOW", "syntax_version": 3})


def test_an_undecodable_byte_is_placed_in_its_segment_past_escapes_and_una():
    data = cusres("UNOW", b"x").replace(b"BGM+962+AF-1+9'", b"BGM+962+AF?'1+9'")
    data = b"UNA:+.? '\n" + data.replace(b"FTX+AAO+++x", b"FTX+AAO+++\xff")
    with pytest.raises(MalformedCusresError, match="byte 0xFF") as info:
        read_cusres(data, country="AF")
    assert info.value.segment == 8
