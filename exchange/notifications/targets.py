"""Where a notification may be sent: the checks of a subscription's URL (SSRF).

A subscription's URL is chosen by a party, and the hub then makes requests to it from inside
its own network. So a URL must be ``http`` or ``https``, absolute, without credentials
(they would sit in the database and in logs) and without a fragment; and, unless
``[notifications] allow_private_targets`` is on, every address its host resolves to must be
a public one: loopback, private (RFC 1918, ULA), link-local (cloud metadata services at
169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified addresses are
refused. The check runs when the subscription is made and again before each request (the
name may have been pointed elsewhere since). Redirects are not followed (a 3xx answer is a
failed attempt), so a public URL cannot bounce a request inward. What is left: a name
whose address changes between our check and the connection (DNS rebinding with a zero TTL)
can still reach an inner address once; a deployment that must close that too sends
notifications through an egress proxy that enforces the same rule.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from exchange.i18n import t
from exchange.notifications.errors import (
    TargetCredentials,
    TargetInvalid,
    TargetPrivate,
    TargetScheme,
    TargetUnresolvable,
)

__all__ = ["MAX_URL_LENGTH", "check_target", "parse_target"]

MAX_URL_LENGTH = 2048


def parse_target(url: str) -> SplitResult:
    """The URL's parts once its form is checked (scheme, host, no credentials, no fragment)."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetInvalid(t("the URL is longer than {limit} characters", limit=MAX_URL_LENGTH))
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise TargetInvalid(t("the URL contains white space or control characters"))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetInvalid(t("{url!r} is not a valid URL: {error}", url=url, error=str(exc))) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise TargetScheme(t("notifications are sent over http or https, not {scheme!r}: "
                             "{url!r}", scheme=parts.scheme, url=url) if parts.scheme else
                           t("notifications are sent over http or https, not a URL without a "
                             "scheme: {url!r}", url=url))
    if parts.username is not None or parts.password is not None:
        raise TargetCredentials(t("the URL carries a user name or password; authenticate "
                                  "notifications by their signature (the subscription's "
                                  "secret) instead"))
    if not parts.hostname:
        raise TargetInvalid(t("{url!r} has no host", url=url))
    if parts.fragment:
        raise TargetInvalid(t("the URL has a fragment (#...), which is never sent"))
    if port == 0:
        raise TargetInvalid(t("port 0 is not a port one can send to"))
    return parts


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_target(url: str, *, allow_private: bool) -> SplitResult:
    """Check *url* (:func:`parse_target`) and, unless *allow_private*, that its host resolves
    only to public addresses; the checks' errors are :mod:`~exchange.notifications.errors`'
    ``Target*`` classes."""
    parts = parse_target(url)
    if allow_private:
        return parts
    host = parts.hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolvable(t("the host {host!r} does not resolve: {error}", host=host,
                                   error=str(exc))) from None
    inner = sorted(a for a in addresses if not _public(str(a)))
    if inner:
        raise TargetPrivate(
            t("the host {host!r} resolves to {addresses}, which is not a public address; "
              "notifications go to public addresses only, unless the operator sets "
              "EXCHANGE_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS", host=host,
              addresses=", ".join(map(str, inner))))
    return parts
