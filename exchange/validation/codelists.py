"""Code-list layer: values that the schema leaves open, checked against the pack's
genericode lists (ISO 3166-1 countries, ISO 4217 currencies, UN/ECE Rec. 20 units).

Severity follows UBL's default code-list validation: a value outside the list is an
error; a unit code that Rec. 20 has deleted but UBL still lists in its
``incl-deleted`` list is a warning (it was valid once and still parses).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from signing.safexml import parse_xml

from exchange.validation.report import Finding, Severity
from exchange.validation.paths import element_path

__all__ = ["CodeLists", "load_code_lists", "check_code_lists"]

_GC_VALUES = etree.XPath(
    "/*[local-name()='CodeList']/SimpleCodeList/Row/Value[@ColumnRef='code']/SimpleValue/text()")

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
COUNTRY = f"{{{CAC}}}Country"
IDENTIFICATION_CODE = f"{{{CBC}}}IdentificationCode"
_CBC_ELEMENT_NAMES = etree.XPath(
    "/xsd:schema/xsd:element/@name", namespaces={"xsd": "http://www.w3.org/2001/XMLSchema"})
_CODE_ATTRIBUTES = etree.XPath("//@currencyID | //@unitCode")


@dataclass(frozen=True)
class CodeLists:
    currency: frozenset[str]
    country: frozenset[str]
    unit: frozenset[str]
    # Rec. 20 with its deleted codes (the largest list, 1.2 MB): only a unit code outside
    # ``unit`` needs it, so it is read then, once (see ``unit_deleted``).
    read_unit_deleted: Callable[[], frozenset[str]] = field(
        default=frozenset, repr=False, compare=False)
    currency_elements: tuple[str, ...] = ()  # Clark names of the *CurrencyCode elements
    currency_bytes: frozenset[bytes] = frozenset()
    unit_bytes: frozenset[bytes] = frozenset()

    @functools.cached_property
    def unit_deleted(self) -> frozenset[str]:
        """Codes deleted from Rec. 20 that UBL still lists (and not in ``unit``)."""
        return self.read_unit_deleted() - self.unit

    @functools.cached_property
    def text_elements(self) -> tuple[str, ...]:
        return self.currency_elements + (IDENTIFICATION_CODE,)


def _read_gc(path: Path) -> frozenset[str]:
    tree = parse_xml(path.read_bytes())
    return frozenset(v.strip() for v in _GC_VALUES(tree))


def load_code_lists(pack_dir: Path, lists: dict[str, str]) -> CodeLists:
    def get(key: str) -> frozenset[str]:
        return _read_gc(pack_dir / lists[key]) if key in lists else frozenset()

    currency_elements: tuple[str, ...] = ()
    if "basic_components" in lists:  # the schema that declares cbc:*CurrencyCode
        names = _CBC_ELEMENT_NAMES(parse_xml((pack_dir / lists["basic_components"]).read_bytes()))
        currency_elements = tuple(sorted(f"{{{CBC}}}{n}" for n in names
                                         if n.endswith("CurrencyCode")))
    unit = get("unit")
    currency = get("currency")
    return CodeLists(currency=currency, country=get("country"), unit=unit,
                     read_unit_deleted=functools.partial(get, "unit_deleted"),
                     currency_elements=currency_elements,
                     currency_bytes=_as_bytes(currency), unit_bytes=_as_bytes(unit))


def _as_bytes(codes: frozenset[str]) -> frozenset[bytes]:
    # The empty value stands for "an occurrence without a plain value" in
    # _attributes_known, so it must never count as known.
    return frozenset(c.encode() for c in codes if c)


def _attributes_known(data: bytes, name: bytes, known: frozenset[bytes]) -> bool:
    """True when every occurrence of *name* in the raw bytes is ``name="V"`` with V known.

    Sound as a shortcut: every real attribute of that name contains the name, so if all
    occurrences (real ones, and any in comments or text) have a known plain value, so do
    the real ones. Anything else (another quoting, spaces, a reference, an unknown value)
    answers False, which only means "check on the tree".

    One regular-expression scan finds every occurrence: one not followed by ``="..."``
    yields an empty value, which no code list holds."""
    if not known:
        return True
    return known.issuperset(_occurrences(name).findall(data))


@functools.cache
def _occurrences(name: bytes) -> re.Pattern[bytes]:
    return re.compile(re.escape(name) + rb'(?:="([^"]*)")?')


def check_code_lists(tree: etree._ElementTree, lists: CodeLists,
                     data: bytes | None = None) -> list[Finding]:
    """Findings of the code-list layer.

    Elements are found with lxml's tag filter. The ``currencyID`` and ``unitCode``
    attributes are confirmed from *data* (the bytes *tree* was parsed from, in an
    ASCII-compatible encoding) when given, and otherwise, or when the shortcut cannot
    confirm them, checked one by one on the tree."""
    findings: list[Finding] = []
    # A known value needs no more than a set lookup (what _check does first).
    currency, country = lists.currency or _ANY, lists.country or _ANY
    for el in tree.getroot().iter(*lists.text_elements):
        value = (el.text or "").strip()
        if el.tag == IDENTIFICATION_CODE:
            parent = el.getparent()
            if parent is None or parent.tag != COUNTRY or value in country:
                continue
            _add(findings, "country", value, el, None, lists)
        elif value not in currency:
            _add(findings, "currency", value, el, None, lists)
    if data is not None and _attributes_known(data, b"currencyID", lists.currency_bytes) \
            and _attributes_known(data, b"unitCode", lists.unit_bytes):
        return findings
    for attr in _CODE_ATTRIBUTES(tree):
        name = attr.attrname
        _add(findings, "currency" if name == "currencyID" else "unit", str(attr).strip(),
             attr.getparent(), name, lists)
    findings.sort(key=lambda f: f.line or 0)
    return findings


class _Anything:
    """An empty code list checks nothing: every value is in it."""

    def __contains__(self, value: object) -> bool:
        return True


_ANY = _Anything()


def _add(findings: list[Finding], kind: str, value: str, el: etree._Element,
         attr: str | None, lists: CodeLists) -> None:
    finding = _check(kind, value, lists)
    if finding is not None:
        severity, rule, message = finding
        path = element_path(el) + (f"/@{attr}" if attr else "")
        findings.append(Finding(severity, rule, message, line=el.sourceline, path=path))


def _check(kind: str, value: str, lists: CodeLists) -> tuple[Severity, str, str] | None:
    if kind == "currency":
        if value in lists.currency or not lists.currency:
            return None
        return (Severity.ERROR, "codelist.currency",
                f"{value!r} is not an ISO 4217 currency code")
    if kind == "country":
        if value in lists.country or not lists.country:
            return None
        return (Severity.ERROR, "codelist.country",
                f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    if value in lists.unit or not lists.unit:
        return None
    if value in lists.unit_deleted:
        return (Severity.WARNING, "codelist.unit.deleted",
                f"unit code {value!r} has been deleted from UN/ECE Recommendation 20")
    return (Severity.ERROR, "codelist.unit",
            f"{value!r} is not a UN/ECE Recommendation 20 unit code")
