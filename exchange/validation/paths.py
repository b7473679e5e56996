"""Readable element paths (``/Invoice/cac:InvoiceLine[2]/cbc:ID``) and message tidying."""
from __future__ import annotations

import re
from typing import cast

from lxml import etree

__all__ = ["element_path", "shorten_names"]


def _name(el: etree._Element) -> str:
    qname = etree.QName(el)
    prefix = el.prefix
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def element_path(el: etree._Element) -> str:
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        parent = node.getparent()
        name = _name(node)
        if parent is not None:
            # a parsed tree's tags are str (types-lxml also allows the bytearray a program
            # may set, which iterchildren does not take)
            same = [s for s in parent.iterchildren(cast("str", node.tag))]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


_CLARK = re.compile(r"\{([^}]*)\}([\w.-]+)")


def shorten_names(message: str, nsmap: dict[str | None, str]) -> str:
    """Replace Clark names (``{urn:...}IssueDate``) in libxml2 messages by prefixed names."""
    by_uri = {uri: prefix for prefix, uri in nsmap.items()}

    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in by_uri:
            return m.group(0)
        prefix = by_uri[m.group(1)]
        return f"{prefix}:{m.group(2)}" if prefix else m.group(2)

    return _CLARK.sub(repl, message)
