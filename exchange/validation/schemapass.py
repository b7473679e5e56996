"""The schema layer's second pass: every schema error of an invalid document, in plain words.

The fast check (libxml2 through lxml) says whether a document is valid, but stops checking an
element's content at its first content-model error and words its messages for schema
authors. Only for a document it found invalid, this pass runs a validator that keeps going
(xmlschema's ``iter_errors``, over the same pinned XSDs of the installed pack, with no network
access: ``allow="local"``) and then walks the content model of every element it flagged
again, mending a copy of its list of children after each mistake (a missing element put in,
an unknown one taken out, one in the wrong place moved), so that two mistakes in one element
are two findings. Each finding gets its kind (:mod:`exchange.validation.messages`), its line
and column (:class:`~exchange.validation.locate.Locator`), its element path, and the
validator's own message as ``detail``.

xmlschema builds a schema in about a second: each document type's is built once per process,
on the first invalid document of that type, and kept.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import xmlschema
from lxml import etree
from xmlschema.names import XSD_NAMESPACE
from xmlschema.validators import (
    XsdAttributeGroup,
    XsdEnumerationFacets,
    XsdGroup,
    XsdLengthFacet,
    XsdMaxLengthFacet,
    XsdMinLengthFacet,
    XsdPatternFacets,
)

from exchange.validation import messages
from exchange.validation.locate import Locator, qualified_name
from exchange.validation.paths import element_path
from exchange.validation.report import Finding, Severity

__all__ = ["SecondPass"]

_MAX_MENDS = 64       # mistakes reported in the children of one element
_PLACE_LIMIT = 200    # children up to which the right place of a misplaced one is searched
_MAX_FINDINGS = 1000  # findings of one document (a document wrong everywhere stops here)


class SecondPass:
    """xmlschema schemas by entry XSD, built on first use.

    The document types of one pack share their global components (``global_maps``): the
    common UBL modules are read once, and a further document type builds in a fraction of
    the first one's time. Building a schema adds to those shared maps, so building and
    validating take one lock per pack (xmlschema is pure Python: threads would take turns
    on the interpreter lock anyway)."""

    def __init__(self) -> None:
        self._schemas: dict[Path, xmlschema.XMLSchema] = {}
        self._maps: dict[str, Any] = {}  # pack -> the XsdGlobals its schemas share
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _pack_lock(self, pack: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(pack, threading.Lock())

    def schema(self, path: Path, pack: str = "") -> xmlschema.XMLSchema:
        with self._pack_lock(pack):
            return self._schema(path, pack)

    def _schema(self, path: Path, pack: str) -> xmlschema.XMLSchema:
        found = self._schemas.get(path)
        if found is None:
            shared = self._maps.get(pack)
            found = xmlschema.XMLSchema(str(path), allow="local", global_maps=shared)
            self._maps.setdefault(pack, found.maps)
            self._schemas[path] = found
        return found

    def findings(self, tree: etree._ElementTree, xsd: Path, locate: Locator,
                 pack: str = "") -> list[Finding]:
        """Every schema error of *tree*, de-duplicated, in document order."""
        out: list[Finding] = []
        seen: set[tuple[Any, ...]] = set()
        with self._pack_lock(pack):
            schema = self._schema(xsd, pack)
            # xmlschema reads lxml trees (its ElementProtocol; types-lxml does not say so)
            for error in schema.iter_errors(cast("Any", tree)):
                for finding in _explain(error, locate):
                    key = (finding.rule, finding.path, finding.line, finding.column,
                           finding.message)
                    if key not in seen:
                        seen.add(key)
                        out.append(finding)
                if len(out) >= _MAX_FINDINGS:
                    break
        out.sort(key=lambda f: (f.line or 0, f.column or 0))
        return out


# --------------------------------------------------------------------------- one error

def _name(el: etree._Element | None) -> str:
    return qualified_name(el) if el is not None else "?"


def _explain(error: Any, locate: Locator) -> list[Finding]:
    el = error.elem if isinstance(error.elem, etree._Element) else None
    validator = error.validator
    detail = str(error.reason or error.message)
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError) and el is not None \
            and isinstance(validator, XsdGroup):
        return _content_findings(el, validator, locate, detail)
    if el is None:
        return [Finding(Severity.ERROR, "xsd.invalid", detail, detail=detail)]
    name = _name(el)
    line, column = locate.element(el)
    path = element_path(el)
    reason = str(error.reason or "")
    if isinstance(validator, XsdAttributeGroup):
        return [_attribute_finding(el, error, reason, locate, detail)]
    if "character data between child elements not allowed" in reason:
        rule, text = messages.text_not_allowed(name)
        return [Finding.of(Severity.ERROR, rule, text, line=line, column=column, path=path,
                           detail=detail)]
    value = error.obj if isinstance(error.obj, str) else (el.text or "")
    kind = _kind(validator)
    facet = _facet(validator)
    if facet is not None and value.strip():
        rule, text = messages.facet(name, facet[0], value.strip(), facet[1])
    elif not value.strip():
        rule, text = messages.empty(name, kind)
    else:
        rule, text = messages.bad_value(name, kind, value.strip())
    return [Finding.of(Severity.ERROR, rule, text, line=line, column=column, path=path,
                       detail=detail)]


def _kind(validator: Any) -> str | None:
    """The first XML Schema built-in type in *validator*'s derivation chain that has an
    example (``integer`` before ``decimal``)."""
    node = getattr(validator, "base_type", None) if _facet(validator) else validator
    for _ in range(12):
        if node is None:
            return None
        local = getattr(node, "local_name", None)
        if getattr(node, "target_namespace", None) == XSD_NAMESPACE \
                and local in messages.EXAMPLES:
            return str(local)
        node = getattr(node, "base_type", None)
    return None


def _facet(validator: Any) -> tuple[str, str] | None:
    if isinstance(validator, XsdEnumerationFacets):
        return "enumeration", ", ".join(str(v) for v in validator.enumeration)
    if isinstance(validator, XsdMaxLengthFacet):
        return "maxLength", str(validator.value)
    if isinstance(validator, XsdMinLengthFacet):
        return "minLength", str(validator.value)
    if isinstance(validator, XsdLengthFacet):
        return "length", str(validator.value)
    if isinstance(validator, XsdPatternFacets):
        return "pattern", " | ".join(str(p) for p in validator.regexps)
    sign = _BOUNDS.get(type(validator).__name__)
    if sign and hasattr(validator, "value"):
        return "range", f"{sign} {validator.value}"
    return None


_BOUNDS = {"XsdMaxInclusiveFacet": "≤", "XsdMaxExclusiveFacet": "<",
           "XsdMinInclusiveFacet": "≥", "XsdMinExclusiveFacet": ">"}


def _attribute_finding(el: etree._Element, error: Any, reason: str, locate: Locator,
                       detail: str) -> Finding:
    name = _name(el)
    path = element_path(el)
    declared = [str(getattr(a, "local_name", None) or k) for k, a in
                getattr(error.validator, "items", lambda: [])() if k]
    quoted = reason.split("'")
    attribute = quoted[1] if len(quoted) > 2 else ""
    if reason.startswith("missing required attribute"):
        rule, text = messages.attribute_missing(name, attribute)
        line, column = locate.element(el)
    else:
        rule, text = messages.attribute_not_allowed(name, attribute, declared)
        line, column = locate.attribute(el, _written(el, attribute))
    return Finding.of(Severity.ERROR, rule, text, line=line, column=column,
                      path=f"{path}/@{attribute}" if attribute else path, detail=detail)


def _written(el: etree._Element, attribute: str) -> str:
    """An attribute's name as written in the start tag (with its prefix, if any)."""
    if attribute.startswith("{"):
        ns, _, local = attribute[1:].partition("}")
        prefix = next((p for p, uri in el.nsmap.items() if uri == ns and p), None)
        return f"{prefix}:{local}" if prefix else local
    return attribute


# ------------------------------------------------------------------ content models

@dataclass
class _Child:
    tag: str
    el: etree._Element | None  # None: put in by a mend (a missing element)


def _content_findings(parent: etree._Element, group: XsdGroup, locate: Locator,
                      detail: str) -> list[Finding]:
    work = [_Child(str(c.tag), c) for c in parent if isinstance(c.tag, str)]
    out: list[Finding] = []
    pname = _name(parent)
    for _ in range(_MAX_MENDS):
        found = _first_break(group, [c.tag for c in work])
        if found is None:
            break
        index, expected = found
        expected = [p for p in expected if getattr(p, "name", None)]
        here = work[index] if index < len(work) else None
        if here is not None and here.el is not None and group.match_element(here.tag) is None:
            rule, text = messages.unexpected(
                _name(here.el), pname, _names(parent, expected) or None)
            out.append(_at(here.el, rule, text, locate, detail))
            del work[index]
            continue
        want = expected[0] if expected else None
        if want is not None and not _drop_is_better(group, work, index, want):
            later = next((j for j in range(index + 1, len(work))
                          if work[j].el is not None and want.is_matching(work[j].tag)), None)
            if later is not None and here is not None:
                moved = work.pop(later)
                rule, text = messages.wrong_order(_name(moved.el), pname, _child_name(parent, here))
                out.append(_at(moved.el, rule, text, locate, detail))
                work.insert(index, moved)
                continue
            before = _child_name(parent, here) if here is not None else None
            after = _child_name(parent, work[index - 1]) if index > 0 and not before else None
            rule, text = messages.missing(_names(parent, expected, " | "), pname,
                                          before=before, after=after)
            anchor = _anchor(work, index, parent)
            finding = _at(anchor, rule, text, locate, detail)
            out.append(_with_path(finding, element_path(parent) + "/" + _clark_name(
                parent, str(want.name))))
            work.insert(index, _Child(str(want.name), None))
            continue
        if here is None or here.el is None:
            break
        decl = group.match_element(here.tag)
        most = getattr(decl, "max_occurs", None)
        count = sum(1 for c in work[:index + 1] if c.tag == here.tag)
        del work[index]
        if most is not None and count > most:
            rule, text = messages.too_many(_name(here.el), pname, int(most))
        else:
            place = _right_place(group, work, here) if len(work) <= _PLACE_LIMIT else None
            rule, text = messages.misplaced(_name(here.el), pname, place)
        out.append(_at(here.el, rule, text, locate, detail))
    return out


def _first_break(group: XsdGroup, tags: list[str]) -> tuple[int, list[Any]] | None:
    """Where a list of children first breaks *group*'s content model, and what was expected
    there (what xmlschema's group decoding does, on tags alone)."""
    model = group.get_model_visitor()
    for index, tag in enumerate(tags):
        while model.element is not None:
            if model.match_element(tag) is None:
                for _particle, _occurs, expected in model.advance(False):
                    return index, list(expected or [])
                continue
            for _particle, _occurs, expected in model.advance(True):
                return index, list(expected or [])
            break
        else:
            return index, []
    if model.element is not None:
        for _particle, _occurs, expected in model.stop():
            return len(tags), list(expected or [])
    return None


def _reach(group: XsdGroup, tags: list[str]) -> float:
    """How far a list of children gets through the content model (all the way: infinity)."""
    found = _first_break(group, tags)
    return float("inf") if found is None else found[0]


def _drop_is_better(group: XsdGroup, work: list[_Child], index: int, want: Any) -> bool:
    """At a break where *want* was expected: does taking out the child there (one too many,
    or out of place) get further than putting *want* in (a missing element, or one moved
    from further down)?"""
    here = work[index] if index < len(work) else None
    if here is None or here.el is None:
        return False
    tags = [c.tag for c in work]
    later = next((j for j in range(index + 1, len(tags)) if want.is_matching(tags[j])), None)
    if later is not None:
        mended = tags[:index] + [tags[later]] + tags[index:later] + tags[later + 1:]
    else:
        mended = tags[:index] + [str(want.name)] + tags[index:]
    dropped = tags[:index] + tags[index + 1:]
    return _reach(group, dropped) > _reach(group, mended)


def _right_place(group: XsdGroup, work: list[_Child], child: _Child) -> str | None:
    """The sibling before which *child* fits the content model (None: at the end)."""
    base = _first_break(group, [c.tag for c in work])
    for j in range(len(work) + 1):
        tags = [c.tag for c in work[:j]] + [child.tag] + [c.tag for c in work[j:]]
        found = _first_break(group, tags)
        if found is None or (base is not None and found[0] > base[0] + 1):
            parent = next((c.el.getparent() for c in work if c.el is not None), None)
            if j == len(work) or parent is None:
                return None
            return _child_name(parent, work[j])
    return None


def _anchor(work: list[_Child], index: int, parent: etree._Element) -> etree._Element:
    """The element a missing one is reported at: the one standing in its place, else the one
    before it, else the parent."""
    for j in list(range(index, len(work))) + list(range(index - 1, -1, -1)):
        el = work[j].el
        if el is not None:
            return el
    return parent


def _at(el: etree._Element | None, rule: str, text: Any, locate: Locator,
        detail: str) -> Finding:
    line, column = locate.element(el)
    return Finding.of(Severity.ERROR, rule, text, line=line, column=column,
                      path=element_path(el) if el is not None else None, detail=detail)


def _with_path(finding: Finding, path: str) -> Finding:
    return Finding(finding.severity, finding.rule, finding.message, finding.line,
                   finding.column, path, finding.text, finding.detail)


def _clark_name(context: etree._Element, clark: str) -> str:
    """A Clark name with the document's prefix for its namespace (``cbc:ID``)."""
    if not clark.startswith("{"):
        return clark
    ns, _, local = clark[1:].partition("}")
    prefix = next((p for p, uri in context.nsmap.items() if uri == ns), "")
    return f"{prefix}:{local}" if prefix else local


def _child_name(parent: etree._Element, child: _Child) -> str:
    return _name(child.el) if child.el is not None else _clark_name(parent, child.tag)


def _names(context: etree._Element, expected: list[Any], sep: str = ", ") -> str:
    names = []
    for particle in expected[:8]:
        name = getattr(particle, "name", None)
        if name:
            names.append(_clark_name(context, str(name)))
    return sep.join(dict.fromkeys(names))
