"""Bank files into the store: the use cases behind ``POST /v1/payments/camt054`` (and
``/camt053``), ``GET /v1/payments/unmatched`` and ``exchange payments import|unmatched``.

:func:`import_camt054` takes a camt.054 notification or a camt.053 statement, of version
.001.02 or later: it parses it safely, validates it against the XSD of its own message and
version from the ``iso20022-camt`` schema pack (:func:`check_schema`; a version without a
pinned XSD, or a file not valid against it, is refused whole, with the line), reads it
(:mod:`exchange.payments.camt054`), matches its credits to the stored assessments by RF
reference (:mod:`exchange.payments.reconciliation`), records the matched as payments and
keeps every other transaction for an operator with its reason (:func:`unmatched_transactions`),
in one transaction. Importing the same entries again, from the same file or another (a
statement after the day's notifications), records nothing new: each payment's reference is
its transaction's key.
"""
from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exchange.domain import rfc3339
from exchange.i18n import t
from exchange.payments.access import require_may_import, require_may_list_unmatched
from exchange.payments.camt054 import (
    CamtNotification,
    identify,
    parse_camt,
    read_camt054_tree,
)
from exchange.payments.entries import Payment
from exchange.payments.errors import CamtSchemaError, CamtVersionError, LedgerError
from exchange.payments.posting import post_entries, retrying
from exchange.payments.reconciliation import (
    AssessmentIndex,
    AssessmentTarget,
    ImportReport,
    compact_account,
    find_rf_references,
    reconcile,
)
from exchange.store.repositories import utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lxml import etree

    from adapters.members import Members

    from exchange.validation import Validator

    from exchange.parties.keys import Principal
    from exchange.store.ledger import LedgerRepository
    from exchange.store.uow import UnitOfWorkFactory

__all__ = ["CamtImport", "UnmatchedItem", "check_schema", "import_camt054",
           "unmatched_transactions"]


@dataclass(frozen=True)
class CamtImport:
    message_id: str
    version: str
    transactions: int
    report: ImportReport
    unmatched_new: int
    message: str = "camt.054"

    def to_dict(self) -> dict[str, object]:
        r = self.report
        return {"message": self.message, "message_id": self.message_id,
                "version": self.version,
                "transactions": self.transactions,
                "counts": {"recorded": len(r.recorded), "repeated": len(r.repeated),
                           "refused": len(r.refused), "unmatched": len(r.unmatched),
                           "unmatched_new": self.unmatched_new},
                **r.to_dict()}


@dataclass(frozen=True)
class UnmatchedItem:
    """A bank transaction that matched no assessment, kept for an operator."""

    key: str
    message_id: str
    reason: str
    message: str
    received_at: datetime
    transaction: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "message_id": self.message_id, "reason": self.reason,
                "message": self.message, "received_at": rfc3339(self.received_at),
                "transaction": self.transaction}


def import_camt054(data: bytes, *, store: UnitOfWorkFactory, members: Members,
                   validator: Validator, principal: Principal | None = None,
                   max_bytes: int | None = None, accounts: Iterable[str] = (),
                   now: datetime | None = None) -> CamtImport:
    """Import the camt.054 or camt.053 file *data* as *principal* (None: the command line):
    see the module docstring. Raises ``PaymentForbiddenError`` (not an operator or a
    payment provider), a ``CamtError`` (the file refused whole, nothing recorded) or
    ``PackNotInstalledError`` (the ``iso20022-camt`` pack is not installed); a payment a
    ledger rule refuses is reported, not raised. *max_bytes* raises the XML size limit;
    *accounts* (none: any) are the accounts duties are paid to, the entries of others are
    listed as ``other-account``."""
    require_may_import(principal)
    ours = frozenset(compact_account(a) for a in accounts) or None
    with _bulk_allocation():
        return _import(data, store=store, members=members, validator=validator,
                       actor_id=principal.party.id if principal is not None else None,
                       max_bytes=max_bytes, accounts=ours, now=now or utcnow())


def check_schema(tree: etree._ElementTree, validator: Validator) -> None:
    """Validate a bank file against the XSD of its own message and version; raise
    ``camt054.unsupported`` (no XSD of that version is pinned) or
    ``camt054.schema-invalid`` (the first error, with its line; how many in all)."""
    from lxml import etree

    message, version = identify(tree)
    root = tree.getroot()
    if validator.document_type(etree.QName(root).namespace or "") is None:
        pinned = sorted(d.namespace.rsplit(":", 1)[1] for spec in
                        validator.store.catalog.values() for d in spec.document_types
                        if d.namespace.startswith("urn:iso:std:iso:20022:tech:xsd:camt."))
        raise CamtVersionError(t(
            "{message}.{version} is not read: no XSD of it is pinned in the schema packs "
            "(pinned: {pinned})", message=message, version=version,
            pinned=", ".join(pinned) or t("none")), line=root.sourceline)
    errors = validator.validate_tree(tree, source=f"{message}.{version}").errors()
    if errors:
        first = errors[0]
        why = first.text or first.message
        text = t("not valid against the XSD of {message}.{version}: {error}", message=message,
                 version=version, error=why)
        if len(errors) > 1:
            text = t("not valid against the XSD of {message}.{version}: {error} ({more} more)",
                     message=message, version=version, error=why, more=len(errors) - 1)
        raise CamtSchemaError(text, line=first.line, column=first.column)


def unmatched_transactions(*, store: UnitOfWorkFactory, principal: Principal | None = None,
                           reason: str | None = None, limit: int = 100
                           ) -> list[UnmatchedItem]:
    """The bank transactions that matched no assessment (only *reason*, when given),
    newest first; for operators (``PaymentForbiddenError`` otherwise)."""
    require_may_list_unmatched(principal)
    with store.reading() as uow:
        ledger: LedgerRepository = uow.ledger
        return [UnmatchedItem(r.key, r.message_id, r.reason, r.message, r.created_at,
                              json.loads(r.data_json)["transaction"])
                for r in ledger.unmatched(limit=limit, reason=reason)]


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bank file is imported: reading and
    matching 10,000 entries allocates hundreds of thousands of long-lived objects, and
    the collector's repeated full passes over them cost more than the import itself (3x
    on 10,000 entries). Reference counting still frees memory; the previous state is
    restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _references(notification: CamtNotification) -> set[str]:
    refs: set[str] = set()
    for tx in notification.transactions:
        for ref in tx.creditor_references:
            refs.add(ref.replace(" ", "").upper())
            refs.update(find_rf_references(ref)[0])
        for text in tx.unstructured:
            refs.update(find_rf_references(text)[0])
    return refs


def _import(data: bytes, *, store: UnitOfWorkFactory, members: Members,
            validator: Validator, actor_id: str | None, max_bytes: int | None,
            accounts: frozenset[str] | None, now: datetime) -> CamtImport:
    from signing.safexml import XmlLimits

    tree = parse_camt(data, limits=XmlLimits(max_bytes=max_bytes) if max_bytes else None)
    check_schema(tree, validator)
    notification = read_camt054_tree(tree)
    del tree
    refs = _references(notification)

    def work() -> CamtImport:
        with store.writing() as uow:
            ledger: LedgerRepository = uow.ledger
            index = AssessmentIndex(AssessmentTarget(*target) for target in
                                    ledger.targets_by_rf_references(refs))
            reconciliation = reconcile(notification, index, recorded_at=now,
                                       accounts=accounts)
            shipments = {p.shipment_id for p in reconciliation.payments}
            currencies = _route_currencies(ledger, shipments, members)
            results = post_entries(uow, reconciliation.payments, currencies=currencies.get,
                                   actor_id=actor_id, strict=False)
            recorded: list[Payment] = []
            repeated: list[Payment] = []
            refused: list[tuple[Payment, LedgerError]] = []
            for payment, result in zip(reconciliation.payments, results):
                if isinstance(result, LedgerError):
                    refused.append((payment, result))
                else:
                    (recorded if result.recorded else repeated).append(payment)
            unmatched_new = ledger.add_unmatched([{
                "key": u.transaction.idempotency_key[:255],
                "message_id": notification.message_id[:140], "reason": str(u.reason),
                "message": u.message, "data_json": json.dumps(u.to_dict()),
                "created_at": now} for u in reconciliation.unmatched])
            uow.commit()
        report = ImportReport(tuple(recorded), tuple(repeated), tuple(refused),
                              reconciliation.unmatched)
        return CamtImport(notification.message_id, notification.version,
                          len(notification.transactions), report, unmatched_new,
                          notification.message)

    return retrying(work)


def _route_currencies(ledger: LedgerRepository, shipment_ids: set[str], members: Members
                      ) -> dict[str, dict[str, str]]:
    accepted: dict[str, str | None] = {}  # country -> its members' currency (None: none)
    out: dict[str, dict[str, str]] = {}
    for sid, country in ledger.route_countries(shipment_ids):
        if country not in accepted:
            accepted[country] = members[country].currency if country in members else None
        code = accepted[country]
        if code is not None:
            out.setdefault(sid, {})[country] = code
    return out
