"""``Idempotency-Key``: the same key and request give the first answer; another request under
the same key is refused.

The key row and the request's effects are written in one transaction, so an answer is only
remembered if its effects were committed. Concurrent requests with one key: on PostgreSQL the
second ``INSERT ... ON CONFLICT DO NOTHING`` waits for the first transaction and then finds the
row; on SQLite writers queue on ``BEGIN IMMEDIATE``. Either way the loser replays the winner's
answer. Requests are fingerprinted by their parsed content (JSON canonicalised, each document
by SHA-256), so a retried multipart body with a new boundary is still the same request.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Header
from starlette.responses import Response

from exchange.audit import canonical_json
from exchange.http.problems import Problem
from exchange.i18n import t
from exchange.parties.keys import Principal
from exchange.services import Services
from exchange.store import UnitOfWork

__all__ = ["Answer", "IdempotencyKey", "check_key", "commit_once", "fingerprint", "replay"]

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", json_schema_extra={"pattern": _KEY.pattern},
    description="Makes retries safe: 1 to 255 visible ASCII characters (a key of another "
                "form answers 400 idempotency-key-invalid)")]
"""The request header, as a route parameter (checked with :func:`check_key`)."""


@dataclass
class Answer:
    """An HTTP answer as it is stored under its key and replayed."""

    status: int
    body: dict[str, Any]
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(json.dumps(self.body), status_code=self.status,
                        media_type=self.media_type, headers=self.headers)


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is not None and not _KEY.match(key):
        raise Problem(400, "idempotency-key-invalid", t("Bad Idempotency-Key"),
                      t("the Idempotency-Key header must be 1 to 255 visible ASCII characters"))
    return key


def _stored(uow: UnitOfWork, party_id: str, key: str, fp: str) -> Answer | None:
    row = uow.idempotency.get(party_id, key)
    if row is None:
        return None
    if row.request_sha256 != fp:
        raise Problem(422, "idempotency-key-reused", t("Idempotency-Key reused"),
                      t("the Idempotency-Key {key!r} was already used for another request; "
                        "use a new key for a new request", key=key))
    return Answer(row.status_code, json.loads(row.body), row.media_type,
                  {"Idempotent-Replayed": "true"})


def replay(services: Services, principal: Principal, key: str | None, fp: str
           ) -> Answer | None:
    """The stored answer for *key* (or None); refuses a key reused for another request."""
    if key is None:
        return None
    with services.uow.reading() as uow:
        return _stored(uow, principal.party.id, key, fp)


def commit_once(services: Services, principal: Principal, key: str | None, fp: str,
                work: Callable[[UnitOfWork], Answer]) -> Answer:
    """Run *work* in a writing unit of work and commit it with the answer under *key*.

    *work* runs a use case's store step in the unit of work it is given (it must not commit)
    and turns its outcome into the answer. If another request claimed *key* first, its stored
    answer is returned instead and *work* does not run. An error *work* raises rolls back both
    its effects and the claim."""
    with services.uow.writing() as uow:
        if key is not None and not uow.idempotency.claim(principal.party.id, key, fp):
            uow.rollback()
            found = _stored(uow, principal.party.id, key, fp)
            assert found is not None
            return found
        answer = work(uow)
        if key is not None:
            uow.idempotency.answer(principal.party.id, key, status_code=answer.status,
                                   media_type=answer.media_type,
                                   body=json.dumps(answer.body).encode())
        uow.commit()
    return answer
