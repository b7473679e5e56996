"""Payment providers' signing secrets and the HMAC signature of their requests.

A payment provider may sign each request: ``X-Signature: sha256=<hex HMAC-SHA256 of the
raw body>`` (the header's name is ``[payments] signature_header``) with a secret an operator
makes for it (:func:`issue_provider_secret`, ``exchange payments provider-secret``). The
secret is stored sealed (:mod:`exchange.payments.secretbox`) because the hub recomputes the
HMAC of every signed request. :func:`verify_provider_signature` is the check every request
of a payment provider passes: signed when the provider has a secret, or when
``[payments] require_signature``; other callers are not asked for one.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from exchange.domain import PartyKind
from exchange.errors import ConfigError
from exchange.i18n import t
from exchange.parties.errors import PartyNotFoundError
from exchange.payments.errors import (
    NotAProviderError,
    SecretBoxError,
    SignatureError,
    SignatureKeyUnavailable,
)
from exchange.payments.secretbox import SecretBox
from exchange.store.repositories import utcnow

if TYPE_CHECKING:
    from exchange.config import PaymentsSettings
    from exchange.parties.keys import Principal
    from exchange.store.ledger import LedgerRepository
    from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "check_signature", "issue_provider_secret", "new_provider_secret", "provider_secret",
    "seal_provider_secrets", "secret_box", "set_provider_secret", "sign_body",
    "verify_provider_signature",
]

log = logging.getLogger(__name__)


def secret_box(settings: PaymentsSettings, *, store: UnitOfWorkFactory | None = None
               ) -> SecretBox:
    """The box sealing providers' (and event subscriptions') secrets, from ``[payments]
    secrets_key_file``; the default file is made on first use, unless *store* (the database
    it will open) already holds secrets sealed with a key: a database restored without its
    secrets key, whose secrets a new key would never open. That, and a key that cannot be
    used, is a ``ConfigError`` naming ``EXCHANGE_PAYMENTS_SECRETS_KEY_FILE``."""
    path = settings.resolved_secrets_key_file()
    create = settings.secrets_key_file is None
    if create and store is not None and not path.exists() and _holds_sealed_secrets(store):
        raise ConfigError(t(
            "the database holds payment providers' secrets sealed with a secrets key, but "
            "{path} does not exist (a database restored without its key?): put the secrets "
            "key file of the backup there, or point EXCHANGE_PAYMENTS_SECRETS_KEY_FILE at it. "
            "A new key would leave those secrets unreadable; if the key is lost, write a new "
            "one there yourself (`head -c 32 /dev/urandom | base64`, mode 0600) and give every "
            "payment provider a new secret (`exchange payments provider-secret`)",
            path=str(path)), setting="EXCHANGE_PAYMENTS_SECRETS_KEY_FILE")
    try:
        return SecretBox.from_file(path, create=create)
    except SecretBoxError as exc:
        raise ConfigError(exc.text or exc.message,
                          setting="EXCHANGE_PAYMENTS_SECRETS_KEY_FILE") from None


def _holds_sealed_secrets(store: UnitOfWorkFactory) -> bool:
    try:
        with store.reading() as uow:
            ledger: LedgerRepository = uow.ledger
            return any(SecretBox.is_sealed(row.secret) for row in ledger.secrets()) or any(
                SecretBox.is_sealed(row.secret) for row in uow.notifications.subscriptions())
    except Exception as exc:  # noqa: BLE001 - any driver error (an unmigrated database)
        raise ConfigError(t("cannot read the payment providers' secrets: {error}",
                            error=str(exc)),
                          setting="EXCHANGE_DATABASE_URL") from None


def _secret_row(party_id: str) -> str:
    return f"payment_provider_secrets:{party_id}"


def provider_secret(uow: UnitOfWork, box: SecretBox, party_id: str) -> str | None:
    """The provider's HMAC secret (None: none set). A value stored before secrets were
    sealed is read as it is, until :func:`seal_provider_secrets` seals it."""
    ledger: LedgerRepository = uow.ledger
    stored = ledger.secret(party_id)
    if stored is None or not box.is_sealed(stored):
        return stored
    return box.open(stored, context=_secret_row(party_id))


def set_provider_secret(uow: UnitOfWork, box: SecretBox, party_id: str, secret: str,
                        now: datetime) -> None:
    ledger: LedgerRepository = uow.ledger
    ledger.set_secret(party_id, box.seal(secret, context=_secret_row(party_id)), now)


def seal_provider_secrets(uow: UnitOfWork, box: SecretBox) -> int:
    """Seal the secrets stored in the clear by earlier versions; returns how many."""
    ledger: LedgerRepository = uow.ledger
    sealed = 0
    for row in ledger.secrets():
        if not box.is_sealed(row.secret):
            row.secret = box.seal(row.secret, context=_secret_row(row.party_id))
            sealed += 1
    return sealed


def new_provider_secret() -> str:
    return secrets.token_urlsafe(32)


def issue_provider_secret(party_id: str, *, store: UnitOfWorkFactory, box: SecretBox,
                          now: datetime | None = None) -> str:
    """Make (or replace) the signing secret of payment provider *party_id* and return it
    (to be shown once). Raises ``PartyNotFoundError`` or :class:`NotAProviderError`."""
    with store.writing() as uow:
        party = uow.parties.get(party_id)
        if party is None:
            raise PartyNotFoundError(t("no party with id {party_id}", party_id=party_id))
        if party.kind != PartyKind.PAYMENT_PROVIDER:
            raise NotAProviderError(t("party {party_id} is a {kind}, not a payment-provider",
                                      party_id=party_id, kind=str(party.kind)))
        secret = new_provider_secret()
        set_provider_secret(uow, box, party_id, secret, now or utcnow())
        uow.commit()
    return secret


def sign_body(secret: str, body: bytes) -> str:
    """The header value a provider sends: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str | None, header: str | None, body: bytes, *,
                    required: bool, header_name: str = "X-Signature") -> None:
    """Raise :class:`SignatureError` unless *header* signs *body* with *secret*
    (nothing to check when there is no secret and signatures are not *required*)."""
    if secret is None:
        if required:
            raise SignatureError(t("this payment provider has no signing secret yet; an "
                                   "operator sets one with `exchange payments provider-secret`"),
                                 code="payments.signature-not-configured")
        return
    if not header:
        raise SignatureError(t("this payment provider signs its requests: send {header}: "
                               "sha256=<hex HMAC-SHA256 of the body>", header=header_name),
                             code="payments.signature-missing")
    if not hmac.compare_digest(header.strip().encode(), sign_body(secret, body).encode()):
        raise SignatureError(t("the {header} header does not match the body "
                               "(HMAC-SHA256 with this provider's secret)", header=header_name),
                             code="payments.signature-invalid")


def verify_provider_signature(body: bytes, signature: str | None, *, principal: Principal,
                              store: UnitOfWorkFactory, box: SecretBox,
                              settings: PaymentsSettings) -> None:
    """Check the *signature* (the header's value) of a request *body* from *principal*:
    only a payment provider's requests are checked (see the module docstring). Raises
    :class:`SignatureError` (refused) or :class:`SignatureKeyUnavailable` (this hub cannot
    open the provider's secret: the secrets key is not the one it was sealed with)."""
    if principal.kind is not PartyKind.PAYMENT_PROVIDER:
        return
    party_id = principal.party.id
    try:
        with store.reading() as uow:
            secret = provider_secret(uow, box, party_id)
    except SecretBoxError as exc:
        log.error("payment provider %s: %s", party_id, exc.message)
        raise SignatureKeyUnavailable(
            "the hub cannot open this provider's signing secret; an operator must check "
            "the secrets key") from None
    try:
        check_signature(secret, signature, body, required=settings.require_signature,
                        header_name=settings.signature_header)
    except SignatureError as exc:
        log.warning("payment provider %s: %s", party_id, exc.code)
        raise
