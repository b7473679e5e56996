"""UN/EDIFACT interchanges, checked against D.96B (:mod:`adapters.edifact_rules`).

    data = write_interchange([("CUSDEC", body)], envelope=Envelope(...))   # bytes, checked
    ix = read_interchange(data, source="x.edi")   # decoded by its UNB, envelope checked
    for start, segments in ix.messages: ...       # each UNH..UNT with its segment number

Both directions use the same data: the message structure (segment groups, order, mandatory
segments, repeat counts), the element formats (``an..35`` never longer, ``n..18`` digits
only, mandatory elements present, no extra elements) and the character set named in UNB
(every character of every element must be one the set holds). What is written is checked
before it leaves (:class:`~adapters.errors.PermanentDeliveryError`
``adapter.delivery.payload`` naming the segment); what is read is refused with the segment
number (the caller's :class:`~adapters.errors.MalformedCusresError` subclass). UNB dates:
YYMMDD up to syntax version 3, CCYYMMDD in version 4.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydifact.control.characters import Characters
from pydifact.parser import Parser
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from adapters.edifact_charset import CHARACTER_SETS, SYNTAX_VERSIONS, CharacterSet, sniff_syntax
from adapters.edifact_rules import element_problem, structure_problem, values
from adapters.errors import MalformedCusresError, PermanentDeliveryError

__all__ = [
    "Envelope",
    "Interchange",
    "character_set",
    "read_interchange",
    "structure_problem",
    "unb_date",
    "values",
    "write_interchange",
]


def character_set(identifier: str, version: int) -> CharacterSet:
    """The set a UNB names; ValueError if unknown or not defined in that syntax version."""
    if version not in SYNTAX_VERSIONS:
        raise ValueError(f"syntax version {version} is not one of "
                         f"{', '.join(map(str, SYNTAX_VERSIONS))}")
    cs = CHARACTER_SETS.get(identifier)
    if cs is None:
        raise ValueError(f"unknown or unsupported syntax identifier {identifier!r} "
                         f"(known: {', '.join(CHARACTER_SETS)})")
    if version not in cs.versions:
        raise ValueError(f"{identifier} is not defined in syntax version {version}")
    return cs


def unb_date(moment: datetime, version: int) -> list[str]:
    """UNB S004: YYMMDD up to syntax version 3, CCYYMMDD in version 4; then HHMM."""
    return [f"{moment:%Y%m%d}" if version >= 4 else f"{moment:%y%m%d}", f"{moment:%H%M}"]


def _unb_problem(unb: Segment, version: int) -> str | None:
    date, time = (values(unb)[3] + ["", ""])[:2] if len(unb.elements) > 3 else ("", "")
    digits = 8 if version >= 4 else 6
    try:
        if len(date) != digits or not date.isdigit():
            raise ValueError
        datetime.strptime(date + time, ("%Y%m%d" if digits == 8 else "%y%m%d") + "%H%M")
    except ValueError:
        return (f"UNB date/time {date}:{time} is not {'CCYYMMDD' if digits == 8 else 'YYMMDD'}"
                f":HHMM as syntax version {version} requires")
    return element_problem(unb)


def _foreign(segments: Sequence[Segment], cs: CharacterSet) -> tuple[int, str] | None:
    for index, segment in enumerate(segments):
        for value in (v for element in values(segment) for v in element):
            char = cs.foreign(value)
            if char is not None:
                return index, (f"character {char!r} (U+{ord(char):04X}) in {segment.tag} "
                               f"cannot be written in {cs.identifier} ({cs.name})")
    return None


_SERVICE = Characters.from_str("UNA:+.? '")  # the defaults, decimal mark "."


# --- writing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    control_ref: str
    prepared: datetime
    syntax: str = "UNOW"
    version: int = 4


def _trimmed(segment: Segment) -> Segment:
    """Without trailing empty data elements (ISO 9735 leaves them out)."""
    elements = list(segment.elements)
    while elements and not any(elements[-1] if isinstance(elements[-1], list)
                               else [elements[-1]]):
        elements.pop()
    return Segment(segment.tag, *elements)


def write_interchange(messages: Sequence[tuple[str, list[Segment]]], *,
                      envelope: Envelope) -> bytes:
    """One interchange of *messages* (type, body without UNH/UNT), checked against the
    D.96B data and the character set, encoded in it."""
    def refuse(problem: str, number: int) -> PermanentDeliveryError:
        return PermanentDeliveryError(f"EDIFACT not written, segment {number}: {problem}",
                                      code="adapter.delivery.payload")

    try:
        cs = character_set(envelope.syntax, envelope.version)
    except ValueError as exc:
        raise refuse(str(exc), 1) from exc
    segments = [Segment("UNB", [cs.identifier, str(envelope.version)], envelope.sender,
                        envelope.recipient, unb_date(envelope.prepared, envelope.version),
                        envelope.control_ref)]
    for number, (kind, body) in enumerate(messages, start=1):
        ref = str(number)
        unit = [Segment("UNH", ref, [kind, "D", "96B", "UN"]), *body]
        unit.append(Segment("UNT", str(len(unit) + 1), ref))
        problem = structure_problem([s.tag for s in unit], kind)
        if problem is not None:
            raise refuse(problem[1], len(segments) + problem[0] + 1)
        segments += unit
    segments.append(Segment("UNZ", str(len(messages)), envelope.control_ref))
    segments = [_trimmed(s) for s in segments]
    for number, segment in enumerate(segments, start=1):
        wrong = (_unb_problem(segment, envelope.version) if number == 1
                 else element_problem(segment))
        if wrong:
            raise refuse(wrong, number)
    foreign = _foreign(segments, cs)
    if foreign is not None:
        raise refuse(foreign[1], foreign[0] + 1)
    # level B's default separators are control characters: say ours in UNA
    text = Serializer(_SERVICE).serialize(segments, with_una_header=cs.identifier == "UNOB",
                                          break_lines=True)
    return text.encode(cs.codec)


# --- reading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interchange:
    syntax: CharacterSet
    version: int
    sender: str
    recipient: str
    control_ref: str
    messages: tuple[tuple[int, list[Segment]], ...]
    """Each message (UNH..UNT) with the segment number of its UNH (UNB is 1)."""
    decimal_mark: str = "."
    """The UNA's decimal mark ("," or "."), "." without UNA."""


def _parse(text: str, source: str, error: type[MalformedCusresError]) -> list[Segment]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [s for s in Parser().parse(text) if s.tag != "UNA"]
    except Exception as exc:  # pydifact raises several types for bad syntax
        raise error(f"not an EDIFACT interchange: {exc}", source=source) from exc


def _segment_at(data: bytes, offset: int) -> int:
    """The number of the segment (UNB is 1) that the byte at *offset* belongs to."""
    una = data.startswith(b"UNA") and len(data) >= 9
    release, terminator = (data[6:7], data[8:9]) if una else (b"?", b"'")
    body = data[9 if una else 0:offset]
    ends: list[bytes] = re.findall(re.escape(release) + b".|" + re.escape(terminator), body,
                                   re.DOTALL)
    return sum(1 for end in ends if end == terminator) + 1


def read_interchange(data: bytes | str, *, source: str,
                     error: type[MalformedCusresError] = MalformedCusresError) -> Interchange:
    """An interchange decoded as its UNB says, its envelope and characters checked."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    sniffed = sniff_syntax(raw.lstrip(b"\r\n"))
    if sniffed is None:
        raise error("the interchange does not start with UNB (after an optional UNA) and a "
                    "syntax identifier", source=source, segment=1)
    identifier, version, mark = sniffed
    try:
        cs = character_set(identifier, version)
    except ValueError as exc:
        raise error(str(exc), source=source, segment=1) from exc
    if isinstance(data, bytes):
        try:
            text = data.decode(cs.codec)
        except UnicodeDecodeError as exc:
            raise error(f"byte 0x{data[exc.start]:02X} at offset {exc.start} is not "
                        f"{identifier} ({cs.name})", source=source,
                        segment=_segment_at(data, exc.start)) from exc
    else:
        text = data
    segments = _parse(text, source, error)
    unb, unz = segments[0], segments[-1]
    if unz.tag != "UNZ":
        raise error("the interchange does not end with UNZ", source=source,
                    segment=len(segments))
    foreign = _foreign(segments, cs)
    if foreign is not None:
        raise error(foreign[1], source=source, segment=foreign[0] + 1)
    wrong = _unb_problem(unb, version)
    if wrong:
        raise error(wrong, source=source, segment=1)
    control = values(unb)[4][0] if len(unb.elements) > 4 else ""
    if values(unz)[1:2] != [[control]]:
        raise error(f"UNZ control reference {unz.elements[1:2]} does not match UNB "
                    f"{control!r}", source=source, segment=len(segments))
    wrong = element_problem(unz)
    if wrong:
        raise error(wrong, source=source, segment=len(segments))
    messages: list[tuple[int, list[Segment]]] = []
    current: list[Segment] | None = None
    start = 0
    for position, segment in enumerate(segments[1:-1], start=2):
        wrong = element_problem(segment)
        if wrong:
            raise error(wrong, source=source, segment=position)
        if segment.tag == "UNH":
            if current is not None:
                raise error("UNH before the previous message's UNT", source=source,
                            segment=position)
            current, start = [segment], position
        elif current is None:
            raise error(f"{segment.tag} outside a message", source=source, segment=position)
        else:
            current.append(segment)
            if segment.tag == "UNT":
                messages.append((start, current))
                current = None
    if current is not None:
        raise error("a message has no UNT", source=source, segment=start)
    if not messages:
        raise error("the interchange holds no message", source=source)
    counted = values(unz)[0][0]
    if counted != str(len(messages)):
        raise error(f"UNZ counts {counted} messages, found {len(messages)}", source=source,
                    segment=len(segments))
    for start, unit in messages:
        ref = values(unit[0])[0][0]
        if values(unit[-1])[:2] != [[str(len(unit))], [ref]]:
            raise error(f"UNT of message {ref!r} does not match (count "
                        f"{values(unit[-1])[0][0]}, found {len(unit)})", source=source,
                        segment=start + len(unit) - 1)
    sender, recipient = values(unb)[1][0], values(unb)[2][0]
    return Interchange(cs, version, sender, recipient, control, tuple(messages), mark)
