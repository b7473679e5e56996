"""Code-list layer: values that the schema leaves open, checked against the pack's
genericode lists (ISO 3166-1 countries, ISO 4217 currencies, UN/ECE Rec. 20 units).

Severity follows UBL's default code-list validation: a value outside the list is an
error; a unit code that Rec. 20 has deleted but UBL still lists in its
``incl-deleted`` list is a warning (it was valid once and still parses).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from signing.safexml import parse_xml

from .report import Finding, Severity
from .paths import element_path

__all__ = ["CodeLists", "load_code_lists", "check_code_lists"]

_GC_VALUES = etree.XPath(
    "/*[local-name()='CodeList']/SimpleCodeList/Row/Value[@ColumnRef='code']/SimpleValue/text()")

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"

# One pass over the document for everything the layer checks.
_TARGETS = etree.XPath(
    "//@currencyID | //@unitCode"
    " | //cbc:*[substring(local-name(), string-length(local-name()) - 11) = 'CurrencyCode']"
    " | //cac:Country/cbc:IdentificationCode",
    namespaces={"cbc": CBC, "cac": CAC},
)


@dataclass(frozen=True)
class CodeLists:
    currency: frozenset[str]
    country: frozenset[str]
    unit: frozenset[str]
    unit_deleted: frozenset[str]


def _read_gc(path: Path) -> frozenset[str]:
    tree = parse_xml(path.read_bytes())
    return frozenset(v.strip() for v in _GC_VALUES(tree))


def load_code_lists(pack_dir: Path, lists: dict[str, str]) -> CodeLists:
    def get(key: str) -> frozenset[str]:
        return _read_gc(pack_dir / lists[key]) if key in lists else frozenset()

    unit = get("unit")
    return CodeLists(currency=get("currency"), country=get("country"), unit=unit,
                     unit_deleted=get("unit_deleted") - unit)


def check_code_lists(tree: etree._ElementTree, lists: CodeLists) -> list[Finding]:
    findings: list[Finding] = []
    for hit in _TARGETS(tree):
        if isinstance(hit, etree._Element):
            el, attr, value = hit, None, (hit.text or "").strip()
            kind = "country" if hit.tag == f"{{{CBC}}}IdentificationCode" else "currency"
        else:
            el, attr, value = hit.getparent(), hit.attrname, str(hit).strip()
            kind = "currency" if attr == "currencyID" else "unit"
        finding = _check(kind, value, lists)
        if finding is not None:
            severity, rule, message = finding
            path = element_path(el) + (f"/@{attr}" if attr else "")
            findings.append(Finding(severity, rule, message, line=el.sourceline, column=None,
                                    path=path))
    return findings


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
