"""Errors of parties and their API keys.

    exchange.errors.AuthenticationError
    └── AuthError                   no usable key: missing, malformed, invalid, revoked (401)
    exchange.errors.UsageError
    └── PartyNotFoundError          no party or key of that id (exit 2)
"""
from __future__ import annotations

from exchange.errors import AuthenticationError, UsageError

__all__ = ["AuthError", "PartyNotFoundError"]


class AuthError(AuthenticationError):
    """The request carries no usable credentials (HTTP 401); ``code`` says why."""

    code = "auth.unauthenticated"


class PartyNotFoundError(UsageError):
    code = "party.not-found"
