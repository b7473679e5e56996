"""Code-list layer: values that the schema leaves open, checked against the pack's
genericode lists (ISO 3166-1 countries, ISO 4217 currencies, UN/ECE Rec. 20 units).

Severity follows UBL's default code-list validation: a value outside the list is an
error; a unit code that Rec. 20 has deleted but UBL still lists in its
``incl-deleted`` list is a warning (it was valid once and still parses).

Unit codes: UN/ECE Recommendation 20 takes in the package codes of Recommendation 21 with an
``X`` in front (``XBX`` box, ``XCS`` case), which Peppol catalogues and orders use; UBL's
unit list does not carry them, so they are derived from the pack's Rec. 21 list (the
``packaging`` code list, ``PackagingTypeCode``), deleted ones with it. A document profile
(:mod:`exchange.validation.profiles`) may give each list another severity or source.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from signing.safexml import parse_xml

from exchange.validation.locate import Locator
from exchange.validation.report import Finding, Severity
from exchange.validation.paths import element_path

if TYPE_CHECKING:
    from exchange.i18n import Text

__all__ = ["CodeLists", "load_code_lists", "check_code_lists", "read_genericode"]

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
    # The severity of a value outside each list (``currency``, ``country``, ``unit``).
    severity: dict[str, Severity] = field(default_factory=dict)

    @functools.cached_property
    def unit_deleted(self) -> frozenset[str]:
        """Codes deleted from Rec. 20 that UBL still lists (and not in ``unit``)."""
        return self.read_unit_deleted() - self.unit

    @functools.cached_property
    def text_elements(self) -> tuple[str, ...]:
        return self.currency_elements + (IDENTIFICATION_CODE,)


def read_genericode(path: Path) -> frozenset[str]:
    """The codes of a genericode code list (its ``code`` column)."""
    tree = parse_xml(path.read_bytes())
    return frozenset(v.strip() for v in _GC_VALUES(tree))


def load_code_lists(pack_dir: Path, lists: dict[str, str],
                    severity: dict[str, Severity] | None = None) -> CodeLists:
    """The code lists of a pack: *lists* maps each list (``currency``, ``country``, ``unit``,
    ``unit_deleted``, ``packaging``, ``packaging_deleted``) to a genericode file, relative to
    *pack_dir* or absolute (a newer list); *severity* overrides the error of a list."""
    def get(key: str) -> frozenset[str]:
        return read_genericode(pack_dir / lists[key]) if key in lists else frozenset()

    def units_deleted() -> frozenset[str]:
        packaging = get("packaging")
        return get("unit_deleted") | frozenset(
            "X" + c for c in get("packaging_deleted") - packaging)

    currency_elements: tuple[str, ...] = ()
    if "basic_components" in lists:  # the schema that declares cbc:*CurrencyCode
        names = _CBC_ELEMENT_NAMES(parse_xml((pack_dir / lists["basic_components"]).read_bytes()))
        currency_elements = tuple(sorted(f"{{{CBC}}}{n}" for n in names
                                         if n.endswith("CurrencyCode")))
    unit = get("unit")
    if unit:
        unit |= frozenset("X" + c for c in get("packaging"))
    currency = get("currency")
    return CodeLists(currency=currency, country=get("country"), unit=unit,
                     read_unit_deleted=units_deleted,
                     currency_elements=currency_elements,
                     currency_bytes=_as_bytes(currency), unit_bytes=_as_bytes(unit),
                     severity=dict(severity or {}))


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
                     data: bytes | None = None, locate: Locator | None = None
                     ) -> list[Finding]:
    """Findings of the code-list layer.

    Elements are found with lxml's tag filter. The ``currencyID`` and ``unitCode``
    attributes are confirmed from *data* (the bytes *tree* was parsed from, in an
    ASCII-compatible encoding) when given, and otherwise, or when the shortcut cannot
    confirm them, checked one by one on the tree."""
    findings: list[Finding] = []
    where = locate or Locator(tree, data)
    # A known value needs no more than a set lookup (what _check does first).
    currency, country = lists.currency or _ANY, lists.country or _ANY
    for el in tree.getroot().iter(*lists.text_elements):
        value = (el.text or "").strip()
        if el.tag == IDENTIFICATION_CODE:
            parent = el.getparent()
            if parent is None or parent.tag != COUNTRY or value in country:
                continue
            _add(findings, "country", value, el, None, lists, where)
        elif value not in currency:
            _add(findings, "currency", value, el, None, lists, where)
    if data is not None and _attributes_known(data, b"currencyID", lists.currency_bytes) \
            and _attributes_known(data, b"unitCode", lists.unit_bytes):
        return findings
    for attr in _CODE_ATTRIBUTES(tree):
        name = attr.attrname
        _add(findings, "currency" if name == "currencyID" else "unit", str(attr).strip(),
             attr.getparent(), name, lists, where)
    findings.sort(key=lambda f: (f.line or 0, f.column or 0))
    return findings


class _Anything:
    """An empty code list checks nothing: every value is in it."""

    def __contains__(self, value: object) -> bool:
        return True


_ANY = _Anything()


def _add(findings: list[Finding], kind: str, value: str, el: etree._Element,
         attr: str | None, lists: CodeLists, locate: Locator) -> None:
    finding = _check(kind, value, lists)
    if finding is not None:
        severity, rule, text = finding
        path = element_path(el) + (f"/@{attr}" if attr else "")
        line, column = locate.attribute(el, attr) if attr else locate.element(el)
        findings.append(Finding.of(severity, rule, text, line=line, column=column, path=path))


def _check(kind: str, value: str, lists: CodeLists
           ) -> tuple[Severity, str, Text] | None:
    from exchange.validation import messages  # with Babel: only when a value is wrong

    known = {"currency": lists.currency, "country": lists.country}.get(kind, lists.unit)
    if value in known or not known:
        return None
    severity = lists.severity.get(kind, Severity.ERROR)
    if kind == "unit" and value in lists.unit_deleted:
        kind, severity = "unit-deleted", Severity.WARNING
    rule, text = messages.code_list(kind, value)
    return severity, rule, text
