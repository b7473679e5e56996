"""Service settings: environment, config file, and errors that name the setting."""
from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("EXCHANGE_") and name not in ("EXCHANGE_SHARED_DIR",):
            monkeypatch.delenv(name)


def test_defaults_use_sqlite_in_the_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("EXCHANGE_HOME", str(tmp_path))
    s = load_settings()
    assert s.database.resolved_url() == f"sqlite:///{tmp_path / 'exchange.db'}"
    assert s.hub.resolved_key_file() == tmp_path / "hub" / "hub-key.pem"
    assert s.members.resolved_file().name == "members.toml"


def test_environment_and_file_with_env_winning(monkeypatch, tmp_path):
    cfg = tmp_path / "exchange.toml"
    cfg.write_text('[limits]\nmax_body_bytes = 4096\n[dossier]\nvalue_tolerance = "0.05"\n'
                   '[database]\nurl = "sqlite:///from-file.db"\n')
    monkeypatch.setenv("EXCHANGE_CONFIG", str(cfg))
    monkeypatch.setenv("EXCHANGE_DATABASE_URL", "postgresql://u:p@127.0.0.1/db")
    monkeypatch.setenv("EXCHANGE_HUB_KEY_PASSPHRASE", "s3cret")
    s = load_settings()
    assert s.database.url == "postgresql+psycopg://u:p@127.0.0.1/db"
    assert s.limits.max_body_bytes == 4096
    assert s.dossier.value_tolerance == Decimal("0.05")
    assert s.hub.passphrase() == b"s3cret"
    assert "s3cret" not in repr(s)


def test_passphrase_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "pass"
    secret.write_text("from-file\n")
    monkeypatch.setenv("EXCHANGE_HUB_KEY_PASSPHRASE_FILE", str(secret))
    assert load_settings().hub.passphrase() == b"from-file"


@pytest.mark.parametrize("env, value, named", [
    ("EXCHANGE_DATABASE_URL", "mysql://x/y", "EXCHANGE_DATABASE_URL"),
    ("EXCHANGE_LIMITS_MAX_BODY_BYTES", "lots", "EXCHANGE_LIMITS_MAX_BODY_BYTES"),
    ("EXCHANGE_LIMITS_MAX_BODY_BYTES", "10", "EXCHANGE_LIMITS_MAX_BODY_BYTES"),
    ("EXCHANGE_SERVER_PORT", "70000", "EXCHANGE_SERVER_PORT"),
    ("EXCHANGE_DOSSIER_GROSS_WEIGHT", "loud", "EXCHANGE_DOSSIER_GROSS_WEIGHT"),
    ("EXCHANGE_CONFIG", "/nonexistent/exchange.toml", "EXCHANGE_CONFIG"),
])
def test_bad_setting_is_named(monkeypatch, env, value, named):
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.setting == named and str(err.value).startswith(named + ": ")


def test_unknown_key_in_the_file_is_named(monkeypatch, tmp_path):
    cfg = tmp_path / "exchange.toml"
    cfg.write_text("[limits]\nmax_bodybytes = 1\n")
    monkeypatch.setenv("EXCHANGE_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="EXCHANGE_LIMITS_MAX_BODYBYTES: unknown setting"):
        load_settings()


def test_file_that_is_not_toml_is_named(monkeypatch, tmp_path):
    cfg = tmp_path / "exchange.toml"
    cfg.write_text("this is = = not toml")
    monkeypatch.setenv("EXCHANGE_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="EXCHANGE_CONFIG"):
        load_settings()


@pytest.mark.parametrize("env, value, english", [
    ("EXCHANGE_SERVER_METRICS", "public", "must be one of: 'operator', 'open' or 'loopback'"),
    ("EXCHANGE_SERVER_HEADER_TIMEOUT_SECONDS", "0", "must be greater than 0.0"),
    ("EXCHANGE_SERVER_MAX_CONNECTIONS", "lots", "must be a whole number"),
    ("EXCHANGE_LIMITS_MAX_HEADER_COUNT", "5", "must be 10 or more"),
])
def test_a_bad_setting_is_said_in_the_reader_language(monkeypatch, env, value, english):
    """pydantic's own words for a bad value (``Input should be ...``) are English only; a
    setting's error says it with the catalogues' field messages, as a bad request field."""
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.detail() == str(err.value) == f"{env}: {english}"
    for locale in ("ru", "zh_Hans"):
        said = err.value.detail(locale)
        assert said != english and "Input should" not in said, (locale, said)
