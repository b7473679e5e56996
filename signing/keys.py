"""Signing identities: a private key loaded once as a key object, with its certificate.

Keys come from PEM (encrypted or not) or PKCS#12 files; passphrases from an environment
variable or a file (never from the command line, never logged). A key that does not belong
to its certificate, an RSA key under 2048 bits or an EC key off the allowed curves is
refused here, before anything is signed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.errors import KeyLoadError, KeyMismatchError, PassphraseError, WeakKeyError

__all__ = ["SigningIdentity", "load_identity", "read_passphrase", "MIN_RSA_BITS",
           "ALLOWED_CURVES"]

MIN_RSA_BITS = 2048
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningIdentity:
    """A loaded private key, its certificate and the intermediate certificates to embed."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        check_key(self.key)
        if _public_der(self.key.public_key()) != _public_der(self.certificate.public_key()):
            raise KeyMismatchError(
                "the private key does not belong to the certificate "
                f"(subject {self.certificate.subject.rfc4514_string()}); nothing was signed")

    @property
    def certificates(self) -> list[x509.Certificate]:
        return [self.certificate, *self.chain]

    def __repr__(self) -> str:  # never show key material
        return f"SigningIdentity(subject={self.certificate.subject.rfc4514_string()!r})"


def _public_der(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def check_key(key: object) -> PrivateKey:
    """Refuse keys too weak or of a kind we do not sign with; return the key."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise WeakKeyError(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} needed")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise WeakKeyError(f"EC curve {key.curve.name} is not allowed "
                               f"(use one of {', '.join(sorted(ALLOWED_CURVES))})")
        return key
    raise WeakKeyError(f"{type(key).__name__}: only RSA and ECDSA keys can sign")


def read_passphrase(*, env: str | None = None, file: str | Path | None = None) -> bytes | None:
    """The passphrase from environment variable *env* or the first line of *file*."""
    if env and file:
        raise PassphraseError("give the passphrase through an environment variable or a file, "
                              "not both")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise PassphraseError(f"environment variable {env} is not set")
        return value.encode()
    if file:
        try:
            text = Path(file).read_bytes()
        except OSError as exc:
            raise PassphraseError(f"{file}: passphrase file cannot be read "
                                  f"({exc.strerror})") from None
        return text.splitlines()[0] if text else b""
    return None


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"{path}: {what} cannot be read ({exc.strerror})") from None


def _load_pem_key(data: bytes, path: str | Path, passphrase: bytes | None
                  ) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise PassphraseError(f"{path}: the key is encrypted; give its passphrase") from None
        raise PassphraseError(f"{path}: the key is not encrypted; give no passphrase") from None
    except ValueError:
        if passphrase is not None and b"ENCRYPTED" in data:
            raise PassphraseError(f"{path}: wrong passphrase for this key") from None
        raise KeyLoadError(f"{path}: not a PEM private key") from None


def _load_certs(data: bytes, path: str | Path) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise KeyLoadError(f"{path}: not an X.509 certificate (PEM or DER)") from None


def load_identity(key: str | Path | None = None, cert: str | Path | None = None, *,
                  pkcs12_file: str | Path | None = None,
                  passphrase: bytes | None = None) -> SigningIdentity:
    """Load a signing identity from a PEM key and certificate file (the certificate file may
    carry intermediates after the signer's certificate), or from one PKCS#12 file."""
    if pkcs12_file is not None:
        if key is not None or cert is not None:
            raise KeyLoadError("give either a PKCS#12 file or a key and a certificate")
        data = _read(pkcs12_file, "PKCS#12 file")
        try:
            loaded = pkcs12.load_pkcs12(data, passphrase)
        except ValueError:
            raise PassphraseError(f"{pkcs12_file}: cannot open the PKCS#12 file (wrong or "
                                  "missing passphrase, or not PKCS#12)") from None
        if loaded.key is None or loaded.cert is None:
            raise KeyLoadError(f"{pkcs12_file}: the PKCS#12 file needs a key and its certificate")
        return SigningIdentity(check_key(loaded.key), loaded.cert.certificate,
                               tuple(c.certificate for c in loaded.additional_certs))
    if key is None or cert is None:
        raise KeyLoadError("a key and its certificate are both needed")
    private = _load_pem_key(_read(key, "key file"), key, passphrase)
    certs = _load_certs(_read(cert, "certificate file"), cert)
    return SigningIdentity(check_key(private), certs[0], tuple(certs[1:]))
