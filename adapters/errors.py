"""Errors of the adapters package, one root with a stable ``code`` each.

    AdapterError
    ├── AdapterConfigError         bad adapter settings or members file (ValueError)
    │   ├── UnknownAdapterError    no adapter registered under that kind (LookupError)
    │   ├── SettingError           a setting is missing, unknown or of the wrong type
    │   └── MembersFileError       the members file is bad; names the file and the line
    ├── DeliveryError              a delivery attempt failed; the dispatcher acts by subclass
    │   ├── RetryableDeliveryError try again later (endpoint down, 5xx, timeout, connection
    │   │                          dropped, TLS refused, folder not writable)
    │   └── PermanentDeliveryError retrying cannot help (4xx, an answer that makes no sense,
    │                              a payload that cannot be rendered)
    └── ResponseError              a national response cannot be mapped (ValueError)
        ├── InvalidMessageError    an envelope/receipt/decision XML is unsafe, malformed or
        │                          not valid against our XSD (``line``/``column`` when known)
        ├── MalformedCusresError   an EDIFACT CUSRES file is malformed
        └── MalformedCusdecError   an EDIFACT CUSDEC file is malformed (receiver side)

A *business* refusal by customs is not an error: it is a :class:`~adapters.contract.DeliveryResult`
with status ``rejected`` and a reason.
"""
from __future__ import annotations

from pathlib import Path

__all__ = [
    "AdapterError", "AdapterConfigError", "UnknownAdapterError", "SettingError",
    "MembersFileError", "DeliveryError", "RetryableDeliveryError", "PermanentDeliveryError",
    "ResponseError", "InvalidMessageError", "MalformedCusresError", "MalformedCusdecError",
]


class AdapterError(Exception):
    """Root of every adapter error; ``code`` is stable and machine-readable."""

    code = "adapter.error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:  # LookupError would quote the message
        return self.message


class AdapterConfigError(AdapterError, ValueError):
    code = "adapter.config"


class UnknownAdapterError(AdapterConfigError, LookupError):
    code = "adapter.unknown-kind"

    def __init__(self, kind: str, known: tuple[str, ...] = ()):
        hint = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"unknown adapter kind {kind!r}{hint}")
        self.kind = kind
        self.known = known


class SettingError(AdapterConfigError):
    """``code`` is one of adapter.setting-missing, adapter.setting-unknown,
    adapter.setting-invalid; ``setting`` names the offending key."""

    code = "adapter.setting-invalid"

    def __init__(self, message: str, *, setting: str, code: str = "adapter.setting-invalid"):
        super().__init__(message, code=code)
        self.setting = setting


class MembersFileError(AdapterConfigError):
    code = "adapter.members-file"

    def __init__(self, path: Path | str, line: int | None, problem: str, *,
                 code: str = "adapter.members-file"):
        where = f"{path}, line {line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}", code=code)
        self.path = Path(path)
        self.line = line
        self.problem = problem


class DeliveryError(AdapterError):
    """A delivery attempt failed. ``retryable`` tells the dispatcher what to do;
    ``status_code`` is the receiver's HTTP status when there was one; ``retry_after`` the
    seconds the receiver asked to wait (HTTP Retry-After), if it did."""

    code = "adapter.delivery"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None,
                 status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message, code=code)
        self.status_code = status_code
        self.retry_after = retry_after


class RetryableDeliveryError(DeliveryError):
    """Codes: adapter.delivery.unreachable, .timeout, .server-error, .connection-dropped,
    .io (folder not writable for now)."""

    code = "adapter.delivery.retryable"
    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Codes: adapter.delivery.refused (4xx), .payload (cannot render), .protocol
    (the answer makes no sense)."""

    code = "adapter.delivery.permanent"


class ResponseError(AdapterError, ValueError):
    code = "adapter.response"


class InvalidMessageError(ResponseError):
    """Codes: adapter.message.unsafe, .malformed, .invalid (XSD), .inconsistent."""

    code = "adapter.message.invalid"

    def __init__(self, message: str, *, code: str | None = None, line: int | None = None,
                 column: int | None = None):
        super().__init__(message, code=code)
        self.line = line
        self.column = column


class MalformedCusresError(ResponseError):
    code = "adapter.edifact.cusres-malformed"

    def __init__(self, message: str, *, source: str | None = None,
                 segment: int | None = None):
        where = f"{source}: " if source else ""
        seg = f" (segment {segment})" if segment else ""
        super().__init__(f"{where}{message}{seg}")
        self.source = source
        self.segment = segment


class MalformedCusdecError(MalformedCusresError):
    code = "adapter.edifact.cusdec-malformed"
