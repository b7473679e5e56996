"""Validation reports: layers of findings and one decision, kept apart.

A report has one layer per check, in order: ``well-formedness``, ``schema``,
``code-lists`` and, where the validator runs rule packs, ``rules`` (business rules,
:mod:`exchange.validation.rules`). Each layer is ``valid``, ``invalid`` or
``skipped`` (an earlier layer failed) and carries its own findings. The decision,
``accept`` or ``reject``, follows from the error findings only: warnings never reject.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree

    from exchange.validation.packs import DocumentType

__all__ = [
    "Severity", "LayerStatus", "Decision", "Finding", "LayerResult", "ValidationReport",
    "LAYERS",
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value, "rule": self.rule, "message": self.message,
            "line": self.line, "column": self.column, "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class LayerResult:
    name: str
    status: LayerStatus
    findings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, name: str, findings: list[Finding]) -> LayerResult:
        if not findings:
            return cls(name, LayerStatus.VALID)
        bad = any(f.severity is Severity.ERROR for f in findings)
        return cls(name, LayerStatus.INVALID if bad else LayerStatus.VALID, tuple(findings))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value,
                "findings": [f.to_dict() for f in self.findings]}


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

    def to_dict(self) -> dict[str, Any]:
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
            "layers": [layer.to_dict() for layer in self.layers],
        }
