"""Validation reports: layers of findings and one decision, kept apart.

A report has one layer per check, in order: ``well-formedness``, ``schema``,
``code-lists`` and, where the validator runs rule packs, ``rules`` (business rules,
:mod:`exchange.validation.rules`). Each layer is ``valid``, ``invalid`` or
``skipped`` (an earlier layer failed) and carries its own findings. The decision,
``accept`` or ``reject``, follows from the error findings only: warnings never reject.

A finding says what is wrong and how to fix it in the reader's language: its ``text`` is a
message of the ``validation`` catalogue (:mod:`exchange.i18n`), rendered by
:meth:`Finding.render` or, for a report already turned into a dict, by :func:`localize`. Its
``message`` is the English text; ``detail`` keeps the checker's own words for integrators. A
layer that ran on a document an earlier layer found invalid is ``partial`` (it checked what
could be read).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # exchange.i18n (Babel) is imported when a finding has a text to render
    from exchange.i18n import Text
    from lxml import etree

    from exchange.validation.packs import DocumentType

__all__ = [
    "Severity", "LayerStatus", "Decision", "Finding", "LayerResult", "ValidationReport",
    "LAYERS", "localize",
]

LAYERS = ("well-formedness", "schema", "code-lists", "rules")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "information"  # a rule pack's note (SVRL flag "information"): never rejects


class LayerStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    SKIPPED = "skipped"


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    rule: str
    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None
    text: Text | None = None     # the message to render in the reader's language
    detail: str | None = None    # the checker's own message, for integrators

    @classmethod
    def of(cls, severity: Severity, rule: str, text: Text, *, line: int | None = None,
           column: int | None = None, path: str | None = None,
           detail: str | None = None) -> Finding:
        """A finding whose message is *text* (English in ``message``)."""
        return cls(severity, rule, text.render("en"), line, column, path, text, detail)

    def render(self, locale: str | None = None) -> str:
        """The message in *locale* (English when not given or not translated)."""
        return self.text.render(locale) if self.text is not None else self.message

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.value, "rule": self.rule,
            "message": self.message if locale is None else self.render(locale),
            "line": self.line, "column": self.column, "path": self.path,
        }
        if self.text is not None:
            out["message_id"] = self.text.msgid
            out["params"] = dict(self.text.params)
        if self.detail is not None:
            out["detail"] = self.detail
        return out


def localize(result: dict[str, Any], locale: str | None) -> dict[str, Any]:
    """A report dict (``ValidationReport.to_dict()``, as stored or sent) with every finding's
    message in *locale* (:func:`exchange.i18n.message_of`); the dict is not changed."""
    from exchange.i18n import DEFAULT_LOCALE, message_of

    if not locale or locale == DEFAULT_LOCALE or not result.get("layers"):
        return result
    layers = []
    for layer in result["layers"]:
        findings = [{**f, "message": message_of(f, locale)} for f in layer.get("findings", [])]
        layers.append({**layer, "findings": findings})
    return {**result, "layers": layers}


@dataclass(frozen=True, slots=True)
class LayerResult:
    name: str
    status: LayerStatus
    findings: tuple[Finding, ...] = ()
    partial: bool = False  # ran on a document that an earlier layer found invalid

    @classmethod
    def of(cls, name: str, findings: list[Finding], *, partial: bool = False) -> LayerResult:
        if not findings:
            return cls(name, LayerStatus.VALID, partial=partial)
        bad = any(f.severity is Severity.ERROR for f in findings)
        return cls(name, LayerStatus.INVALID if bad else LayerStatus.VALID, tuple(findings),
                   partial)

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": self.status.value,
                               "findings": [f.to_dict(locale) for f in self.findings]}
        if self.partial:
            out["partial"] = True
        return out


@dataclass(frozen=True)
class ValidationReport:
    source: str
    layers: tuple[LayerResult, ...]
    pack: str | None = None
    pack_version: str | None = None
    standard: str | None = None
    document_type: DocumentType | None = None
    sha256: str | None = None
    size: int | None = None
    tree: etree._ElementTree | None = field(default=None, repr=False, compare=False)

    @property
    def decision(self) -> Decision:
        for layer in self.layers:
            if any(f.severity is Severity.ERROR for f in layer.findings):
                return Decision.REJECT
        return Decision.ACCEPT

    @property
    def accepted(self) -> bool:
        return self.decision is Decision.ACCEPT

    @property
    def findings(self) -> list[Finding]:
        return [f for layer in self.layers for f in layer.findings]

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """The report as JSON-ready data, messages in *locale* (English when not given)."""
        # One pass over the findings gives both counts; errors decide, as in `decision`.
        errors = warnings = 0
        for layer in self.layers:
            for f in layer.findings:
                if f.severity is Severity.ERROR:
                    errors += 1
                elif f.severity is Severity.WARNING:
                    warnings += 1
        doc = self.document_type
        return {
            "source": self.source,
            "decision": (Decision.REJECT if errors else Decision.ACCEPT).value,
            "standard": self.standard,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "document_type": None if doc is None else {"root": doc.root,
                                                        "namespace": doc.namespace},
            "sha256": self.sha256,
            "size": self.size,
            "errors": errors,
            "warnings": warnings,
            "layers": [layer.to_dict(locale) for layer in self.layers],
        }
