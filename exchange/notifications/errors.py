"""Errors of event notifications (subscriptions and their targets).

    exchange.errors.UsageError (ValueError)                               (422, exit 2)
    └── SubscriptionInvalid             subscription.invalid       a request that is not valid
        ├── TargetInvalid               subscription.url-invalid   not an absolute URL with a
        │   │                                                      host, too long, a fragment
        │   ├── TargetScheme            subscription.url-scheme    not http or https
        │   ├── TargetCredentials       subscription.url-credentials  user or password in it
        │   ├── TargetPrivate           subscription.url-private   loopback, private, link-
        │   │                                                      local... while
        │   │                                                      notifications.allow_private_
        │   │                                                      targets is off (SSRF)
        │   └── TargetUnresolvable      subscription.url-unresolvable  the host has no address
        └── UnknownKind                 subscription.kind-unknown  an event kind we do not send
                                                                   (``allowed`` lists them)
    exchange.errors.NotFoundError (LookupError)                           (404, exit 2)
    └── SubscriptionNotFound            subscription.not-found     missing, or another party's
    exchange.errors.ForbiddenError (PermissionError)                      (403, exit 2)
    └── SubscriptionForbidden           subscription.forbidden     a party kind that reads no
                                                                   shipment (payment provider)
    exchange.errors.ConflictError                                         (409, exit 1)
    └── SubscriptionLimit               subscription.limit         the party holds
                                                                   notifications.max_per_party
"""
from __future__ import annotations

from typing import Any

from exchange.errors import ConflictError, ForbiddenError, NotFoundError, UsageError
from exchange.i18n import Text, t

__all__ = [
    "SubscriptionForbidden", "SubscriptionInvalid", "SubscriptionLimit", "SubscriptionNotFound",
    "TargetCredentials", "TargetInvalid", "TargetPrivate", "TargetScheme", "TargetUnresolvable",
    "UnknownKind",
]


class SubscriptionInvalid(UsageError):
    code = "subscription.invalid"
    title = t("The subscription is not valid")


class TargetInvalid(SubscriptionInvalid):
    code = "subscription.url-invalid"
    title = t("The subscription's URL is not valid")


class TargetScheme(TargetInvalid):
    code = "subscription.url-scheme"
    title = t("The subscription's URL is not http or https")


class TargetCredentials(TargetInvalid):
    code = "subscription.url-credentials"
    title = t("The subscription's URL carries credentials")


class TargetPrivate(TargetInvalid):
    code = "subscription.url-private"
    title = t("The subscription's URL is not a public address")


class TargetUnresolvable(TargetInvalid):
    code = "subscription.url-unresolvable"
    title = t("The subscription's host has no address")


class UnknownKind(SubscriptionInvalid):
    code = "subscription.kind-unknown"
    title = t("Unknown event kind")

    def __init__(self, message: str | Text, *, allowed: list[str], **extra: Any):
        super().__init__(message, allowed=allowed, **extra)


class SubscriptionNotFound(NotFoundError):
    code = "subscription.not-found"


class SubscriptionForbidden(ForbiddenError):
    code = "subscription.forbidden"


class SubscriptionLimit(ConflictError):
    code = "subscription.limit"
    title = t("Too many subscriptions")
