"""Routing rules: who receives which document, and configuration errors."""
from __future__ import annotations

import pytest

from exchange.delivery.routing import RoutingError, RoutingRules, load_routing_rules

ROUTE = ("KZ", "UZ", "TJ", "AF")


@pytest.mark.parametrize("doc_type, expected", [
    ("ExportCustomsDeclaration", ("KZ",)),
    ("TransitCustomsDeclaration", ("UZ", "TJ")),
    ("ImportCustomsDeclaration", ("AF",)),
    ("Waybill", ROUTE), ("Invoice", ROUTE), ("PackingList", ROUTE),
    ("CertificateOfOrigin", ROUTE),
    ("Order", ROUTE),  # no rule: the '*' rule
])
def test_default_rules(doc_type, expected):
    assert RoutingRules.default().receivers(doc_type, ROUTE) == expected


def test_transit_declaration_without_transit_countries_goes_nowhere():
    assert RoutingRules.default().receivers("TransitCustomsDeclaration", ("KZ", "UZ")) == ()


def test_rules_from_a_file(tmp_path):
    path = tmp_path / "routing.toml"
    path.write_text('[rules]\nInvoice = ["origin", "destination"]\n"*" = "origin"\n')
    rules = load_routing_rules(path)
    assert rules.receivers("Invoice", ROUTE) == ("KZ", "AF")
    assert rules.receivers("Order", ROUTE) == ("KZ",)
    assert rules.receivers("ExportCustomsDeclaration", ROUTE) == ("KZ",)  # defaults kept


@pytest.mark.parametrize("text, message", [
    ('[rules]\nInvoice = ["everywhere"]\n', "positions are origin, transit"),
    ("[rules]\nInvoice = []\n", "needs a list of positions"),
    ("rules = 1\n", "needs a [rules] table"),
    ("[rules\n", "not valid TOML"),
])
def test_bad_rules_files(tmp_path, text, message):
    path = tmp_path / "routing.toml"
    path.write_text(text)
    with pytest.raises(RoutingError, match=message.replace("[", r"\[")):
        load_routing_rules(path)


def test_missing_rules_file(tmp_path):
    with pytest.raises(RoutingError, match="cannot read the routing file"):
        load_routing_rules(tmp_path / "nope.toml")
