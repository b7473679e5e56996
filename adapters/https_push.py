"""The ``https-push`` adapter (settings declared; delivery lands next)."""
from __future__ import annotations

from typing import ClassVar

from adapters.settings import Setting, SettingType

__all__ = ["HttpsPushAdapter"]


class HttpsPushAdapter:
    kind: ClassVar[str] = "https-push"
    description: ClassVar[str] = "posts a signed delivery envelope over HTTP(S)"
    settings_spec: ClassVar[tuple[Setting, ...]] = (
        Setting("endpoint", SettingType.URL, required=True,
                help="URL the envelope is POSTed to"),
        Setting("decisions_url", SettingType.URL,
                help="URL where the national system keeps its decisions for pickup"),
        Setting("timeout_seconds", SettingType.FLOAT, default=10.0,
                help="read/write timeout of one attempt"),
        Setting("connect_timeout_seconds", SettingType.FLOAT, default=3.0),
        Setting("client_cert", SettingType.PATH, help="PEM certificate for mutual TLS"),
        Setting("client_key", SettingType.PATH, help="PEM private key for mutual TLS"),
        Setting("ca_bundle", SettingType.PATH, help="CA bundle trusted for the endpoint"),
        Setting("sign", SettingType.BOOL, default=True,
                help="sign envelopes with the hub key when one is configured"),
    )
