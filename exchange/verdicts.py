"""What the signing library's verdicts mean, in the reader's words.

:mod:`signing` knows nothing of languages (it sits below the exchange): a signature it
refuses carries a stable ``reason`` code, the values its English ``detail`` names
(``params``: the country, the certificate's subject, the dates) and that English detail; an
XML document it will not parse raises an :class:`~signing.safexml.XmlError` with a stable
``code``, its ``params`` (the limit, the encoding, libxml2's own words as ``parser``) and an
English message. Here each code becomes a sentence of the ``signatures`` catalogue saying
what is wrong and what to do, used wherever these reach a person: the refusal of a document
(problem answers, pages), the signature report of the API and the document page, the
well-formedness finding of a validation report and ``exchange verify``. The library's own
words stay beside them (``detail``, a finding's ``detail``) for integrators.

A report stored before ``params`` existed, or a code this module does not know, is said with
the short word of :data:`SIGNATURE_WORDS` (or the library's words for an XML refusal).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from exchange.i18n import Text, placeholders, render, t

if TYPE_CHECKING:
    from signing.safexml import XmlError

__all__ = ["SIGNATURE_WORDS", "localize_signature", "signature_lines", "signature_refusal",
           "signature_verdict", "xml_refusal"]

SIGNATURE_WORDS: dict[str, Text] = {
    "no-signature": t("there is no signature"),
    "signature-location": t("the signature is in a place it may not be"),
    "enveloping-signature": t("the document is inside the signature (enveloping): sign it "
                              "with an enveloped signature instead"),
    "detached-signature": t("the signature covers a file outside the document (detached): "
                            "sign the document itself instead"),
    "manifest-not-supported": t("the signature covers the document through a manifest, "
                                "which is not accepted: sign the document directly"),
    "malformed-signature": t("the signature is malformed"),
    "unsupported-algorithm": t("the signature uses an algorithm that is not accepted"),
    "unsupported-transform": t("the signature uses a transform that is not accepted"),
    "weak-key": t("the signing key is too weak"),
    "partial-coverage": t("the signature does not cover the whole document"),
    "ambiguous-reference": t("the signature points at more than one element"),
    "digest-mismatch": t("the document was changed after it was signed"),
    "bad-signature-value": t("the signature value does not match the document"),
    "xades-invalid": t("the signature's XAdES properties are not valid"),
    "xades-required": t("a XAdES signature is required; this is a plain XML signature"),
    "signing-time-in-future": t("the signing time is in the future"),
    "comment-in-signed-text": t("the signed text holds a comment"),
    "untrusted-chain": t("the certificate is not on the country's trust list"),
    "wrong-country": t("the certificate belongs to another country's trust list"),
    "expired": t("the certificate had expired"),
    "not-yet-valid": t("the certificate was not yet valid"),
    "key-usage": t("the certificate may not be used for signing"),
    "revoked": t("the certificate is revoked"),
    "no-crl": t("the certificate's revocation list is missing"),
}
"""A short word per reason code (the dashboard's ``word("signature")`` table)."""

_SIGN_AGAIN = ("enveloping-signature", "detached-signature", "manifest-not-supported")


def _signature_sentence(reason: str, p: Mapping[str, Any]) -> Text | None:
    """The sentence for *reason* (its placeholders filled from *p* by the caller)."""
    if reason == "no-signature":
        return t("The document carries no electronic signature: sign it (`exchange sign`) and "
                 "send it again.")
    if reason == "signature-location":
        if p.get("ubl"):
            return t("The signature stands directly under the UBL root element ({path}): UBL "
                     "keeps signatures in ext:UBLExtensions; sign with a UBL-aware tool "
                     "(`exchange sign` places it there).")
        return t("The signature at {path} is not in an allowed place (was the document moved "
                 "or wrapped?): a signature stands as the last child of the root element or, "
                 "in UBL, in the UBL extension.")
    if reason == "enveloping-signature":
        return t("The document is inside the signature (an enveloping signature), which is not "
                 "accepted: sign the document itself with an enveloped signature.")
    if reason == "detached-signature":
        return t("The signature covers {reference}, outside this document (a detached "
                 "signature), which is not accepted: sign the document itself with an "
                 "enveloped signature.")
    if reason == "manifest-not-supported":
        return t("The signature covers the document through a manifest ({reference}), which "
                 "is not accepted: sign the document itself with an enveloped signature.")
    if reason == "malformed-signature":
        return t("The signature is malformed: sign the document again with `exchange sign` "
                 "or another XAdES tool.")
    if reason == "unsupported-algorithm":
        return t("The signature uses the algorithm {algorithm}, which is not accepted: sign "
                 "with RSA or ECDSA over SHA-256, SHA-384 or SHA-512.")
    if reason == "unsupported-transform":
        return t("The signature uses the transform {transform}, which is not accepted (only "
                 "the enveloped-signature transform and canonicalization are): sign the "
                 "document itself with an enveloped signature.")
    if reason == "weak-key":
        if "curve" in p:
            return t("The signing key uses the elliptic curve {curve}, which is not accepted: "
                     "sign with a key on P-256, P-384 or P-521.")
        return t("The signing key is too weak: an RSA key of {bits} bits, where at least "
                 "{min_bits} are required; sign with a stronger key.")
    if reason == "partial-coverage":
        return t("The signature covers only {element}, not the whole document: sign the whole "
                 "document.")
    if reason == "ambiguous-reference":
        return t("The signature's reference {reference} matches {count} elements (duplicated "
                 "or wrapped content): send the document exactly as it was signed.")
    if reason == "digest-mismatch":
        if p.get("reference"):
            return t("The document was changed after it was signed (the digest of {reference} "
                     "does not match): send it exactly as it was signed, or sign it again.")
        return t("The document was changed after it was signed: send it exactly as it was "
                 "signed, or sign it again.")
    if reason == "bad-signature-value":
        return t("The signature value does not match the signed content and the signer's "
                 "certificate: sign the document again.")
    if reason == "xades-invalid":
        return t("The signature's XAdES signed properties (signing time, signing-certificate "
                 "digest) are missing or not valid: sign again with XAdES-BES.")
    if reason == "xades-required":
        return t("This is a plain XML-DSig signature, without XAdES signed properties, where "
                 "the {profile} profile is required: sign with XAdES-BES (signing time and "
                 "signing-certificate digest).")
    if reason == "signing-time-in-future":
        return t("The signing time {signing_time} is in the future (now {now}): check the "
                 "clock of the signing computer and sign again.")
    if reason == "comment-in-signed-text":
        return t("A comment stands inside the text of {element} (line {line}): the signature "
                 "does not cover it, a reader would see it; remove the comment and sign again.")
    if reason == "untrusted-chain":
        if p.get("no_trust_list"):
            return t("There is no trust list to check the signer's certificate against: the "
                     "operator must install the country's trust list.")
        if p.get("country"):
            return t("The signer's certificate (issued by {issuer}) is not on the trust list "
                     "of {country}: sign with a certificate that this trust list holds, or ask "
                     "the customs authority of {country} to add its issuer.")
        return t("The signer's certificate (issued by {issuer}) is on no trust list of the "
                 "exchange: sign with a certificate of a member country's trust list.")
    if reason == "wrong-country":
        return t("The signer's certificate is on the trust list of {signer_country} "
                 "({anchor}), not of {country}: documents from {country} are signed with a "
                 "certificate of the trust list of {country}.")
    if reason == "expired":
        if p.get("issuer"):
            return t("The issuer's certificate {subject} expired on {not_after}: the customs "
                     "authority must renew its trust list.")
        return t("The signer's certificate {subject} expired on {not_after}: sign with a "
                 "valid certificate.")
    if reason == "not-yet-valid":
        if p.get("issuer"):
            return t("The issuer's certificate {subject} is not valid before {not_before}.")
        return t("The signer's certificate {subject} is not valid before {not_before}: check "
                 "the clock of the signing computer, or sign with a valid certificate.")
    if reason == "key-usage":
        return t("The signer's certificate may not be used for signing (its key usage allows "
                 "neither digitalSignature nor nonRepudiation): sign with a signing "
                 "certificate.")
    if reason == "revoked":
        return t("The certificate {subject} (serial {serial}) was revoked on {revoked_at}: "
                 "sign with a valid certificate.")
    if reason == "no-crl":
        return t("The trust list of {country} has no certificate revocation list (CRL) of "
                 "{issuer}, and revocation must be checked: the operator must add the CRL.")
    return None


def _when(value: Any) -> Any:
    """An ISO 8601 moment as ``2026-05-01 14:30 UTC`` (other values as they are)."""
    if not isinstance(value, str):
        return value
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


_MOMENTS = ("not_after", "not_before", "revoked_at", "signing_time", "now", "at")


def _filled(text: Text | None, params: Mapping[str, Any]) -> Text | None:
    """*text* with the values it names from *params*; None when one is missing."""
    if text is None:
        return None
    wanted = placeholders(text.msgid)
    if not wanted <= params.keys():
        return None
    return Text(text.msgid, {k: _when(params[k]) if k in _MOMENTS else params[k]
                             for k in wanted})


def signature_verdict(reason: str | None, params: Mapping[str, Any] | None = None) -> Text:
    """Why a signature is not accepted and what to do, from its ``reason`` and ``params``."""
    code = str(reason or "")
    found = _filled(_signature_sentence(code, params or {}), params or {})
    if found is not None:
        return found
    return SIGNATURE_WORDS.get(code) or t("the signature does not verify ({reason})",
                                          reason=code or "?")


def _verdict_of(signature: Mapping[str, Any]) -> Text:
    return signature_verdict(signature.get("reason"), signature.get("params"))


def signature_refusal(report: Mapping[str, Any]) -> Text:
    """The detail of a refusal for a bad signature: the first invalid one's verdict (its
    number when the document has several)."""
    signatures = list(report.get("signatures") or [])
    bad = [(n, s) for n, s in enumerate(signatures, start=1) if not s.get("valid")]
    if not bad:
        return t("see the signature report")
    number, first = bad[0]
    if len(signatures) == 1:
        return _verdict_of(first)
    return t("signature {number} of {count}: {verdict}", number=number, count=len(signatures),
             verdict=_verdict_of(first))


def localize_signature(report: dict[str, Any] | None, locale: str | None
                       ) -> dict[str, Any] | None:
    """A signature report (as stored or sent) with each invalid signature's ``message`` in
    *locale*; ``detail`` keeps the library's English words. The dict is not changed."""
    if not report or not report.get("signatures"):
        return report
    signatures = [{**s, "message": render(_verdict_of(s), locale)} if not s.get("valid")
                  else s for s in report["signatures"]]
    return {**report, "signatures": signatures}


def signature_lines(report: Mapping[str, Any]) -> list[Text]:
    """One line per signature of a verification report (``VerificationReport.to_dict()``),
    for ``exchange verify``: who signed, through which trust list, or why it is not valid."""
    signatures = list(report.get("signatures") or [])
    if not signatures:
        return [t("no signature found [{reason}]", reason="no-signature")]
    lines = []
    for n, s in enumerate(signatures, start=1):
        signer = (s.get("signer") or {}).get("subject") or t("unknown signer")
        if not s.get("valid"):
            lines.append(t("signature {number}: NOT VALID [{reason}] {verdict} ({signer})",
                           number=n, reason=s.get("reason") or "?", verdict=_verdict_of(s),
                           signer=signer))
        elif s.get("signing_time"):
            lines.append(t("signature {number}: valid ({profile}), signed by {signer} at "
                           "{signed_at}, trusted through {anchor} ({country})", number=n,
                           profile=s.get("profile"), signer=signer,
                           signed_at=_when(s["signing_time"]), anchor=s.get("anchor"),
                           country=s.get("country")))
        else:
            lines.append(t("signature {number}: valid ({profile}), signed by {signer}, trusted "
                           "through {anchor} ({country})", number=n, profile=s.get("profile"),
                           signer=signer, anchor=s.get("anchor"), country=s.get("country")))
    return lines


def _xml_sentence(code: str, p: Mapping[str, Any]) -> Text | None:
    if code == "xml.not-well-formed":
        if p.get("empty"):
            return t("The document is empty: send the XML document itself.")
        return t("The document is not well-formed XML (the parser says: {parser}): correct "
                 "the XML and send it again.")
    if code == "xml.too-large":
        return t("The document is {size:,} bytes, over the limit of {limit:,} bytes: send a "
                 "smaller document.")
    if code == "xml.doctype-forbidden":
        return t("The document has a DOCTYPE declaration, which is not allowed (DTDs and "
                 "entities are refused for safety): remove the DOCTYPE and send it again.")
    if code == "xml.entity-forbidden":
        return t("The document uses an entity reference, which is not allowed (the parser "
                 "says: {parser}): write the character itself, or a character reference "
                 "(&#...;).")
    if code == "xml.too-deep":
        return t("Elements are nested deeper than {limit} levels, which is not allowed: send "
                 "a document with fewer levels.")
    if code == "xml.xinclude-forbidden":
        return t("The document uses XInclude ({element}), which is not allowed: put the "
                 "content in the document itself.")
    if code == "xml.encoding-unsupported":
        return t("UTF-32 documents are not accepted: save the document in UTF-8 or UTF-16.")
    if code == "xml.encoding-unknown":
        return t("The XML declaration names an unknown encoding, {encoding}: save the document "
                 "in UTF-8 and declare it.")
    if code == "xml.encoding-mismatch":
        if "offset" in p:
            return t("The bytes are not valid {encoding}, the encoding the document declares "
                     "(at byte offset {offset}): save the document in the encoding it "
                     "declares (UTF-8 is best).")
        if p.get("actual") == "8-bit":
            return t("The XML declaration says {declared}, but the bytes are not UTF-16 (no "
                     "byte-order mark, 8-bit content): make the declaration match the file "
                     "(UTF-8 is best).")
        return t("The document is encoded in {actual}, but its XML declaration says "
                 "{declared}: make the declaration match the file (UTF-8 is best).")
    return None


def xml_refusal(error: XmlError) -> Text | str:
    """Why the XML parser refused a document and what to do; the library's English message
    for a code this module does not know."""
    return _filled(_xml_sentence(error.code, error.params), error.params) or error.message
