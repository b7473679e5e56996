"""The store on both engines: migrations, parties and keys, scopes, events, idempotency keys."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, text

from exchange.audit import verify_chain
from exchange.config import DatabaseSettings
from exchange.domain import PartyKind, Route, TransportMode
from exchange.errors import UsageError
from exchange.parties.keys import AuthError, add_party, authenticate, revoke_key, rotate_key, scope_of
from exchange.documents.pipeline import CreateShipment, create_shipment
from exchange.store import create_engines, upgrade
from exchange.store.migrate import head_revision


def _party(store, kind=PartyKind.FORWARDER, name="Silk Road Forwarding", country=None):
    with store.writing() as uow:
        party, key = add_party(uow, kind=kind, name=name, country=country)
        uow.commit()
    return party, key


def test_migrations_create_every_table_and_are_idempotent(store):
    engines = store.engines
    assert upgrade(engines) == head_revision()  # second run: nothing to do
    tables = set(inspect(engines.write).get_table_names())
    assert {"parties", "api_keys", "shipments", "route_legs", "documents", "events",
            "event_heads", "idempotency_keys", "alembic_version"} <= tables


def test_sqlite_runs_in_wal_mode(tmp_path):
    engines = create_engines(DatabaseSettings(url=f"sqlite:///{tmp_path / 'x.db'}"))
    with engines.read.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engines.dispose()


def test_keys_are_stored_hashed_and_authenticate(store):
    party, key = _party(store)
    with store.reading() as uow:
        row = uow.parties.key(key.key_id)
        assert key.token.split("_", 2)[2] not in row.secret_sha256
        principal = authenticate(uow, f"Bearer {key.token}")
    assert principal.party == party and principal.kind is PartyKind.FORWARDER
    assert scope_of(principal).forwarder_id == party.id


@pytest.mark.parametrize("header, code", [
    (None, "auth.missing"),
    ("Basic abc", "auth.malformed"),
    ("Bearer nonsense", "auth.invalid"),
    ("Bearer cxk_0123456789abcdef_" + "A" * 43, "auth.invalid"),
])
def test_bad_credentials_each_have_their_reason(store, header, code):
    _party(store)
    with store.reading() as uow, pytest.raises(AuthError) as err:
        authenticate(uow, header)
    assert err.value.code == code


def test_wrong_secret_for_a_real_key_id_is_refused(store):
    _, key = _party(store)
    forged = key.token[:-4] + ("AAAA" if not key.token.endswith("AAAA") else "BBBB")
    with store.reading() as uow, pytest.raises(AuthError) as err:
        authenticate(uow, f"Bearer {forged}")
    assert err.value.code == "auth.invalid"


def test_rotate_revokes_the_old_key_and_the_new_one_works(store):
    party, key = _party(store)
    with store.writing() as uow:
        new = rotate_key(uow, key.key_id)
        uow.commit()
    with store.reading() as uow:
        with pytest.raises(AuthError) as err:
            authenticate(uow, f"Bearer {key.token}")
        assert err.value.code == "auth.revoked"
        assert authenticate(uow, f"Bearer {new.token}").party.id == party.id
    with store.writing() as uow, pytest.raises(UsageError):
        rotate_key(uow, key.key_id)  # already revoked


def test_revoking_an_unknown_key_is_refused(store):
    with store.writing() as uow, pytest.raises(UsageError, match="no API key"):
        revoke_key(uow, "0000000000000000")


def test_customs_party_needs_a_country(store):
    with store.writing() as uow, pytest.raises(UsageError, match="country"):
        add_party(uow, kind=PartyKind.CUSTOMS, name="Customs")


def _shipment(store, forwarder_id, route=("KZ", ("UZ",), "AF")):
    cmd = CreateShipment(forwarder_id=forwarder_id,
                         route=Route(origin=route[0], transit=route[1], destination=route[2]),
                         transport_mode=TransportMode.ROAD)
    with store.writing() as uow:
        row, _ = create_shipment(cmd, [], uow=uow)
        uow.commit()
    return row.id


def test_scopes_forwarder_own_customs_routed_operator_all(store):
    f1, _ = _party(store, name="F1")
    f2, _ = _party(store, name="F2")
    s1 = _shipment(store, f1.id, ("KZ", ("UZ",), "AF"))
    s2 = _shipment(store, f2.id, ("CN", (), "KG"))
    from exchange.store import Scope

    with store.reading() as uow:
        def ids(scope):
            return {r.id for r in uow.shipments.page(scope, limit=50)[0]}
        assert ids(Scope(forwarder_id=f1.id)) == {s1}
        assert ids(Scope(country="UZ")) == {s1}
        assert ids(Scope(country="KG")) == {s2}
        assert ids(Scope(country="GE")) == set()
        assert ids(Scope(everything=True)) == {s1, s2}
        assert uow.shipments.get(s2, Scope(forwarder_id=f1.id)) is None
        assert uow.shipments.get(s1, Scope(country="AF")).id == s1


def test_pages_follow_the_cursor_without_overlap(store):
    f, _ = _party(store)
    made = {_shipment(store, f.id) for _ in range(7)}
    from exchange.store import Scope

    seen, cursor = [], None
    with store.reading() as uow:
        while True:
            rows, cursor = uow.shipments.page(Scope(forwarder_id=f.id), limit=3, cursor=cursor)
            seen += [r.id for r in rows]
            if cursor is None:
                break
        with pytest.raises(ValueError, match="cursor"):
            uow.shipments.page(Scope(forwarder_id=f.id), limit=3, cursor="!!bad")
    assert len(seen) == 7 and set(seen) == made


def test_events_chain_and_any_edit_is_detected(store):
    f, _ = _party(store)
    sid = _shipment(store, f.id)
    with store.writing() as uow:
        for i in range(3):
            uow.events.append(sid, "test.event", {"i": i, "text": "Ташкент"}, actor_id=f.id)
        uow.commit()
    with store.reading() as uow:
        events = uow.events.list(sid)
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert verify_chain(sid, events, uow.events.head(sid)) is None
        target = events[2]
    with store.engines.write.begin() as conn:
        conn.execute(text("UPDATE events SET data_json = :d WHERE id = :id"),
                     {"d": '{"i":99,"text":"Ташкент"}', "id": target.id})
    with store.reading() as uow:
        broken = verify_chain(sid, uow.events.list(sid), uow.events.head(sid))
    assert broken is not None and broken.event_id == target.id and "edited" in broken.reason


def test_removing_the_last_event_is_detected(store):
    f, _ = _party(store)
    sid = _shipment(store, f.id)
    with store.writing() as uow:
        last = uow.events.append(sid, "test.event", {}, actor_id=f.id)
        uow.commit()
    with store.engines.write.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": last.id})
    with store.reading() as uow:
        broken = verify_chain(sid, uow.events.list(sid), uow.events.head(sid))
    assert broken is not None and "removed" in broken.reason


def test_concurrent_appends_to_one_stream_stay_one_chain(store):
    f, _ = _party(store)
    sid = _shipment(store, f.id)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(5):
                with store.writing() as uow:
                    uow.events.append(sid, "test.event", {"thread": n, "i": i}, actor_id=None)
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.reading() as uow:
        events = uow.events.list(sid)
        assert len(events) == 21 and verify_chain(sid, events, uow.events.head(sid)) is None


def test_idempotency_claim_is_taken_once_under_concurrency(store):
    f, _ = _party(store)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        with store.writing() as uow:
            won = uow.idempotency.claim(f.id, "key-1", "a" * 64)
            if won:
                uow.idempotency.answer(f.id, "key-1", status_code=201,
                                       media_type="application/json", body=b"{}")
            uow.commit()
        results.append(won)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    with store.reading() as uow:
        assert uow.idempotency.get(f.id, "key-1").status_code == 201
