"""Render validation results as text, JSON or JUnit XML.

Results are the dicts of ``ValidationReport.to_dict()``, or ``{"source", "io_error"}`` /
``{"source", "setup_error"}`` for inputs that could not be checked at all. The text is for a
person, in their language (the findings' own messages were rendered in it when the documents
were validated); each finding line keeps its codes (severity, layer, rule, path) as they are.
JSON and JUnit, for tools, are the same in every language.
"""
from __future__ import annotations

import json
from typing import Any

from lxml import etree

from exchange import __version__
from exchange.i18n import DEFAULT_LOCALE, gettext

__all__ = ["finding_lines", "render_json", "render_json_texts", "render_junit", "render_text",
           "summarize"]


def summarize(results: list[dict[str, Any]]) -> dict[str, int]:
    checked = [r for r in results if "decision" in r]
    return {
        "documents": len(results),
        "valid": sum(r["decision"] == "accept" for r in checked),
        "invalid": sum(r["decision"] == "reject" for r in checked),
        "not_checked": len(results) - len(checked),
        "errors": sum(r["errors"] for r in checked),
        "warnings": sum(r["warnings"] for r in checked),
    }


def _where(f: dict[str, Any]) -> str:
    loc = ""
    if f.get("line"):
        loc = f"{f['line']}" + (f":{f['column']}" if f.get("column") else "")
    return loc


def _layer(layer: dict[str, Any]) -> str:
    """A layer's name, marked when it ran on a document an earlier layer found invalid."""
    return str(layer["name"]) + (", partial" if layer.get("partial") else "")


def finding_lines(result: dict[str, Any], source: str | None = None,
                  locale: str = DEFAULT_LOCALE) -> list[str]:
    """One line per finding of a report dict, ``source:line:column severity [layer] rule
    path: message`` (*source* defaults to the report's)."""
    name = source or result["source"]
    lines = []
    for layer in result["layers"]:
        if layer.get("packs"):
            lines.append(gettext(locale, "{source}: [{layer}] applied {packs}", source=name,
                                 layer=layer["name"], packs=", ".join(
                                     f"{p['name']} {p['version']}" for p in layer["packs"])))
        for f in layer["findings"]:
            path = f" {f['path']}" if f.get("path") else ""
            lines.append(f"{name}:{_where(f)} {f['severity']} [{_layer(layer)}] "
                         f"{f['rule']}{path}: {f['message']}")
    return lines


def render_text(results: list[dict[str, Any]], locale: str = DEFAULT_LOCALE) -> str:
    lines: list[str] = []
    for r in results:
        if "decision" not in r:
            lines.append(gettext(locale, "{source}: NOT CHECKED: {reason}", source=r["source"],
                                 reason=r.get("io_error") or r.get("setup_error")))
            continue
        doc = r.get("document_type") or {}
        what = f"{doc.get('root')}, {r['pack']}" if r.get("pack") else \
            gettext(locale, "unknown document type")
        fields = {"source": r["source"], "what": what, "warnings": r["warnings"]}
        if r["decision"] == "accept":
            lines.append(gettext(locale, "{source}: valid ({what}), {warnings} warning(s)",
                                 **fields) if r["warnings"] else
                         gettext(locale, "{source}: valid ({what})", **fields))
        else:
            lines.append(gettext(locale, "{source}: INVALID ({what}), {warnings} warning(s)",
                                 **fields) if r["warnings"] else
                         gettext(locale, "{source}: INVALID ({what})", **fields))
        lines.extend("  " + line for line in finding_lines(r, locale=locale))
        sig = r.get("signatures")
        if sig is not None:
            lines.extend("  " + s for s in sig.get("summary_lines", []))
    s = summarize(results)
    lines.append(gettext(locale, "{documents} document(s): {valid} valid, {invalid} invalid, "
                         "{not_checked} not checked", **s) if s["not_checked"] else
                 gettext(locale, "{documents} document(s): {valid} valid, {invalid} invalid",
                         **s))
    return "\n".join(lines) + "\n"


def render_json(results: list[dict[str, Any]]) -> str:
    payload = {"tool": "exchange validate", "version": __version__,
               "summary": summarize(results), "documents": results}
    return json.dumps(payload, ensure_ascii=False) + "\n"


def render_json_texts(briefs: list[dict[str, Any]], texts: list[str]) -> str:
    """What :func:`render_json` gives, from each result's brief (for the summary) and its
    JSON text (``json.dumps(result, ensure_ascii=False)``, made where it was validated)."""
    head = json.dumps({"tool": "exchange validate", "version": __version__,
                       "summary": summarize(briefs), "documents": []}, ensure_ascii=False)
    assert head.endswith("[]}")
    return head[:-2] + ", ".join(texts) + "]}\n"


def render_junit(results: list[dict[str, Any]]) -> str:
    s = summarize(results)
    suites = etree.Element("testsuites", name="exchange validate", tests=str(s["documents"]),
                           failures=str(s["invalid"]), errors=str(s["not_checked"]))
    suite = etree.SubElement(suites, "testsuite", name="exchange validate",
                             tests=str(s["documents"]), failures=str(s["invalid"]),
                             errors=str(s["not_checked"]), skipped="0")
    for r in results:
        doc = r.get("document_type") or {}
        classname = ".".join(x for x in (r.get("pack"), doc.get("root")) if x) or "unknown"
        case = etree.SubElement(suite, "testcase", classname=classname, name=r["source"])
        if "decision" not in r:
            err = etree.SubElement(case, "error", type="not-checked",
                                   message=r.get("io_error") or r.get("setup_error") or "")
            err.text = err.get("message")
            continue
        findings = [(_layer(layer), f) for layer in r["layers"] for f in layer["findings"]]
        body = "\n".join(
            f"{r['source']}:{_where(f)} {f['severity']} [{name}] {f['rule']} "
            f"{f.get('path') or ''}: {f['message']}" for name, f in findings)
        if r["decision"] == "reject":
            first = next(f for _, f in findings if f["severity"] == "error")
            fail = etree.SubElement(case, "failure", type=first["rule"],
                                    message=f"line {first.get('line')}: {first['message']}")
            fail.text = body
        elif body:
            out = etree.SubElement(case, "system-out")
            out.text = body
    return etree.tostring(suites, pretty_print=True, xml_declaration=True,
                          encoding="UTF-8").decode("utf-8")
