"""Errors of submitting documents and shipments, and of reading them back.

    exchange.errors.UsageError
    ├── RouteInvalid                a non-member on the route, or a country twice (422)
    └── CursorInvalid               a page cursor this server did not give out (422)
    exchange.errors.NotFoundError
    ├── ShipmentNotFound            no such shipment in the caller's scope (404)
    ├── DocumentNotFound            no such document (or version of it) in the shipment (404)
    └── HubCertificateUnavailable   this exchange seals with no certificate it can publish (404)
    exchange.errors.ConflictError
    └── DocumentSuperseded          amend the latest version, not an older one (409)
    exchange.errors.RefusedError
    └── DocumentTypeMismatch        an amendment must be of the amended document's type (422)

A shipment outside the caller's scope is the same :class:`ShipmentNotFound` as a missing one,
with the same words. A document refused by validation or by its signature is not an error: it
is an :class:`~exchange.documents.pipeline.Outcome` with a refusal, answered with both reports.
"""
from __future__ import annotations

from exchange.errors import ConflictError, NotFoundError, RefusedError, UsageError
from exchange.i18n import t

__all__ = [
    "CursorInvalid",
    "DocumentNotFound",
    "DocumentSuperseded",
    "DocumentTypeMismatch",
    "HubCertificateUnavailable",
    "RouteInvalid",
    "ShipmentNotFound",
]


class RouteInvalid(UsageError):
    code = "route-invalid"
    title = t("The route is not valid")


class CursorInvalid(UsageError):
    code = "cursor-invalid"
    title = t("Bad cursor")


class ShipmentNotFound(NotFoundError):
    code = "not-found"


class DocumentNotFound(NotFoundError):
    code = "not-found"


class HubCertificateUnavailable(NotFoundError):
    code = "hub-certificate-unavailable"
    title = t("The hub's certificate is not published")


class DocumentSuperseded(ConflictError):
    code = "document-superseded"


class DocumentTypeMismatch(RefusedError):
    code = "document-type-mismatch"
    title = t("Conflict")  # the title this answer has always had
