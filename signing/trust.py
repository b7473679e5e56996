"""Trust lists per member country: ``<root>/<CC>/`` holds CA certificates and certificate
revocation lists; ``<root>/hub/`` pins the exchange hub's own certificate (its seal).

Each file is classified by its content, whatever its name: one certificate, several (a
bundle), a CRL, or a mix, in PEM or DER. A file that holds none of these (or a PEM block that
cannot be decoded) is named in a warning (:meth:`TrustStore.warnings`, and the log) and
skipped: it never takes the country's whole trust list down.

The default root is ``$EXCHANGE_HOME/trust``; the caller (the exchange) passes it in, this
module reads no configuration.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from signing.errors import TrustStoreError

__all__ = ["COUNTRY_RE", "HUB", "Anchor", "Contents", "TrustStore", "classify", "fingerprint"]

log = logging.getLogger(__name__)

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
HUB = "hub"
"""The folder (and the ``country`` of an anchor) of the hub's pinned certificate."""

_T = TypeVar("_T")
# RFC 7468 textual encoding: one block per label; the base64 inside is decoded by cryptography
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_CERT_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE")
_CRL_LABELS = (b"X509 CRL",)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class Anchor:
    country: str
    certificate: x509.Certificate
    path: Path

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


@dataclass
class Contents:
    """What one file (or one folder) holds, and what could not be read."""

    certificates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def classify(data: bytes) -> Contents:
    """Sort the content of one file: certificates and CRLs (PEM, any number of blocks, or
    DER), and a problem for each part that is neither."""
    found = Contents()
    if b"-----BEGIN" in data:
        blocks = list(_PEM_BLOCK.finditer(data))
        if not blocks:
            found.problems.append("a PEM header without a complete block")
        for n, m in enumerate(blocks, start=1):
            label = m.group(1)
            name = label.decode("ascii")
            try:
                if label in _CERT_LABELS:
                    found.certificates.append(x509.load_pem_x509_certificate(m.group(0)))
                elif label in _CRL_LABELS:
                    found.crls.append(x509.load_pem_x509_crl(m.group(0)))
                else:
                    found.problems.append(f"PEM block {n} is a {name}, not a certificate "
                                          "or a CRL")
            except ValueError as exc:
                found.problems.append(f"PEM block {n} ({name}) cannot be decoded ({exc})")
        return found
    cert = _try(lambda: x509.load_der_x509_certificate(data))
    if cert is not None:
        found.certificates.append(cert)
        return found
    crl = _try(lambda: x509.load_der_x509_crl(data))
    if crl is not None:  # (an empty CRL is falsy: compare with None)
        found.crls.append(crl)
        return found
    found.problems.append("neither an X.509 certificate nor a CRL (PEM or DER)")
    return found


def check_country(country: str) -> str:
    if not COUNTRY_RE.match(country or ""):
        raise TrustStoreError(f"{country!r} is not an ISO 3166-1 alpha-2 country code (like KZ)")
    return country


class TrustStore:
    """Reads (and adds to) the per-country trust folders under *root*; contents are read
    once per store object."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._folders: dict[str, tuple[list[Anchor], list[x509.CertificateRevocationList],
                                       list[str]]] = {}
        self._crls_of: dict[tuple[str, bytes], list[x509.CertificateRevocationList]] = {}

    def countries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and COUNTRY_RE.match(p.name))

    def _folder(self, name: str) -> tuple[list[Anchor], list[x509.CertificateRevocationList],
                                          list[str]]:
        """Every file of ``<root>/<name>/``, classified by content (read once)."""
        if name not in self._folders:
            anchors: list[Anchor] = []
            crls: list[x509.CertificateRevocationList] = []
            warnings: list[str] = []
            folder = self.root / name
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                if path.is_dir():
                    continue
                try:
                    found = classify(path.read_bytes())
                except OSError as exc:
                    found = Contents(problems=[f"cannot be read ({exc.strerror})"])
                anchors.extend(Anchor(name, c, path) for c in found.certificates)
                crls.extend(found.crls)
                for problem in found.problems:
                    warning = f"{path}: {problem}; skipped"
                    log.warning("trust list %s: %s", name, warning)
                    warnings.append(warning)
            self._folders[name] = (anchors, crls, warnings)
        return self._folders[name]

    def anchors(self, country: str) -> list[Anchor]:
        check_country(country)
        return self._folder(country)[0]

    def crls(self, country: str) -> list[x509.CertificateRevocationList]:
        check_country(country)
        return self._folder(country)[1]

    def warnings(self, country: str | None = None) -> list[str]:
        """The files (or parts) of a country's folder that were skipped, and why (of every
        folder read so far, the hub's included, when *country* is None)."""
        if country is not None:
            return self._folder(check_country(country))[2]
        return [w for _, _, ws in self._folders.values() for w in ws]

    def hub_certificates(self) -> list[Anchor]:
        """The hub's pinned certificates (``<root>/hub/``): a signature made with one of them
        is the exchange's seal."""
        return self._folder(HUB)[0]

    def crls_of(self, country: str, issuer: x509.Certificate
                ) -> list[x509.CertificateRevocationList]:
        """The country's CRLs issued (and signed) by *issuer* (memoised)."""
        key = (country, issuer.fingerprint(hashes.SHA256()))
        if key not in self._crls_of:
            self._crls_of[key] = [
                c for c in self.crls(country) if c.issuer == issuer.subject
                # cryptography types an issuer's key narrower than Certificate.public_key()
                # (which includes X25519/X448 keys, that cannot sign); any key is tried here
                and c.is_signature_valid(issuer.public_key())]  # type: ignore[arg-type]
        return self._crls_of[key]

    def all_anchors(self) -> list[Anchor]:
        return [a for cc in self.countries() for a in self.anchors(cc)]

    def _read_source(self, source: Path) -> Contents:
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"{source}: cannot be read ({exc.strerror})") from None
        found = classify(data)
        if found.problems or not (found.certificates or found.crls):
            raise TrustStoreError(f"{source}: neither an X.509 certificate nor a CRL (PEM or "
                                  f"DER): {'; '.join(found.problems)}")
        return found

    def add(self, country: str, source: str | Path) -> Path:
        """Copy a CA certificate or a CRL into the country's folder; return the new file.

        A certificate must be a CA certificate (basic constraints CA=true); a CRL is stored
        as ``*.crl``. The file is checked before anything is written."""
        check_country(country)
        source = Path(source)
        found = self._read_source(source)
        folder = self.root / country
        if found.crls and not found.certificates and len(found.crls) == 1:
            crl = found.crls[0]
            der = crl.public_bytes(serialization.Encoding.DER)
            target = folder / f"crl-{hashes_hex(der)[:16]}.crl"
            folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
            self._forget(country)
            return target
        if found.crls:
            raise TrustStoreError(f"{source}: add certificates and CRLs one file at a time "
                                  f"({len(found.certificates)} certificate(s), "
                                  f"{len(found.crls)} CRL(s))")
        certs = found.certificates
        for cert in certs:
            try:
                bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                bc = None
            if bc is None or not bc.ca:
                raise TrustStoreError(f"{source}: {cert.subject.rfc4514_string()} is not a CA "
                                      "certificate (basic constraints CA=true); trust lists "
                                      "hold certification authorities (the hub's own "
                                      "certificate is added with --hub)")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"ca-{fingerprint(certs[0])[:16]}.pem"
        target.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
        self._forget(country)
        return target

    def add_hub(self, source: str | Path) -> Path:
        """Pin the hub's certificate (the first one of *source*, as ``exchange hub
        certificate`` and ``GET /v1/hub/certificate`` publish it, its chain after it): the
        signatures it makes are then trusted as the exchange's seal, whatever country is
        expected. Only that certificate is pinned, never a CA of its chain."""
        source = Path(source)
        found = self._read_source(source)
        if not found.certificates:
            raise TrustStoreError(f"{source}: no certificate (the hub's certificate is "
                                  "published by `exchange hub certificate` and "
                                  "GET /v1/hub/certificate)")
        cert = found.certificates[0]
        folder = self.root / HUB
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"hub-{fingerprint(cert)[:16]}.pem"
        target.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._forget(HUB)
        return target

    def _forget(self, name: str) -> None:
        self._folders.pop(name, None)
        self._crls_of.clear()


def hashes_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize().hex()


def _try(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except ValueError:
        return None
