"""Errors of the payments: money, the ledger's rules, bank files, payment requests and
payment providers' signatures.

    exchange.errors.RefusedError (ValueError)                             (422, exit 1)
    ├── LedgerError                     ledger          a ledger rule refuses an entry
    │   ├── MoneyError                  money           an amount or currency is not valid
    │   │   ├── UnknownCurrencyError    money.unknown-currency     not ISO 4217 list one
    │   │   ├── InvalidAmountError      money.invalid-amount       not a decimal (a float)
    │   │   ├── NonFiniteAmountError    money.not-finite           NaN, infinity
    │   │   ├── TooManyDecimalsError    money.too-many-decimals    finer than the minor unit
    │   │   ├── AmountOutOfRangeError   money.out-of-range         more than 18 digits
    │   │   └── CurrencyMismatchError   money.currency-mismatch    two currencies meet
    │   ├── NegativeAmountError         ledger.negative-amount     payment/refund/line < 0
    │   ├── ZeroAmountError             ledger.zero-amount         payment/refund/adjustment 0
    │   ├── InvalidEntryError           ledger.invalid-entry       empty reference, naive time
    │   ├── WrongShipmentError          ledger.wrong-shipment      entry of another shipment
    │   ├── UnknownLegError             ledger.unknown-leg         country not on the route
    │   ├── WrongCurrencyError          ledger.wrong-currency      not the leg's currency
    │   ├── NotAssessedError            ledger.not-assessed        nothing assessed on the leg
    │   ├── ReferenceConflictError      ledger.reference-conflict  same reference, other
    │   │                               content (also a ConflictError: 409)
    │   ├── RefundExceedsPaidError      ledger.refund-exceeds-paid
    │   ├── AdjustmentBelowZeroError    ledger.adjustment-below-zero
    │   ├── ReleaseRefusedError         ledger.release-refused     see ledger.require_release
    │   └── CamtError                   camt054         a bank file (camt.054 or camt.053)
    │       │                                           refused whole (``line`` and
    │       │                                           ``column`` as problem members)
    │       ├── CamtMalformedError          camt054.malformed       not well-formed
    │       ├── CamtUnsafeError             camt054.unsafe          DOCTYPE, entities...
    │       ├── CamtVersionError            camt054.unsupported     not a camt.053/054 we
    │       │                                                       read, or no XSD pinned
    │       ├── CamtSchemaError             camt054.schema-invalid  not valid against the
    │       │                                                       XSD of its version
    │       └── CamtStructureError          camt054.invalid         an element missing/bad
    └── PaymentsError                   payments        a payment request refused
        └── CountryNeededError          payments.country-needed    say which leg it pays
    exchange.documents.errors.ShipmentNotFound (404, exit 2: no such shipment in the caller's
                                        scope, the same answer everywhere)
    exchange.errors.ForbiddenError (PermissionError)                      (403, exit 2)
    └── PaymentForbiddenError           forbidden       the caller's role may not pay,
                                                        refund, import or list this
    exchange.errors.AuthenticationError                                   (401, exit 2)
    └── SignatureError                  payments.signature-invalid | -missing |
                                        -not-configured: a provider's HMAC signature
    exchange.errors.UsageError (ValueError)                               (422, exit 2)
    └── NotAProviderError               payments.not-a-provider    a secret for a party
                                                                   that is no provider
    exchange.errors.UnavailableError                                      (503, exit 3)
    ├── SecretBoxError                  secrets         the secrets key cannot be read or
    │                                                   made, or a sealed value does not open
    └── SignatureKeyUnavailable         signature-key-unavailable  a provider's secret
                                                                   does not open here

Every rule of the ledger is a :class:`LedgerError` (a ``ValueError`` too): the in-memory
:class:`~exchange.payments.ledger.Ledger` and the store raise the same classes. A customs
decision a rule refuses is answered as :class:`exchange.delivery.errors.DecisionRefused`
(``decision.<code>``), not as one of these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchange.documents.errors import ShipmentNotFound
from exchange.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    RefusedError,
    UnavailableError,
    UsageError,
)
from exchange.i18n import Text, t

if TYPE_CHECKING:
    from exchange.payments.ledger import ReleaseDecision

__all__ = [
    "AdjustmentBelowZeroError",
    "AmountOutOfRangeError",
    "CamtError",
    "CamtMalformedError",
    "CamtSchemaError",
    "CamtStructureError",
    "CamtUnsafeError",
    "CamtVersionError",
    "CountryNeededError",
    "CurrencyMismatchError",
    "InvalidAmountError",
    "InvalidEntryError",
    "LedgerError",
    "MoneyError",
    "NegativeAmountError",
    "NonFiniteAmountError",
    "NotAProviderError",
    "NotAssessedError",
    "PaymentForbiddenError",
    "PaymentsError",
    "ReferenceConflictError",
    "RefundExceedsPaidError",
    "ReleaseRefusedError",
    "SecretBoxError",
    "ShipmentNotFound",
    "SignatureError",
    "SignatureKeyUnavailable",
    "TooManyDecimalsError",
    "UnknownCurrencyError",
    "UnknownLegError",
    "WrongCurrencyError",
    "WrongShipmentError",
    "ZeroAmountError",
]


# -- the ledger and its money ---------------------------------------------------------------
class LedgerError(RefusedError):
    """Root of the ledger's refusals (money, ledger rules, bank files)."""

    code = "ledger"
    title = t("The payment is refused")


class MoneyError(LedgerError):
    code = "money"


class UnknownCurrencyError(MoneyError):
    code = "money.unknown-currency"


class InvalidAmountError(MoneyError):
    code = "money.invalid-amount"


class NonFiniteAmountError(MoneyError):
    code = "money.not-finite"


class TooManyDecimalsError(MoneyError):
    code = "money.too-many-decimals"


class AmountOutOfRangeError(MoneyError):
    code = "money.out-of-range"


class CurrencyMismatchError(MoneyError):
    code = "money.currency-mismatch"


class NegativeAmountError(LedgerError):
    code = "ledger.negative-amount"


class ZeroAmountError(LedgerError):
    code = "ledger.zero-amount"


class InvalidEntryError(LedgerError):
    code = "ledger.invalid-entry"


class WrongShipmentError(LedgerError):
    code = "ledger.wrong-shipment"


class UnknownLegError(LedgerError):
    code = "ledger.unknown-leg"


class WrongCurrencyError(LedgerError):
    code = "ledger.wrong-currency"


class NotAssessedError(LedgerError):
    code = "ledger.not-assessed"


class ReferenceConflictError(ConflictError, LedgerError):
    """The reference was recorded before with other content (409: ConflictError comes
    first in the MRO)."""

    code = "ledger.reference-conflict"
    title = t("The reference was already used")


class RefundExceedsPaidError(LedgerError):
    code = "ledger.refund-exceeds-paid"


class AdjustmentBelowZeroError(LedgerError):
    code = "ledger.adjustment-below-zero"


class ReleaseRefusedError(LedgerError):
    code = "ledger.release-refused"

    def __init__(self, decision: ReleaseDecision):
        super().__init__(decision.why)
        self.decision = decision


# -- bank files ------------------------------------------------------------------------------
class CamtError(LedgerError):
    """A bank file (camt.054 or camt.053) refused whole; ``line`` and ``column`` (when
    known) say where. A transaction the exchange cannot use is never one: it is listed
    with a reason (:class:`exchange.payments.reconciliation.UnmatchedReason`)."""

    code = "camt054"
    title = t("The bank file is refused; nothing of it was recorded")

    def __init__(self, message: str | Text, *, line: int | None = None,
                 column: int | None = None):
        where: dict[str, Any] = {k: v for k, v in (("line", line), ("column", column)) if v}
        super().__init__(message if line is None else
                         t("line {line}: {message}", line=line, message=message), **where)
        self.line = line
        self.column = column


class CamtMalformedError(CamtError):
    code = "camt054.malformed"


class CamtUnsafeError(CamtError):
    code = "camt054.unsafe"


class CamtVersionError(CamtError):
    code = "camt054.unsupported"


class CamtStructureError(CamtError):
    code = "camt054.invalid"


class CamtSchemaError(CamtError):
    """Not valid against the XSD of its message and version (the first error's line and
    column; how many more in the message)."""

    code = "camt054.schema-invalid"


# -- payment requests -------------------------------------------------------------------------
class PaymentsError(RefusedError):
    """A payment or refund request the exchange cannot place (not a ledger rule)."""

    code = "payments"
    title = t("The payment is refused")


class CountryNeededError(PaymentsError):
    code = "payments.country-needed"


class PaymentForbiddenError(ForbiddenError):
    """The caller's role may not do this with payments (pay, refund, import, list)."""

    code = "forbidden"


# -- payment providers' signatures and secrets -------------------------------------------------
class SignatureError(AuthenticationError):
    """The payment provider's request signature is missing or wrong (HTTP 401); ``code``
    says which (``payments.signature-missing``, ``-invalid``, ``-not-configured``)."""

    code = "payments.signature-invalid"
    title = t("Signature refused")
    challenge = "HMAC-SHA256"
    """The challenge of the 401 answer (not the API keys' ``Bearer``)."""


class NotAProviderError(UsageError):
    """A signing secret asked for a party that is not a payment provider."""

    code = "payments.not-a-provider"


class SecretBoxError(UnavailableError):
    """A key file that cannot be read or made, or a sealed value that does not open."""

    code = "secrets"


class SignatureKeyUnavailable(UnavailableError):
    """A provider's signing secret does not open with this hub's secrets key: signatures
    cannot be checked until an operator fixes the key (the cause is logged, not sent)."""

    code = "signature-key-unavailable"
    title = t("Signature cannot be checked")
