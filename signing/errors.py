"""Errors of the signing package, one root with a stable ``code`` each.

    SigningError
    ├── KeyLoadError              a key or certificate file cannot be read or decoded (ValueError)
    │   └── PassphraseError       the passphrase is missing, wrong or unreadable
    ├── KeyMismatchError          the private key does not belong to the certificate (ValueError)
    ├── WeakKeyError              RSA below 2048 bits, an unsupported curve (ValueError)
    ├── PlacementError            no place for a signature in this document (ValueError)
    ├── TrustStoreError           a trust-list folder or file is unusable (ValueError)
    └── VerificationFailed        raised by ``VerificationReport.raise_for_status`` (also
                                  cryptography's ``InvalidSignature``)

Each class also subclasses the built-in a caller would naturally catch, as signxml does.
Messages never contain key material or passphrases.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature

if TYPE_CHECKING:
    from signing.report import VerificationReport

__all__ = [
    "SigningError", "KeyLoadError", "PassphraseError", "KeyMismatchError", "WeakKeyError",
    "PlacementError", "TrustStoreError", "VerificationFailed",
]


class SigningError(Exception):
    code = "signing.error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class KeyLoadError(SigningError, ValueError):
    code = "signing.key-load"


class PassphraseError(KeyLoadError):
    code = "signing.passphrase"


class KeyMismatchError(SigningError, ValueError):
    code = "signing.key-mismatch"


class WeakKeyError(SigningError, ValueError):
    code = "signing.weak-key"


class PlacementError(SigningError, ValueError):
    code = "signing.placement"


class TrustStoreError(SigningError, ValueError):
    code = "signing.trust-store"


class VerificationFailed(SigningError, InvalidSignature):
    """Some signature of a document is not valid; ``report`` says which and why."""

    code = "signing.verification-failed"

    def __init__(self, message: str, report: VerificationReport | None = None):
        super().__init__(message)
        self.report = report
