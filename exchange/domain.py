"""Domain values of the exchange: parties, routes, shipments. Standard library only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from exchange.errors import UsageError
from exchange.i18n import Text, t

__all__ = [
    "rfc3339",
    "DomainError",
    "EventKind",
    "LegRole",
    "LegStatus",
    "Party",
    "PartyKind",
    "Route",
    "RouteError",
    "TransportMode",
]


class DomainError(UsageError):
    """A value the domain does not allow (422, exit 2)."""

    code = "domain"


class RouteError(DomainError):
    """A route of non-members, or a country twice (422)."""

    code = "shipment.route-invalid"
    title = t("The route is not valid")


class PartyKind(StrEnum):
    FORWARDER = "forwarder"
    CUSTOMS = "customs"
    OPERATOR = "operator"
    PAYMENT_PROVIDER = "payment-provider"
    """A bank or payment service posting payments (optionally HMAC-signed)."""


class TransportMode(StrEnum):
    ROAD = "road"
    RAIL = "rail"
    AIR = "air"
    SEA = "sea"
    MULTIMODAL = "multimodal"


class LegRole(StrEnum):
    ORIGIN = "origin"
    TRANSIT = "transit"
    DESTINATION = "destination"


class LegStatus(StrEnum):
    PENDING = "pending"


class EventKind(StrEnum):
    SHIPMENT_CREATED = "shipment.created"
    SHIPMENT_REFUSED = "shipment.refused"
    DOCUMENT_ACCEPTED = "document.accepted"
    DOCUMENT_REFUSED = "document.refused"
    DOCUMENT_DUPLICATE = "document.duplicate"


@dataclass(frozen=True)
class Party:
    id: str
    kind: PartyKind
    name: str
    country: str | None = None

    def __post_init__(self) -> None:
        if self.kind is PartyKind.CUSTOMS and not self.country:
            raise DomainError(t("a customs party needs its country"))


_ORIGIN_NOT_MEMBER = t("origin country {country!r} is not a CAREC member of this exchange "
                       "(members: {members})")
_TRANSIT_NOT_MEMBER = t("transit country {country!r} is not a CAREC member of this exchange "
                        "(members: {members})")
_DESTINATION_NOT_MEMBER = t("destination country {country!r} is not a CAREC member of this "
                            "exchange (members: {members})")


@dataclass(frozen=True)
class Route:
    """Origin, ordered transit countries, destination: member ISO 3166 alpha-2 codes."""

    origin: str
    destination: str
    transit: tuple[str, ...] = field(default=())

    @property
    def countries(self) -> tuple[str, ...]:
        return (self.origin, *self.transit, self.destination)

    def legs(self) -> list[tuple[int, str, LegRole]]:
        last = len(self.countries) - 1
        return [(i, cc, LegRole.ORIGIN if i == 0 else
                 LegRole.DESTINATION if i == last else LegRole.TRANSIT)
                for i, cc in enumerate(self.countries)]

    def check(self, members: frozenset[str] | set[str]) -> None:
        """Refuse non-members and a country that appears twice."""
        listed = ", ".join(sorted(members))
        for where, cc in ((_ORIGIN_NOT_MEMBER, self.origin),
                          *((_TRANSIT_NOT_MEMBER, c) for c in self.transit),
                          (_DESTINATION_NOT_MEMBER, self.destination)):
            if cc not in members:
                raise RouteError(Text(where.msgid, {"country": cc, "members": listed}))
        if len(set(self.countries)) != len(self.countries):
            raise RouteError(t("a country appears more than once on the route {route}",
                               route=" -> ".join(self.countries)))


def rfc3339(value: datetime) -> str:
    """*value* as an RFC 3339 time with its offset (a naive value, as SQLite hands back what
    was stored in UTC, is UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
