"""Certificate checks: chain to a country's trust anchors, validity, key usage, CRLs."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from signing.report import Reason
from signing.trust import Anchor, TrustStore

__all__ = ["ChainResult", "check_certificate"]

MAX_DEPTH = 6


@dataclass(frozen=True)
class ChainResult:
    reason: Reason | None
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    """The values *detail* names (subjects, countries, dates as ISO 8601)."""
    anchor: Anchor | None = None
    revocation: str = "not checked"
    checks: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1024)
def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature):  # signature or name mismatch
        return False


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a == b  # compares the DER encodings


def _build(leaf: x509.Certificate, pool: list[x509.Certificate],
           anchors: list[Anchor]) -> tuple[list[x509.Certificate], Anchor] | None:
    """Path from *leaf* up to one of *anchors* through CA certificates of *pool*."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_DEPTH):
        for anchor in anchors:
            if _same(current, anchor.certificate) or _issued_by(current, anchor.certificate):
                return path, anchor
        nxt = next((c for c in pool if _is_ca(c) and not any(_same(c, p) for p in path)
                    and _issued_by(current, c)), None)
        if nxt is None:
            return None
        path.append(nxt)
        current = nxt
    return None


def _validity(cert: x509.Certificate, when: dt.datetime, what: str, label: str
              ) -> tuple[Reason, str, dict[str, Any]] | None:
    params = {"subject": cert.subject.rfc4514_string(), "issuer": what != "certificate",
              "at": when.isoformat(), "signing_time": label == "signing time"}
    if when < cert.not_valid_before_utc:
        return Reason.NOT_YET_VALID, (f"{what} {cert.subject.rfc4514_string()} is not valid "
                                      f"before {cert.not_valid_before_utc.isoformat()} "
                                      f"({label} {when.isoformat()})"), {
            **params, "not_before": cert.not_valid_before_utc.isoformat()}
    if when > cert.not_valid_after_utc:
        return Reason.EXPIRED, (f"{what} {cert.subject.rfc4514_string()} expired "
                                f"{cert.not_valid_after_utc.isoformat()} "
                                f"({label} {when.isoformat()})"), {
            **params, "not_after": cert.not_valid_after_utc.isoformat()}
    return None


def _key_usage_ok(cert: x509.Certificate) -> bool:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ku.digital_signature or ku.content_commitment


def _revocation(path: list[x509.Certificate], anchor: Anchor, trust: TrustStore,
                require_crl: bool) -> tuple[Reason | None, str, str, dict[str, Any]]:
    issuers = path[1:] + [anchor.certificate]
    statuses = []
    for cert, issuer in zip(path, issuers, strict=True):
        if _same(cert, issuer):
            continue
        held = trust.crls_of(anchor.country, issuer)
        if not held:
            statuses.append("no CRL")
            if require_crl:
                return (Reason.NO_CRL, f"no CRL of {issuer.subject.rfc4514_string()} in the "
                        f"{anchor.country} trust folder", "no CRL",
                        {"issuer": issuer.subject.rfc4514_string(), "country": anchor.country})
            continue
        for crl in held:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return (Reason.REVOKED, f"certificate {cert.subject.rfc4514_string()} "
                        f"(serial {cert.serial_number:x}) was revoked on "
                        f"{entry.revocation_date_utc.isoformat()}", "revoked",
                        {"subject": cert.subject.rfc4514_string(),
                         "serial": f"{cert.serial_number:x}",
                         "revoked_at": entry.revocation_date_utc.isoformat()})
        statuses.append("not revoked")
    return None, "", "checked against CRL" if "no CRL" not in statuses else (
        "partly checked (no CRL for some issuers)" if "not revoked" in statuses else "no CRL"
    ), {}


def check_certificate(leaf: x509.Certificate, embedded: list[x509.Certificate], *,
                      trust: TrustStore | None, country: str | None,
                      signing_time: dt.datetime | None, now: dt.datetime,
                      require_crl: bool = False) -> ChainResult:
    """Chain to *country*'s anchors (or any country's when *country* is None; or the hub's
    pinned certificate, whatever *country*), validity (at signing time and now), key usage,
    then revocation. A signer no trust list knows is reported as such first (with its
    validity problem, if any, in the detail): trusting it is what is missing."""
    checks: list[str] = []
    bad = next((b for when, label in ((signing_time, "signing time"), (now, "now"))
                if when is not None
                and (b := _validity(leaf, when, "certificate", label)) is not None), None)
    hub = next((a for a in trust.hub_certificates() if _same(a.certificate, leaf)), None) \
        if trust is not None else None
    found = None
    if trust is not None and hub is None:
        pool = [c for c in embedded if not _same(c, leaf)]
        wanted = trust.anchors(country) if country else trust.all_anchors()
        found = _build(leaf, pool, wanted)
        if found is None:
            also = f"; besides, {bad[1]}" if bad else ""
            besides = {"besides": str(bad[0])} if bad else {}
            if country:
                others = [a for a in trust.all_anchors() if a.country != country]
                other = _build(leaf, pool, others)
                if other is not None:
                    return ChainResult(Reason.WRONG_COUNTRY, (
                        f"the signer chains to {other[1].subject} of {other[1].country}, not "
                        f"to a trust anchor of {country}{also}"), anchor=other[1], params={
                        "anchor": other[1].subject, "signer_country": other[1].country,
                        "country": country, **besides})
            where = f"the {country} trust list" if country else "any trust list"
            return ChainResult(Reason.UNTRUSTED_CHAIN, (
                f"issuer {leaf.issuer.rfc4514_string()} does not chain to {where}{also}"),
                params={"issuer": leaf.issuer.rfc4514_string(), "country": country or "",
                        **besides})
    if bad:
        return ChainResult(bad[0], bad[1], params=bad[2])
    checks.append("validity period")
    if not _key_usage_ok(leaf):
        return ChainResult(Reason.KEY_USAGE, "the certificate's key usage allows neither "
                           "digitalSignature nor nonRepudiation")
    checks.append("key usage")
    if trust is None:
        return ChainResult(Reason.UNTRUSTED_CHAIN, "no trust list to check the signer against",
                           checks=tuple(checks), params={"no_trust_list": True})
    if hub is not None:
        checks.append("pinned hub certificate")
        return ChainResult(None, anchor=hub, revocation="not checked (pinned certificate)",
                           checks=tuple(checks))
    assert found is not None, "an unknown signer was answered above"
    path, anchor = found
    for ca in path[1:] + [anchor.certificate]:
        bad = _validity(ca, now, "issuer certificate", "now")
        if bad:
            return ChainResult(bad[0], bad[1], anchor=anchor, checks=tuple(checks),
                               params=bad[2])
    checks.append(f"chain to {anchor.country} trust anchor")
    reason, detail, revocation, params = _revocation(path, anchor, trust, require_crl)
    if reason:
        return ChainResult(reason, detail, anchor=anchor, revocation=revocation,
                           checks=tuple(checks), params=params)
    checks.append("revocation")
    return ChainResult(None, anchor=anchor, revocation=revocation, checks=tuple(checks))
