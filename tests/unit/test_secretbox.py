"""Providers' HMAC secrets sealed at rest: AES-256-GCM with the row as associated data; a
missing, short or garbled key file, another key, another row or a changed value each fail
with their own message."""
from __future__ import annotations

import base64
import os
import stat

import pytest

from exchange.config import ConfigError, PaymentsSettings
from exchange.payments.providers import secret_box
from exchange.payments.secretbox import PREFIX, SecretBox, SecretBoxError


def test_sealed_secrets_open_only_with_their_key_and_row(tmp_path):
    box = SecretBox.from_file(tmp_path / "k", create=True)
    sealed = box.seal("s3cr3t-ü", context="row-1")
    assert sealed.startswith(PREFIX) and "s3cr3t" not in sealed
    assert box.seal("s3cr3t-ü", context="row-1") != sealed  # a new nonce every time
    assert box.open(sealed, context="row-1") == "s3cr3t-ü"
    with pytest.raises(SecretBoxError, match="does not open"):
        box.open(sealed, context="row-2")
    with pytest.raises(SecretBoxError, match="does not open"):
        SecretBox.from_file(tmp_path / "other", create=True).open(sealed, context="row-1")
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(PREFIX):]))
    raw[-1] ^= 1
    changed = PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SecretBoxError, match="does not open"):
        box.open(changed, context="row-1")
    with pytest.raises(SecretBoxError, match="not sealed"):
        box.open("plain", context="row-1")


def test_the_key_file_is_made_once_and_private(tmp_path):
    path = tmp_path / "hub" / "secrets.key"
    box = SecretBox.from_file(path, create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(base64.b64decode(path.read_text())) == 32
    again = SecretBox.from_file(path, create=True)  # not overwritten
    assert again.open(box.seal("x", context="c"), context="c") == "x"


@pytest.mark.parametrize(("content", "message"), [
    ("not base64 !", "not base64"),
    (base64.b64encode(b"short").decode(), "holds 5 bytes, not 32"),
])
def test_a_bad_key_file_is_refused(tmp_path, content, message):
    path = tmp_path / "k"
    path.write_text(content)
    with pytest.raises(SecretBoxError, match=message):
        SecretBox.from_file(path)


def test_a_configured_key_file_must_exist(tmp_path):
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigError) as info:
        secret_box(PaymentsSettings(secrets_key_file=missing))
    assert info.value.setting == "EXCHANGE_PAYMENTS_SECRETS_KEY_FILE"
    assert str(missing) in info.value.message and not missing.exists()


def test_a_key_that_cannot_be_made_is_a_config_error(tmp_path):
    blocker = tmp_path / "hub"
    blocker.write_text("a file where the key's folder would go")
    with pytest.raises(SecretBoxError, match="cannot make the secrets key"):
        SecretBox.from_file(blocker / "secrets.key", create=True)
