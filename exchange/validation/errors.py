"""Errors of the validation feature (the packs' own are in :mod:`exchange.errors`).

    exchange.errors.ConfigError
    └── ProfileError                a document profile file that cannot be used (exit 2)

A document that fails validation is not an error: it is a
:class:`~exchange.validation.report.ValidationReport` that rejects it.
"""
from __future__ import annotations

from exchange.errors import ConfigError

__all__ = ["ProfileError"]


class ProfileError(ConfigError):
    code = "validation.profile"
