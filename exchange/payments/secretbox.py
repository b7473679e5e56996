"""Secrets the hub must read back, sealed at rest with AES-256-GCM (``cryptography``).

API keys are stored as hashes, but a payment provider's HMAC secret cannot be: the hub
recomputes the HMAC of every signed request. So the secret is stored sealed with the hub's
secrets key, and a copy of the database (a backup, a replica, a dump attached to a ticket)
does not give it away::

    aesgcm1:<base64url(nonce(12) || ciphertext || tag(16))>

The row's identity is the associated data: a sealed value copied into another row does not
open. The key is 32 random bytes, base64 in a file (``[payments] secrets_key_file``,
``EXCHANGE_PAYMENTS_SECRETS_KEY_FILE``); the default file ``<EXCHANGE_HOME>/hub/secrets.key``
is made on first use (mode 0600, its folder 0700), unless the database already holds
secrets sealed with a key (:func:`exchange.payments.providers.secret_box` refuses: a
database restored without its key). Processes on several hosts sharing one PostgreSQL must
be given the same file, and a backup of the database is only whole with this file.
"""
from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exchange.i18n import t
from exchange.paths import private_dir
from exchange.payments.errors import SecretBoxError

__all__ = ["PREFIX", "SecretBox", "SecretBoxError"]  # SecretBoxError: home payments.errors

PREFIX = "aesgcm1:"
_NONCE = 12


class SecretBox:
    """Seals and opens secrets with one AES-256-GCM key; the context binds a sealed value
    to its row. Raises :class:`SecretBoxError` for a bad key or a value that does not open."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise SecretBoxError(t("the secrets key must be 32 bytes (AES-256)"))
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> SecretBox:
        """The key in *path* (base64 of 32 bytes); made there first when *create* and the
        file does not exist yet."""
        if create and not path.exists():
            try:
                private_dir(path.parent)
                # O_EXCL: two processes starting at once do not overwrite each other's key
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                if not path.is_file():  # not the other process's new key: cannot make it
                    raise SecretBoxError(t("cannot make the secrets key {path}: {error}",
                                           path=str(path), error=str(exc.strerror or exc))
                                         ) from None
            else:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretBoxError(t("cannot read the secrets key {path}: {error}", path=str(path),
                                   error=str(getattr(exc, "strerror", None) or exc))) from None
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise SecretBoxError(t("the secrets key {path} is not base64", path=str(path))
                                 ) from None
        if len(key) != 32:
            raise SecretBoxError(t("the secrets key {path} holds {size} bytes, not 32",
                                   path=str(path), size=len(key)))
        return cls(key)

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    def seal(self, secret: str, *, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str, *, context: str) -> str:
        """The secret sealed in *value* for *context*; SecretBoxError if it was sealed with
        another key, for another row, or changed."""
        if not self.is_sealed(value):
            raise SecretBoxError(t("the stored secret is not sealed"))
        try:
            raw = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
            raise SecretBoxError(t("the stored secret does not open with this secrets key "
                                   "(another key, another row, or changed)")) from None
