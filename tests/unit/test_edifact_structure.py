"""Our D.96B data (adapters/edifact_d96b.py) against an independent transcription of the
same directory (the bots EDI translator's D.96B grammars), and the checks made with it."""
from __future__ import annotations

import pytest
from pydifact.segments import Segment

from adapters.edifact_rules import (
    FORMATS, MESSAGES, GroupEntry, element_problem, structure_problem,
)
from tests.fixtures.d96b_reference import envelope_records, grammar


def _ours(entries) -> list:
    out = []
    for entry in entries:
        if isinstance(entry, GroupEntry):
            trigger = entry.entries[0]
            out.append((trigger.tag, int(entry.mandatory), entry.repeats,
                        _ours(entry.entries[1:])))
        else:
            out.append((entry.tag, int(entry.mandatory), entry.repeats, []))
    return out


def _theirs(level) -> list:
    return [(e["ID"], e["MIN"], e["MAX"], _theirs(e.get("LEVEL", []))) for e in level]


@pytest.mark.parametrize("message", ["CUSDEC", "CUSRES"])
def test_our_message_structures_are_the_directory_s(message):
    """Same segments, groups, order, mandatory status and repeat counts as bots' grammar
    (where a group's trigger carries the group's status and repeats)."""
    [unh] = _theirs(grammar(message)[0])
    ours = _ours(MESSAGES[message])
    assert ours[0][:3] == unh[:3] == ("UNH", 1, 1)
    assert ours[1:] == unh[3]


def _their_formats(records: list) -> list:
    out = []
    for field in records[1:]:
        parts = field[2] if isinstance(field[2], list) else [field]
        out.append((field[1] == "M", [
            (p[1] == "M", p[3].lower(), p[2][1] if isinstance(p[2], tuple) else p[2])
            for p in parts]))
    return out


@pytest.mark.parametrize("tag", sorted(t for t in FORMATS if not t.startswith("UN")))
def test_our_segment_formats_are_the_directory_s(tag):
    records = grammar("CUSDEC")[1]
    ours = [(e.mandatory, [(c.mandatory, c.kind, c.length) for c in e.components])
            for e in FORMATS[tag]]
    theirs = _their_formats(records[tag])
    # bots reads MEA 6314 (measurement value) as AN; D.96B has an..18 too
    assert ours == theirs


@pytest.mark.parametrize("tag", ["UNB", "UNH", "UNT", "UNZ"])
def test_our_service_segments_agree_with_iso_9735(tag):
    theirs = _their_formats(envelope_records()[tag])
    ours = [(e.mandatory, [(c.mandatory, c.kind, c.length) for c in e.components])
            for e in FORMATS[tag]]
    # we define the version 3/4 elements the profile uses; bots has the later additions too
    for (m1, parts1), (m2, parts2) in zip(ours, theirs, strict=False):
        assert m1 == m2
        for (cm1, kind1, len1), (cm2, kind2, len2) in zip(parts1, parts2, strict=False):
            assert cm1 == cm2 and len1 == len2, (tag, parts1, parts2)
            assert kind1 == kind2 or {kind1, kind2} <= {"n", "an"}


# --- the structure check ----------------------------------------------------------------

OLD_CUSDEC = ["UNH", "BGM", "DTM", "RFF", "RFF", "RFF", "LOC", "LOC", "FTX", "FTX", "NAD",
              "MOA", "MEA", "UNS", "CST", "FTX", "MOA", "UNS", "UNT"]


def test_the_order_the_old_writer_used_is_refused_where_it_breaks():
    """Issue 14: LOC after the RFF group (SG1) is out of place in D.96B."""
    assert structure_problem(OLD_CUSDEC, "CUSDEC") == (
        6, "LOC is not allowed here by the D.96B CUSDEC structure")


NEW_CUSDEC = ["UNH", "BGM", "LOC", "LOC", "DTM", "MEA", "MEA", "FTX", "FTX", "RFF", "RFF",
              "RFF", "NAD", "NAD", "MOA", "UNS", "CST", "FTX", "MEA", "MOA", "CST", "MOA",
              "UNS", "UNT"]


@pytest.mark.parametrize(("tags", "problem"), [
    (NEW_CUSDEC, None),
    (["UNH", "BGM", "UNS", "UNS", "UNT"], None),  # the least a CUSDEC holds
    (["UNH", "BGM", "UNS", "UNT"], (3, "UNT where the mandatory UNS must come first")),
    (["UNH", "UNS", "UNS", "UNT"], (1, "UNS where the mandatory BGM must come first")),
    (["BGM", "UNS", "UNS", "UNT"], (0, "BGM where the mandatory UNH must come first")),
    (["UNH", "BGM", "UNS", "UNS"], (4, "the mandatory UNT is missing")),
    (["UNH", "BGM", "UNS", "UNS", "UNT", "UNT"], (5, "UNT repeated more than 1 times")),
    (["UNH", "BGM", *["MEA"] * 6, "UNS", "UNS", "UNT"], (7, "MEA repeated more than 5 times")),
    (["UNH", "BGM", *["NAD"] * 11, "UNS", "UNS", "UNT"],
     (12, "SG6 (NAD) repeated more than 10 times")),
    (["UNH", "BGM", "NAD", "RFF", "RFF", "UNS", "UNS", "UNT"], None),  # RFF of SG6, 10 allowed
    (["UNH", "BGM", "NAD", "RFF", "LOC", "UNS", "UNS", "UNT"],
     (4, "LOC is not allowed here by the D.96B CUSDEC structure")),
    (["UNH", "BGM", "UNS", "CST", "TAX", "MOA", "MOA", "MOA", "UNS", "UNT"],
     (7, "MOA in SG41 repeated more than 2 times")),  # (SG41: TAX-MOA C 2-GIS)
    (["UNH", "BGM", "UNS", "FTX", "UNS", "UNT"],
     (3, "FTX is not allowed here by the D.96B CUSDEC structure")),  # FTX of a goods item
])
def test_cusdec_structure_cases(tags, problem):
    assert structure_problem(tags, "CUSDEC") == problem


# --- the element check --------------------------------------------------------------------

@pytest.mark.parametrize(("segment", "problem"), [
    (Segment("RFF", ["ACW", "x" * 35]), None),
    (Segment("RFF", ["ACW", "x" * 36]),
     f"RFF C506/1154 (an..35) '{'x' * 36}' is 36 long, more than 35"),
    (Segment("RFF", ["", "x"]), "RFF C506/1153 is mandatory"),
    (Segment("RFF", ""), "RFF element 1 (C506) is mandatory"),
    (Segment("RFF", ["ACW", "x", "1", "2", "3"]),
     "RFF element 1 (C506) has 5 components, at most 4"),
    (Segment("MOA", ["39", "123456789012345678.50", "EUR"]),
     "MOA C516/5004 (n..18) '123456789012345678.50' is 20 long, more than 18"),
    (Segment("MOA", ["39", "-1234567890123456.78", "EUR"]), None),  # sign, mark not counted
    (Segment("MOA", ["39", "12,50", "EUR"]), None),  # ISO 9735 allows either decimal mark
    (Segment("MOA", ["39", "1.2.3", "EUR"]), "MOA C516/5004 (n..18) '1.2.3' is not a number"),
    (Segment("MOA", ["39", "١٢", "EUR"]), "MOA C516/5004 (n..18) '١٢' is not a number"),
    (Segment("UNS", "D"), None),
    (Segment("UNS", "1"), "UNS 0081 (a1) '1' holds digits (alphabetic only)"),
    (Segment("UNS", "DS"), "UNS 0081 (a1) 'DS' must be exactly 1 long"),
    (Segment("GIS", "ACK", "X"), "GIS has 2 data elements, at most 1"),
    (Segment("FTX", "AAA", "", "", ["y" * 70] * 5), None),
    (Segment("FTX", "AAA", "", "", ["y" * 70] * 6),
     "FTX element 4 (C108) has 6 components, at most 5"),
    (Segment("FTX", "AAA", "", "", ["y" * 71]), "FTX C108/4440 (an..70) '" + "y" * 71
     + "' is 71 long, more than 70"),
    (Segment("CST", "100000"), "CST 1496 (n..5) '100000' is 6 long, more than 5"),
    (Segment("CST", "1", ["", "122"]), "CST C246/7361 is mandatory"),
    (Segment("NAD", "EX", "", "", ["a"] * 5), None),
    (Segment("MEA", "WT", "AAB", ["", "88"]), "MEA C174/6411 is mandatory"),  # a unit, always
    (Segment("ZZZ", "anything"), None),  # not a segment of the profile: its place is checked
])
def test_element_cases(segment, problem):
    assert element_problem(segment) == problem


def test_the_independent_check_finds_what_the_old_writer_did():
    """The reference check (bots grammars over pydifact) is not vacuous."""
    from tests.fixtures.d96b_reference import reference_problems

    def interchange(body: str) -> bytes:
        count = body.count("'") + 2
        return (f"UNB+UNOW:4+A+B+20260101:0101+R'UNH+1+CUSDEC:D:96B:UN'{body}"
                f"UNT+{count}+1'UNZ+1+R'").encode()

    good = "BGM+830+X+9'LOC+35+KZ'DTM+137:20260101:102'RFF+ACW:1'UNS+D'UNS+S'"
    assert reference_problems(interchange(good), codec="utf-8") == []
    old = "BGM+830+X+9'DTM+137:20260101:102'RFF+ACW:1'LOC+35+KZ'UNS+D'UNS+S'"
    assert any("(LOC) not in the structure" in p
               for p in reference_problems(interchange(old), codec="utf-8"))
    long = good.replace("ACW:1", "ACW:" + "1" * 36)
    assert any("C506.1154" in p and "length 36" in p
               for p in reference_problems(interchange(long), codec="utf-8"))


def test_every_cusres_segment_has_its_formats():
    """What a national system may send is format-checked in full, not only its place."""
    def tags(entries) -> set[str]:
        found = set()
        for entry in entries:
            found |= tags(entry.entries) if isinstance(entry, GroupEntry) else {entry.tag}
        return found

    assert tags(MESSAGES["CUSRES"]) <= set(FORMATS)
