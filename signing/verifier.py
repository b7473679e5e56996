"""Verify every signature of a document and say exactly what was checked.

signxml does the XML-DSig work (canonicalisation, digests, signature values, XAdES
signed properties); this module decides which signature is checked (pinned by position,
never "the first ds:Signature found anywhere"), refuses what the policy does not allow
before signxml runs, and checks the certificate against the member-country trust lists.

Several signatures: each ``ds:Signature`` is checked against the document as it stood when
it was made, i.e. without the signature blocks (UBL extension and ``cac:Signature``, or a
root-level ``ds:Signature``) added after it. Later signatures cover the earlier ones.
"""
from __future__ import annotations

import base64
import copy
import datetime as dt
import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from signing.chain import check_certificate
from signing.inspection import Refusal, ds, inspect_signature, refuse_location, refuse_plain
from signing.placement import (
    DS_SIGNATURE,
    SignatureLocation,
    later_blocks,
    location_of,
    signature_elements,
)
from signing.policy import DEFAULT_POLICY, Profile, VerificationPolicy
from signing.report import Reason, SignatureReport, SignerInfo, VerificationReport
from signing.trust import TrustStore, fingerprint

if TYPE_CHECKING:
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    from signxml.verifier import VerifyResult, XMLVerifier

__all__ = ["verify_document"]

XADES_NS = ("http://uri.etsi.org/01903/v1.3.2#", "http://uri.etsi.org/01903/v1.4.1#")
ID_ATTRS = ("Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")


class _Pinned:
    """Mixed into a signxml verifier: checks the signature at one pinned position, and
    leaves certificate validity to :mod:`signing.chain` (which reports why)."""

    excise_empty_xmlns_declarations: bool

    def __init__(self, position: tuple[int, ...], excise_xmlns: bool):
        self._position = position
        self.excise_empty_xmlns_declarations = excise_xmlns

    def _get_signature(self, root: etree._Element) -> etree._Element:
        node = root
        for i in self._position:
            node = node[i]
        if node.tag != DS_SIGNATURE:
            raise Refusal(Reason.MALFORMED, "signature not found at its position")
        return node

    def _check_cert_validity(self, cert: object, cert_source: object) -> None:
        return None


@functools.lru_cache(maxsize=2)
def _verifier_class(xades: bool) -> Callable[[tuple[int, ...], bool], XMLVerifier]:
    """The pinned signxml verifier class, XAdES or plain XML-DSig."""
    # (from the defining modules: signxml's package root re-exports them without __all__)
    from signxml.verifier import XMLVerifier
    from signxml.xades.xades import XAdESVerifier

    if xades:
        class PinnedXAdES(_Pinned, XAdESVerifier):
            pass

        return PinnedXAdES

    class Pinned(_Pinned, XMLVerifier):
        pass

    return Pinned


def _position(el: etree._Element) -> tuple[int, ...]:
    steps = []
    parent = el.getparent()
    while parent is not None:
        steps.append(parent.index(el))
        el, parent = parent, parent.getparent()
    return tuple(reversed(steps))


def _at(root: etree._Element, position: tuple[int, ...]) -> etree._Element:
    for i in position:
        root = root[i]
    return root


def _certificates(sig: etree._Element) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for el in sig.findall(f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"):
        try:
            certs.append(x509.load_der_x509_certificate(
                base64.b64decode(re.sub(r"\s+", "", el.text or ""))))
        except ValueError:
            raise Refusal(Reason.MALFORMED, "an X509Certificate cannot be decoded") from None
    if not certs:
        raise Refusal(Reason.UNTRUSTED_CHAIN, "no X.509 certificate in ds:KeyInfo")
    return certs


def _leaf(certs: list[x509.Certificate]) -> x509.Certificate:
    """The signer's certificate among those embedded: an end-entity certificate, else the
    one that issued none of the others."""
    for c in certs:
        try:
            if not c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return c
        except x509.ExtensionNotFound:
            return c
    for c in certs:
        if not any(o is not c and o.issuer == c.subject for o in certs):
            return c
    return certs[0]


def _check_key(cert: x509.Certificate, policy: VerificationPolicy) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < policy.min_rsa_bits:
        raise Refusal(Reason.WEAK_KEY, f"RSA key of {key.key_size} bits (at least "
                       f"{policy.min_rsa_bits} required)",
                       params={"bits": key.key_size, "min_bits": policy.min_rsa_bits})
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in policy.curves:
        raise Refusal(Reason.WEAK_KEY, f"EC curve {key.curve.name} not allowed",
                       params={"curve": key.curve.name})


def _crypto(root: etree._Element, sig: etree._Element, policy: VerificationPolicy,
            leaf: x509.Certificate, xades: bool) -> tuple[list[VerifyResult], int]:
    """Run signxml on a copy without the later signature blocks; return its results and
    how many later signatures were stripped."""
    from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature
    from signxml.verifier import SignatureConfiguration

    blocks, n_later = later_blocks(root, sig)
    work = root
    if blocks:  # signxml copies the document anyway; copy here only to strip later blocks
        work = copy.deepcopy(root)
        for block in [_at(work, _position(b)) for b in blocks]:
            _remove_keep_tail(block)
    target = _at(work, _position(sig))
    config = SignatureConfiguration(
        location="./", expect_references=True,
        signature_methods=frozenset(_methods(policy.signature_methods)),
        digest_algorithms=frozenset(_digests(policy.digest_methods)))
    verifier = _verifier_class(xades)(_position(target), sig.prefix is None)
    try:
        results = verifier.verify(work, x509_cert=leaf, expect_config=config)
    except Refusal:
        raise
    except InvalidDigest as exc:
        msg = str(exc)
        m = re.search(r"reference \d+ \((.*)\)", msg)
        if m:
            raise Refusal(Reason.DIGEST_MISMATCH, msg, m.group(1),
                          params={"reference": m.group(1)}) from None
        raise Refusal(Reason.XADES_INVALID, msg) from None
    except InvalidSignature as exc:
        raise Refusal(Reason.BAD_SIGNATURE_VALUE, str(exc)) from None
    except InvalidInput as exc:
        msg = str(exc)
        if "Ambiguous reference" in msg:
            raise Refusal(Reason.AMBIGUOUS_REFERENCE, msg) from None
        if "SignedProperties" in msg or "SigningCertificate" in msg:
            raise Refusal(Reason.XADES_INVALID, msg) from None
        raise Refusal(Reason.MALFORMED, msg) from None
    except (ValueError, TypeError, IndexError, KeyError, etree.LxmlError) as exc:
        raise Refusal(Reason.MALFORMED, f"{type(exc).__name__}: {exc}") from None
    return results if isinstance(results, list) else [results], n_later


@functools.lru_cache(maxsize=8)
def _methods(uris: frozenset[str]) -> list[SignatureMethod]:
    from signxml.algorithms import SignatureMethod
    return [m for m in SignatureMethod if m.value in uris]


@functools.lru_cache(maxsize=8)
def _digests(uris: frozenset[str]) -> list[DigestAlgorithm]:
    from signxml.algorithms import DigestAlgorithm
    return [d for d in DigestAlgorithm if d.value in uris]


def _remove_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    assert parent is not None, "a later signature block is never the root"
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _signing_time(results: Sequence[VerifyResult]) -> dt.datetime | None:
    for r in results:
        # (set on signxml's XAdESVerifyResult only)
        props: etree._Element | None = getattr(r, "signed_properties", None)
        if props is None:
            continue
        for ns in XADES_NS:
            text = props.findtext(f"{{{ns}}}SigningTime")
            if text:
                try:
                    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
                except ValueError:
                    raise Refusal(Reason.XADES_INVALID, f"SigningTime {text!r} is not a "
                                   "date-time") from None
                return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _comment_in_text(root: etree._Element) -> tuple[etree._Element, etree._Element] | None:
    """A comment inside the text of an element of *root*, and that element."""
    for c in root.iter(etree.Comment):
        parent = c.getparent()  # (never None: *root* holds the comment)
        if parent is None or any(a.tag == DS_SIGNATURE for a in c.iterancestors()):
            continue
        prev = c.getprevious()
        before = prev.tail if prev is not None else parent.text
        if (before and before.strip()) or (c.tail and c.tail.strip()):
            return c, parent
    return None


@functools.lru_cache(maxsize=256)
def _signer(cert: x509.Certificate) -> SignerInfo:
    return SignerInfo(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
                      format(cert.serial_number, "x"), fingerprint(cert),
                      cert.not_valid_before_utc, cert.not_valid_after_utc)


class _Where(TypedDict):
    """The fields of a :class:`SignatureReport` known before anything is checked."""

    index: int
    id: str | None
    path: str
    location: str


class _Found(TypedDict, total=False):
    """The fields of a :class:`SignatureReport` learnt as the checks go (kept when a later
    check refuses the signature)."""

    algorithm: str
    signer: SignerInfo
    covers: str
    whole_document: bool
    signing_time: dt.datetime | None
    anchor: str | None
    country: str | None
    revocation: str
    checks: tuple[str, ...]
    profile: str


def _verify_one(root: etree._Element, sig: etree._Element, index: int, *,
                trust: TrustStore | None, country: str | None, policy: VerificationPolicy,
                now: dt.datetime) -> SignatureReport:
    path = root.getroottree().getpath(sig)
    loc = location_of(sig, root)
    base: _Where = {"index": index, "id": sig.get("Id"), "path": path, "location": str(loc)}
    state: _Found = {}
    try:
        if loc is SignatureLocation.OTHER or loc not in policy.locations:
            raise refuse_location(sig, root, loc, path)
        alg, documents, xades = inspect_signature(sig, root, policy)
        state["algorithm"] = alg
        certs = _certificates(sig)
        leaf = _leaf(certs)
        state["signer"] = _signer(leaf)
        _check_key(leaf, policy)
        results, stripped = _crypto(root, sig, policy, leaf, xades)
        signing_time = _signing_time(results)
        state["signing_time"] = signing_time
        state["profile"] = str(Profile.XADES_BES if xades and signing_time is not None
                               else Profile.XMLDSIG)
        if policy.require_xades and not xades:  # (intact: its signer and content are known)
            raise refuse_plain(policy.profile)
        uri, target = documents[0]
        if loc is SignatureLocation.ENVELOPING:
            state["covers"] = f"its own ds:Object {uri} (enveloping signature)"
            state["whole_document"] = True
        elif target is None:
            state["covers"] = "the whole document" + (
                f" as it stood before the {stripped} later signature(s)"
                if stripped else "")
            state["whole_document"] = True
        else:
            state["covers"] = f"only element {root.getroottree().getpath(target)} ({uri})"
            if policy.require_whole_document:
                raise Refusal(Reason.PARTIAL_COVERAGE, "the signature covers only "
                               f"{root.getroottree().getpath(target)}, not the whole document",
                               uri, params={"element": root.getroottree().getpath(target)})
        content = next((r.signed_xml for r in results if r.signed_xml is not None
                        and etree.QName(r.signed_xml).localname not in
                        ("SignedProperties", "KeyInfo")), None)
        if signing_time is None and policy.require_xades:
            raise Refusal(Reason.XADES_INVALID, "no XAdES SigningTime (the xades-bes profile "
                           "requires one); sign with XAdES-BES")
        if signing_time and signing_time > now + policy.clock_skew:
            raise Refusal(Reason.SIGNING_TIME_IN_FUTURE, (
                f"SigningTime {signing_time.isoformat()} is later than now "
                f"({now.isoformat()}) plus the allowed skew {policy.clock_skew}"),
                params={"signing_time": signing_time.isoformat(), "now": now.isoformat()})
        if policy.refuse_comments_in_text:
            found = _comment_in_text(root if target is None else target)
            if found is not None:
                c, holder = found
                raise Refusal(Reason.COMMENT_IN_SIGNED_TEXT, (
                    f"a comment inside the text of {root.getroottree().getpath(holder)} "
                    f"(line {c.sourceline}); canonicalisation drops it, readers would not"),
                    params={"element": root.getroottree().getpath(holder),
                            "line": c.sourceline})
        chain = check_certificate(leaf, certs, trust=trust, country=country,
                                  signing_time=signing_time, now=now,
                                  require_crl=policy.require_crl)
        state["anchor"] = chain.anchor.subject if chain.anchor else None
        state["country"] = chain.anchor.country if chain.anchor else None
        state["revocation"] = chain.revocation
        state["checks"] = ("location", "algorithms", "references", "signature value",
                           "xades" if xades else "no xades", *chain.checks)
        if chain.reason:
            raise Refusal(chain.reason, chain.detail, params=chain.params)
        return SignatureReport(**base, valid=True, signed_content=content, **state)
    except Refusal as refusal:
        return SignatureReport(**base, valid=False, reason=refusal.reason,
                               detail=refusal.detail, reference=refusal.reference,
                               params=refusal.params, **state)


def verify_document(document: etree._ElementTree | etree._Element, *,
                    trust: TrustStore | None = None, country: str | None = None,
                    policy: VerificationPolicy = DEFAULT_POLICY,
                    now: dt.datetime | None = None) -> VerificationReport:
    """Verify every signature of a parsed document (parse with ``signing.safexml``).

    *country*: the member country the signers must chain to (any trusted country if None).
    Never raises for a bad signature: the report says what failed and why."""
    root = document.getroot() if isinstance(document, etree._ElementTree) else document
    now = now or dt.datetime.now(dt.UTC)
    if country:
        from signing.trust import check_country
        check_country(country)
    sigs = signature_elements(root)
    return VerificationReport(
        tuple(_verify_one(root, s, i, trust=trust, country=country, policy=policy, now=now)
              for i, s in enumerate(sigs)), country, now, str(policy.profile))
