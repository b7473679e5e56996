"""Typed dependencies of the routes: the services, the caller, its scope."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from exchange.http.deps import ServicesDep, get_services
from exchange.services import Services
from exchange.domain import PartyKind
from exchange.parties.keys import Principal, authenticate, scope_of
from exchange.store import Scope
from exchange.http.problems import Problem
from exchange.i18n import t
from exchange.api.openapi import bearer

__all__ = [
    "BearerDep",
    "ForwarderDep",
    "PrincipalDep",
    "ScopeDep",
    "ServicesDep",
    "ShipmentOfForwarder",
    "ShipmentOfForwarderDep",
    "get_services",
    "not_found",
]

log = logging.getLogger("exchange.api.access")


def _authenticate(services: Services, authorization: str | None) -> Principal:
    with services.uow.lookups() as uow:
        return authenticate(uow, authorization)


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
"""The API key scheme: what puts ``security`` on every operation that authenticates (the
key itself is read from the header by :func:`exchange.parties.keys.authenticate`)."""


async def get_principal(request: Request, services: ServicesDep, _: BearerDep) -> Principal:
    principal = await run_in_threadpool(_authenticate, services,
                                        request.headers.get("authorization"))
    request.state.principal = principal
    return principal


@dataclass(frozen=True)
class ShipmentOfForwarder:
    """A forwarder and the origin of the shipment in the path (None: not found or not
    theirs; the route answers 404 after its own checks of the request)."""

    principal: Principal
    origin: str | None


def _forwarder_and_origin(services: Services, authorization: str | None,
                          shipment_id: str) -> ShipmentOfForwarder:
    with services.uow.lookups() as uow:  # one connection for both
        principal = authenticate(uow, authorization)
        if principal.kind is not PartyKind.FORWARDER:
            return ShipmentOfForwarder(principal, None)
        return ShipmentOfForwarder(principal, uow.shipments.origin(
            shipment_id, Scope(forwarder_id=principal.party.id)))


async def get_shipment_of_forwarder(request: Request, services: ServicesDep, _: BearerDep,
                                    shipment_id: str) -> ShipmentOfForwarder:
    """Authenticate, require a forwarder (403), and read the origin of the path's shipment
    in the same read: what a document submission needs before its pipeline runs."""
    found = await run_in_threadpool(_forwarder_and_origin, services,
                                    request.headers.get("authorization"), shipment_id)
    request.state.principal = found.principal
    get_forwarder(found.principal)
    return found


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_scope(principal: PrincipalDep) -> Scope:
    return scope_of(principal)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def get_forwarder(principal: PrincipalDep) -> Principal:
    if principal.kind is not PartyKind.FORWARDER:
        raise Problem(403, "forbidden", t("Forbidden"),
                      t("only freight forwarders submit shipments and documents; this key "
                        "belongs to a {kind} party", kind=str(principal.kind)))
    return principal


ForwarderDep = Annotated[Principal, Depends(get_forwarder)]
ShipmentOfForwarderDep = Annotated[ShipmentOfForwarder, Depends(get_shipment_of_forwarder)]


def not_found(principal: Principal, shipment_id: str) -> Problem:
    """404 for a shipment that is missing or outside the caller's scope (logged)."""
    log.warning("shipment %s not found or out of scope for party %s (%s, key %s)",
                shipment_id, principal.party.id, principal.kind, principal.key_id)
    return Problem(404, "not-found", t("Not found"),
                   t("no shipment {shipment_id}", shipment_id=shipment_id))
