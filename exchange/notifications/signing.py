"""The signature of a notification: HMAC-SHA256 over its timestamp and body, with the
subscription's secret (the scheme of Stripe's and GitHub's webhooks).

    Exchange-Signature: t=1767225600,v1=5257a869...e9f3

``v1`` is the hex HMAC-SHA256, keyed with the secret (its UTF-8 bytes, ``whsec_`` prefix
included), of ``<t>.<raw body>``. A receiver recomputes it over the body *as received*,
compares in constant time, and refuses a ``t`` further than its tolerance from its own
clock (five minutes by default): a captured request cannot be replayed later. Each attempt
is signed anew; the body (and the event id in it) stays the same across attempts, so a
receiver drops duplicates by the id. During a secret rotation a header may carry several
``v1`` values: any one that matches is enough.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

__all__ = ["SIGNATURE_HEADER", "SignatureMismatch", "new_secret", "sign", "verify"]

SIGNATURE_HEADER = "Exchange-Signature"
SECRET_PREFIX = "whsec_"


class SignatureMismatch(ValueError):
    """The header does not sign the body with the secret, or its time is out of tolerance."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                    hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value for *body* sent now (or at *timestamp*, seconds since the epoch)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(secret, t, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300,
           now: float | None = None) -> int:
    """Check *header* against *body*; returns its timestamp or raises SignatureMismatch."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureMismatch("the signature header has no timestamp t=") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise SignatureMismatch(f"the signature's timestamp is more than {tolerance} s away "
                                "(a replayed request?)")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise SignatureMismatch("no v1 signature matches the body with this secret")
    return timestamp
