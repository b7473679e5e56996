"""The rules layer: the business rules of the rule packs that apply to a document.

A rule set runs as XSLT producing SVRL, on Saxon (``saxonche``, SaxonC-HE: XSLT 3.0, so
Schematron with the XSLT 2/3 query bindings, such as the published EN 16931 stylesheets).
A rule set given as Schematron source is compiled to XSLT first with the ISO Schematron
skeleton that lxml ships (query binding ``xslt``, XPath 1.0). Each stylesheet is compiled
once per process and reused; each compiled stylesheet runs under its own lock.

Which packs run (:class:`RuleSelection`): ``auto`` takes every installed pack with a rule
set for the document's type (root and namespace) whose profiles match the document's
(``cbc:CustomizationID``/``cbc:ProfileID``, CII ``GuidelineSpecifiedDocumentContextParameter``);
named packs run on every document of a type they cover, whatever its profile (what a member
requires, or what a rule author asks for).

Fail closed: if a rule processor fails (a stylesheet that does not compile, a dynamic
error, output that is not SVRL), the layer is ``invalid`` with that error, never ``valid``.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from signing.safexml import parse_xml

from exchange.errors import PackNotInstalledError
from exchange.i18n import t
from exchange.validation.report import Finding, LayerResult, LayerStatus, Severity
from exchange.validation.rulepacks import RulePackSpec, RuleSet, RuleStore
from exchange.validation.svrl import SVRL_NS, RuleFinding, findings_from_svrl

__all__ = ["AppliedPack", "RULES", "RuleEngine", "RuleSelection", "RulesLayer",
           "document_profiles"]

RULES = "rules"
log = logging.getLogger(__name__)

_UBL_HEAD = frozenset({"UBLExtensions", "UBLVersionID", "CustomizationID", "ProfileID",
                       "ProfileExecutionID"})
_CII_CONTEXTS = frozenset({"GuidelineSpecifiedDocumentContextParameter",
                           "BusinessProcessSpecifiedDocumentContextParameter"})


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def document_profiles(tree: etree._ElementTree) -> tuple[str, ...]:
    """The profile ids a document declares: UBL ``cbc:CustomizationID``/``cbc:ProfileID``
    (in the head, before the document's id), CII ``ExchangedDocumentContext``'s guideline
    and business process ids. Reads the first few children only."""
    found: list[str] = []
    for child in tree.getroot():
        name = _local(child.tag)
        if name in ("CustomizationID", "ProfileID"):
            found.append((child.text or "").strip())
        elif name == "ExchangedDocumentContext":
            found.extend((ident.text or "").strip() for param in child
                         if _local(param.tag) in _CII_CONTEXTS
                         for ident in param if _local(ident.tag) == "ID")
            break
        elif name and name not in _UBL_HEAD:
            break
    return tuple(p for p in found if p)


@dataclass(frozen=True)
class RuleSelection:
    """Which packs run: ``auto`` (installed packs matching type and profile) and/or
    the named ``packs`` (every document of a type they cover)."""

    auto: bool = True
    packs: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: Iterable[str]) -> RuleSelection:
        """``["auto"]``, ``["none"]`` or pack names (``auto`` may be added to names)."""
        names = [v.strip() for value in values for v in value.split(",") if v.strip()]
        if not names or names == ["auto"]:
            return cls()
        if names == ["none"]:
            return cls(auto=False)
        if "none" in names:
            raise ValueError("--rules none cannot be combined with pack names")
        return cls(auto="auto" in names, packs=tuple(n for n in names if n != "auto"))

    def requiring(self, packs: Sequence[str]) -> RuleSelection:
        """This selection plus the packs a member requires."""
        return RuleSelection(self.auto, tuple(dict.fromkeys((*self.packs, *packs))))

    @property
    def off(self) -> bool:
        return not self.auto and not self.packs


@dataclass(frozen=True)
class AppliedPack:
    name: str
    version: str
    rule_set: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "rule_set": self.rule_set,
                "title": self.title}


@dataclass(frozen=True, slots=True)
class RulesLayer(LayerResult):
    """The rules layer: findings of every pack applied, and which packs (and versions)."""

    packs: tuple[AppliedPack, ...] = ()

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        out = LayerResult.to_dict(self, locale)
        out["packs"] = [p.to_dict() for p in self.packs]
        return out


class RuleProcessorError(Exception):
    """A rule set could not be compiled or run (never reaches a caller: the layer fails)."""


# ------------------------------------------------------------------ Saxon, once per process
@dataclass
class _Compiled:
    executable: Any  # saxonche.PyXsltExecutable (saxonche ships no type information)
    lock: threading.Lock


_STATE_LOCK = threading.Lock()
_PROCESSOR: tuple[int, Any] | None = None  # (pid, saxonche.PySaxonProcessor)
_COMPILED: dict[tuple[int, str, int, int], _Compiled] = {}


def _processor() -> Any:  # saxonche.PySaxonProcessor
    global _PROCESSOR
    pid = os.getpid()
    if _PROCESSOR is None or _PROCESSOR[0] != pid:
        from saxonche import PySaxonProcessor

        _PROCESSOR = (pid, PySaxonProcessor(license=False))
    return _PROCESSOR[1]


def _schematron_to_xslt(path: Path) -> str:
    """ISO Schematron (query binding xslt) -> the validating XSLT, with the ISO skeleton
    that lxml ships (include, abstract patterns, SVRL output)."""
    from lxml import isoschematron as iso

    try:
        sch = parse_xml(path.read_bytes())
        binding = sch.getroot().get("queryBinding", "xslt")
        if binding.lower() not in ("xslt", "xslt1", "xpath"):
            raise RuleProcessorError(
                f"{path.name}: query binding {binding!r} needs a compiled stylesheet in the "
                "pack (xslt = ...); Schematron sources are compiled for XSLT 1.0 only")
        included = iso.iso_dsdl_include(sch)
        expanded = iso.iso_abstract_expand(included)
        return str(iso.iso_svrl_for_xslt1(expanded))
    except (OSError, etree.Error) as exc:
        raise RuleProcessorError(f"{path.name} cannot be compiled: {exc}") from None


def compiled(path: Path, *, schematron: bool = False) -> _Compiled:
    """The stylesheet at *path* (or compiled from the Schematron there), compiled once in
    this process and kept; a changed file is compiled again."""
    try:
        st = path.stat()
    except OSError as exc:
        raise RuleProcessorError(f"{path.name} cannot be read: {exc.strerror}") from None
    key = (os.getpid(), str(path), st.st_mtime_ns, st.st_size)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    with _STATE_LOCK:
        found = _COMPILED.get(key)
        if found is None:
            proc = _processor()
            xslt = proc.new_xslt30_processor()
            try:
                if schematron:
                    exe = xslt.compile_stylesheet(stylesheet_text=_schematron_to_xslt(path))
                else:
                    exe = xslt.compile_stylesheet(stylesheet_file=str(path))
            except RuleProcessorError:
                raise
            except Exception as exc:  # saxonche.PySaxonApiError, with Saxon's message
                raise RuleProcessorError(f"{path.name} does not compile: {exc}") from None
            if exe is None:
                raise RuleProcessorError(f"{path.name} does not compile")
            found = _Compiled(exe, threading.Lock())
            _COMPILED[key] = found
    return found


def transform(stylesheet: _Compiled, tree: etree._ElementTree) -> etree._Element | None:
    """Run one compiled rule stylesheet on *tree*; its SVRL output, parsed (None: an SVRL
    report in which nothing fired)."""
    text = etree.tostring(tree, encoding="unicode")
    proc = _processor()
    try:
        with stylesheet.lock:
            node = proc.parse_xml(xml_text=text)
            out = stylesheet.executable.transform_to_string(xdm_node=node)
    except Exception as exc:  # saxonche.PySaxonApiError: a dynamic error of the rules
        raise RuleProcessorError(f"the rules failed while running: {exc}") from None
    if not out:
        raise RuleProcessorError("the rules produced no report")
    if "failed-assert" not in out and "successful-report" not in out:
        # Nothing fired (most documents): no finding to read, only the root to check.
        head = out[:4096]
        if SVRL_NS in head and _SVRL_ROOT_TEXT.search(head):
            return None
    try:
        report = etree.fromstring(out.encode("utf-8"), parser=_SVRL_PARSER)
    except etree.XMLSyntaxError as exc:
        raise RuleProcessorError(f"the rules' report is not XML: {exc}") from None
    if report.tag != _SVRL_ROOT:
        raise RuleProcessorError(f"the rules' report is not SVRL (root {report.tag!r})")
    return report


_SVRL_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
_SVRL_ROOT = f"{{{SVRL_NS}}}schematron-output"
_SVRL_ROOT_TEXT = re.compile(r"<(?:[\w.\-]+:)?schematron-output[\s>]")


# ------------------------------------------------------------------ the engine
class RuleEngine:
    """Runs the rule packs of *store* on documents; messages in *lang* where a rule has it."""

    def __init__(self, store: RuleStore, *, lang: str = "en",
                 default: RuleSelection = RuleSelection()):
        self.store = store
        self.lang = lang
        self.default = default
        self._installed: set[str] = set()  # packs seen installed; a pack stays installed
        self._by_type: dict[tuple[str, str], list[tuple[RulePackSpec, RuleSet]]] = {}
        for spec in store.catalog.values():
            for rule_set in spec.rule_sets:
                for key in rule_set.document_types:
                    self._by_type.setdefault(key, []).append((spec, rule_set))

    @property
    def skipped(self) -> RulesLayer:
        """The layer of a document the rules do not get to (an earlier layer failed)."""
        return SKIPPED

    def _is_installed(self, name: str) -> bool:
        if name in self._installed:
            return True
        if self.store.is_installed(name):
            self._installed.add(name)
            return True
        return False

    def applicable(self, tree: etree._ElementTree, selection: RuleSelection | None = None,
                   *, profiles: bool = True) -> list[tuple[RulePackSpec, RuleSet]]:
        """The (pack, rule set) pairs that run on *tree*. A named pack that is not installed
        raises :class:`PackNotInstalledError` (an unknown one :class:`UnknownPackError`)."""
        selection = selection or self.default
        tag = str(tree.getroot().tag)
        ns, _, root = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        chosen: dict[str, tuple[RulePackSpec, RuleSet]] = {}
        for name in selection.packs:
            spec = self.store.spec(name)
            if not self._is_installed(name):
                raise PackNotInstalledError(t("rule pack {name!r} is not installed; run: "
                                              "{command} {name}", name=name,
                                              command=self.store.install_command))
            rule_set = next((r for r in spec.rule_sets if r.covers(ns, root)), None)
            if rule_set is not None:
                chosen[name] = (spec, rule_set)
        if selection.auto:
            declared: tuple[str, ...] | None = None  # read only for a covered type
            for spec, r in self._by_type.get((ns, root), ()):
                if spec.name in chosen:
                    continue
                if profiles and declared is None:
                    declared = document_profiles(tree)
                if (not profiles or r.matches_profile(declared or ())) \
                        and self._is_installed(spec.name):
                    chosen[spec.name] = (spec, r)
        return list(chosen.values())

    def run(self, tree: etree._ElementTree, spec: RulePackSpec, rule_set: RuleSet
            ) -> list[RuleFinding]:
        """Findings of one rule set; :class:`RuleProcessorError` if it cannot run."""
        path = self.store.pack_dir(spec.name) / rule_set.source
        stylesheet = compiled(path, schematron=rule_set.xslt is None)
        report = transform(stylesheet, tree)
        if report is None:
            return []
        return findings_from_svrl(report, tree, pack=spec.name, lang=self.lang)

    def layer(self, tree: etree._ElementTree, selection: RuleSelection | None = None, *,
              profiles: bool = True) -> RulesLayer:
        """The rules layer of *tree*: ``skipped`` when no pack applies."""
        pairs = self.applicable(tree, selection, profiles=profiles)
        if not pairs:
            return SKIPPED
        findings: list[Finding] = []
        failed = False
        for spec, rule_set in pairs:
            try:
                findings.extend(self.run(tree, spec, rule_set))
            except Exception as exc:  # RuleProcessorError, or anything unforeseen: fail closed
                if not isinstance(exc, RuleProcessorError):
                    log.exception("rule pack %s %s failed", spec.name, spec.version)
                failed = True
                findings.append(Finding.of(
                    Severity.ERROR, "rules.processor-error",
                    t("rule pack {pack} {version} ({rule_set}) could not be run, so the "
                      "document is not accepted: {error}", pack=spec.name, version=spec.version,
                      rule_set=rule_set.name, error=str(exc))))
        applied = tuple(AppliedPack(s.name, s.version, r.name, s.title) for s, r in pairs)
        result = LayerResult.of(RULES, findings)
        status = LayerStatus.INVALID if failed else result.status
        return RulesLayer(RULES, status, result.findings, packs=applied)


SKIPPED = RulesLayer(RULES, LayerStatus.SKIPPED)
