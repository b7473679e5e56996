"""A shipment's status, in words, from the state of its route legs.

Each leg (origin first, destination last) moves through the customs decisions of its country
(:mod:`exchange.delivery.decisions` records them); the shipment's status is derived, never
stored. The tracking views of this package show it, and so do the customs pages.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["LegState", "shipment_status"]


class LegState(Protocol):
    """What :func:`shipment_status` reads of a leg (a ``LegRow``, or any such value)."""

    @property
    def country(self) -> str: ...

    @property
    def status(self) -> str: ...


def shipment_status(legs: Sequence[LegState]) -> str:
    """Derive a shipment's status from its legs (origin first, destination last):
    submitted, in export clearance, exported / in transit through XX, at destination,
    cleared; a rejection or hold anywhere is named first."""
    statuses = [(leg.country, leg.status) for leg in legs]
    for country, status in statuses:
        if status == "rejected":
            return f"rejected by {country} customs"
    for country, status in statuses:
        if status == "held":
            return f"held for inspection in {country}"
    if all(status == "pending" for _, status in statuses):
        return "submitted"
    origin, *transit, destination = statuses
    if origin[1] != "released":
        return "in export clearance"
    for country, status in transit:
        if status != "released":
            return f"in transit through {country}"
    if destination[1] == "released":
        return "cleared"
    if destination[1] == "pending" and not transit:
        return "exported"
    return "at destination"
