"""The pipeline's signing parts, built from the :mod:`signing` package.

* :func:`hub_sealer`: the hub's identity (key loaded once, as a key object) and a
  :class:`signing.signer.Signer`; each accepted document is sealed with an enveloped XAdES-BES
  signature placed where UBL puts it (the document type's schema gives the order), added after
  any signature the sender made.
* :func:`hub_certificate`: the hub's certificate and its chain (PEM), published so that
  receivers of sealed documents pin it (``exchange trust add --hub``) and verify the seal.
* :func:`member_checker`: verifies a sender's signatures against the trust list of the
  shipment's origin country (the members file's ``trust_dir``).

When no hub key is configured and none exists in the data directory, a development identity
(self-signed) is made there once, so that ``exchange serve`` works on a laptop with no setup;
an operator configures ``EXCHANGE_HUB_KEY_FILE`` / ``EXCHANGE_HUB_CERT_FILE`` for real use.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from exchange.config import ConfigError, HubSettings
from exchange.documents.errors import HubCertificateUnavailable
from exchange.documents.pipeline import Sealer, SignatureCheck
from exchange.i18n import t
from exchange.paths import private_dir

if TYPE_CHECKING:  # signing is imported when first used: `exchange` commands start faster
    from adapters.members import Members
    from signing import SigningIdentity, TrustStore

__all__ = [
    "EnvelopeSigner",
    "HubSealer",
    "MemberChecker",
    "envelope_signer",
    "hub_certificate",
    "hub_sealer",
    "member_checker",
]

log = logging.getLogger(__name__)


class HubSealer:
    def __init__(self, identity: SigningIdentity,
                 schema_path: Callable[[str], Path] | None = None):
        from signing.signer import Signer

        self.identity = identity
        self.signer = Signer(identity)
        self._schema_path = schema_path

    def seal(self, tree: etree._ElementTree, data: bytes) -> bytes:
        schema = None
        if self._schema_path is not None:
            try:
                schema = self._schema_path(etree.QName(tree.getroot()).namespace or "")
            except (KeyError, LookupError):
                schema = None
        signed = self.signer.sign(tree, schema=schema)
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    def certificates_pem(self) -> bytes:
        """The hub's certificate first, then the chain it embeds in its seals (PEM)."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return b"".join(c.public_bytes(Encoding.PEM) for c in self.identity.certificates)


def hub_certificate(sealer: Sealer) -> bytes:
    """The certificate (and chain) the hub seals with, PEM, for anyone to pin; raises
    :class:`HubCertificateUnavailable` when the sealer is not the hub's identity."""
    if not isinstance(sealer, HubSealer):
        raise HubCertificateUnavailable(t("this exchange seals documents with no certificate "
                                          "it publishes"))
    return sealer.certificates_pem()


class EnvelopeSigner:
    """Signs the hub's delivery envelopes (our own XML, an enveloped ds:Signature), for
    adapters that push them (:class:`adapters.contract.EnvelopeSigner`)."""

    def __init__(self, identity: SigningIdentity):
        from signing.signer import Signer

        self.signer = Signer(identity)

    def sign(self, data: bytes) -> bytes:
        from signing.safexml import parse_xml

        signed = self.signer.sign(parse_xml(data))
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def envelope_signer(hub: HubSettings) -> EnvelopeSigner:
    """The hub's envelope signer (same identity as the seal; ConfigError if misconfigured)."""
    return EnvelopeSigner(hub_sealer(hub).identity)


def _make_dev_identity(key_file: Path, cert_file: Path) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private_dir(key_file.parent)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "CAREC exchange hub (development, self-signed)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    # Several processes may start at once (an API and dispatchers): write both files under
    # private names, then link the key into place (exactly one process wins) and publish the
    # certificate; the others wait for it.
    tmp_key = key_file.with_name(f".{key_file.name}.{os.getpid()}")
    tmp_cert = cert_file.with_name(f".{cert_file.name}.{os.getpid()}")
    for tmp, data in ((tmp_key, key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption())),
                      (tmp_cert, cert.public_bytes(serialization.Encoding.PEM))):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # owner-only, both
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    try:
        os.link(tmp_key, key_file)
    except FileExistsError:
        tmp_key.unlink()
        tmp_cert.unlink()
        _wait_for(cert_file)
        return
    os.replace(tmp_cert, cert_file)
    tmp_key.unlink()
    log.warning("made a self-signed development hub identity in %s; configure "
                "EXCHANGE_HUB_KEY_FILE and EXCHANGE_HUB_CERT_FILE for real use", key_file.parent)


def _wait_for(path: Path, seconds: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def hub_sealer(hub: HubSettings, *, schema_path: Callable[[str], Path] | None = None
               ) -> HubSealer:
    """Load the hub's identity; raise :class:`ConfigError` naming the setting at fault."""
    from signing.errors import KeyMismatchError, PassphraseError, SigningError
    from signing.keys import load_identity

    key_file, cert_file = hub.resolved_key_file(), hub.resolved_cert_file()
    if hub.key_file is None and hub.cert_file is None and not cert_file.exists():
        if key_file.exists():  # another process is making the development identity
            _wait_for(cert_file)
        else:
            _make_dev_identity(key_file, cert_file)
    for path, setting in ((key_file, "EXCHANGE_HUB_KEY_FILE"),
                          (cert_file, "EXCHANGE_HUB_CERT_FILE")):
        if not path.is_file():
            raise ConfigError(t("no such file: {path}", path=str(path)), setting=setting)
    try:
        identity = load_identity(key_file, cert_file, passphrase=hub.passphrase())
    except PassphraseError as exc:
        setting = ("EXCHANGE_HUB_KEY_PASSPHRASE_FILE" if hub.key_passphrase_file
                   else "EXCHANGE_HUB_KEY_PASSPHRASE")
        raise ConfigError(exc.message, setting=setting) from None
    except KeyMismatchError as exc:
        raise ConfigError(exc.message, setting="EXCHANGE_HUB_CERT_FILE") from None
    except SigningError as exc:
        raise ConfigError(exc.message, setting="EXCHANGE_HUB_KEY_FILE") from None
    return HubSealer(identity, schema_path)


class MemberChecker:
    """Verifies senders' signatures against the trust list of the origin's member.

    A member's ``trust_dir`` is a folder named by its country code holding CA certificates
    and CRLs (``<root>/<CC>/``, as :class:`signing.TrustStore` reads it); the stores are
    opened once and reused. Each member's ``signature_profile`` says what its senders'
    signatures must be (XAdES-BES, or plain XML-DSig)."""

    def __init__(self, members: Members):
        from signing import TrustStore, VerificationPolicy

        self.members = members
        self._stores: dict[str, TrustStore] = {}
        self._policies = {m.code: VerificationPolicy(profile=m.signature_profile)
                          for m in members}
        for member in members:
            trust_dir = Path(member.trust_dir)
            if trust_dir.name != member.code:
                raise ConfigError(t("{country}: trust_dir {trust_dir} must be a folder named "
                                    "{country} (one folder per country)",
                                    country=member.code, trust_dir=str(trust_dir)),
                                  setting="EXCHANGE_MEMBERS_FILE")
            self._stores[member.code] = TrustStore(trust_dir.parent)

    def check(self, tree: etree._ElementTree, data: bytes, *, country: str) -> SignatureCheck:
        from signing import DEFAULT_POLICY, verify_document
        from signing.placement import signature_elements

        if not signature_elements(tree.getroot()):
            return SignatureCheck(present=False, valid=False, report={})
        report = verify_document(tree, trust=self._stores.get(country), country=country,
                                 policy=self._policies.get(country, DEFAULT_POLICY))
        out: dict[str, Any] = dict(report.to_dict())  # JSON, with our "reason" beside it
        if not report.all_valid:
            bad = [s for s in report.signatures if not s.valid]
            out["reason"] = "; ".join(s.summary() for s in bad) if bad else "no valid signature"
        return SignatureCheck(present=True, valid=report.all_valid, report=out)


def member_checker(members: Members) -> MemberChecker:
    return MemberChecker(members)
