"""Where an element or an attribute stands in the bytes a document was parsed from.

lxml gives an element's line (``sourceline``) but no column; a checker working on the tree
gives neither for attributes. :class:`Locator` finds the start tag (``<cbc:IssueDate``) on the
element's line in the source bytes, the n-th one when several elements of that name start on
one line (a document on one line), and an attribute's name inside its start tag, and answers
1-based lines and columns counted in characters. Without the bytes (a tree handed in, a
document in an encoding that is not ASCII-compatible) columns are ``None``.

Nothing is computed until a finding asks: a valid document costs one small object.
"""
from __future__ import annotations

import bisect
import re
from typing import cast

from lxml import etree

__all__ = ["Locator", "qualified_name"]

_LOOK_BACK = 20  # lines searched above sourceline for a start tag that spans lines


def qualified_name(el: etree._Element) -> str:
    """The element's name as written in the document (``cbc:IssueDate``)."""
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


class Locator:
    def __init__(self, tree: etree._ElementTree, data: bytes | None):
        self.tree = tree
        self.data = data
        self._starts: list[int] | None = None
        self._by_line: dict[int, list[etree._Element]] | None = None
        self._offsets: dict[int, int | None] = {}  # id(element) -> byte offset of "<"

    # ------------------------------------------------------------------ answers
    def element(self, el: etree._Element | None) -> tuple[int | None, int | None]:
        """Line and column of *el*'s start tag."""
        if el is None:
            return None, None
        line = el.sourceline
        offset = self._element_offset(el)
        if offset is None:
            return line, None
        return self._line_col(offset)

    def attribute(self, el: etree._Element, name: str) -> tuple[int | None, int | None]:
        """Line and column of the attribute *name* (as written) in *el*'s start tag, or of the
        start tag when the attribute is not in it."""
        start = self._element_offset(el)
        if start is None or self.data is None:
            return self.element(el)
        end = self.data.find(b">", start)
        found = re.compile(rb"\s(" + re.escape(name.encode()) + rb")\s*=").search(
            self.data, start, end if end >= 0 else len(self.data))
        return self._line_col(found.start(1) if found else start)

    # ------------------------------------------------------------------ internals
    def _line_starts(self) -> list[int]:
        if self._starts is None:
            data = cast("bytes", self.data)
            self._starts = [0] + [m.end() for m in re.finditer(b"\n", data)]
        return self._starts

    def _line_col(self, offset: int) -> tuple[int, int]:
        starts = self._line_starts()
        index = bisect.bisect_right(starts, offset) - 1
        prefix = cast("bytes", self.data)[starts[index]:offset]
        return index + 1, len(prefix.decode("utf-8", errors="replace")) + 1

    def _element_offset(self, el: etree._Element) -> int | None:
        key = id(el)
        if key in self._offsets:
            return self._offsets[key]
        offset = self._find(el)
        self._offsets[key] = offset
        return offset

    def _find(self, el: etree._Element) -> int | None:
        line = el.sourceline
        if self.data is None or not line:
            return None
        starts = self._line_starts()
        if line > len(starts):
            return None
        name = qualified_name(el)
        same = self._same_line(line, name)
        nth = same.index(el) if el in same else 0
        tag = re.compile(rb"<" + re.escape(name.encode()) + rb"(?=[\s/>])")
        end = starts[line] if line < len(starts) else len(self.data)
        hits = [m.start() for m in tag.finditer(self.data, starts[line - 1], end)]
        if nth < len(hits):
            return hits[nth]
        # a start tag spread over lines: lxml may count the line where it ends
        first = starts[max(0, line - 1 - _LOOK_BACK)]
        earlier = [m.start() for m in tag.finditer(self.data, first, starts[line - 1])]
        return earlier[-1] if earlier else None

    def _same_line(self, line: int, name: str) -> list[etree._Element]:
        """The elements named *name* whose start tags lxml puts on *line*, in document order."""
        if self._by_line is None:
            by_line: dict[int, list[etree._Element]] = {}
            for node in self.tree.getroot().iter(etree.Element):
                by_line.setdefault(node.sourceline or 0, []).append(node)
            self._by_line = by_line
        return [n for n in self._by_line.get(line, []) if qualified_name(n) == name]
