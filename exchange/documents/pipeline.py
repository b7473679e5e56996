"""The document pipeline: what every submitted document goes through, in two halves.

1. :func:`inspect_document` (no database): parse safely once, validate (schema and code lists),
   verify the sender's signature if there is one (and require one where the members file says
   so), seal it with the hub's key, extract its dossier facts. CPU-heavy, runs outside any
   transaction. :class:`Inspector` holds its collaborators.
2. :func:`store_document` (in the caller's unit of work): answer a duplicate with the first
   document's id, store the original and sealed bytes with both reports, chain an amendment to
   the version it supersedes, append events, run the ``on_accepted`` hooks (the outbox of the
   routing feature writes its delivery rows there, in the same transaction).
   :func:`create_shipment` stores a new shipment with its inspected documents.

The use cases that entry points call are in :mod:`exchange.documents.submission`.

A refused document is not stored; the refusal is an event in the shipment's chain (or, for a
refused new shipment, in the submitting party's chain ``party:<id>``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from exchange.documents.dossier import extract_facts
from exchange.documents.errors import DocumentNotFound, DocumentSuperseded, DocumentTypeMismatch
from exchange.domain import EventKind, Route, TransportMode
from exchange.i18n import Text, render, t
from exchange.store.models import DocumentRow, LegRow, ShipmentRow
from exchange.store.repositories import utcnow
from exchange.store.uow import UnitOfWork
from exchange.validation.report import localize
from exchange.verdicts import localize_signature, signature_refusal, xml_refusal
from signing.safexml import DEFAULT_LIMITS, UnsafeXmlError, XmlError, XmlLimits, parse_xml

if TYPE_CHECKING:
    from adapters.members import Members
    from exchange.validation import Validator
    from exchange.validation.rules import RuleSelection

__all__ = [
    "AcceptedHook",
    "CreateShipment",
    "DocumentInput",
    "Inspected",
    "Inspector",
    "Outcome",
    "OutcomeStatus",
    "Refusal",
    "Sealer",
    "SignatureCheck",
    "SignatureChecker",
    "SubmitDocument",
    "create_shipment",
    "inspect_document",
    "store_document",
]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ collaborators
@dataclass(frozen=True)
class SignatureCheck:
    """What the signature step found: ``present``; ``valid`` when present; the report."""

    present: bool
    valid: bool
    report: dict[str, Any]


class SignatureChecker(Protocol):
    def check(self, tree: etree._ElementTree, data: bytes, *, country: str) -> SignatureCheck:
        """Verify the sender's signature(s) of *tree* against *country*'s trust list."""


class Sealer(Protocol):
    def seal(self, tree: etree._ElementTree, data: bytes) -> bytes:
        """Return the document sealed with the hub's key (a new byte string)."""


AcceptedHook = Callable[[UnitOfWork, ShipmentRow, DocumentRow], None]


# ---------------------------------------------------------------------- commands
@dataclass(frozen=True)
class DocumentInput:
    data: bytes
    filename: str | None = None
    supersedes: str | None = None


@dataclass(frozen=True)
class SubmitDocument:
    """A forwarder adds a document to its shipment (an amended version when the document
    names the version it ``supersedes``)."""

    shipment_id: str
    document: DocumentInput
    forwarder_id: str


@dataclass(frozen=True)
class CreateShipment:
    """A forwarder opens a shipment on *route*, with its first documents (all or none)."""

    forwarder_id: str
    route: Route
    transport_mode: TransportMode
    references: dict[str, str] = field(default_factory=dict)
    documents: tuple[DocumentInput, ...] = ()


# ----------------------------------------------------------------------- results
class OutcomeStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True)
class Refusal:
    """Why a document was refused: ``code`` becomes the problem type."""

    code: str  # document-invalid | document-type-not-accepted | xml-unsafe | signature-required
    #            | signature-invalid
    title: Text
    detail: str | Text
    """A :class:`Text`, or a library's own words (the XML parser's, the signature check's)."""


@dataclass(frozen=True)
class Inspected:
    """The database-free half of the pipeline, for one document."""

    input: DocumentInput
    sha256: str
    size: int
    validation: dict[str, Any]
    signature: dict[str, Any] | None = None
    refusal: Refusal | None = None
    root: str | None = None
    namespace: str | None = None
    pack: str | None = None
    pack_version: str | None = None
    sealed: bytes | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.refusal is not None


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    inspected: Inspected
    document_id: str | None = None
    duplicate_of: str | None = None
    version: int | None = None

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """The outcome as JSON-ready data, the validation findings in *locale*."""
        i = self.inspected
        out: dict[str, Any] = {
            "status": str(self.status), "filename": i.input.filename, "sha256": i.sha256,
            "size": i.size, "document_type": i.root, "validation": localize(i.validation, locale),
            "signature": localize_signature(i.signature, locale),
        }
        if self.document_id:
            out["id"], out["version"] = self.document_id, self.version
        if self.duplicate_of:
            out["duplicate_of"] = self.duplicate_of
        if i.refusal:
            out["refusal"] = {"code": i.refusal.code, "title": render(i.refusal.title, locale),
                              "detail": render(i.refusal.detail, locale)}
        return out


# ---------------------------------------------------------------- the pipeline
def inspect_document(doc: DocumentInput, *, validator: Validator,
                     checker: SignatureChecker | None,
                     sealer: Sealer, origin: str, require_signature: bool,
                     limits: XmlLimits = DEFAULT_LIMITS,
                     rules: RuleSelection | None = None) -> Inspected:
    """Parse, validate, verify, seal, extract facts. Never raises for document problems.
    *rules*: the rule packs to run (default: the validator's, ``auto``)."""
    data = doc.data
    sha, size = hashlib.sha256(data).hexdigest(), len(data)
    try:
        tree = parse_xml(data, limits=limits)
    except XmlError as exc:
        unreadable = validator.validate(data, source=doc.filename or "document").to_dict()
        unsafe = isinstance(exc, UnsafeXmlError)
        return Inspected(doc, sha, size, unreadable, refusal=Refusal(
            "xml-unsafe" if unsafe else "document-invalid",
            t("Unsafe XML refused") if unsafe else t("The document is not well-formed XML"),
            xml_refusal(exc)))
    report = validator.validate_tree(tree, source=doc.filename or "document", sha256=sha,
                                     size=size, rules=rules, data=data)
    validation = report.to_dict()
    if not report.accepted:
        n = len(report.errors())
        return Inspected(doc, sha, size, validation, refusal=Refusal(
            "document-invalid", t("The document is not valid"),
            t("{count} errors; see the validation report", count=n) if n != 1 else
            t("1 error; see the validation report")))
    qname = etree.QName(tree.getroot())
    spec = validator.store.catalog.get(report.pack or "")
    if spec is not None and not spec.shipment_documents:
        return Inspected(doc, sha, size, validation, refusal=Refusal(
            "document-type-not-accepted", t("This kind of document is not a shipment document"),
            t("{root} ({namespace}) is a {standard} file, which the exchange reads elsewhere "
              "(bank files: POST /v1/payments/camt054 or `exchange payments import`), never "
              "as a shipment's document", root=qname.localname, namespace=qname.namespace,
              standard=spec.standard)))
    valid = Inspected(doc, sha, size, validation, root=qname.localname,
                      namespace=qname.namespace or "", pack=report.pack,
                      pack_version=report.pack_version)
    signature: dict[str, Any] = {"present": False, "required": require_signature}
    if checker is not None:
        check = checker.check(tree, data, country=origin)
        if check.present:
            signature = {**check.report, "present": True, "valid": check.valid,
                         "required": require_signature, "country": origin}
        if check.present and not check.valid:
            return replace(valid, signature=signature, refusal=Refusal(
                "signature-invalid", t("The sender's signature does not verify"),
                signature_refusal(check.report)))
    if require_signature and not signature["present"]:
        return replace(valid, signature=signature, refusal=Refusal(
            "signature-required", t("A signature is required"),
            t("senders from {country} must sign their documents (members file)",
              country=origin)))
    sealed = sealer.seal(tree, data)
    facts = extract_facts(tree).to_dict()
    return replace(valid, signature=signature, sealed=sealed, facts=facts)


@dataclass(frozen=True)
class Inspector:
    """The first half of the pipeline with its collaborators: documents from a shipment's
    *origin* are verified against that member's trust list, must be signed where the
    members file says ``require_signature``, and pass the rule packs it lists in
    ``rule_packs`` (besides those that apply to them anyway)."""

    validator: Validator
    sealer: Sealer
    checker: SignatureChecker | None
    members: Members

    def inspect(self, documents: Sequence[DocumentInput], *, origin: str) -> list[Inspected]:
        member = self.members[origin]
        require = bool(member.require_signature)
        rules = None
        if member.rule_packs:
            from exchange.validation.rules import RuleSelection

            rules = RuleSelection().requiring(member.rule_packs)
        return [inspect_document(d, validator=self.validator, checker=self.checker,
                                 sealer=self.sealer, origin=origin, require_signature=require,
                                 rules=rules)
                for d in documents]


def _refusal_event(ins: Inspected) -> dict[str, Any]:
    errors = [f for layer in ins.validation.get("layers", []) for f in layer["findings"]
              if f["severity"] == "error"]
    return {"sha256": ins.sha256, "size": ins.size, "filename": ins.input.filename,
            "reason": ins.refusal.code if ins.refusal else None,
            "detail": ins.refusal.detail if ins.refusal else None,
            "errors": len(errors), "first_errors": [e["message"][:300] for e in errors[:3]]}


def _duplicate(ins: Inspected, shipment: ShipmentRow, *, uow: UnitOfWork, actor_id: str
               ) -> Outcome | None:
    first = uow.documents.first_by_sha256(shipment.id, ins.sha256)
    if first is None:
        return None
    uow.events.append(shipment.id, EventKind.DOCUMENT_DUPLICATE,
                      {"sha256": ins.sha256, "duplicate_of": first.id}, actor_id=actor_id)
    return Outcome(OutcomeStatus.DUPLICATE, ins, duplicate_of=first.id, version=first.version)


def store_document(ins: Inspected, shipment: ShipmentRow, *, uow: UnitOfWork, actor_id: str,
                   on_accepted: Sequence[AcceptedHook] = ()) -> Outcome:
    """Store an inspected document in *shipment* (caller commits)."""
    stream = shipment.id
    uow.events.lock(stream)  # one writer per shipment: duplicate and version checks hold
    if ins.refused:
        uow.events.append(stream, EventKind.DOCUMENT_REFUSED, _refusal_event(ins),
                          actor_id=actor_id)
        return Outcome(OutcomeStatus.REFUSED, ins)
    if ins.input.supersedes:  # a duplicate is answered before the amendment is checked
        duplicate = _duplicate(ins, shipment, uow=uow, actor_id=actor_id)
        if duplicate is not None:
            return duplicate
    version, supersedes = 1, None
    if ins.input.supersedes:
        old = uow.documents.get(shipment.id, ins.input.supersedes)
        if old is None:
            raise DocumentNotFound(t("document {document_id} (to be superseded) is not in "
                                     "shipment {shipment_id}", document_id=ins.input.supersedes,
                                     shipment_id=shipment.id))
        newer = uow.documents.superseding(old.id)
        if newer is not None:
            raise DocumentSuperseded(t("document {document_id} is already superseded by "
                                       "{newer_id}; amend the latest version",
                                       document_id=old.id, newer_id=newer.id))
        if old.root != ins.root:
            raise DocumentTypeMismatch(t("a {root} cannot supersede a {old_root}", root=ins.root,
                                         old_root=old.root))
        version, supersedes = old.version + 1, old.id
    row = DocumentRow(
        id=str(uuid.uuid4()), shipment_id=shipment.id, submitted_by=actor_id, version=version,
        supersedes_id=supersedes, filename=ins.input.filename, media_type="application/xml",
        root=ins.root or "", namespace=ins.namespace or "", pack=ins.pack,
        pack_version=ins.pack_version, sha256=ins.sha256, size=ins.size,
        original=ins.input.data, sealed=ins.sealed,
        sealed_sha256=hashlib.sha256(ins.sealed).hexdigest() if ins.sealed else None,
        validation_report=json.dumps(ins.validation), signature_report=json.dumps(ins.signature),
        facts_json=json.dumps(ins.facts), created_at=utcnow())
    if ins.input.supersedes:
        uow.documents.add(row)
    elif not uow.documents.add_unless_duplicate(row):  # the lookup and the INSERT in one
        duplicate = _duplicate(ins, shipment, uow=uow, actor_id=actor_id)
        if duplicate is None:  # the stream's lock keeps the first one there
            raise RuntimeError(f"document {ins.sha256} conflicted with a row that is gone")
        return duplicate
    # Queued: the events of the hooks (one delivery.queued per receiving country) follow it
    # in the chain and are appended with it, in one INSERT and one UPDATE.
    uow.events.queue(stream, EventKind.DOCUMENT_ACCEPTED, {
        "document_id": row.id, "document_type": row.root, "sha256": row.sha256,
        "sealed_sha256": row.sealed_sha256, "version": version, "supersedes": supersedes,
        "signed": bool(ins.signature and ins.signature.get("present")),
    }, actor_id=actor_id)
    for hook in on_accepted:
        hook(uow, shipment, row)
    uow.events.write_queued()
    log.info("document accepted", extra={"shipment_id": shipment.id, "document_id": row.id})
    return Outcome(OutcomeStatus.ACCEPTED, ins, document_id=row.id, version=version)


def create_shipment(cmd: CreateShipment, inspected: Sequence[Inspected], *, uow: UnitOfWork,
                    on_accepted: Sequence[AcceptedHook] = ()
                    ) -> tuple[ShipmentRow | None, list[Outcome]]:
    """Create a shipment with its documents, all or nothing (caller commits).

    If any document is refused, no shipment is created; the refusal is recorded in the
    forwarder's own event chain and ``(None, outcomes)`` is returned."""
    if any(i.refused for i in inspected):
        uow.events.append(f"party:{cmd.forwarder_id}", EventKind.SHIPMENT_REFUSED, {
            "route": list(cmd.route.countries),
            "documents": [_refusal_event(i) if i.refused else
                          {"sha256": i.sha256, "status": "ok"} for i in inspected],
        }, actor_id=cmd.forwarder_id)
        return None, [Outcome(OutcomeStatus.REFUSED if i.refused else OutcomeStatus.ACCEPTED, i)
                      for i in inspected]
    row = ShipmentRow(id=str(uuid.uuid4()), forwarder_id=cmd.forwarder_id,
                      transport_mode=str(cmd.transport_mode),
                      references_json=json.dumps(cmd.references, sort_keys=True),
                      origin=cmd.route.origin, destination=cmd.route.destination,
                      created_at=utcnow())
    legs = [LegRow(seq=i, country=cc, role=str(role), status="pending")
            for i, cc, role in cmd.route.legs()]
    uow.shipments.add(row, legs)
    uow.events.append(row.id, EventKind.SHIPMENT_CREATED, {
        "forwarder_id": cmd.forwarder_id, "route": list(cmd.route.countries),
        "transport_mode": str(cmd.transport_mode), "references": cmd.references,
    }, actor_id=cmd.forwarder_id)
    outcomes = [store_document(i, row, uow=uow, actor_id=cmd.forwarder_id,
                               on_accepted=on_accepted) for i in inspected]
    return row, outcomes
