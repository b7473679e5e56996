"""Trust lists per member country: ``<root>/<CC>/`` holds CA certificates (``*.pem``,
``*.crt``, ``*.cer``, PEM or DER) and certificate revocation lists (``*.crl``, PEM or DER).

The default root is ``$EXCHANGE_HOME/trust``; the caller (the exchange) passes it in, this
module reads no configuration.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from signing.errors import TrustStoreError

__all__ = ["TrustStore", "Anchor", "fingerprint", "COUNTRY_RE"]

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CERT_SUFFIXES = (".pem", ".crt", ".cer")

_T = TypeVar("_T")


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


def _load_certs(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _load_crl(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def check_country(country: str) -> str:
    if not COUNTRY_RE.match(country or ""):
        raise TrustStoreError(f"{country!r} is not an ISO 3166-1 alpha-2 country code (like KZ)")
    return country


class TrustStore:
    """Reads (and adds to) the per-country trust folders under *root*; contents are read
    once per store object."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._anchors: dict[str, list[Anchor]] = {}
        self._crls: dict[str, list[x509.CertificateRevocationList]] = {}
        self._crls_of: dict[tuple[str, bytes], list[x509.CertificateRevocationList]] = {}

    def countries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and COUNTRY_RE.match(p.name))

    def anchors(self, country: str) -> list[Anchor]:
        check_country(country)
        if country not in self._anchors:
            found: list[Anchor] = []
            folder = self.root / country
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                if path.suffix.lower() not in CERT_SUFFIXES:
                    continue
                try:
                    found.extend(Anchor(country, c, path) for c in _load_certs(path))
                except (OSError, ValueError) as exc:
                    raise TrustStoreError(f"{path}: not a readable certificate ({exc})") from None
            self._anchors[country] = found
        return self._anchors[country]

    def crls(self, country: str) -> list[x509.CertificateRevocationList]:
        check_country(country)
        if country not in self._crls:
            found: list[x509.CertificateRevocationList] = []
            folder = self.root / country
            for path in sorted(folder.glob("*.crl")) if folder.is_dir() else []:
                try:
                    found.append(_load_crl(path))
                except (OSError, ValueError) as exc:
                    raise TrustStoreError(f"{path}: not a readable CRL ({exc})") from None
            self._crls[country] = found
        return self._crls[country]

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

    def add(self, country: str, source: str | Path) -> Path:
        """Copy a CA certificate or a CRL into the country's folder; return the new file.

        A certificate must be a CA certificate (basic constraints CA=true); a CRL is stored
        as ``*.crl``. The file is checked before anything is written."""
        check_country(country)
        source = Path(source)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"{source}: cannot be read ({exc.strerror})") from None
        folder = self.root / country
        crl = _try(lambda: x509.load_pem_x509_crl(data))
        if crl is None:  # (an empty CRL is falsy: compare with None)
            crl = _try(lambda: x509.load_der_x509_crl(data))
        if crl is not None:
            der = crl.public_bytes(serialization.Encoding.DER)
            name = f"crl-{hashes_hex(der)[:16]}.crl"
            target = folder / name
            folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
            self._crls.pop(country, None)
            self._crls_of.clear()
            return target
        try:
            certs = _load_certs(source)
        except ValueError:
            raise TrustStoreError(f"{source}: neither an X.509 certificate nor a CRL "
                                  "(PEM or DER)") from None
        for cert in certs:
            try:
                bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                bc = None
            if bc is None or not bc.ca:
                raise TrustStoreError(f"{source}: {cert.subject.rfc4514_string()} is not a CA "
                                      "certificate (basic constraints CA=true); trust lists "
                                      "hold certification authorities")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"ca-{fingerprint(certs[0])[:16]}.pem"
        target.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
        self._anchors.pop(country, None)
        return target


def hashes_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize().hex()


def _try(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except ValueError:
        return None
