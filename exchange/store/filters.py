"""What a list of shipments is narrowed to (:class:`ShipmentFilter`), beside the caller's
:class:`~exchange.store.repositories.Scope`: a search in the references, a country the route
passes through, a leg's status."""
from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select, exists

from exchange.store.models import LegRow, ShipmentRow

__all__ = ["ShipmentFilter"]

_Ts = TypeVarTuple("_Ts")


class ShipmentFilter:
    """What a list of shipments is narrowed to: *search* in the references or the start of
    the id, a country the route passes *through*, a leg in *leg_status* (in that country,
    when one is given)."""

    __slots__ = ("leg_status", "search", "through")

    def __init__(self, *, search: str | None = None, through: str | None = None,
                 leg_status: str | None = None):
        self.search, self.through, self.leg_status = search, through, leg_status

    def where(self, stmt: Select[*_Ts]) -> Select[*_Ts]:
        if self.search:
            escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_")
            stmt = stmt.where(ShipmentRow.references_json.like(f"%{escaped}%", escape="\\")
                              | ShipmentRow.id.like(f"{escaped}%", escape="\\"))
        if self.through or self.leg_status:
            leg = exists().where(LegRow.shipment_id == ShipmentRow.id)
            if self.through:
                leg = leg.where(LegRow.country == self.through)
            if self.leg_status:
                leg = leg.where(LegRow.status == self.leg_status)
            stmt = stmt.where(leg)
        return stmt
