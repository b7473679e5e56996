"""Errors of routing, delivering and deciding.

    exchange.errors.UsageError
    ├── RoutingError                the routing rules file is not valid (a setting)
    └── DecisionInvalid             a decision that cannot be read: a bad field, a Decision
                                    document that is not valid, or names another country
                                    or shipment (422; ``title`` says which)
    exchange.errors.NotFoundError
    ├── DeliveryNotFound            no such delivery (for that country) (404)
    ├── ShipmentNotRouted           the shipment is not routed to the deciding country (404)
    └── CustomsSideClosed           the customs side of a country the caller is not (404,
                                    as for a shipment outside the caller's scope)
    exchange.errors.ForbiddenError
    ├── OperatorsOnly               listing and replaying deliveries is for operators (403)
    └── CustomsAuthorityOnly        a country's customs decisions and acknowledgements are
                                    its customs authority's: an operator records them only
                                    where the members file lets the hub's help desk key
                                    them in for that member (403)
    exchange.errors.ConflictError
    └── DeliveryStateError          the delivery's status does not allow it (409)
        ├── NotAcknowledgeable      ... to be acknowledged (dead, rejected)
        └── NotReplayable           ... to be replayed (only dead or rejected are)
    exchange.errors.RefusedError
    └── DecisionRefused             a customs decision a rule refuses: a released leg,
        │                           release before payment, a signature that does not
        │                           verify... (422; ``code`` says which)
        └── DecisionConflict        the decision id was used for another decision (409:
                                    also a ConflictError, which comes first)
"""
from __future__ import annotations

from typing import Any

from exchange.errors import ConflictError, ForbiddenError, NotFoundError, RefusedError, UsageError
from exchange.i18n import Text, t

__all__ = ["CustomsAuthorityOnly", "CustomsSideClosed", "DecisionConflict", "DecisionInvalid",
           "DecisionRefused", "DeliveryNotFound", "DeliveryStateError", "NotAcknowledgeable",
           "NotReplayable", "OperatorsOnly", "RoutingError", "ShipmentNotRouted"]


class RoutingError(UsageError):
    code = "routing.rules-invalid"


class DecisionInvalid(UsageError):
    code = "decision.invalid"
    title = t("The decision is not valid")

    def __init__(self, message: str | Text, *, title: Text | None = None, code: str | None = None,
                 **extra: Any):
        super().__init__(message, code=code, **extra)
        if title is not None:
            self.title = title


class DeliveryNotFound(NotFoundError):
    code = "not-found"


class ShipmentNotRouted(NotFoundError):
    code = "not-found"


class CustomsSideClosed(NotFoundError):
    code = "not-found"


class OperatorsOnly(ForbiddenError):
    code = "forbidden"


class CustomsAuthorityOnly(ForbiddenError):
    code = "customs.authority-only"
    title = t("Only the country's customs authority may do this")


class DeliveryStateError(ConflictError):
    code = "delivery.state"
    title = t("The delivery's status does not allow it")


class NotAcknowledgeable(DeliveryStateError):
    title = t("The delivery cannot be acknowledged")


class NotReplayable(DeliveryStateError):
    title = t("The delivery cannot be replayed")


class DecisionRefused(RefusedError):
    code = "decision.refused"
    title = t("The decision is refused")


class DecisionConflict(ConflictError, DecisionRefused):
    code = "decision.conflict"
    title = t("Decision id already used")
