"""Errors of the store's own operations (backups and restores; a database that cannot be
reached is told apart by :func:`exchange.store.outages.outage_of`, answered 503 by the API).

    exchange.errors.UsageError
    └── BackupError             the backup cannot be made, or the file is not one (exit 2)
    exchange.errors.ConflictError
    └── RestoreRefused          the target database already holds data (exit 1; --force)
    exchange.errors.UnavailableError
    └── BackupToolError         pg_dump / pg_restore are not on PATH (exit 3; the command
                                to run by hand is in the message)
"""
from __future__ import annotations

from exchange.errors import ConflictError, UnavailableError, UsageError
from exchange.i18n import t

__all__ = ["BackupError", "BackupToolError", "RestoreRefused"]


class BackupError(UsageError):
    code = "store.backup"
    title = t("The backup cannot be made or read")


class RestoreRefused(ConflictError):
    code = "store.restore-not-empty"
    title = t("The database already holds data")


class BackupToolError(UnavailableError):
    code = "store.backup-tool"
    title = t("The PostgreSQL backup tools are not available")
