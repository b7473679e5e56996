"""The validation engine: bytes in, a layered report out.

Detects the standard and document type from the root element's namespace, validates
against the document type's schema (compiled once, lazily, and reused) and then
checks code lists, then (when the validator has a :class:`~exchange.validation.rules.
RuleEngine`) runs the rule packs that apply. Safe parsing is done once, by :func:`signing.safexml.parse_xml`,
and the same tree is handed to every layer and returned in the report.

A valid document costs one libxml2 check. A document libxml2 finds invalid gets a second
pass (:mod:`exchange.validation.schemapass`) that finds every schema error, and its code
lists are checked all the same (the layer is then ``partial``), so that one attempt shows
every mistake.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from lxml import etree

from signing.safexml import DEFAULT_LIMITS, XmlError, XmlLimits, compile_schema, parse_xml

from exchange.errors import PackNotInstalledError
from exchange.i18n import t
from exchange.validation.packs import DocumentType, PackSpec, SchemaStore
from exchange.validation.profiles import Profile, load_profiles, profile_for
from exchange.validation.codelists import CodeLists, check_code_lists, load_code_lists
from exchange.validation.locate import Locator
from exchange.validation.paths import element_path, shorten_names
from exchange.validation.report import Finding, LayerResult, LayerStatus, Severity, ValidationReport
from exchange.verdicts import xml_refusal

if TYPE_CHECKING:
    from exchange.validation.rules import RuleEngine, RuleSelection
    from exchange.validation.schemapass import SecondPass

__all__ = ["Validator"]

WELL_FORMED, SCHEMA, CODE_LISTS = "well-formedness", "schema", "code-lists"
# Layer results without findings are immutable values: one of each serves every report.
_WELL_FORMED_VALID = LayerResult(WELL_FORMED, LayerStatus.VALID)
_SCHEMA_SKIPPED = LayerResult(SCHEMA, LayerStatus.SKIPPED)
_CODE_LISTS_SKIPPED = LayerResult(CODE_LISTS, LayerStatus.SKIPPED)


class _Context(TypedDict):
    """What every report of a known document type carries, whatever its layers say."""

    source: str
    sha256: str | None
    size: int | None
    tree: etree._ElementTree
    pack: str
    pack_version: str
    standard: str
    document_type: DocumentType


@dataclass
class _Compiled:
    schema: etree.XMLSchema
    lock: threading.Lock


class Validator:
    """Validates documents against the packs installed in *store*.

    Thread-safe: compiled schemas are shared, and each is used under its own lock
    (libxml2 keeps per-validation state in the schema context)."""

    def __init__(self, store: SchemaStore, *, limits: XmlLimits = DEFAULT_LIMITS,
                 rules: RuleEngine | None = None, profiles: tuple[Profile, ...] | None = None):
        """*rules*: the rules layer (None: no rules layer in the reports); *profiles*: the
        document profiles (:mod:`exchange.validation.profiles`); by default those of
        ``profiles.toml`` in the store, if there is one."""
        self.store = store
        self.limits = limits
        self.rules = rules
        if profiles is None:
            found = store.root / "profiles.toml"
            profiles = load_profiles(found) if found.is_file() else ()
        self.profiles = profiles
        self._by_ns: dict[str, tuple[PackSpec, DocumentType]] = {
            d.namespace: (spec, d) for spec in store.catalog.values() for d in spec.document_types
        }
        self._schemas: dict[str, _Compiled] = {}
        self._code_lists: dict[tuple[str, str | None], CodeLists] = {}
        self._installed: set[str] = set()  # packs seen installed; a pack stays installed
        self._lock = threading.Lock()
        self._second_pass: SecondPass | None = None  # made on the first invalid document

    # ------------------------------------------------------------------ lookup
    def document_type(self, namespace: str) -> tuple[PackSpec, DocumentType] | None:
        return self._by_ns.get(namespace)

    def schema_path(self, namespace: str) -> Path:
        """Entry XSD of an installed document type (raises if unknown or not installed)."""
        found = self._by_ns.get(namespace)
        if found is None:
            raise KeyError(f"no schema pack defines the namespace {namespace!r}")
        spec, doc = found
        return self.store.require(spec.name) / doc.schema

    def _compiled(self, spec: PackSpec, doc: DocumentType) -> _Compiled:
        compiled = self._schemas.get(doc.namespace)
        if compiled is None:
            with self._lock:
                compiled = self._schemas.get(doc.namespace)
                if compiled is None:
                    path = self.store.require(spec.name) / doc.schema
                    compiled = _Compiled(compile_schema(str(path)), threading.Lock())
                    self._schemas[doc.namespace] = compiled
        return compiled

    def _lists(self, spec: PackSpec, root: str | None = None) -> CodeLists:
        """The code lists for a document of *root* (its profile's, else the pack's)."""
        profile = profile_for(self.profiles, root) if self.profiles and root else None
        key = (spec.name, profile.name if profile else None)
        lists = self._code_lists.get(key)
        if lists is None:
            with self._lock:
                lists = self._code_lists.get(key)
                if lists is None:
                    pack_dir = self.store.require(spec.name)
                    lists = load_code_lists(pack_dir, spec.code_lists) if profile is None \
                        else load_code_lists(pack_dir, profile.sources(spec.code_lists),
                                             profile.severities())
                    self._code_lists[key] = lists
        return lists

    # -------------------------------------------------------------- validation
    def validate(self, data: bytes, source: str = "<bytes>", *,
                 rules: RuleSelection | None = None) -> ValidationReport:
        """Validate *data*; *rules* chooses the rule packs (default: the engine's)."""
        return self._with_rules(self._validate_bytes(data, source), rules)

    def _validate_bytes(self, data: bytes, source: str) -> ValidationReport:
        digest, size = hashlib.sha256(data).hexdigest(), len(data)
        try:
            tree = parse_xml(data, limits=self.limits)
        except XmlError as exc:
            finding = _unreadable(exc)
            return ValidationReport(
                source=source, sha256=digest, size=size,
                layers=(LayerResult(WELL_FORMED, LayerStatus.INVALID, (finding,)),
                        _SCHEMA_SKIPPED, _CODE_LISTS_SKIPPED))
        encoding = (tree.docinfo.encoding or "").upper()
        ascii_compatible = encoding in ("UTF-8", "US-ASCII") or encoding.startswith(
            ("ISO-8859-", "WINDOWS-125"))
        return self._validate(tree, source, digest, size, data if ascii_compatible else None)

    def validate_tree(self, tree: etree._ElementTree, source: str = "<tree>", *,
                      sha256: str | None = None, size: int | None = None,
                      rules: RuleSelection | None = None, data: bytes | None = None
                      ) -> ValidationReport:
        """Validate a tree already parsed by :func:`signing.safexml.parse_xml` (from *data*,
        when given: findings then have columns)."""
        if data is not None:
            encoding = (tree.docinfo.encoding or "").upper()
            if not (encoding in ("UTF-8", "US-ASCII") or encoding.startswith(
                    ("ISO-8859-", "WINDOWS-125"))):
                data = None
        return self._with_rules(self._validate(tree, source, sha256, size, data), rules)

    def _with_rules(self, report: ValidationReport, selection: RuleSelection | None
                    ) -> ValidationReport:
        """The report with its rules layer: run when the schema layer is valid."""
        if self.rules is None:
            return report
        layers = report.layers
        if report.tree is not None and len(layers) > 1 and layers[1].name == SCHEMA \
                and layers[1].status is LayerStatus.VALID:
            layer = self.rules.layer(report.tree, selection)
        else:
            layer = self.rules.skipped
        return replace(report, layers=layers + (layer,))

    def _validate(self, tree: etree._ElementTree, source: str, sha256: str | None,
                  size: int | None, data: bytes | None) -> ValidationReport:
        root = tree.getroot()
        qname = etree.QName(root)
        found = self._by_ns.get(qname.namespace or "")
        well_formed = _WELL_FORMED_VALID
        locate = Locator(tree, data)
        if found is None:
            from exchange.validation import messages

            known = ", ".join(sorted({s.name for s in self.store.catalog.values()}))
            rule, text = messages.unknown_type(repr(qname.localname),
                                               repr(qname.namespace or "(none)"), known)
            line, column = locate.element(root)
            finding = Finding.of(Severity.ERROR, rule, text, line=line, column=column,
                                 path="/" + qname.localname)
            return ValidationReport(
                source=source, sha256=sha256, size=size, tree=tree,
                layers=(well_formed, LayerResult(SCHEMA, LayerStatus.INVALID, (finding,)),
                        _CODE_LISTS_SKIPPED))
        spec, doc = found
        if spec.name not in self._installed and not self._check_installed(spec.name):
            raise PackNotInstalledError(
                t("{root} is a {standard} {version} document, but the schema pack {name!r} is "
                  "not installed; run: exchange schemas install {name}", root=qname.localname,
                  standard=spec.standard, version=spec.version, name=spec.name))
        common: _Context = {"source": source, "sha256": sha256, "size": size, "tree": tree,
                            "pack": spec.name, "pack_version": spec.version,
                            "standard": spec.standard, "document_type": doc}
        if qname.localname != doc.root:
            from exchange.validation import messages

            rule, text = messages.root_mismatch(repr(qname.localname), repr(doc.root))
            line, column = locate.element(root)
            finding = Finding.of(Severity.ERROR, rule, text, line=line, column=column,
                                 path="/" + qname.localname)
            return ValidationReport(
                layers=(well_formed, LayerResult(SCHEMA, LayerStatus.INVALID, (finding,)),
                        _CODE_LISTS_SKIPPED), **common)
        schema_findings = self._schema_findings(tree, self._compiled(spec, doc))
        if schema_findings:  # the second pass, on invalid documents only
            schema_findings = self._second().findings(
                tree, self.store.require(spec.name) / doc.schema, locate, spec.name
            ) or schema_findings
        schema_layer = LayerResult.of(SCHEMA, schema_findings)
        codes = check_code_lists(tree, self._lists(spec, doc.root), data, locate)
        code_layer = LayerResult.of(CODE_LISTS, codes,
                                    partial=schema_layer.status is LayerStatus.INVALID)
        return ValidationReport(layers=(well_formed, schema_layer, code_layer), **common)

    def _second(self) -> SecondPass:
        """The second pass (xmlschema, imported then: valid documents never need it)."""
        if self._second_pass is None:
            with self._lock:
                if self._second_pass is None:
                    from exchange.validation.schemapass import SecondPass

                    self._second_pass = SecondPass()
        return self._second_pass

    def _check_installed(self, name: str) -> bool:
        if self.store.is_installed(name):
            self._installed.add(name)
            return True
        return False

    @staticmethod
    def _schema_findings(tree: etree._ElementTree, compiled: _Compiled) -> list[Finding]:
        with compiled.lock:
            if compiled.schema.validate(tree):
                return []
            entries = list(compiled.schema.error_log)
        nsmap = {k: v for k, v in tree.getroot().nsmap.items()}
        findings = []
        for e in entries:
            findings.append(Finding(
                Severity.ERROR if e.level_name in ("ERROR", "FATAL") else Severity.WARNING,
                "xsd." + e.type_name.lower().removeprefix("schemav_").replace("_", "-"),
                shorten_names(e.message, nsmap),
                line=e.line or None, column=e.column or None,
                path=_readable_path(tree, e.path, nsmap)))
        return findings


def _unreadable(exc: XmlError) -> Finding:
    """The well-formedness finding of a document the parser refused, in the reader's words
    (the parser's own message in ``detail``)."""
    text = xml_refusal(exc)
    if isinstance(text, str):
        return Finding(Severity.ERROR, exc.code, text, line=exc.line, column=exc.column)
    return Finding.of(Severity.ERROR, exc.code, text, line=exc.line, column=exc.column,
                      detail=exc.message)


def _readable_path(tree: etree._ElementTree, path: str | None, nsmap: dict[str | None, str]
                   ) -> str | None:
    if not path:
        return None
    try:
        hits = tree.xpath(path, namespaces={k: v for k, v in nsmap.items() if k})
    except etree.XPathError:
        return path
    if hits and isinstance(hits[0], etree._Element):
        return element_path(hits[0])
    return path
