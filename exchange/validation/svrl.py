"""SVRL (Schematron Validation Report Language, ISO/IEC 19757-3 annex D) to findings.

Each ``svrl:failed-assert`` and ``svrl:successful-report`` becomes a :class:`RuleFinding`:
its ``id`` (the rule), its ``flag`` (fatal/error: an error; warning; information), its
message (``svrl:text``, or the ``svrl:diagnostic-reference`` of the reader's language when
the rule has one) and the failing context, located in the validated tree: its readable path
and its line. The ``location`` attribute is the XPath the skeleton wrote, in either of its
two notations (``/*:Invoice[namespace-uri()='...'][1]`` from XSLT 2 stylesheets,
``/*[local-name()='Invoice' and namespace-uri()='...']`` from XSLT 1), rewritten to
XPath 1.0 for lxml.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from exchange.validation.paths import element_path
from exchange.validation.report import Finding, Severity

__all__ = ["RuleFinding", "SVRL_NS", "findings_from_svrl", "severity_of"]

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_FAILED = f"{{{SVRL_NS}}}failed-assert"
_REPORT = f"{{{SVRL_NS}}}successful-report"
_TEXT = f"{{{SVRL_NS}}}text"
_DIAGNOSTIC = f"{{{SVRL_NS}}}diagnostic-reference"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_SAXON_STEP = re.compile(r"\*:([\w.\-]+)\[namespace-uri\(\)='([^']*)'\]")
_LEADING_ID = re.compile(r"^\[[A-Za-z0-9_.\-]+\]\s*-?\s*")


@dataclass(frozen=True, slots=True)
class RuleFinding(Finding):
    """A finding of a rule pack: the :class:`Finding` fields plus the pack it came from,
    the SVRL flag as written, and every language's message where the rule has several."""

    pack: str = ""
    flag: str = ""
    messages: tuple[tuple[str, str], ...] = ()  # (xml:lang, text) of the diagnostics

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        out = Finding.to_dict(self)
        if locale is not None:  # the rule's own text in the reader's language, if it has one
            out["message"] = dict(self.messages).get(locale.split("_")[0], self.message)
        out["pack"] = self.pack
        out["flag"] = self.flag
        if self.messages:
            out["messages"] = dict(self.messages)
        return out


def severity_of(flag: str, *, report: bool) -> Severity:
    """SVRL flag -> severity. No flag: a failed assert is an error, a report information."""
    flag = flag.strip().lower()
    if flag in ("fatal", "error"):
        return Severity.ERROR
    if flag == "warning":
        return Severity.WARNING
    if flag in ("information", "info"):
        return Severity.INFO
    return Severity.INFO if report else Severity.ERROR


@functools.lru_cache(maxsize=4096)
def _xpath(location: str) -> etree.XPath | None:
    try:
        return etree.XPath(_SAXON_STEP.sub(
            r"*[local-name()='\1' and namespace-uri()='\2']", location))
    except etree.XPathSyntaxError:
        return None


def _locate(tree: etree._ElementTree, location: str) -> tuple[int | None, str | None]:
    """(line, readable path) of an SVRL location in *tree*; (None, location) if not found."""
    xpath = _xpath(location) if location else None
    if xpath is None:
        return None, location or None
    try:
        hits = xpath(tree)
    except etree.XPathEvalError:
        return None, location
    if not isinstance(hits, list) or not hits:
        return None, location
    hit = hits[0]
    if isinstance(hit, etree._Element):
        return hit.sourceline, element_path(hit)
    parent = getattr(hit, "getparent", lambda: None)()
    if isinstance(parent, etree._Element):  # an attribute or a text node
        name = getattr(hit, "attrname", None)
        return parent.sourceline, element_path(parent) + (f"/@{name}" if name else "")
    return None, location


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def findings_from_svrl(svrl: etree._Element, tree: etree._ElementTree, *, pack: str,
                       lang: str = "en") -> list[RuleFinding]:
    """Findings of one SVRL report about *tree*, messages in *lang* where the rule has it."""
    found: list[RuleFinding] = []
    for el in svrl.iter(_FAILED, _REPORT):
        flag = el.get("flag") or ""
        text = _clean(el.findtext(_TEXT))
        messages = tuple((d.get(_XML_LANG) or "", _clean("".join(d.itertext())))
                         for d in el.iter(_DIAGNOSTIC))
        chosen = next((m for lg, m in messages if lg == lang), None)
        if chosen is None:
            chosen = _LEADING_ID.sub("", text) or text
        line, path = _locate(tree, el.get("location") or "")
        rule = el.get("id") or "rule"
        found.append(RuleFinding(
            severity_of(flag, report=el.tag == _REPORT), rule, chosen, line=line, path=path,
            pack=pack, flag=flag or ("error" if el.tag == _FAILED else "information"),
            messages=messages))
    return found
