"""`exchange rules check`: run rule packs on documents, schema-valid or not.

What rule authors and rule-set test suites need: a pack's findings on a document (often a
fragment that no schema accepts), with nothing else in the way. The findings are those of
the rules layer (:meth:`~exchange.validation.rules.RuleEngine.layer`): same ids, flags,
paths, lines and messages.

Without ``packs``, every installed pack with a rule set for the document's type runs,
whatever the document's profile (a fragment seldom declares one).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from signing.safexml import DEFAULT_LIMITS, XmlError, parse_xml

from exchange.i18n import DEFAULT_LOCALE, gettext
from exchange.validation.report import LayerStatus, Severity
from exchange.validation.rules import RuleEngine, RuleSelection

__all__ = ["check_rules", "render_check_text"]


def check_rules(data: bytes, *, engine: RuleEngine, packs: Sequence[str] = (),
                source: str = "<bytes>") -> dict[str, Any]:
    """One document's result: ``source``, ``document_type``, ``decision`` (``accept``,
    ``reject``; ``not-checked`` when it is not XML or no pack covers it), ``errors``,
    ``warnings`` and the rules ``layer``. Unknown or missing named packs raise (a usage
    error, not a finding)."""
    try:
        tree = parse_xml(data, limits=DEFAULT_LIMITS)
    except XmlError as exc:
        return {"source": source, "document_type": None, "decision": "not-checked",
                "errors": 1, "warnings": 0, "problem": f"not well-formed XML: {exc.message}",
                "line": exc.line, "layer": None}
    qname = etree.QName(tree.getroot())
    selection = RuleSelection(auto=not packs, packs=tuple(packs))
    layer = engine.layer(tree, selection, profiles=False)
    doc = {"root": qname.localname, "namespace": qname.namespace}
    if layer.status is LayerStatus.SKIPPED:
        what = f"{qname.localname} ({qname.namespace or 'no namespace'})"
        problem = (f"{', '.join(packs)} has no rules for {what}" if packs
                   else f"no installed rule pack has rules for {what}")
        return {"source": source, "document_type": doc, "decision": "not-checked",
                "errors": 0, "warnings": 0, "layer": layer.to_dict(), "problem": problem}
    errors = sum(1 for f in layer.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in layer.findings if f.severity is Severity.WARNING)
    invalid = errors or layer.status is LayerStatus.INVALID
    return {"source": source, "document_type": doc,
            "decision": "reject" if invalid else "accept", "errors": errors,
            "warnings": warnings, "layer": layer.to_dict()}


def render_check_text(results: list[dict[str, Any]], locale: str = DEFAULT_LOCALE) -> str:
    """One line per document, in the reader's language, then one per finding: ``file:line:
    severity RULE [pack] path: message``."""
    lines: list[str] = []
    for r in results:
        layer = r.get("layer") or {}
        packs = ", ".join(f"{p['name']} {p['version']}" for p in layer.get("packs", []))
        if r["decision"] == "not-checked":
            lines.append(gettext(locale, "{source}: NOT CHECKED: {reason}", source=r["source"],
                                 reason=r.get("problem")))
            continue
        fields = {"source": r["source"], "packs": packs, "errors": r["errors"],
                  "warnings": r["warnings"]}
        lines.append(gettext(locale, "{source}: passes ({packs}): {errors} error(s), "
                             "{warnings} warning(s)", **fields) if r["decision"] == "accept"
                     else gettext(locale, "{source}: FAILS ({packs}): {errors} error(s), "
                                  "{warnings} warning(s)", **fields))
        for f in layer.get("findings", []):
            where = f":{f['line']}" if f.get("line") else ""
            path = f" {f['path']}" if f.get("path") else ""
            pack = f" [{f['pack']}]" if f.get("pack") else ""
            lines.append(f"  {r['source']}{where}: {f['severity']} {f['rule']}{pack}{path}: "
                         f"{f['message']}")
    checked = [r for r in results if r["decision"] != "not-checked"]
    failing = sum(1 for r in checked if r["decision"] == "reject")
    counts = {"documents": len(results), "passing": len(checked) - failing, "failing": failing,
              "not_checked": len(results) - len(checked)}
    lines.append(gettext(locale, "{documents} document(s): {passing} pass, {failing} fail, "
                         "{not_checked} not checked", **counts) if counts["not_checked"] else
                 gettext(locale, "{documents} document(s): {passing} pass, {failing} fail",
                         **counts))
    return "\n".join(lines) + "\n"
