"""The customs side: a country's inbox, acknowledgements and decisions, and who reaches them.

The API (``/v1/customs/{country}/...``) and the dashboard (``/ui/customs``) both come here:

    authorise_customs(principal, "UZ")                       # else CustomsSideClosed (404)
    customs_inbox(InboxQuery("UZ"), uow=services.uow, document_view=..., shipment_view=...)
    actor = customs_actor(principal, "UZ", members=services.members)  # else 404 or 403
    acknowledge(AcknowledgeDelivery(actor, delivery_id), uow=services.uow)
    decision = decision_from_fields(fields, country="UZ", shipment_id=sid)   # JSON, a form
    decision = decision_from_document(xml, country="UZ", shipment_id=sid)    # a Decision
    decide(RecordDecision(decision, actor), uow=services.uow,
           checker=services.checker, gates=services.decision_gates)

Operators reach every country's customs side to read it, but a customs decision (and the
acknowledgement of a delivery) is the customs authority's alone: :func:`customs_actor`
refuses an operator (:class:`CustomsAuthorityOnly`, 403) unless the members file lets the
hub's help desk key them in for that member (``help_desk_decisions = true``); then the
decision and its event name both the operator (the actor) and the member it acted for
(``on_behalf_of``).

A decision is verified (a signed one against the country's trust list) before its
transaction opens, then stored by :func:`~exchange.delivery.decisions.record_decision` with
the same gates wherever it comes from, so a refused decision (release before payment, a
released leg) is refused with the same words in the API and on the dashboard.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason
from adapters.members import Members
from exchange.delivery.decisions import (
    DecisionGate,
    record_decision,
    verify_decision_signature,
)
from exchange.delivery.errors import (
    CustomsAuthorityOnly,
    CustomsSideClosed,
    DecisionInvalid,
    ShipmentNotRouted,
)
from exchange.delivery.outbox import Delivery, acknowledge_delivery
from exchange.documents.errors import CursorInvalid
from exchange.documents.status import shipment_state, shipment_status
from exchange.domain import PartyKind, Route
from exchange.i18n import Text, t
from exchange.parties.keys import Principal
from exchange.store.deliveries import DeliveryRow
from exchange.store.filters import ShipmentFilter
from exchange.store.models import DocumentRow, ShipmentRow
from exchange.store.repositories import Scope
from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from exchange.documents.pipeline import SignatureChecker

__all__ = [
    "AcknowledgeDelivery", "CustomsActor", "CustomsOverview", "DecisionFields",
    "DecisionRecorded", "DocumentView", "DutyLineFields", "InboxEntry", "InboxQuery", "Leg",
    "RecordDecision", "RoutedShipment", "ShipmentView", "acknowledge", "authorise_customs",
    "customs_actor", "customs_inbox", "customs_overview", "decide", "decision_from_document",
    "decision_from_fields",
]

# Refusals go to the access log of the API and the dashboard alike.
access_log = logging.getLogger("exchange.api.access")

_EVERY_SHIPMENT = Scope(everything=True)


def authorise_customs(principal: Principal, country: str) -> None:
    """Operators and *country*'s customs authority reach its customs side; anyone else is
    told it does not exist (404, as for a shipment outside their scope)."""
    party = principal.party
    if party.kind is PartyKind.OPERATOR:
        return
    if party.kind is PartyKind.CUSTOMS and party.country == country:
        return
    access_log.warning(
        "customs %s endpoints refused to party %s (%s)", country, party.id, party.kind)
    raise CustomsSideClosed(t("no customs inbox {country}", country=country))


@dataclass(frozen=True)
class CustomsActor:
    """Who acknowledges deliveries and records decisions for *country*'s customs: its
    customs authority, or the hub's help desk keying them in for it (:func:`customs_actor`
    makes one)."""

    country: str
    actor_id: str
    """The party recorded as the actor (the customs authority, or the operator)."""
    on_behalf_of: str | None = None
    """The member the hub's help desk acts for (its code); None for the authority itself."""


def customs_actor(principal: Principal, country: str, *, members: Members) -> CustomsActor:
    """The caller as the one acting for *country*'s customs: its customs authority; an
    operator only where the members file lets the hub's help desk key in decisions for that
    member (``help_desk_decisions = true``), else :class:`CustomsAuthorityOnly` (403);
    anyone else :class:`CustomsSideClosed` (404, as :func:`authorise_customs`)."""
    authorise_customs(principal, country)
    party = principal.party
    if party.kind is PartyKind.CUSTOMS:
        return CustomsActor(country, party.id)
    member = members.by_code.get(country)
    if member is None or not member.help_desk_decisions:
        access_log.warning("customs %s decision or acknowledgement refused to operator %s: "
                           "no help desk for that member", country, party.id)
        raise CustomsAuthorityOnly(
            t("customs decisions and acknowledgements for {country} are its customs "
              "authority's to record, not the operator's; the hub's help desk keys them in "
              "only for a member whose entry in the members file has "
              "help_desk_decisions = true", country=country), country=country)
    return CustomsActor(country, party.id, on_behalf_of=country)


# ----------------------------------------------------------------------------- inbox
# The inbox shows documents and shipments as their caller does (the API: the views of
# exchange.documents, which reads this package: it is not imported from here).
DocumentView = Callable[[DocumentRow], dict[str, Any]]
ShipmentView = Callable[[ShipmentRow], dict[str, Any]]


@dataclass(frozen=True)
class InboxQuery:
    country: str
    status: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class InboxEntry:
    """A delivery routed to the country, with what it carries."""

    delivery: Delivery
    document_type: str | None
    """The carried document's type (its root element), None if it is missing."""
    document: dict[str, Any] | None = None
    """The document as the caller's *document_view* shows it."""
    shipment: dict[str, Any] | None = None
    """The shipment as the caller's *shipment_view* shows it."""


def _entries(uow: UnitOfWork, rows: Sequence[DeliveryRow], *,
             document_view: DocumentView | None = None,
             shipment_view: ShipmentView | None = None) -> list[InboxEntry]:
    shipments: dict[str, dict[str, Any] | None] = {}
    entries = []
    for row in rows:
        doc = uow.documents.get(row.shipment_id, row.document_id)
        if shipment_view is not None and row.shipment_id not in shipments:
            shipment = uow.shipments.get(row.shipment_id, _EVERY_SHIPMENT)
            shipments[row.shipment_id] = shipment_view(shipment) if shipment else None
        entries.append(InboxEntry(
            Delivery.of(row), doc.root if doc is not None else None,
            document_view(doc) if document_view is not None and doc is not None else None,
            shipments.get(row.shipment_id)))
    return entries


def customs_inbox(query: InboxQuery, *, uow: UnitOfWorkFactory,
                  document_view: DocumentView | None = None,
                  shipment_view: ShipmentView | None = None) -> list[InboxEntry]:
    """Deliveries routed to the country, newest change first, with their documents and
    shipments as the views show them (none without views), read in one transaction."""
    with uow.reading() as u:
        rows = u.deliveries.list(country=query.country, status=query.status,
                                 limit=query.limit)
        return _entries(u, rows, document_view=document_view, shipment_view=shipment_view)


@dataclass(frozen=True)
class RoutedShipment:
    """A shipment routed through the country, as its customs officer's list shows it."""

    id: str
    references: dict[str, str]
    route: Route
    status: str
    """Derived from the legs (:func:`~exchange.delivery.decisions.shipment_status`)."""
    my_leg: str | None
    """The status of the country's own leg."""
    state: Text | None = None
    """:attr:`status` as a message, for a reader in any language."""


@dataclass(frozen=True)
class CustomsOverview:
    """What a customs officer's inbox page shows: a page of the deliveries and one of the
    shipments routed there, with the cursors of the next pages and the counts."""

    deliveries: list[InboxEntry]
    shipments: list[RoutedShipment]
    delivery_counts: dict[str, int] = field(default_factory=dict)
    """The country's deliveries per status, over all of them."""
    leg_counts: dict[str, int] = field(default_factory=dict)
    """The country's legs per status, over all shipments."""
    deliveries_total: int = 0
    """How many deliveries match the filters, over every page."""
    shipments_total: int = 0
    """How many shipments match the filters, over every page."""
    deliveries_next: str | None = None
    shipments_next: str | None = None


def _routed(row: ShipmentRow, country: str) -> RoutedShipment:
    countries = [leg.country for leg in row.legs]
    return RoutedShipment(
        id=row.id, references=json.loads(row.references_json),
        route=Route(origin=countries[0], destination=countries[-1],
                    transit=tuple(countries[1:-1])),
        status=shipment_status(row.legs), state=shipment_state(row.legs),
        my_leg=next((leg.status for leg in row.legs if leg.country == country), None))


def customs_overview(country: str, *, uow: UnitOfWorkFactory, limit: int = 100,
                     delivery_status: str | None = None, leg_status: str | None = None,
                     search: str | None = None, deliveries_after: str | None = None,
                     shipments_after: str | None = None) -> CustomsOverview:
    """A page of the country's deliveries, latest change first (with their document types;
    only *delivery_status* when given), and a page of the shipments routed through it
    (only those whose own leg is in *leg_status*, whose references hold *search*), newest
    first, with the status of its own leg; each list after its cursor (:class:`
    CursorInvalid` for one this server did not give out), with the counts of both per status
    and of what the filters keep."""
    scope = Scope(country=country)
    shipment_filter = ShipmentFilter(search=search, through=country if leg_status else None,
                                     leg_status=leg_status)
    statuses = [delivery_status] if delivery_status else []
    with uow.reading() as u:
        try:
            rows, deliveries_next = u.deliveries.page(
                statuses=statuses, country=country, limit=limit, cursor=deliveries_after)
            shipments, shipments_next = u.shipments.page(
                scope, limit=limit, cursor=shipments_after, filters=shipment_filter)
        except ValueError as exc:
            raise CursorInvalid(str(exc)) from None
        return CustomsOverview(
            _entries(u, rows), [_routed(row, country) for row in shipments],
            u.deliveries.counts(country), u.shipments.leg_counts(country),
            deliveries_total=u.deliveries.count(statuses=statuses, country=country),
            shipments_total=u.shipments.count_in(scope, shipment_filter),
            deliveries_next=deliveries_next, shipments_next=shipments_next)


# --------------------------------------------------------------------- acknowledging
@dataclass(frozen=True)
class AcknowledgeDelivery:
    actor: CustomsActor
    """Of the country acknowledging (:func:`customs_actor`)."""
    delivery_id: str
    reference: str | None = None


def acknowledge(cmd: AcknowledgeDelivery, *, uow: UnitOfWorkFactory) -> Delivery:
    """The country's customs acknowledges a delivery it pulled (again: the same answer).
    :class:`DeliveryNotFound` for another country's; :class:`NotAcknowledgeable` if dead
    or rejected. Commits."""
    actor = cmd.actor
    with uow.writing() as u:
        row = acknowledge_delivery(u, cmd.delivery_id, country=actor.country,
                                   actor_id=actor.actor_id, reference=cmd.reference,
                                   on_behalf_of=actor.on_behalf_of)
        delivery = Delivery.of(row)
        u.commit()
    return delivery


# -------------------------------------------------------------------------- deciding
@dataclass(frozen=True)
class DutyLineFields:
    tax_type: str
    base: str
    rate: str
    amount: str
    currency: str


@dataclass(frozen=True)
class DecisionFields:
    """A decision as a customs officer fills it in (API JSON, the dashboard's form);
    ``decision_id`` makes recording it idempotent (default: a new id)."""

    kind: str
    decision_id: str | None = None
    customs_reference: str | None = None
    delivery_id: str | None = None
    reasons: tuple[Reason, ...] = ()
    duty_lines: tuple[DutyLineFields, ...] = ()
    guarantee_reference: str | None = None
    guarantee_amount: str | None = None
    guarantee_currency: str | None = None
    text: str | None = None


_MAX_LENGTH = {"decision_id": 128, "customs_reference": 128, "guarantee_reference": 128,
               "text": 4000}
"""The longest text each field may hold (the API's JSON schema says the same)."""
_MAX_REASON_CODE, _MAX_REASON_TEXT, _MAX_TAX_TYPE = 64, 2000, 64


def _check_lengths(fields: DecisionFields) -> None:
    too_long = [t("{field}: at most {limit} characters", field=name, limit=limit)
                for name, limit in _MAX_LENGTH.items()
                if len(getattr(fields, name) or "") > limit]
    for n, reason in enumerate(fields.reasons):
        if not reason.code or len(reason.code) > _MAX_REASON_CODE:
            name = f"reasons.{n}.code"
            too_long.append(t("{field}: 1 to {limit} characters", field=name,
                              limit=_MAX_REASON_CODE))
        if len(reason.text) > _MAX_REASON_TEXT:
            name = f"reasons.{n}.text"
            too_long.append(t("{field}: at most {limit} characters", field=name,
                              limit=_MAX_REASON_TEXT))
    for n, line in enumerate(fields.duty_lines):
        if len(line.tax_type) > _MAX_TAX_TYPE:
            name = f"duty_lines.{n}.tax_type"
            too_long.append(t("{field}: at most {limit} characters", field=name,
                              limit=_MAX_TAX_TYPE))
    if too_long:
        message = too_long[0]
        for more in too_long[1:]:
            message = t("{message}; {more}", message=message, more=more)
        raise DecisionInvalid(message)


def decision_from_fields(fields: DecisionFields, *, country: str, shipment_id: str
                         ) -> CustomsDecision:
    """The decision of *country* on *shipment_id* the fields describe, or
    :class:`DecisionInvalid` saying what is wrong (a rejection without reasons, an amount
    that is not a decimal...)."""
    try:
        kind = DecisionKind(fields.kind)
    except ValueError:
        raise DecisionInvalid(t("kind: {kind!r} is not one of {kinds}", kind=fields.kind,
                                kinds=", ".join(DecisionKind))) from None
    _check_lengths(fields)
    try:
        return CustomsDecision(
            kind=kind, country=country,
            decision_id=fields.decision_id or f"{country}-{uuid.uuid4().hex}",
            customs_reference=fields.customs_reference, delivery_id=fields.delivery_id,
            shipment_id=shipment_id, reasons=fields.reasons,
            duty_lines=tuple(DutyLine(**dataclasses.asdict(d)) for d in fields.duty_lines),
            guarantee_reference=fields.guarantee_reference,
            guarantee_amount=fields.guarantee_amount,
            guarantee_currency=fields.guarantee_currency, text=fields.text)
    except ValueError as exc:
        raise DecisionInvalid(str(exc)) from None


def decision_from_document(data: bytes, *, country: str, shipment_id: str
                           ) -> CustomsDecision:
    """The one decision of a Decision document (``schemas/xsd/customs-response.xsd``),
    signed or not, that *country* posts about *shipment_id*; :class:`DecisionInvalid`
    otherwise. The signature is verified when the decision is recorded (:func:`decide`)."""
    from adapters.errors import AdapterError
    from adapters.messages import read_decisions

    try:
        decisions = read_decisions(data, source="decision")
    except (AdapterError, ValueError) as exc:
        raise DecisionInvalid(str(exc), title=t("The decision document is not valid")) from None
    if len(decisions) != 1:
        raise DecisionInvalid(t("the document holds {count} decisions", count=len(decisions)),
                              title=t("One decision per request"))
    decision = decisions[0]
    if decision.country != country:
        raise DecisionInvalid(t("the decision is from {from_country}, posted to {country}",
                                from_country=decision.country, country=country),
                              title=t("Wrong country"))
    if decision.shipment_id not in (None, shipment_id):
        raise DecisionInvalid(t("the decision names shipment {shipment_id}",
                                shipment_id=decision.shipment_id),
                              title=t("Wrong shipment"))
    if decision.shipment_id is None:
        decision = dataclasses.replace(decision, shipment_id=shipment_id)
    return decision


@dataclass(frozen=True)
class RecordDecision:
    decision: CustomsDecision
    """Of one country on one shipment (:func:`decision_from_fields`,
    :func:`decision_from_document`)."""
    actor: CustomsActor
    """Of the same country (:func:`customs_actor`)."""
    source: str = "api"


@dataclass(frozen=True)
class Leg:
    country: str
    role: str
    status: str


@dataclass(frozen=True)
class DecisionRecorded:
    decision: dict[str, Any]
    """The decision as stored (the first one, when the same decision came again)."""
    created: bool
    """False when the same decision was already stored."""
    legs: tuple[Leg, ...]
    """The shipment's legs after the decision."""
    signature: dict[str, Any] | None
    """The signature report of a signed decision, None for an unsigned one."""


def decide(cmd: RecordDecision, *, uow: UnitOfWorkFactory,
           checker: SignatureChecker | None, gates: Sequence[DecisionGate] = ()
           ) -> DecisionRecorded:
    """Verify and record a customs decision; the same decision again is answered with the
    stored one. Refusals: :class:`ShipmentNotRouted` (404), :class:`DecisionConflict`
    (409), :class:`DecisionRefused` (422: a signature that does not verify, a gate...).
    A decision the hub's help desk keys in names the operator and the member it acted for
    (``keyed_in_by``, ``on_behalf_of``). Commits."""
    decision, actor = cmd.decision, cmd.actor
    if decision.country != actor.country:
        raise DecisionInvalid(t("the decision is from {from_country}, recorded for {country}",
                                from_country=decision.country, country=actor.country),
                              title=t("Wrong country"))
    report = verify_decision_signature(decision, checker)
    with uow.writing() as u:
        try:
            recorded = record_decision(u, decision, actor_id=actor.actor_id,
                                       source=cmd.source, gates=gates,
                                       signature_report=report,
                                       on_behalf_of=actor.on_behalf_of)
        except ShipmentNotRouted:
            raise ShipmentNotRouted(t("no shipment {shipment_id} routed to {country}",
                                      shipment_id=decision.shipment_id,
                                      country=decision.country)) from None
        legs = tuple(Leg(leg.country, leg.role, leg.status)
                     for leg in recorded.shipment.legs)
        stored = json.loads(recorded.row.decision_json)
        u.commit()
    return DecisionRecorded(stored, recorded.created, legs, report)
