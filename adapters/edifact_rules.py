"""The D.96B data of :mod:`adapters.edifact_d96b`, read once, and the checks made with it.

    structure_problem(["UNH", "BGM", ..., "UNT"], "CUSDEC")  # None, or (index, what is wrong)
    element_problem(segment)                                 # None, or what is wrong

The structure check follows segment groups, order, mandatory entries and repeat counts the
way EDIFACT translators do: entries are taken in order, a tag not found further on at this
level closes the group and is looked for in the enclosing one. The element check applies
the formats (``an..35`` never longer, ``n..18`` digits only, ``a1`` no digits), mandatory
elements and components, and the number of elements and components.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydifact.segments import Segment

from adapters.edifact_d96b import SEGMENTS, SERVICE_SEGMENTS, STRUCTURES

__all__ = ["FORMATS", "MESSAGES", "element_problem", "structure_problem", "values"]


# --- the data, read once ----------------------------------------------------------------

@dataclass(frozen=True)
class Simple:
    code: str
    mandatory: bool
    kind: str
    """``a``, ``n`` or ``an``"""
    length: int
    exact: bool


@dataclass(frozen=True)
class ElementSpec:
    code: str
    mandatory: bool
    components: tuple[Simple, ...]
    composite: bool


@dataclass(frozen=True)
class SegmentEntry:
    tag: str
    mandatory: bool
    repeats: int


@dataclass(frozen=True)
class GroupEntry:
    name: str
    mandatory: bool
    repeats: int
    entries: tuple[SegmentEntry | GroupEntry, ...]
    """Its members; the first is the trigger segment."""

    @property
    def tag(self) -> str:
        return self.entries[0].tag


_SIMPLE = re.compile(r"(\w{4}) ([MC]) (an|a|n)(\.\.)?(\d+)(?: x(\d+))?")
_COMPOSITE = re.compile(r"(\w{4}) ([MC]) \((.*)\)(?: x(\d+))?")


def _simple(text: str) -> list[Simple]:
    m = _SIMPLE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"bad element format {text!r}")
    spec = Simple(m[1], m[2] == "M", m[3], int(m[5]), m[4] is None)
    return [spec] + [Simple(spec.code, False, spec.kind, spec.length, spec.exact)
                     for _ in range(int(m[6] or 1) - 1)]


def _formats(text: str) -> dict[str, tuple[ElementSpec, ...]]:
    found: dict[str, list[str]] = {}
    tag = ""
    for line in text.strip().splitlines():
        if not line.startswith(" "):
            tag = line.strip()
            found[tag] = []
        elif line.startswith("    "):  # a composite going on
            found[tag][-1] += " " + line.strip()
        else:
            found[tag].append(line.strip())
    out: dict[str, tuple[ElementSpec, ...]] = {}
    for tag, lines in found.items():
        elements: list[ElementSpec] = []
        for line in lines:
            if m := _COMPOSITE.fullmatch(line):
                parts = tuple(p for c in m[3].split(",") for p in _simple(c))
                elements += [ElementSpec(m[1], m[2] == "M" and i == 0, parts, True)
                             for i in range(int(m[4] or 1))]
            else:
                elements += [ElementSpec(s.code, s.mandatory, (s,), False)
                             for s in _simple(line)]
        out[tag] = tuple(elements)
    return out


def _structure(text: str) -> tuple[SegmentEntry | GroupEntry, ...]:
    lines = [line for line in text.splitlines() if line.strip()]
    position = 0
    groups = 0

    def level(indent: int) -> tuple[SegmentEntry | GroupEntry, ...]:
        nonlocal position, groups
        entries: list[SegmentEntry | GroupEntry] = []
        while position < len(lines):
            line = lines[position]
            depth = len(line) - len(line.lstrip())
            if depth < indent:
                break
            name, status, repeats = line.split()
            position += 1
            if name.startswith("SG"):
                groups += 1
                if name != f"SG{groups}":
                    raise ValueError(f"group {name} out of sequence (expected SG{groups})")
                members = level(indent + 2)
                if not members or not isinstance(members[0], SegmentEntry) or not (
                        members[0].mandatory and members[0].repeats == 1):
                    raise ValueError(f"{name} does not start with a trigger segment M 1")
                entries.append(GroupEntry(name, status == "M", int(repeats), members))
            else:
                entries.append(SegmentEntry(name, status == "M", int(repeats)))
        return tuple(entries)

    return level(0)


MESSAGES = {name: _structure(text) for name, text in STRUCTURES.items()}
FORMATS = _formats(SEGMENTS) | _formats(SERVICE_SEGMENTS)


# --- checks -------------------------------------------------------------------------------

def structure_problem(tags: Sequence[str], message: str) -> tuple[int, str] | None:
    """None if the segment tags of one message (UNH..UNT) follow the D.96B structure of
    *message*, else (index of the offending segment, what is wrong)."""
    position = 0
    problem: tuple[int, str] | None = None
    full: tuple[int, str] | None = None  # a tag whose entries here are used up

    def walk(entries: tuple[SegmentEntry | GroupEntry, ...], where: str) -> None:
        nonlocal position, problem, full
        current, counts = 0, [0] * len(entries)
        while position < len(tags) and problem is None:
            tag = tags[position]
            same = [j for j in range(current, len(entries)) if entries[j].tag == tag]
            found = next((j for j in same if counts[j] < entries[j].repeats), None)
            if found is None:  # not here (or used up): the enclosing level may take it
                if same:
                    full = (position, (f"{_name(entries[same[0]])}{where} repeated more "
                                       f"than {entries[same[0]].repeats} times"))
                break
            for skipped in range(current, found):
                if entries[skipped].mandatory and not counts[skipped]:
                    problem = (position, (f"{tag} where the mandatory "
                                          f"{_name(entries[skipped])}{where} must come first"))
                    return
            current = found
            counts[found] += 1
            position += 1
            entry = entries[found]
            if isinstance(entry, GroupEntry):
                walk(entry.entries[1:], f" in {entry.name}")
        if problem is None and not where and position < len(tags):
            problem = full if full and full[0] == position else (
                position, f"{tags[position]} is not allowed here by the D.96B {message} structure")
        if problem is None:
            for j in range(current, len(entries)):
                if entries[j].mandatory and not counts[j]:
                    problem = (position, f"the mandatory {_name(entries[j])}{where} is missing")
                    return

    walk(MESSAGES[message], "")
    return problem


def _name(entry: SegmentEntry | GroupEntry) -> str:
    return f"{entry.name} ({entry.tag})" if isinstance(entry, GroupEntry) else entry.tag


def values(segment: Segment) -> list[list[str]]:
    """The elements of a segment, each as its list of components."""
    out: list[list[str]] = []
    for element in segment.elements:
        if isinstance(element, list):
            out.append([c or "" for c in element])
        else:
            out.append([element or ""])
    return out


_NUMBER = re.compile(r"-?([0-9]+([.,][0-9]*)?|[.,][0-9]+)")
_DIGITS = frozenset("0123456789")


def _format_problem(value: str, spec: Simple) -> str | None:
    size = sum(c in _DIGITS for c in value) if spec.kind == "n" else len(value)
    if spec.kind == "n" and not _NUMBER.fullmatch(value):
        return "is not a number"
    if spec.kind == "a" and any(c in _DIGITS for c in value):
        return "holds digits (alphabetic only)"
    if spec.exact and size != spec.length:
        return f"must be exactly {spec.length} long"
    if size > spec.length:
        return f"is {size} long, more than {spec.length}"
    return None


def element_problem(segment: Segment) -> str | None:
    """None if the segment's elements fit their D.96B formats (or the segment has none in
    the data), else what is wrong, naming the element."""
    specs = FORMATS.get(segment.tag)
    if specs is None:
        return None
    elements = values(segment)
    if len(elements) > len(specs):
        return f"{segment.tag} has {len(elements)} data elements, at most {len(specs)}"
    for index, spec in enumerate(specs):
        parts = elements[index] if index < len(elements) else []
        if not any(parts):
            if spec.mandatory:
                return f"{segment.tag} element {index + 1} ({spec.code}) is mandatory"
            continue
        if len(parts) > len(spec.components):
            return (f"{segment.tag} element {index + 1} ({spec.code}) has {len(parts)} "
                    f"components, at most {len(spec.components)}")
        for number, part in enumerate(spec.components):
            value = parts[number] if number < len(parts) else ""
            label = f"{spec.code}/{part.code}" if spec.composite else spec.code
            if not value:
                if part.mandatory:
                    return f"{segment.tag} {label} is mandatory"
                continue
            wrong = _format_problem(value, part)
            if wrong:
                fmt = f"{part.kind}{'' if part.exact else '..'}{part.length}"
                return f"{segment.tag} {label} ({fmt}) {value!r} {wrong}"
    return None
