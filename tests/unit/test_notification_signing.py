"""The notification signature (``Exchange-Signature: t=...,v1=...``) against a reference
computed here with the standard library, its replay window, tampering, and secret
rotation; the event kinds a log event is told as; the form checks of a target URL."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from exchange.notifications.errors import TargetCredentials, TargetInvalid, TargetScheme
from exchange.notifications.kinds import NotificationKind, kinds_of
from exchange.notifications.signing import SignatureMismatch, new_secret, sign, verify
from exchange.notifications.targets import check_target, parse_target

BODY = b'{"id":"42","kind":"customs.released"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    secret = new_secret()
    header = sign(secret, BODY, timestamp=1_767_225_600)
    expected = hmac.new(secret.encode(), b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert verify(secret, header, BODY, now=1_767_225_600 + 299) == 1_767_225_600


@pytest.mark.parametrize(("change", "why"), [
    (lambda s, h, b: (s, h, b + b" "), "no v1"),                      # body changed
    (lambda s, h, b: (new_secret(), h, b), "no v1"),                  # another secret
    (lambda s, h, b: (s, h.replace("t=1767225600", "t=1767225601"), b), "no v1"),
    (lambda s, h, b: (s, h.split(",")[1], b), "no timestamp"),
    (lambda s, h, b: (s, "", b), "no timestamp"),
])
def test_tampering_is_refused(change, why):
    secret = new_secret()
    header = sign(secret, BODY, timestamp=1_767_225_600)
    s, h, b = change(secret, header, BODY)
    with pytest.raises(SignatureMismatch, match=why):
        verify(s, h, b, now=1_767_225_600)


def test_replay_window_and_rotation():
    secret, old = new_secret(), new_secret()
    header = sign(secret, BODY, timestamp=1_000)
    with pytest.raises(SignatureMismatch, match="more than 300 s"):
        verify(secret, header, BODY, now=1_000 + 301)
    with pytest.raises(SignatureMismatch, match="more than 60 s"):
        verify(secret, header, BODY, now=1_000 - 61, tolerance=60)
    both = header + "," + sign(old, BODY, timestamp=1_000).split(",")[1]
    assert verify(old, both, BODY, now=1_000) == verify(secret, both, BODY, now=1_000)
    assert new_secret() != new_secret() and new_secret().startswith("whsec_")


@pytest.mark.parametrize(("kind", "cleared", "expected"), [
    ("document.accepted", False, ["document.accepted"]),
    ("document.refused", False, []),
    ("delivery.delivered-with-warnings", False, ["delivery.delivered"]),
    ("delivery.retrying", False, []),
    ("customs.hold", False, ["decision.recorded"]),
    ("customs.released", False, ["decision.recorded", "leg.released"]),
    ("customs.released", True, ["decision.recorded", "leg.released", "shipment.cleared"]),
    ("payments.refund", False, ["payment.recorded"]),
    ("payments.assessment", False, []),
    ("shipment.created", False, []),
])
def test_events_and_the_kinds_they_are_told_as(kind, cleared, expected):
    asked = []
    got = kinds_of(kind, cleared=lambda: asked.append(1) or cleared)
    assert [k.value for k in got] == expected
    assert bool(asked) == (kind == "customs.released")  # only a release asks
    assert all(isinstance(k, NotificationKind) for k in got)


@pytest.mark.parametrize(("url", "error"), [
    ("javascript:alert(1)", TargetScheme), ("HTTP://example.org/x", None),
    ("https://u:p@example.org/", TargetCredentials), ("https://example.org/#x", TargetInvalid),
    ("https://example.org:0/", TargetInvalid), ("https://exa mple.org/", TargetInvalid),
    ("https://example.org/" + "a" * 2050, TargetInvalid), ("https://[::1/", TargetInvalid),
])
def test_the_form_of_a_target(url, error):
    if error is None:
        assert parse_target(url).hostname == "example.org"
    else:
        with pytest.raises(error):
            parse_target(url)


def test_private_targets_only_when_allowed():
    assert check_target("http://127.0.0.1:9/x", allow_private=True).port == 9
    with pytest.raises(TargetInvalid, match="not a public address"):
        check_target("http://127.0.0.1:9/x", allow_private=False)
