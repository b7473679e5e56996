"""Routing rules: which customs authorities on a shipment's route receive a document.

A rule maps a document type (the UBL root element) to the route positions that get it:
``origin``, ``transit`` (every transit country), ``destination`` or ``all``. The defaults
follow customs practice on the corridor: the export declaration goes to the origin's
customs, a transit declaration to each transit country, the import declaration to the
destination, and supporting documents to every customs authority on the route. Document
types without a rule follow the ``*`` rule (every country by default).

Operators change the rules with a TOML file (``EXCHANGE_ROUTING_FILE``)::

    [rules]
    ExportCustomsDeclaration = ["origin"]
    GoodsCertificate = ["origin", "destination"]
    "*" = ["all"]
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from exchange.delivery.errors import RoutingError
from exchange.i18n import t

__all__ = ["DEFAULT_RULES", "Position", "RoutingError", "RoutingRules", "load_routing_rules"]


class Position(StrEnum):
    ORIGIN = "origin"
    TRANSIT = "transit"
    DESTINATION = "destination"
    ALL = "all"


SUPPORTING = ("Waybill", "BillOfLading", "ForwardingInstructions", "Invoice", "PackingList",
              "CertificateOfOrigin", "GoodsCertificate", "Manifest", "WeightStatement",
              "TransportationStatus")

DEFAULT_RULES: dict[str, tuple[Position, ...]] = {
    "ExportCustomsDeclaration": (Position.ORIGIN,),
    "TransitCustomsDeclaration": (Position.TRANSIT,),
    "ImportCustomsDeclaration": (Position.DESTINATION,),
    **{name: (Position.ALL,) for name in SUPPORTING},
    "*": (Position.ALL,),
}


@dataclass(frozen=True)
class RoutingRules:
    rules: Mapping[str, tuple[Position, ...]]

    @classmethod
    def default(cls) -> RoutingRules:
        return cls(dict(DEFAULT_RULES))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Sequence[str]], *, source: str = "rules"
                     ) -> RoutingRules:
        rules = dict(DEFAULT_RULES)
        for doc_type, positions in data.items():
            if isinstance(positions, str):
                positions = [positions]
            if not isinstance(positions, Sequence) or not positions:
                raise RoutingError(t("{source}: {document_type} needs a list of positions "
                                     "({positions})", source=source, document_type=doc_type,
                                     positions=", ".join(p.value for p in Position)))
            try:
                rules[doc_type] = tuple(Position(p) for p in positions)
            except ValueError:
                raise RoutingError(
                    t("{source}: {document_type} = {given}: positions are {positions}",
                      source=source, document_type=doc_type, given=repr(list(positions)),
                      positions=", ".join(p.value for p in Position))) from None
        return cls(rules)

    def receivers(self, document_type: str, route: Sequence[str]) -> tuple[str, ...]:
        """Countries of *route* (origin, transits..., destination) that get the document,
        in route order, each once."""
        positions = set(self.rules.get(document_type) or self.rules["*"])
        last = len(route) - 1
        chosen = []
        for i, country in enumerate(route):
            where = (Position.ORIGIN if i == 0 else
                     Position.DESTINATION if i == last else Position.TRANSIT)
            if Position.ALL in positions or where in positions:
                chosen.append(country)
        return tuple(dict.fromkeys(chosen))


def load_routing_rules(path: Path | None) -> RoutingRules:
    if path is None:
        return RoutingRules.default()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutingError(t("cannot read the routing file {path}: {error}", path=str(path),
                             error=exc.strerror)) from None
    except tomllib.TOMLDecodeError as exc:
        raise RoutingError(t("{path}: not valid TOML: {error}", path=str(path),
                             error=str(exc))) from None
    rules = data.get("rules")
    if not isinstance(rules, dict):
        raise RoutingError(t("{path}: needs a [rules] table", path=str(path)))
    return RoutingRules.from_mapping(rules, source=str(path))
