"""The character sets of UN/EDIFACT (ISO 9735 syntax identifiers) and what each can hold.

    cs = CHARACTER_SETS["UNOE"]         # ISO 8859-5, Latin/Cyrillic
    cs.codec                            # "iso8859-5": how its bytes are read and written
    cs.foreign("Қазақ")                 # "Қ": the first character the set cannot hold
    sniff_syntax(data)                  # ("UNOE", 3, ".") from the UNA/UNB at the start

Levels A and B are the ISO 646 subsets of ISO 9735 (A: upper case letters, digits, space and
``. , - ( ) / = ' + : ? ! " % & * ; < >``; B: adds lower case and the rest of printable
ASCII). UNOC..UNOK are the ISO 8859 parts, UNOW is UTF-8. UNOY (ISO 10646-1 without code
extension) is read and written as UTF-8 too, the form national systems use for it; UNOX
(ISO 2022 code extension) is refused. Control characters (C0 and C1) are never data: a
UTF-8 file labelled UNOC shows them (its continuation bytes 0x80-0x9F are C1 in ISO 8859-1)
and is refused; one without them reads as the ISO 8859-1 text its label says it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CHARACTER_SETS", "SYNTAX_VERSIONS", "CharacterSet", "sniff_syntax"]

SYNTAX_VERSIONS = (1, 2, 3, 4)

# what each level does NOT hold; C0 and C1 controls (and lone surrogates) no set holds
_LEVEL_A = re.compile(r"[^A-Z0-9 .,\-()/='+:?!\"%&*;<>]")
_LEVEL_B = re.compile(r"[^\x20-\x7e]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class CharacterSet:
    identifier: str
    codec: str
    name: str
    versions: tuple[int, ...]
    """Syntax versions that define this identifier."""
    level: re.Pattern[str] | None = None
    """What falls outside the repertoire, when narrower than what the codec encodes."""

    def holds(self, char: str) -> bool:
        return self.foreign(char) is None

    def foreign(self, text: str) -> str | None:
        """The first character of *text* this set cannot hold, or None."""
        if self.level is not None:
            outside = self.level.search(text)
            return outside.group() if outside else None
        control = _CONTROL.search(text)
        try:
            text.encode(self.codec)
        except UnicodeEncodeError as exc:
            if control is None or exc.start < control.start():
                return text[exc.start]
        return control.group() if control else None


def _set(identifier: str, codec: str, name: str, versions: tuple[int, ...] = (2, 3, 4),
         level: re.Pattern[str] | None = None) -> CharacterSet:
    return CharacterSet(identifier, codec, name, versions, level)


CHARACTER_SETS = {cs.identifier: cs for cs in (
    _set("UNOA", "ascii", "level A (upper case ISO 646)", (1, 2, 3, 4), _LEVEL_A),
    _set("UNOB", "ascii", "level B (ISO 646)", (1, 2, 3, 4), _LEVEL_B),
    _set("UNOC", "iso8859-1", "ISO 8859-1, Latin 1"),
    _set("UNOD", "iso8859-2", "ISO 8859-2, Latin 2"),
    _set("UNOE", "iso8859-5", "ISO 8859-5, Latin/Cyrillic"),
    _set("UNOF", "iso8859-7", "ISO 8859-7, Latin/Greek"),
    _set("UNOG", "iso8859-3", "ISO 8859-3, Latin 3", (4,)),
    _set("UNOH", "iso8859-4", "ISO 8859-4, Latin 4", (4,)),
    _set("UNOI", "iso8859-6", "ISO 8859-6, Latin/Arabic", (4,)),
    _set("UNOJ", "iso8859-8", "ISO 8859-8, Latin/Hebrew", (4,)),
    _set("UNOK", "iso8859-9", "ISO 8859-9, Latin 5", (4,)),
    _set("UNOW", "utf-8", "ISO 10646 in UTF-8", (4,)),
    _set("UNOY", "utf-8", "ISO 10646 without code extension (read as UTF-8)", (4,)),
)}

# UNA with its six service characters, then UNB, the data element separator, the syntax
# identifier, the component separator and the version. Every set above writes these bytes
# as ASCII, so they can be read before the set is known.
_HEADER = re.compile(rb"(?:UNA(?P<una>[\x20-\x7e]{6})[\r\n]*)?UNB(?P<sep>.)(?P<id>[A-Z]{4})"
                     rb"(?P<comp>.)(?P<version>\d)", re.DOTALL)


def sniff_syntax(data: bytes) -> tuple[str, int, str] | None:
    """(syntax identifier, version, decimal mark: the UNA's, else ".") from the start of an
    interchange, or None when it does not start with UNA/UNB and a syntax identifier."""
    match = _HEADER.match(data)
    if match is None:
        return None
    una = match.group("una")
    element_sep, component_sep = (una[1:2], una[0:1]) if una else (b"+", b":")
    if match.group("sep") != element_sep or match.group("comp") != component_sep:
        return None
    mark = una[2:3].decode("ascii") if una else "."
    return match.group("id").decode("ascii"), int(match.group("version")), mark
