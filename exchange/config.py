"""Settings of the exchange service, read only by entry points (CLI, ``build_app``).

Every setting comes from, in order of precedence: arguments given to :func:`load_settings`,
environment variables with the prefix ``EXCHANGE_`` (``EXCHANGE_DATABASE_URL``,
``EXCHANGE_HUB_KEY_FILE``, ``EXCHANGE_LIMITS_MAX_BODY_BYTES``...), an optional TOML file named by
``EXCHANGE_CONFIG`` (tables ``[database]``, ``[hub]``, ``[members]``, ``[limits]``,
``[dossier]``, ``[server]``, ``[routing]``, ``[dispatch]``, ``[payments]``), then the defaults below. The first underscore after the group
name separates group and field, so ``EXCHANGE_HUB_KEY_PASSPHRASE`` is ``hub.key_passphrase``.

A bad configuration raises :class:`ConfigError` naming the setting as the user would write it
(``EXCHANGE_DATABASE_URL: ...``), before anything connects or listens.
"""
from __future__ import annotations

import os
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from exchange.errors import ConfigError, field_message
from exchange.i18n import Text, t
from exchange.paths import exchange_home

__all__ = [
    "CheckSeverity",
    "ConfigError",
    "DatabaseSettings",
    "DispatchSettings",
    "DossierSettings",
    "HubSettings",
    "LimitsSettings",
    "MembersSettings",
    "NotificationsSettings",
    "PaymentsSettings",
    "RoutingSettings",
    "ServerSettings",
    "Settings",
    "default_members_file",
    "load_settings",
    "setting_name",
]

ENV_PREFIX = "EXCHANGE_"
CONFIG_ENV = "EXCHANGE_CONFIG"


class CheckSeverity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


class _Group(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}


class DatabaseSettings(_Group):
    url: str | None = None
    """SQLAlchemy URL. Default: an SQLite file ``exchange.db`` in the data directory.
    ``sqlite:///PATH`` or ``postgresql+psycopg://user:pass@host/db``."""
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)
    busy_timeout_ms: int = Field(default=30_000, ge=0)
    """SQLite only: how long a writer waits for the write lock."""

    @field_validator("url")
    @classmethod
    def _known_engine(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme = url.split(":", 1)[0]
        if scheme not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg", "postgresql"):
            raise ValueError(t("unsupported database {scheme!r}; use sqlite:///PATH or "
                               "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB", scheme=scheme))
        if scheme == "postgresql":
            url = "postgresql+psycopg" + url[len("postgresql"):]
        return url

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{exchange_home() / 'exchange.db'}"


class HubSettings(_Group):
    """The hub's own signing identity, used to seal every accepted document."""

    key_file: Path | None = None
    """PEM private key (may be encrypted) or PKCS#12 file. Default: ``hub/hub-key.pem`` in
    the data directory."""
    cert_file: Path | None = None
    """PEM certificate of the key. Default: ``hub/hub-cert.pem`` in the data directory."""
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None
    """A file holding the passphrase (first line), for secrets mounted as files."""

    def resolved_key_file(self) -> Path:
        return self.key_file or exchange_home() / "hub" / "hub-key.pem"

    def resolved_cert_file(self) -> Path:
        return self.cert_file or exchange_home() / "hub" / "hub-cert.pem"

    def passphrase(self) -> bytes | None:
        """The key passphrase from the setting or its file (read at call time)."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value().encode()
        if self.key_passphrase_file is not None:
            try:
                text = self.key_passphrase_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(t("cannot read {file}: {error}",
                                    file=str(self.key_passphrase_file), error=exc.strerror),
                                  setting="EXCHANGE_HUB_KEY_PASSPHRASE_FILE") from None
            return text.splitlines()[0].encode() if text else b""
        return None


def default_members_file() -> Path:
    import adapters

    return Path(adapters.__file__).resolve().parent / "members.toml"


class MembersSettings(_Group):
    file: Path | None = None
    """The members file (countries, adapters, trust lists). Default: adapters/members.toml."""

    def resolved_file(self) -> Path:
        return self.file or default_members_file()


class LimitsSettings(_Group):
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    """Largest HTTP request body; larger bodies answer 413 without being read."""
    max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    """Largest single document."""
    max_documents_per_request: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=200, ge=1)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    """Largest head of a request: its target (path and query) and header fields together,
    each field counted as ``name: value`` and its line end; a larger head answers 431 and
    the connection closes."""
    max_header_count: int = Field(default=100, ge=10)
    """Most header fields in one request; more answer 431 and the connection closes."""


class DossierSettings(_Group):
    """Cross-document checks of one shipment: tolerances and how each finding counts."""

    value_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)
    """Relative tolerance between the declared customs value and the invoice total."""
    weight_tolerance: Decimal = Field(default=Decimal("0.005"), ge=0, le=1)
    """Relative tolerance between gross weights of waybill, packing list and declarations."""
    identifiers: CheckSeverity = CheckSeverity.ERROR
    gross_weight: CheckSeverity = CheckSeverity.ERROR
    customs_value: CheckSeverity = CheckSeverity.WARNING
    route_countries: CheckSeverity = CheckSeverity.ERROR


class RoutingSettings(_Group):
    file: Path | None = None
    """TOML file of routing rules (document type -> origin/transit/destination/all);
    default: the built-in rules of :mod:`exchange.delivery.routing`."""


class DispatchSettings(_Group):
    """The outbox dispatcher (``exchange dispatch``, or inside ``exchange serve --dispatch``)."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    base_delay_seconds: float = Field(default=2.0, gt=0)
    max_delay_seconds: float = Field(default=900.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    """A claimed delivery returns to the queue if its dispatcher has not finished by then;
    the dispatcher renews the leases it holds every third of this while their pushes are on
    the wire, so only a dead (or cut off) dispatcher's rows come back, after at most this."""
    batch_size: int = Field(default=50, ge=1, le=1000)
    """The most rows one claim takes: ``exchange dispatch --once`` claims this many; a
    running dispatcher claims only as many as it has free slots (``concurrency``)."""
    concurrency: int = Field(default=8, ge=1, le=64)
    """Pushes on the wire at once. A slot is held from a row's claim until its outcome is
    committed, so a dispatcher killed at any moment causes at most this many re-sends."""
    poll_seconds: float = Field(default=0.5, gt=0)
    collect_seconds: float = Field(default=5.0, gt=0)
    """How often customs answers are collected from the adapters."""


class PaymentsSettings(_Group):
    """The payments ledger (``[payments]``): due times and payment-provider signatures."""

    due_days: int = Field(default=30, ge=0, le=3650)
    """An assessment falls due this many days after it is recorded (0: no due time)."""
    require_signature: bool = False
    """Payment providers must sign every request (HMAC-SHA256 over the body) even when no
    secret was set for them (then they are refused until one is)."""
    signature_header: str = "X-Signature"
    """Header carrying ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    camt_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest camt.054 or camt.053 file read (the XML safety limit for bank files)."""
    bank_accounts: tuple[str, ...] = ()
    """The accounts (IBAN or other id, as the bank files name them) duties are paid to; the
    entries of any other account of a bank file are listed as ``other-account``. Empty:
    every account of a file is one."""
    secrets_key_file: Path | None = None
    """The key sealing providers' HMAC secrets in the database (see exchange.payments.secretbox);
    default ``<EXCHANGE_HOME>/hub/secrets.key``, made on first use. A configured file must
    exist. Hosts sharing one database need the same key."""

    def resolved_secrets_key_file(self) -> Path:
        return self.secrets_key_file or exchange_home() / "hub" / "secrets.key"


class NotificationsSettings(_Group):
    """Event notifications (webhooks) to parties' subscriptions (``[notifications]``), sent
    by the dispatcher with the retries, lease and backoff of ``[dispatch]``."""

    allow_private_targets: bool = False
    """Let subscriptions target loopback, private, link-local or otherwise non-public
    addresses. Off by default: a subscription's URL is set by a party, and the hub must not
    become its way into the hub's own network (SSRF). Tests and a single-host demo turn it on."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """How long a subscriber has to answer one notification (a time-out is retried); kept
    under a fifth of ``dispatch.lease_seconds`` (a notification's lease is not renewed)."""
    tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    """The replay window subscribers are told to apply to the signature's timestamp."""
    max_per_party: int = Field(default=20, ge=1, le=1000)
    """Subscriptions one party may hold."""
    concurrency: int = Field(default=8, ge=1, le=64)
    """Notifications on the wire at once (one per subscription and shipment at most)."""
    batch_events: int = Field(default=500, ge=1, le=10_000)
    """Events one fan-out reads from the log."""
    poll_seconds: float = Field(default=0.2, gt=0)
    """How often an idle notifier looks for new events."""


class ServerSettings(_Group):
    """The HTTP server (``exchange serve``): where it listens and how it guards its
    connections. Every limit holds per server process (each of ``--workers N``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    migrate_on_start: bool = True
    header_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    """Time a client has to send a request's line and headers, counted from the connection
    (or from the first byte of a later request on a kept-alive connection); a slower client
    gets 408 and is disconnected (one that sent nothing is just disconnected)."""
    body_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    """Longest wait for the next part of a request body, and the body's time allowance at
    the start; each ``body_min_rate`` bytes received add one second to the allowance. A body
    that misses either answers 408 and the connection closes."""
    body_min_rate: int = Field(default=500, ge=1)
    """Bytes per second a request body must keep up, on average, once its first
    ``body_timeout_seconds`` have passed."""
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)
    """Open connections; past it, the connection that has waited longest without a request
    in progress (still sending its headers, or idle between requests) is closed to make
    room, and if every connection is busy the new one answers 503. Keep it below the
    process's open-file limit (``ulimit -n``)."""
    metrics: Literal["operator", "open", "loopback"] = "operator"
    """Who may read the Prometheus metrics: ``operator`` (``/metrics`` with an operator's API
    key, ``Authorization: Bearer``), ``open`` (``/metrics`` without a key) or ``loopback``
    (no ``/metrics`` on the main port; served without a key on 127.0.0.1:``metrics_port``)."""
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """The loopback metrics listener's port (``metrics = "loopback"``; 0: any free port,
    logged). Workers of one server share it (``SO_REUSEPORT``); each answers with its own
    counts, as on the main port."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="_", env_nested_max_split=1,
        extra="ignore", frozen=True)

    database: DatabaseSettings = DatabaseSettings()
    hub: HubSettings = HubSettings()
    members: MembersSettings = MembersSettings()
    limits: LimitsSettings = LimitsSettings()
    dossier: DossierSettings = DossierSettings()
    server: ServerSettings = ServerSettings()
    routing: RoutingSettings = RoutingSettings()
    dispatch: DispatchSettings = DispatchSettings()
    payments: PaymentsSettings = PaymentsSettings()
    notifications: NotificationsSettings = NotificationsSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def setting_name(loc: tuple[int | str, ...]) -> str:
    """``("database", "url")`` -> ``EXCHANGE_DATABASE_URL``."""
    return ENV_PREFIX + "_".join(str(p) for p in loc).upper()


def load_settings(**overrides: Any) -> Settings:  # Any: pydantic's keyword arguments
    """Read the settings; raise :class:`ConfigError` naming the first bad setting."""
    config_file = os.environ.get(CONFIG_ENV)
    if config_file and not Path(config_file).is_file():
        raise ConfigError(t("no such configuration file: {file}", file=config_file),
                          setting=CONFIG_ENV)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not isinstance(p, int))
        cause = (err.get("ctx") or {}).get("error")
        message = field_message(err)  # the catalogue's words for pydantic's error type
        if isinstance(message, str):
            message = message.removeprefix("Value error, ")
        if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], Text):
            message = cause.args[0]  # a check of ours, in the reader's language
        if err.get("type") == "extra_forbidden":
            message = t("unknown setting")
        raise ConfigError(message, setting=setting_name(loc)) from None
    except Exception as exc:  # a config file that is not TOML
        if config_file:
            raise ConfigError(t("cannot read {file}: {error}", file=config_file, error=str(exc)),
                              setting=CONFIG_ENV) from None
        raise
