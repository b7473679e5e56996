"""The submission use cases: open a shipment with its documents, add a document (or an amended
version) to one.

Each runs in two steps, because the pipeline's first half is CPU-heavy and must not hold a
transaction open (on SQLite, the one writer):

1. ``prepare_*`` (no database): check the command, inspect every document
   (:meth:`~exchange.documents.pipeline.Inspector.inspect`).
2. the store step (:func:`open_shipment`, :func:`add_document`), in the caller's unit of work,
   which the caller commits. The API runs it in the transaction that also claims the request's
   ``Idempotency-Key`` and stores its answer (:func:`exchange.http.idempotency.commit_once`),
   so an answer is remembered only with the effects it reports.

:func:`submit_shipment` does both steps in a transaction of its own (the dashboard's form).

A refused document is an :class:`~exchange.documents.pipeline.Outcome`, not an error: it is
recorded as an event and the caller commits that too.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exchange.config import DossierSettings
from exchange.documents.errors import RouteInvalid, ShipmentNotFound
from exchange.documents.pipeline import (
    AcceptedHook,
    CreateShipment,
    Inspected,
    Inspector,
    Outcome,
    OutcomeStatus,
    SubmitDocument,
    create_shipment,
    store_document,
)
from exchange.documents.views import PaymentsView, shipment_view
from exchange.domain import Route, RouteError
from exchange.i18n import Text, t
from exchange.store import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "PreparedDocument",
    "PreparedShipment",
    "ShipmentResult",
    "add_document",
    "check_route",
    "open_shipment",
    "prepare_document",
    "prepare_shipment",
    "submit_shipment",
]


# -------------------------------------------------------------------- shipments
@dataclass(frozen=True)
class PreparedShipment:
    """A :class:`CreateShipment` whose route was checked and whose documents were inspected."""

    command: CreateShipment
    inspected: tuple[Inspected, ...]


@dataclass(frozen=True)
class ShipmentResult:
    """What became of a new shipment: stored with every document (``shipment`` is its view,
    as :func:`~exchange.documents.views.shipment_view`), or not stored because at least one
    document was refused (``shipment`` is None; each outcome says which)."""

    outcomes: tuple[Outcome, ...]
    shipment: dict[str, Any] | None = None

    @property
    def created(self) -> bool:
        return self.shipment is not None

    @property
    def shipment_id(self) -> str | None:
        return None if self.shipment is None else str(self.shipment["id"])

    @property
    def refused(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status is OutcomeStatus.REFUSED)

    @property
    def refusal_detail(self) -> str | Text:
        """Why nothing was created, in one sentence (empty when the shipment was created)."""
        if self.created:
            return ""
        return t("{refused} of {count} documents refused; the shipment was not created",
                 refused=len(self.refused), count=len(self.outcomes))


def check_route(route: Route, *, members: frozenset[str]) -> Route:
    """*route* if each country is a member and none appears twice, else :class:`RouteInvalid`.

    :func:`prepare_shipment` checks it; an entry point may check it first, to answer a bad
    route before it reads the documents or looks up an idempotency key."""
    try:
        route.check(members)
    except RouteError as exc:
        raise RouteInvalid(exc.text or exc.message) from None
    return route


def prepare_shipment(cmd: CreateShipment, *, inspector: Inspector) -> PreparedShipment:
    """Check the route, then inspect every document (no database)."""
    check_route(cmd.route, members=frozenset(inspector.members.countries))
    return PreparedShipment(cmd, tuple(inspector.inspect(cmd.documents,
                                                         origin=cmd.route.origin)))


def open_shipment(prepared: PreparedShipment, *, uow: UnitOfWork,
                  on_accepted: Sequence[AcceptedHook], dossier: DossierSettings,
                  payments: PaymentsView) -> ShipmentResult:
    """Store the shipment with its documents, all or nothing, in *uow* (the caller commits,
    also when a document was refused: the refusal is an event in the forwarder's chain)."""
    row, outcomes = create_shipment(prepared.command, prepared.inspected, uow=uow,
                                    on_accepted=on_accepted)
    if row is None:
        return ShipmentResult(tuple(outcomes))
    uow.flush()
    view = shipment_view(row, uow.documents.for_shipment(row.id), dossier,
                         payments=payments(uow.ledger, row))
    return ShipmentResult(tuple(outcomes), view)


def submit_shipment(cmd: CreateShipment, *, inspector: Inspector, uow_factory: UnitOfWorkFactory,
                    on_accepted: Sequence[AcceptedHook], dossier: DossierSettings,
                    payments: PaymentsView) -> ShipmentResult:
    """:func:`prepare_shipment`, then :func:`open_shipment` in a transaction of its own."""
    prepared = prepare_shipment(cmd, inspector=inspector)
    with uow_factory.writing() as uow:
        result = open_shipment(prepared, uow=uow, on_accepted=on_accepted, dossier=dossier,
                               payments=payments)
        uow.commit()
    return result


# -------------------------------------------------------------------- documents
@dataclass(frozen=True)
class PreparedDocument:
    """A :class:`SubmitDocument` whose document was inspected."""

    command: SubmitDocument
    inspected: Inspected


def prepare_document(cmd: SubmitDocument, *, origin: str, inspector: Inspector
                     ) -> PreparedDocument:
    """Inspect the document as one from *origin*, the shipment's origin country (read before,
    e.g. with the caller's credentials; :func:`add_document` reads the shipment again)."""
    return PreparedDocument(cmd, inspector.inspect([cmd.document], origin=origin)[0])


def add_document(prepared: PreparedDocument, *, uow: UnitOfWork,
                 on_accepted: Sequence[AcceptedHook]) -> Outcome:
    """Store the document into the forwarder's shipment in *uow* (the caller commits, also a
    refusal or a duplicate: both are events of the shipment).

    Raises :class:`ShipmentNotFound` when the shipment is not the forwarder's, and for an
    amendment :class:`~exchange.documents.errors.DocumentNotFound`,
    :class:`~exchange.documents.errors.DocumentSuperseded` or
    :class:`~exchange.documents.errors.DocumentTypeMismatch`."""
    cmd = prepared.command
    shipment = uow.shipments.of_forwarder(cmd.shipment_id, cmd.forwarder_id)
    if shipment is None:
        raise ShipmentNotFound(t("no shipment {shipment_id}", shipment_id=cmd.shipment_id))
    return store_document(prepared.inspected, shipment, uow=uow, actor_id=cmd.forwarder_id,
                          on_accepted=on_accepted)
