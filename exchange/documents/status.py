"""A shipment's status, in words, from the state of its route legs.

Each leg (origin first, destination last) moves through the customs decisions of its country
(:mod:`exchange.delivery.decisions` records them); the shipment's status is derived, never
stored. The tracking views of this package show it, and so do the customs pages.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from exchange.i18n import Text, t

__all__ = ["LegState", "shipment_state", "shipment_status"]


class LegState(Protocol):
    """What :func:`shipment_status` reads of a leg (a ``LegRow``, or any such value)."""

    @property
    def country(self) -> str: ...

    @property
    def status(self) -> str: ...


def shipment_status(legs: Sequence[LegState]) -> str:
    """Derive a shipment's status from its legs (origin first, destination last), in
    English (the API's words): :func:`shipment_state` rendered."""
    return str(shipment_state(legs))


def shipment_state(legs: Sequence[LegState]) -> Text:
    """A shipment's status as a message, for a reader in any language: submitted, in export
    clearance, exported / in transit through XX, at destination, cleared; a rejection or
    hold anywhere is named first."""
    statuses = [(leg.country, leg.status) for leg in legs]
    for country, status in statuses:
        if status == "rejected":
            return t("rejected by {country} customs", country=country)
    for country, status in statuses:
        if status == "held":
            return t("held for inspection in {country}", country=country)
    if all(status == "pending" for _, status in statuses):
        return t("submitted")
    origin, *transit, destination = statuses
    if origin[1] != "released":
        return t("in export clearance")
    for country, status in transit:
        if status != "released":
            return t("in transit through {country}", country=country)
    if destination[1] == "released":
        return t("cleared")
    if destination[1] == "pending" and not transit:
        return t("exported")
    return t("at destination")
