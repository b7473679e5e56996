"""Parties and their API keys: create, list, rotate, revoke, authenticate.

A key is ``cxk_<key id>_<secret>``: the key id (public, 16 hex digits) finds the row, the
secret (32 random bytes, URL-safe base64) is checked against its stored SHA-256 with a
constant-time comparison. A fast hash is the right tool here: the secret is 256 bits from
``secrets``, so no dictionary or brute force can reach it, and a slow password hash (scrypt,
argon2) would only add tens of milliseconds of CPU to every request. The secret itself is
shown once, when the key is made, and never stored or logged.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from exchange import i18n
from exchange.domain import Party, PartyKind
from exchange.errors import UsageError
from exchange.i18n import t
from exchange.parties.errors import AuthError, PartyNotFoundError
from exchange.store.models import ApiKeyRow, PartyRow
from exchange.store.repositories import Scope, utcnow
from exchange.store.uow import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AuthError",
    "IssuedKey",
    "KeyListing",
    "PartyListing",
    "PartyNotFoundError",
    "Principal",
    "add_party",
    "authenticate",
    "change_key",
    "choose_locale",
    "issue_key",
    "list_parties",
    "party_names",
    "preferred_locale",
    "register_party",
    "revoke_key",
    "rotate_key",
    "scope_of",
    "scope_of_party",
]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"^cxk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the party, the key used, and the language the party chose for its
    pages (None: it chose none, the browser's language applies)."""

    party: Party
    key_id: str
    locale: str | None = None

    @property
    def kind(self) -> PartyKind:
        return self.party.kind


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    party_id: str
    token: str  # shown once


def scope_of(principal: Principal) -> Scope:
    return scope_of_party(principal.party)


def scope_of_party(party: Party) -> Scope:
    """What *party* may read, whether it is calling now or is told of events later (an
    event notification goes only where the API would answer)."""
    if party.kind is PartyKind.OPERATOR:
        return Scope(everything=True)
    if party.kind is PartyKind.FORWARDER:
        return Scope(forwarder_id=party.id)
    return Scope(country=party.country)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_party(uow: UnitOfWork, *, kind: PartyKind, name: str, country: str | None = None,
              members: frozenset[str] | None = None) -> tuple[Party, IssuedKey]:
    """Create a party and its first key (in the caller's transaction)."""
    name = name.strip()
    if not name:
        raise UsageError(t("a party needs a name"))
    if country is not None:
        country = country.upper()
        if not _COUNTRY.match(country):
            raise UsageError(t("country {country!r} is not an ISO 3166-1 alpha-2 code",
                               country=country))
        if members is not None and country not in members:
            raise UsageError(t("country {country!r} is not a member of this exchange "
                               "(members: {members})", country=country,
                               members=", ".join(sorted(members))))
    if kind is PartyKind.CUSTOMS and country is None:
        raise UsageError(t("a customs party needs --country"))
    party = Party(id=str(uuid.uuid4()), kind=kind, name=name, country=country)
    uow.parties.add(PartyRow(id=party.id, kind=str(kind), name=name, country=country,
                             created_at=utcnow()))
    uow.flush()
    return party, issue_key(uow, party.id)


def issue_key(uow: UnitOfWork, party_id: str) -> IssuedKey:
    if uow.parties.get(party_id) is None:
        raise PartyNotFoundError(t("no party with id {party_id}", party_id=party_id))
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    uow.parties.add_key(ApiKeyRow(key_id=key_id, party_id=party_id, secret_sha256=_hash(secret),
                                  created_at=utcnow()))
    return IssuedKey(key_id=key_id, party_id=party_id, token=f"cxk_{key_id}_{secret}")


def revoke_key(uow: UnitOfWork, key_id: str) -> None:
    row = uow.parties.key(key_id)
    if row is None:
        raise PartyNotFoundError(t("no API key with id {key_id}", key_id=key_id))
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def rotate_key(uow: UnitOfWork, key_id: str) -> IssuedKey:
    """Issue a new key for the same party and revoke *key_id*."""
    row = uow.parties.key(key_id)
    if row is None:
        raise PartyNotFoundError(t("no API key with id {key_id}", key_id=key_id))
    if row.revoked_at is not None:
        raise UsageError(t("API key {key_id} is already revoked", key_id=key_id))
    issued = issue_key(uow, row.party_id)
    row.revoked_at = utcnow()
    return issued


def authenticate(uow: UnitOfWork, authorization: str | None) -> Principal:
    """Check an ``Authorization`` header value; raise :class:`AuthError` with the reason."""
    if not authorization:
        raise AuthError(t("this request needs an API key: Authorization: Bearer <key>"),
                        code="auth.missing")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(t("the Authorization header must be 'Bearer <key>'"),
                        code="auth.malformed")
    m = _TOKEN.match(token.strip())
    if not m:
        raise AuthError(t("the API key is not in the form this exchange issues"),
                        code="auth.invalid")
    key_id, secret = m.groups()
    row = uow.parties.credentials(key_id)
    if row is None or not hmac.compare_digest(row.secret_sha256, _hash(secret)):
        log.warning("authentication failed", extra={"key_id": key_id})
        raise AuthError(t("the API key is not valid"), code="auth.invalid")
    if row.revoked_at is not None:
        log.warning("revoked key used", extra={"key_id": key_id})
        raise AuthError(t("the API key has been revoked"), code="auth.revoked")
    return Principal(Party(id=row.party_id, kind=PartyKind(row.kind), name=row.name,
                           country=row.country), key_id=key_id,
                     locale=row.locale if row.locale in i18n.LOCALES else None)


# ------------------------------------------------------- use cases in their own transaction
def register_party(store: UnitOfWorkFactory, *, kind: PartyKind, name: str,
                   country: str | None = None, members: frozenset[str] | None = None
                   ) -> tuple[Party, IssuedKey]:
    """Create a party and its first key, committed (``exchange parties add``)."""
    with store.writing() as uow:
        party, key = add_party(uow, kind=kind, name=name, country=country, members=members)
        uow.commit()
    return party, key


def change_key(store: UnitOfWorkFactory, key_id: str, *, rotate: bool) -> IssuedKey | None:
    """Revoke *key_id*; when *rotate*, issue its party a new key first (returned), committed."""
    with store.writing() as uow:
        issued = rotate_key(uow, key_id) if rotate else None
        if not rotate:
            revoke_key(uow, key_id)
        uow.commit()
    return issued


def choose_locale(store: UnitOfWorkFactory, party_id: str, locale: str | None) -> None:
    """Keep the language *party_id* chose for its pages, wherever it signs in next (None:
    forget it, the browser's language applies again); committed. A locale the exchange has
    no catalogue for is refused."""
    if locale is not None and locale not in i18n.LOCALES:
        raise UsageError(t("No language {locale} here (known: {known}).", locale=locale,
                           known=", ".join(i18n.LOCALES)))
    with store.writing() as uow:
        row = uow.parties.get(party_id)
        if row is None:
            raise PartyNotFoundError(f"no party with id {party_id}")
        row.locale = locale
        uow.commit()


def preferred_locale(store: UnitOfWorkFactory, party_id: str) -> str | None:
    """The language *party_id* chose for its pages, None if none."""
    with store.reading() as uow:
        row = uow.parties.get(party_id)
        if row is None:
            raise PartyNotFoundError(f"no party with id {party_id}")
        return row.locale if row.locale in i18n.LOCALES else None


@dataclass(frozen=True)
class KeyListing:
    key_id: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class PartyListing:
    party: Party
    keys: tuple[KeyListing, ...]


def list_parties(store: UnitOfWorkFactory) -> list[PartyListing]:
    """Every party with its keys (never the secrets)."""
    with store.reading() as uow:
        keys: dict[str, list[KeyListing]] = {}
        for k in uow.parties.keys():
            keys.setdefault(k.party_id, []).append(
                KeyListing(k.key_id, k.created_at, k.revoked_at))
        return [PartyListing(Party(id=p.id, kind=PartyKind(p.kind), name=p.name,
                                   country=p.country), tuple(keys.get(p.id, ())))
                for p in uow.parties.list()]


def party_names(store: UnitOfWorkFactory, party_ids: Iterable[str]) -> dict[str, str]:
    """The names of these parties (an id that names no party is left out): who acted, for
    a timeline."""
    wanted = set(party_ids)
    if not wanted:
        return {}
    with store.reading() as uow:
        return {p.id: p.name for p in uow.parties.list() if p.id in wanted}
