"""Enveloped XAdES-BES signatures (SigningTime, SigningCertificateV2) made with signxml.

Inclusive C14N 1.0 is used throughout: signxml 5.2 and xmlsec1 both verify it, while
signxml's own XAdES verification fails exclusive C14N on the SignedProperties digest.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from signing.errors import SigningError
from signing.keys import SigningIdentity
from signing.placement import insert_placeholder, is_ubl, root_child_order

__all__ = ["Signer", "sign", "C14N", "DIGESTS"]

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
DIGESTS = ("sha256", "sha384", "sha512")


class Signer:
    """Signs documents with one identity; make it once and reuse it (thread-safe: each
    call builds its own signxml signer around the shared, already loaded key)."""

    def __init__(self, identity: SigningIdentity, *, digest: str = "sha256"):
        if digest not in DIGESTS:
            raise SigningError(f"digest {digest!r} is not allowed (use one of {DIGESTS})")
        self.identity = identity
        self.digest = digest
        kind = "ecdsa" if isinstance(identity.key, ec.EllipticCurvePrivateKey) else "rsa"
        self.signature_algorithm = f"{kind}-{digest}"
        self._certs = identity.certificates

    def sign(self, document: etree._ElementTree | etree._Element, *,
             schema: str | Path | None = None,
             order: Sequence[str] | None = None) -> etree._ElementTree:
        """Return a signed copy of *document* (the input is not changed).

        For UBL documents give the entry XSD of the document type (*schema*, for instance
        ``Validator.schema_path(namespace)``) or the ordered child names of the root
        (*order*), so that ``cac:Signature`` lands where the schema allows it."""
        # (from the defining modules: signxml's package root re-exports them without __all__)
        from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
        from signxml.xades.xades import XAdESSigner

        root = document.getroot() if isinstance(document, etree._ElementTree) else document
        work = copy.deepcopy(root)
        if is_ubl(work) and order is None and schema is not None:
            order = root_child_order(schema)
        insert_placeholder(work, order=order)
        signer = XAdESSigner(
            signature_algorithm=SignatureMethod.from_fragment(self.signature_algorithm),
            digest_algorithm=DigestAlgorithm.from_fragment(self.digest),
            c14n_algorithm=CanonicalizationMethod(C14N))
        signed = signer.sign(work, key=self.identity.key, cert=self._certs,
                             always_add_key_value=False)
        return etree.ElementTree(signed)


def sign(document: etree._ElementTree | etree._Element, identity: SigningIdentity, *,
         schema: str | Path | None = None, order: Sequence[str] | None = None,
         digest: str = "sha256") -> etree._ElementTree:
    """Sign *document* with *identity* (see :meth:`Signer.sign`)."""
    return Signer(identity, digest=digest).sign(document, schema=schema, order=order)
