"""A demo PKI: per-country demo CAs, signing certificates, CRLs and trust folders.

For demonstrations and tests only: every certificate says "CAREC demo" and every key is
generated on the spot with ``cryptography`` (none is ever committed or shipped).

    pki = DemoPKI(folder)
    kz = pki.leaf("KZ")                          # RSA-2048 signer issued by the KZ demo CA
    ec = pki.leaf("UZ", kind="ec")               # ECDSA P-256 signer issued by the UZ CA
    old = pki.leaf("KZ", expired=True)           # also: not_yet_valid=True, revoked=True
    kz.key_path, kz.cert_path                    # PEM files (key unencrypted)
    kz.write_key(path, b"secret")                # encrypted PEM copy
    kz.write_pkcs12(path, b"secret")             # PKCS#12 with key, cert and CA
    kz.identity()                                # signing.SigningIdentity
    trust = pki.trust_dir(folder / "trust", ["KZ", "UZ"])   # <CC>/ca-*.pem + ca-*.crl

A certificate made with ``revoked=True`` is listed in its CA's CRL, which ``trust_dir``
writes next to the CA certificate. ``pki.ca("KZ")`` gives the CA (``.key``, ``.cert``,
``.cert_path``). ``pki.self_signed()`` gives a signer no trust list knows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signing.files import write_private

if TYPE_CHECKING:
    from signing.keys import PrivateKey, SigningIdentity

__all__ = ["DemoPKI", "CA", "Leaf"]

DAY = dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(cn: str, country: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CAREC demo")]
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    return x509.Name(attrs)


def _key_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class CA:
    country: str
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    cert_path: Path
    revoked: list[int] = field(default_factory=list)

    def crl(self) -> x509.CertificateRevocationList:
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject)
                   .last_update(_now() - DAY).next_update(_now() + 30 * DAY))
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(_now() - DAY).build())
        return builder.sign(self.key, hashes.SHA256())

    def crl_pem(self) -> bytes:
        return self.crl().public_bytes(serialization.Encoding.PEM)


@dataclass
class Leaf:
    country: str | None
    key: PrivateKey
    cert: x509.Certificate
    key_path: Path
    cert_path: Path
    ca: CA | None = None

    def write_key(self, path: Path, passphrase: bytes | None = None) -> Path:
        return write_private(path, _key_pem(self.key, passphrase))

    def write_pkcs12(self, path: Path, passphrase: bytes | None) -> Path:
        enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
               else serialization.NoEncryption())
        cas = [self.ca.cert] if self.ca else None
        data = pkcs12.serialize_key_and_certificates(b"signer", self.key, self.cert, cas, enc)
        return write_private(path, data)

    def identity(self) -> SigningIdentity:
        from signing.keys import SigningIdentity

        return SigningIdentity(self.key, self.cert)


class DemoPKI:
    """Generates and caches demo CAs and signers under *folder*."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._cas: dict[str, CA] = {}
        self._count = 0

    def ca(self, country: str) -> CA:
        if country not in self._cas:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = _name(f"{country} customs demo CA", country)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(_now() - 3650 * DAY).not_valid_after(_now() + 3650 * DAY)
                    .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                 False, False), critical=True)
                    .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                   critical=False)
                    .sign(key, hashes.SHA256()))
            path = write_private(self.folder / "ca" / f"{country}-ca.pem", _cert_pem(cert))
            self._cas[country] = CA(country, key, cert, path)
        return self._cas[country]

    def leaf(self, country: str, *, kind: str = "rsa", bits: int = 2048, cn: str | None = None,
             expired: bool = False, not_yet_valid: bool = False, revoked: bool = False,
             key_usage: x509.KeyUsage | None = None) -> Leaf:
        """A signing certificate issued by *country*'s demo CA."""
        ca = self.ca(country)
        return self._issue(country, ca.key, ca.cert, ca, kind=kind, bits=bits, cn=cn,
                           expired=expired, not_yet_valid=not_yet_valid, revoked=revoked,
                           key_usage=key_usage)

    def self_signed(self, *, kind: str = "rsa", bits: int = 2048) -> Leaf:
        """A signer whose certificate no trust folder holds."""
        return self._issue(None, None, None, None, kind=kind, bits=bits, cn="Unknown signer")

    def _issue(self, country: str | None, ca_key: rsa.RSAPrivateKey | None,
               ca_cert: x509.Certificate | None, ca: CA | None, *, kind: str, bits: int,
               cn: str | None = None, expired: bool = False, not_yet_valid: bool = False,
               revoked: bool = False, key_usage: x509.KeyUsage | None = None) -> Leaf:
        self._count += 1
        key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ec"
               else rsa.generate_private_key(public_exponent=65537, key_size=bits))
        subject = _name(cn or f"Forwarder {self._count} ({country or 'none'})", country)
        start, end = _now() - DAY, _now() + 365 * DAY
        if expired:
            start, end = _now() - 400 * DAY, _now() - 30 * DAY
        if not_yet_valid:
            start, end = _now() + 30 * DAY, _now() + 400 * DAY
        usage = key_usage or x509.KeyUsage(True, True, False, False, False, False, False,
                                           False, False)
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(ca_cert.subject if ca_cert else subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(usage, critical=True))
        cert = builder.sign(ca_key or key, hashes.SHA256())
        if revoked and ca is not None:
            ca.revoked.append(cert.serial_number)
        stem = self.folder / "signers" / f"signer-{self._count}"
        key_path = write_private(stem.with_suffix(".key.pem"), _key_pem(key))
        cert_path = write_private(stem.with_suffix(".cert.pem"), _cert_pem(cert))
        return Leaf(country, key, cert, key_path, cert_path, ca)

    def trust_dir(self, folder: Path, countries: list[str] | tuple[str, ...]) -> Path:
        """Write a trust folder: ``<folder>/<CC>/ca-<CC>.pem`` and ``ca-<CC>.crl`` per country."""
        for cc in countries:
            ca = self.ca(cc)
            write_private(folder / cc / f"ca-{cc}.pem", _cert_pem(ca.cert))
            write_private(folder / cc / f"ca-{cc}.crl", ca.crl_pem())
        return folder

