"""Everything the exchange writes is owner-only (0700 folders, 0600 files) whatever the umask,
even in a process that never set a private umask (the `exchange` command does); a store
that holds sealed payment-provider secrets is not given a new secrets key."""
from __future__ import annotations

import logging
import os
import stat

import pytest

from exchange.paths import (
    create_private_file,
    private_dir,
    wider_than_private,
    write_private,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def loose_umask(request):
    """The process runs with a permissive umask for the test."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_private_dir_makes_each_new_folder_0700_and_leaves_existing_ones(tmp_path, loose_umask):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_dir(shared / "a" / "b" / "c")
    assert _mode(shared) == 0o755  # made by an operator, on purpose: left as it is
    for folder in (shared / "a", shared / "a" / "b", shared / "a" / "b" / "c"):
        assert _mode(folder) == 0o700
    private_dir(shared / "a")  # exists: nothing happens
    assert _mode(shared / "a") == 0o700


def test_private_files_are_0600_and_an_existing_one_is_narrowed(tmp_path, loose_umask):
    assert create_private_file(tmp_path / "new" / "db")
    assert not create_private_file(tmp_path / "new" / "db")  # exists: left alone
    assert _mode(tmp_path / "new" / "db") == 0o600 and _mode(tmp_path / "new") == 0o700
    loose = tmp_path / "loose.txt"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    write_private(loose, b"secret")
    assert _mode(loose) == 0o600 and loose.read_bytes() == b"secret"


def test_wider_than_private_names_every_open_path_once_and_skips_links(tmp_path):
    home = private_dir(tmp_path / "home")
    write_private(home / "ok", b"")
    open_dir = home / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o755)
    (open_dir / "file").write_text("x")
    os.chmod(open_dir / "file", 0o640)
    (home / "link").symlink_to(open_dir / "file")
    found = list(wider_than_private([home, open_dir / "file", home]))
    assert found == [(open_dir, 0o755), (open_dir / "file", 0o640)]


def test_the_sqlite_store_and_its_wal_files_are_private(tmp_path, loose_umask):
    from exchange.config import DatabaseSettings
    from exchange.domain import PartyKind
    from exchange.parties.keys import register_party
    from exchange.store import UnitOfWorkFactory, create_engines, upgrade

    database = tmp_path / "data" / "store" / "exchange.db"
    engines = create_engines(DatabaseSettings(url=f"sqlite:///{database}"))
    try:
        upgrade(engines)
        register_party(UnitOfWorkFactory(engines), kind=PartyKind.OPERATOR, name="op")
        made = {p.name: _mode(p) for p in database.parent.iterdir()}
        assert {"exchange.db", "exchange.db-wal", "exchange.db-shm"} <= set(made), made
        assert set(made.values()) == {0o600}, made
        assert _mode(tmp_path / "data") == 0o700 and _mode(database.parent) == 0o700
    finally:
        engines.dispose()


def test_demo_pki_and_edifact_files_are_private(tmp_path, loose_umask):
    from adapters.edifact_file import write_atomically
    from signing.demopki import DemoPKI

    pki = DemoPKI(tmp_path / "pki")
    pki.leaf("KZ").write_pkcs12(tmp_path / "pki" / "kz.p12", b"pass")
    pki.trust_dir(tmp_path / "trust", ["KZ"])
    write_atomically(tmp_path / "edifact" / "AF" / "out", "1.edi", b"UNA")
    assert list(wider_than_private([tmp_path / "pki", tmp_path / "trust",
                                    tmp_path / "edifact"])) == []
    assert (tmp_path / "edifact" / "AF" / "out" / "1.edi").is_file()


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("EXCHANGE_HOME", str(home))
    for name in [n for n in os.environ if n.startswith("EXCHANGE_") and n != "EXCHANGE_HOME"]:
        monkeypatch.delenv(name)
    return home


def _store(url):
    from exchange.config import DatabaseSettings
    from exchange.store import UnitOfWorkFactory, create_engines, upgrade

    engines = create_engines(DatabaseSettings(url=url))
    upgrade(engines)
    return UnitOfWorkFactory(engines)


def test_no_new_secrets_key_for_a_store_holding_sealed_secrets(tmp_path, fresh_home):
    from exchange.config import ConfigError, PaymentsSettings
    from exchange.domain import PartyKind
    from exchange.parties.keys import register_party
    from exchange.payments.providers import issue_provider_secret, secret_box
    from exchange.payments.secretbox import SecretBox

    store = _store(f"sqlite:///{tmp_path / 'restored.db'}")
    try:
        key = fresh_home / "hub" / "secrets.key"
        assert secret_box(PaymentsSettings(), store=store)  # nothing sealed: made on first use
        assert _mode(key) == 0o600 and _mode(key.parent) == 0o700
        provider, _ = register_party(store, kind=PartyKind.PAYMENT_PROVIDER, name="bank")
        issue_provider_secret(provider.id, store=store, box=SecretBox.from_file(key))
        key.rename(tmp_path / "kept.key")  # restored without its key
        with pytest.raises(ConfigError) as info:
            secret_box(PaymentsSettings(), store=store)
        assert info.value.setting == "EXCHANGE_PAYMENTS_SECRETS_KEY_FILE"
        assert str(key) in info.value.message and "backup" in info.value.message
        assert not key.exists()  # no new key that would never open the sealed secrets
        (tmp_path / "kept.key").rename(key)  # put back: the exchange starts again
        assert secret_box(PaymentsSettings(), store=store)
    finally:
        store.engines.dispose()


def test_start_warns_once_per_path_open_to_others(tmp_path, fresh_home, caplog):
    from exchange.bootstrap import WIDE_MODE_LINES, warn_wider_than_private
    from exchange.config import load_settings

    private_dir(fresh_home)
    os.chmod(fresh_home, 0o755)
    write_private(fresh_home / "exchange.db", b"")
    os.chmod(fresh_home / "exchange.db", 0o644)
    write_private(fresh_home / "hub" / "secrets.key", b"")
    with caplog.at_level(logging.WARNING, logger="exchange.bootstrap"):
        assert warn_wider_than_private(load_settings()) == 2
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith(f"{fresh_home} is open to other users (mode 0755)")
    assert lines[1].startswith(f"{fresh_home / 'exchange.db'} is open to other users "
                               "(mode 0644)")
    for i in range(WIDE_MODE_LINES + 3):
        (fresh_home / f"f{i}").write_text("x")
        os.chmod(fresh_home / f"f{i}", 0o604)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="exchange.bootstrap"):
        assert warn_wider_than_private(load_settings()) == WIDE_MODE_LINES + 5
    assert len(caplog.records) == WIDE_MODE_LINES + 1
    assert caplog.records[-1].getMessage().startswith("5 more paths")
