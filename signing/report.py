"""Verification reports: what was checked for each signature, and why one failed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict

from lxml import etree

from signing.errors import VerificationFailed

__all__ = ["Reason", "SignerInfo", "SignatureReport", "VerificationReport", "SignerInfoDict",
           "SignatureReportDict", "VerificationReportDict"]


class Reason(StrEnum):
    """Stable reason codes of an invalid signature."""

    NO_SIGNATURE = "no-signature"
    SIGNATURE_LOCATION = "signature-location"
    ENVELOPING = "enveloping-signature"
    """The ds:Signature is the document (its content in a ds:Object): not accepted."""
    DETACHED = "detached-signature"
    """A reference points outside the document: not accepted (we see only the document)."""
    MANIFEST = "manifest-not-supported"
    """A reference signs a ds:Manifest, whose own references core validation never checks."""
    MALFORMED = "malformed-signature"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    UNSUPPORTED_TRANSFORM = "unsupported-transform"
    WEAK_KEY = "weak-key"
    PARTIAL_COVERAGE = "partial-coverage"
    AMBIGUOUS_REFERENCE = "ambiguous-reference"
    DIGEST_MISMATCH = "digest-mismatch"
    BAD_SIGNATURE_VALUE = "bad-signature-value"
    XADES_INVALID = "xades-invalid"
    XADES_REQUIRED = "xades-required"
    """A plain XML-DSig signature where the xades-bes profile is required."""
    SIGNING_TIME_IN_FUTURE = "signing-time-in-future"
    COMMENT_IN_SIGNED_TEXT = "comment-in-signed-text"
    UNTRUSTED_CHAIN = "untrusted-chain"
    WRONG_COUNTRY = "wrong-country"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    KEY_USAGE = "key-usage"
    REVOKED = "revoked"
    NO_CRL = "no-crl"


class SignerInfoDict(TypedDict):
    """JSON form of :class:`SignerInfo` (times ISO 8601)."""

    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: str
    not_after: str


class SignatureReportDict(TypedDict):
    """JSON form of :class:`SignatureReport` (without the signed content)."""

    index: int
    id: str | None
    path: str
    location: str
    valid: bool
    reason: str | None
    detail: str
    params: dict[str, Any]
    reference: str | None
    signer: SignerInfoDict | None
    signing_time: str | None
    anchor: str | None
    country: str | None
    covers: str
    whole_document: bool
    algorithm: str | None
    revocation: str
    checks: list[str]
    profile: str | None


class VerificationReportDict(TypedDict):
    """JSON form of :class:`VerificationReport`; ``reason`` is set when no signature was
    found."""

    all_valid: bool
    expected_country: str | None
    required_profile: str
    checked_at: str
    reason: str | None
    signatures: list[SignatureReportDict]


@dataclass(frozen=True)
class SignerInfo:
    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: dt.datetime
    not_after: dt.datetime

    def to_dict(self) -> SignerInfoDict:
        return {"subject": self.subject, "issuer": self.issuer, "serial": self.serial,
                "sha256": self.sha256, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat()}


@dataclass(frozen=True)
class SignatureReport:
    index: int
    id: str | None
    path: str
    location: str
    valid: bool
    reason: Reason | None = None
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    """The values *detail* names (subjects, countries, dates as ISO 8601, the reference),
    for callers that say the reason in other words (the English *detail* stays)."""
    reference: str | None = None
    """The reference URI a digest mismatch was found on."""
    signer: SignerInfo | None = None
    signing_time: dt.datetime | None = None
    anchor: str | None = None
    country: str | None = None
    covers: str = ""
    whole_document: bool = False
    algorithm: str | None = None
    revocation: str = "not checked"
    checks: tuple[str, ...] = ()
    profile: str | None = None
    """The profile the signature meets (``xades-bes`` or ``xmldsig``), once its
    cryptography has been checked."""
    signed_content: etree._Element | None = field(default=None, repr=False, compare=False)
    """The canonical, re-parsed content the signature covers (only set when valid)."""

    def to_dict(self) -> SignatureReportDict:
        return {
            "index": self.index, "id": self.id, "path": self.path, "location": self.location,
            "valid": self.valid, "reason": str(self.reason) if self.reason else None,
            "detail": self.detail, "params": dict(self.params), "reference": self.reference,
            "signer": self.signer.to_dict() if self.signer else None,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "anchor": self.anchor, "country": self.country, "covers": self.covers,
            "whole_document": self.whole_document, "algorithm": self.algorithm,
            "revocation": self.revocation, "checks": list(self.checks),
            "profile": self.profile,
        }

    def summary(self) -> str:
        who = self.signer.subject if self.signer else "unknown signer"
        if self.valid:
            when = f" at {self.signing_time.isoformat()}" if self.signing_time else ""
            return (f"signature {self.index + 1}: valid ({self.profile}), signed by "
                    f"{who}{when}, trusted "
                    f"through {self.anchor} ({self.country}); covers {self.covers}")
        return f"signature {self.index + 1}: INVALID [{self.reason}] {self.detail} ({who})"


@dataclass(frozen=True)
class VerificationReport:
    signatures: tuple[SignatureReport, ...]
    expected_country: str | None
    checked_at: dt.datetime
    required_profile: str = "xades-bes"

    @property
    def all_valid(self) -> bool:
        return bool(self.signatures) and all(s.valid for s in self.signatures)

    def trusted_content(self) -> list[etree._Element]:
        """What the valid signatures cover (canonical copies; never the input tree)."""
        return [s.signed_content for s in self.signatures
                if s.valid and s.signed_content is not None]

    def to_dict(self) -> VerificationReportDict:
        return {"all_valid": self.all_valid, "expected_country": self.expected_country,
                "required_profile": self.required_profile,
                "checked_at": self.checked_at.isoformat(),
                "reason": None if self.signatures else str(Reason.NO_SIGNATURE),
                "signatures": [s.to_dict() for s in self.signatures]}

    def summary_lines(self) -> list[str]:
        if not self.signatures:
            return [f"no signature found [{Reason.NO_SIGNATURE}]"]
        return [s.summary() for s in self.signatures]

    def raise_for_status(self) -> VerificationReport:
        if not self.all_valid:
            raise VerificationFailed("; ".join(self.summary_lines()), self)
        return self
