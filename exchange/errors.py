"""Errors of the exchange, one root with a stable ``code`` each.

    ExchangeError
    ├── UsageError            bad arguments or configuration (CLI exit 2, HTTP 400)
    ├── InputError            a file or folder cannot be read (CLI exit 2)
    ├── PackError             schema pack catalog / store problems
    │   ├── UnknownPackError
    │   ├── PackNotInstalledError
    │   ├── PackSourceError    the --from source cannot be read
    │   └── DigestMismatchError
    └── DocumentError         a document cannot be processed at all
        └── UnknownDocumentTypeError

Safe-parsing errors come from :mod:`signing.safexml` (``XmlError`` and subclasses).
"""
from __future__ import annotations

__all__ = [
    "ExchangeError", "UsageError", "InputError", "PackError", "UnknownPackError",
    "PackNotInstalledError", "PackSourceError", "DigestMismatchError", "DocumentError",
    "UnknownDocumentTypeError",
]


class ExchangeError(Exception):
    code = "exchange.error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(ExchangeError, ValueError):
    code = "usage"


class InputError(ExchangeError, OSError):
    code = "input"


class PackError(ExchangeError):
    code = "pack"


class UnknownPackError(PackError, KeyError):
    code = "pack.unknown"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class PackNotInstalledError(PackError):
    code = "pack.not-installed"


class PackSourceError(PackError):
    code = "pack.source"


class DigestMismatchError(PackError):
    code = "pack.digest-mismatch"


class DocumentError(ExchangeError, ValueError):
    code = "document"


class UnknownDocumentTypeError(DocumentError):
    code = "document.unknown-type"
