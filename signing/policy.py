"""What a verification accepts: one frozen dataclass with secure defaults.

signxml 5.2 on its own accepts a signature at any depth, skips transforms it does not
implement (an XSLT transform verifies as valid) and ignores the XAdES SigningTime; the
policy pins the allowed locations, allow-lists transforms and algorithms, and bounds the
signing time by a clock skew.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from signing.placement import SignatureLocation
from signing.profiles import Profile

__all__ = ["VerificationPolicy", "DEFAULT_POLICY", "ENVELOPED", "C14N_METHODS", "Profile"]

ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
C14N_METHODS = frozenset({
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
})
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
SIGNATURE_METHODS = frozenset({
    _MORE + "rsa-sha256", _MORE + "rsa-sha384", _MORE + "rsa-sha512",
    _MORE + "ecdsa-sha256", _MORE + "ecdsa-sha384", _MORE + "ecdsa-sha512",
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1",
    "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1",
})
DIGEST_METHODS = frozenset({
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
})


@dataclass(frozen=True)
class VerificationPolicy:
    """Settings of a verification. The defaults are the secure choice; loosen explicitly."""

    locations: frozenset[SignatureLocation] = frozenset(
        {SignatureLocation.UBL_EXTENSION, SignatureLocation.ENVELOPED_ROOT})
    """Where a ds:Signature may stand. A ds:Signature directly under a UBL root is never
    allowed (UBL keeps signatures in its extension); enveloping signatures are off."""
    signature_methods: frozenset[str] = SIGNATURE_METHODS
    digest_methods: frozenset[str] = DIGEST_METHODS
    c14n_methods: frozenset[str] = C14N_METHODS
    transforms: frozenset[str] = field(default_factory=lambda: C14N_METHODS | {ENVELOPED})
    """Reference transforms allowed; anything else (XPath, XSLT, base64...) is refused."""
    min_rsa_bits: int = 2048
    curves: frozenset[str] = frozenset({"secp256r1", "secp384r1", "secp521r1"})
    profile: Profile = Profile.XADES_BES
    """The profile every signature must meet (:class:`Profile`)."""
    require_whole_document: bool = True
    """Refuse signatures that cover only part of the document (they are reported)."""
    refuse_comments_in_text: bool = True
    """Refuse a comment inside signed text (C14N drops it, so readers would be misled)."""
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)
    """How far a SigningTime may lie in the future of the verifier's clock."""
    require_crl: bool = False
    """Refuse certificates whose issuer has no CRL in the trust folder."""

    @property
    def require_xades(self) -> bool:
        """XAdES-BES signed properties (SigningTime, SigningCertificate digest) required."""
        return self.profile is Profile.XADES_BES


DEFAULT_POLICY = VerificationPolicy()
