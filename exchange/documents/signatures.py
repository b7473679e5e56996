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

Given the database it will seal for (``store=``), :func:`hub_sealer` also checks the identity
against the one the database records (:mod:`exchange.store.identities`): a database that
records one, or holds sealed documents, is never given a new identity because the key files
are missing (a database restored without them), and files of another identity are refused;
the first identity used with a database is recorded. :func:`new_hub_identity` (``exchange hub
new-identity``) is the deliberate way to another identity.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from exchange.config import ConfigError, HubSettings
from exchange.documents.errors import HubCertificateUnavailable
from exchange.documents.pipeline import Sealer, SignatureCheck
from exchange.errors import UsageError
from exchange.i18n import t
from exchange.paths import private_dir

if TYPE_CHECKING:  # signing is imported when first used: `exchange` commands start faster
    from adapters.members import Members
    from signing import SigningIdentity, TrustStore

    from exchange.store.uow import UnitOfWorkFactory

__all__ = [
    "EnvelopeSigner",
    "HubSealer",
    "MemberChecker",
    "NewIdentity",
    "envelope_signer",
    "hub_certificate",
    "hub_sealer",
    "member_checker",
    "new_hub_identity",
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


def envelope_signer(hub: HubSettings, *, store: UnitOfWorkFactory | None = None
                    ) -> EnvelopeSigner:
    """The hub's envelope signer (same identity as the seal, checked against *store* as
    :func:`hub_sealer` does; ConfigError if misconfigured)."""
    return EnvelopeSigner(hub_sealer(hub, store=store).identity)


def _make_dev_identity(key_file: Path, cert_file: Path, passphrase: bytes | None = None
                       ) -> bool:
    """Make a self-signed identity in the two files (the key encrypted with *passphrase*,
    the configured one, if any); False if another process made it first (then its files
    are used)."""
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
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase
        else serialization.NoEncryption())
    for tmp, data in ((tmp_key, key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  encryption)),
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
        return False
    os.replace(tmp_cert, cert_file)
    tmp_key.unlink()
    log.warning("made a self-signed development hub identity in %s; configure "
                "EXCHANGE_HUB_KEY_FILE and EXCHANGE_HUB_CERT_FILE for real use", key_file.parent)
    return True


def _wait_for(path: Path, seconds: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def hub_sealer(hub: HubSettings, *, schema_path: Callable[[str], Path] | None = None,
               store: UnitOfWorkFactory | None = None) -> HubSealer:
    """Load the hub's identity; raise :class:`ConfigError` naming the setting at fault. With
    *store* (the database it will seal for), the identity must be the one the database
    records, and a database that records one (or holds sealed documents) is never given a
    new one (see the module docstring); the first identity used with it is recorded."""
    key_file, cert_file = hub.resolved_key_file(), hub.resolved_cert_file()
    made = False
    if hub.key_file is None and hub.cert_file is None and not cert_file.exists():
        if key_file.exists():  # another process is making the development identity
            _wait_for(cert_file)
        else:
            if store is not None:
                _refuse_missing(store, key_file, cert_file)
            made = _make_dev_identity(key_file, cert_file, hub.passphrase())
    if store is not None and not (key_file.is_file() and cert_file.is_file()):
        _refuse_missing(store, key_file, cert_file)
    identity = _load_identity(hub, key_file, cert_file)
    if store is not None:
        _check_recorded(store, identity, key_file, cert_file, how="created" if made else "found")
    return HubSealer(identity, schema_path)


def _load_identity(hub: HubSettings, key_file: Path, cert_file: Path) -> SigningIdentity:
    from signing.errors import KeyMismatchError, PassphraseError, SigningError
    from signing.keys import load_identity

    for path, setting in ((key_file, "EXCHANGE_HUB_KEY_FILE"),
                          (cert_file, "EXCHANGE_HUB_CERT_FILE")):
        if not path.is_file():
            raise ConfigError(t("no such file: {path}", path=str(path)), setting=setting)
    try:
        return load_identity(key_file, cert_file, passphrase=hub.passphrase())
    except PassphraseError as exc:
        setting = ("EXCHANGE_HUB_KEY_PASSPHRASE_FILE" if hub.key_passphrase_file
                   else "EXCHANGE_HUB_KEY_PASSPHRASE")
        raise ConfigError(exc.message, setting=setting) from None
    except KeyMismatchError as exc:
        raise ConfigError(exc.message, setting="EXCHANGE_HUB_CERT_FILE") from None
    except SigningError as exc:
        raise ConfigError(exc.message, setting="EXCHANGE_HUB_KEY_FILE") from None


def _fingerprint(identity: SigningIdentity) -> str:
    """SHA-256 of the hub certificate, lowercase hex, as ``exchange trust list`` shows it."""
    from signing.trust import fingerprint

    return fingerprint(identity.certificate)


def _read_identity_record(store: UnitOfWorkFactory) -> tuple[str | None, bool]:
    """(the recorded identity's fingerprint, whether the database holds sealed documents);
    the second is only looked up when no identity is recorded."""
    try:
        with store.reading() as uow:
            current = uow.hub_identities.current()
            if current is not None:
                return current.fingerprint, True
            return None, uow.hub_identities.holds_sealed_documents()
    except Exception as exc:  # noqa: BLE001 - any driver error (an unmigrated database)
        raise ConfigError(t("cannot read the hub identity recorded in the database "
                            "(`exchange db upgrade` makes its table): {error}", error=str(exc)),
                          setting="EXCHANGE_DATABASE_URL") from None


def _refuse_missing(store: UnitOfWorkFactory, key_file: Path, cert_file: Path) -> None:
    """Raise when the database was sealed by a hub identity whose files are missing: a
    new identity would be rejected by every receiver that pinned the old certificate."""
    recorded, sealed = _read_identity_record(store)
    params = {"key": str(key_file), "cert": str(cert_file)}
    if recorded is not None:
        raise ConfigError(t(
            "the hub key and certificate of this database are missing: it was sealed by the "
            "hub identity whose certificate has SHA-256 {fingerprint}, and {key} and {cert} do "
            "not exist (a database restored without them?). Restore them from the backup, "
            "where they are kept beside the database, or point EXCHANGE_HUB_KEY_FILE and "
            "EXCHANGE_HUB_CERT_FILE at them. A new identity would make every receiver that "
            "pinned the hub's certificate refuse its seals and deliveries; to start with a new "
            "hub identity on purpose, run `exchange hub new-identity` and give the receivers "
            "the new certificate (`exchange hub certificate`)", fingerprint=recorded, **params),
            setting="EXCHANGE_HUB_KEY_FILE")
    if sealed:
        raise ConfigError(t(
            "the hub key and certificate of this database are missing: it holds documents "
            "sealed by a hub identity, and {key} and {cert} do not exist (a database restored "
            "without them?). Restore them from the backup, where they are kept beside the "
            "database, or point EXCHANGE_HUB_KEY_FILE and EXCHANGE_HUB_CERT_FILE at them. A new "
            "identity would make every receiver that pinned the hub's certificate refuse its "
            "seals and deliveries; to start with a new hub identity on purpose, run `exchange "
            "hub new-identity` and give the receivers the new certificate (`exchange hub "
            "certificate`)", **params), setting="EXCHANGE_HUB_KEY_FILE")


def _record(store: UnitOfWorkFactory, identity: SigningIdentity, *, how: str,
            replace: bool) -> str | None:
    """Record *identity* as the database's hub identity, unless one is recorded (or, with
    *replace*, unless it is this one); returns the fingerprint in force before."""
    from exchange.store.repositories import utcnow

    found = _fingerprint(identity)
    try:
        with store.writing() as uow:
            repo = uow.hub_identities
            repo.lock()
            current = repo.current()
            before = current.fingerprint if current is not None else None
            if before is None or (replace and before != found):
                repo.record(found, identity.certificate.subject.rfc4514_string(), how=how,
                            now=utcnow())
                uow.commit()
            return before
    except Exception as exc:  # noqa: BLE001 - any driver error (an unmigrated database)
        raise ConfigError(t("cannot record the hub identity in the database: {error}",
                            error=str(exc)), setting="EXCHANGE_DATABASE_URL") from None


def _check_recorded(store: UnitOfWorkFactory, identity: SigningIdentity, key_file: Path,
                    cert_file: Path, *, how: str) -> None:
    """Refuse files of another identity than the recorded one; record the first."""
    found = _fingerprint(identity)
    recorded, _ = _read_identity_record(store)
    if recorded is None:  # a new database, or one from before identities were recorded
        recorded = _record(store, identity, how=how, replace=False)
        if recorded is None:
            log.info("hub identity %s recorded in the database", found)
            return
    if recorded != found:
        raise ConfigError(t(
            "{key} and {cert} are not the hub identity of this database: it was sealed by the "
            "certificate with SHA-256 {recorded}, these files hold the certificate with SHA-256 "
            "{found}. Restore the hub key and certificate of this database from the backup, "
            "where they are kept beside the database, or point EXCHANGE_HUB_KEY_FILE and "
            "EXCHANGE_HUB_CERT_FILE at them; if the hub's identity changed on purpose (a new "
            "key, a renewed certificate), record it with `exchange hub new-identity` and give "
            "the receivers the new certificate (`exchange hub certificate`)",
            key=str(key_file), cert=str(cert_file), recorded=recorded, found=found),
            setting="EXCHANGE_HUB_CERT_FILE")


@dataclass(frozen=True)
class NewIdentity:
    """What :func:`new_hub_identity` recorded."""

    fingerprint: str
    subject: str
    previous: str | None
    """The identity in force before (None: the database recorded none)."""
    made: bool
    """A new self-signed key and certificate were made (in the default files)."""
    key_file: Path
    cert_file: Path


def new_hub_identity(hub: HubSettings, *, store: UnitOfWorkFactory) -> NewIdentity:
    """Make the hub identity of the configured files the one of the database, on purpose
    (``exchange hub new-identity``): with the default files and neither of them there, a
    new self-signed identity is made in them first. A :class:`UsageError` when the files
    already hold the recorded identity; :class:`ConfigError` as :func:`hub_sealer`."""
    key_file, cert_file = hub.resolved_key_file(), hub.resolved_cert_file()
    made = False
    if (hub.key_file is None and hub.cert_file is None and not key_file.exists()
            and not cert_file.exists()):
        made = _make_dev_identity(key_file, cert_file, hub.passphrase())
    identity = _load_identity(hub, key_file, cert_file)
    found = _fingerprint(identity)
    previous = _record(store, identity, how="new-identity", replace=True)
    if previous == found:
        raise UsageError(t(
            "{key} and {cert} already hold the hub identity of this database (the certificate "
            "with SHA-256 {fingerprint}): nothing was recorded. To change it, point "
            "EXCHANGE_HUB_KEY_FILE and EXCHANGE_HUB_CERT_FILE at another key and certificate, "
            "or move the default files away first (a new self-signed identity is then made "
            "there)", key=str(key_file), cert=str(cert_file), fingerprint=found))
    log.warning("hub identity %s recorded in the database in place of %s", found,
                previous or "none")
    return NewIdentity(found, identity.certificate.subject.rfc4514_string(), previous, made,
                       key_file, cert_file)


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
