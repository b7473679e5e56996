"""The language a party chose for its pages, kept in the store on both engines."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from exchange.domain import PartyKind
from exchange.errors import UsageError
from exchange.parties.keys import (
    PartyNotFoundError,
    authenticate,
    choose_locale,
    preferred_locale,
    register_party,
)
from exchange.store import upgrade
from exchange.store.migrate import alembic_config


def test_a_chosen_language_is_kept_read_back_and_signs_in_with_the_party(store):
    party, key = register_party(store, kind=PartyKind.FORWARDER, name="Silk Road Forwarding")
    other, _ = register_party(store, kind=PartyKind.CUSTOMS, name="UZ customs", country="UZ")
    assert preferred_locale(store, party.id) is None
    choose_locale(store, party.id, "ru")
    assert preferred_locale(store, party.id) == "ru"
    assert preferred_locale(store, other.id) is None  # only that party's
    with store.reading() as uow:
        principal = authenticate(uow, f"Bearer {key.token}")
    assert principal.locale == "ru" and principal.party == party
    choose_locale(store, party.id, "zh_Hans")
    assert preferred_locale(store, party.id) == "zh_Hans"
    choose_locale(store, party.id, None)  # forgotten: the browser's language again
    assert preferred_locale(store, party.id) is None


def test_an_unknown_language_or_party_is_refused(store):
    party, _ = register_party(store, kind=PartyKind.OPERATOR, name="Hub operator")
    with pytest.raises(UsageError):
        choose_locale(store, party.id, "de")
    with pytest.raises(PartyNotFoundError):
        choose_locale(store, "no-such-party", "ru")
    assert preferred_locale(store, party.id) is None


def test_the_migration_adds_and_removes_the_column(store):
    def columns() -> set[str]:
        return {c["name"] for c in inspect(store.engines.write).get_columns("parties")}

    register_party(store, kind=PartyKind.OPERATOR, name="Hub operator")
    assert "locale" in columns()
    cfg = alembic_config()
    with store.engines.write.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_subscriptions")
        conn.commit()
    assert "locale" not in columns()
    upgrade(store.engines)
    assert "locale" in columns()
