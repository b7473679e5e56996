"""What a signature is before any cryptography runs: its algorithms, transforms and
references checked against the policy, and, for each refusal, its real cause in the signer's
terms with what to do instead (an enveloping, detached or manifest signature is not
"moved"; a plain XML-DSig signature is not "invalid XAdES")."""
from __future__ import annotations

from typing import Any

from lxml import etree

from signing.placement import NS, SignatureLocation, is_ubl
from signing.policy import ENVELOPED, VerificationPolicy
from signing.report import Reason

__all__ = ["MANIFEST", "XADES_SIGNED_PROPERTIES", "Refusal", "ds", "inspect_signature",
           "refuse_location", "refuse_plain"]

XADES_SIGNED_PROPERTIES = "http://uri.etsi.org/01903#SignedProperties"


class Refusal(Exception):
    """Why a signature is not accepted (caught by the verifier and reported); ``params``:
    the values *detail* names, for callers that say it in other words."""

    def __init__(self, reason: Reason, detail: str, reference: str | None = None, *,
                 params: dict[str, Any] | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.reference = reason, detail, reference
        self.params: dict[str, Any] = params or {}


def ds(local: str) -> str:
    return f"{{{NS['ds']}}}{local}"


_BY_ID = etree.XPath("descendant-or-self::*[@Id=$v or @ID=$v or @id=$v or @xml:id=$v]")

Covered = tuple[str, etree._Element | None]
"""A reference URI of a signature and its target (None: the whole document)."""


MANIFEST = "http://www.w3.org/2000/09/xmldsig#Manifest"
_DO_INSTEAD = ("sign the document itself with an enveloped signature: one reference "
               'URI="" with the enveloped-signature transform')


def inspect_signature(sig: etree._Element, root: etree._Element, policy: VerificationPolicy
             ) -> tuple[str, list[Covered], bool]:
    """Check algorithms, transforms and references before any cryptography runs; return
    the signature method, what the references cover and whether XAdES properties are
    signed. Each refusal names its cause and what the signer should do instead."""
    si = sig.find(ds("SignedInfo"))
    if si is None or sig.find(ds("SignatureValue")) is None:
        raise Refusal(Reason.MALFORMED, "ds:SignedInfo or ds:SignatureValue is missing")
    c14n = si.find(ds("CanonicalizationMethod"))
    method = si.find(ds("SignatureMethod"))
    c14n_alg = c14n.get("Algorithm") if c14n is not None else None
    sig_alg = method.get("Algorithm") if method is not None else None
    if c14n_alg not in policy.c14n_methods:
        raise Refusal(Reason.UNSUPPORTED_ALGORITHM, f"canonicalization {c14n_alg} not allowed; "
                       "sign with C14N 1.0, C14N 1.1 or exclusive C14N",
                       params={"algorithm": str(c14n_alg)})
    if sig_alg is None or sig_alg not in policy.signature_methods:
        raise Refusal(Reason.UNSUPPORTED_ALGORITHM, f"signature method {sig_alg} not allowed; "
                       "sign with RSA (PKCS#1 v1.5 or PSS) or ECDSA over SHA-256/384/512",
                       params={"algorithm": str(sig_alg)})
    documents: list[Covered] = []
    xades = False
    for ref in si.findall(ds("Reference")):
        uri = ref.get("URI")
        if ref.get("Type") == MANIFEST:
            raise Refusal(Reason.MANIFEST, f"reference {uri} signs a ds:Manifest: manifests "
                           "are not supported (XML-DSig core validation never checks a "
                           f"manifest's own references); {_DO_INSTEAD}", uri,
                           params={"reference": uri})
        if uri is not None and uri and not uri.startswith("#"):
            raise Refusal(Reason.DETACHED, f"reference URI {uri!r} points outside this "
                           "document (a detached signature): detached signatures are not "
                           "accepted, the exchange sees only the document it receives; "
                           f"{_DO_INSTEAD}", uri, params={"reference": uri})
        for t in ref.findall(f"{ds('Transforms')}/{ds('Transform')}"):
            if t.get("Algorithm") not in policy.transforms:
                raise Refusal(Reason.UNSUPPORTED_TRANSFORM,
                               f"transform {t.get('Algorithm')} not allowed (only the "
                               "enveloped-signature transform and canonicalization are); "
                               f"{_DO_INSTEAD}", uri,
                               params={"transform": str(t.get("Algorithm"))})
        dm = ref.find(ds("DigestMethod"))
        if dm is None or dm.get("Algorithm") not in policy.digest_methods:
            raise Refusal(Reason.UNSUPPORTED_ALGORITHM, "digest method "
                           f"{None if dm is None else dm.get('Algorithm')} not allowed; "
                           "use SHA-256, SHA-384 or SHA-512", uri,
                           params={"algorithm": str(None if dm is None
                                                    else dm.get("Algorithm"))})
        if uri is None:
            raise Refusal(Reason.MALFORMED, "a reference without a URI (the signed data "
                           f"comes from outside the document); {_DO_INSTEAD}", uri)
        if uri == "":
            if ENVELOPED not in [t.get("Algorithm") for t in
                                 ref.iter(ds("Transform"))]:
                raise Refusal(Reason.MALFORMED, "whole-document reference without the "
                               "enveloped-signature transform (the signature would cover "
                               f"itself); {_DO_INSTEAD}", uri)
            documents.append((uri, None))
            continue
        # signxml resolves the URI in the whole document and refuses duplicates; here we
        # only need to know whether the target is part of the signature itself
        # (lxml types XPath results as Any: this expression selects elements only)
        targets: list[etree._Element] = _BY_ID(sig, v=uri[1:]) or _BY_ID(root, v=uri[1:])
        if len(targets) > 1:
            raise Refusal(Reason.AMBIGUOUS_REFERENCE, f"reference {uri} matches "
                           f"{len(targets)} elements (duplicated or wrapped content)", uri,
                           params={"reference": uri, "count": len(targets)})
        if not targets:
            raise Refusal(Reason.MALFORMED, f"reference {uri} matches no element", uri)
        target = targets[0]
        inside = target is sig or sig in target.iterancestors()
        if target.tag == ds("Manifest") or (inside and target.find(f".//{ds('Manifest')}")
                                             is not None):
            raise Refusal(Reason.MANIFEST, f"reference {uri} signs a ds:Manifest: manifests "
                           "are not supported (XML-DSig core validation never checks a "
                           f"manifest's own references); {_DO_INSTEAD}", uri,
                           params={"reference": uri})
        if inside:
            if ref.get("Type") == XADES_SIGNED_PROPERTIES:
                xades = True
            elif sig is root and target.tag == ds("Object"):
                documents.append((uri, target))  # the content of an enveloping signature
            continue
        documents.append((uri, target))
    if not documents:
        raise Refusal(Reason.MALFORMED, "the signature covers no part of the document (no "
                       f"reference to it, only to the signature's own parts); {_DO_INSTEAD}")
    return sig_alg, documents, xades


def refuse_plain(profile: str) -> Refusal:
    """A plain XML-DSig signature (intact) where XAdES-BES is required."""
    return Refusal(Reason.XADES_REQUIRED, "a plain XML-DSig signature, without XAdES signed "
                   f"properties, where the {profile} profile is required: sign with XAdES-BES "
                   "(signing time and signing-certificate digest), or ask for this member's "
                   "signature profile to be xmldsig", params={"profile": str(profile)})


def refuse_location(sig: etree._Element, root: etree._Element, loc: SignatureLocation,
                     path: str) -> Refusal:
    """Why a signature in this place is not accepted, in the signer's terms."""
    if loc is SignatureLocation.ENVELOPING:
        external = [r.get("URI") for r in sig.iterfind(f"{ds('SignedInfo')}/{ds('Reference')}")
                    if r.get("URI") and not (r.get("URI") or "").startswith("#")]
        if external:
            return Refusal(Reason.DETACHED, f"a detached signature of {external[0]!r} (a file "
                            "outside this document): detached signatures are not accepted, "
                            f"the exchange sees only the document it receives; {_DO_INSTEAD}",
                            external[0], params={"reference": external[0]})
        return Refusal(Reason.ENVELOPING, "an enveloping signature (the ds:Signature is the "
                        "document and carries the signed content in its ds:Object): "
                        f"enveloping signatures are not accepted; {_DO_INSTEAD}")
    if sig.getparent() is root and is_ubl(root):
        return Refusal(Reason.SIGNATURE_LOCATION, f"a ds:Signature directly under the UBL "
                        f"root ({path}): UBL keeps signatures in ext:UBLExtensions with a "
                        "cac:Signature naming them; sign with a UBL-aware tool (`exchange "
                        "sign` places it there)", params={"path": path, "ubl": True})
    if loc is SignatureLocation.OTHER:
        return Refusal(Reason.SIGNATURE_LOCATION, f"a signature at {path} is not in an "
                        "allowed place (moved or wrapped document?); signatures stand as the "
                        "last child of the root or, in UBL, in the UBL extension",
                        params={"path": path})
    return Refusal(Reason.SIGNATURE_LOCATION, f"signatures in the place {loc} are not "
                    "accepted by this verification policy", params={"path": path})
