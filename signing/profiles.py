"""Signature profiles: what a signature must be beyond XML-DSig core validity.

Apart from :mod:`signing.policy` (which needs the XML placement rules, and with them lxml) so
that the members file can name a member's profile without loading the XML stack.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Profile"]


class Profile(StrEnum):
    """What a signature must be, beyond XML-DSig core validity (a member's
    ``signature_profile``, ``exchange verify --profile``)."""

    XADES_BES = "xades-bes"
    """Enveloped XAdES-BES: signed properties with a SigningTime and the signing
    certificate's digest (the default)."""
    XMLDSIG = "xmldsig"
    """A plain enveloped XML-DSig signature, as many national signing tools make: the same
    algorithm, reference, placement and chain checks, no XAdES properties required (they
    are still checked when present)."""
