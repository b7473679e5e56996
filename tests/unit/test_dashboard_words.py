"""Every stored value a dashboard page shows has its words, in every language: a status, a
kind or a role never reaches a page as its enum value (``not_assessed``,
``partially_paid``...)."""
from __future__ import annotations

from enum import StrEnum

import pytest

from adapters.contract import DecisionKind
from exchange import i18n
from exchange.delivery.decisions import LEG_STATUS
from exchange.domain import LegRole, PartyKind, TransportMode
from exchange.notifications.kinds import NotificationKind
from exchange.payments.balances import PaymentState
from exchange.payments.entries import EntryKind
from exchange.payments.reconciliation import UnmatchedReason
from exchange.store.deliveries import DeliveryStatus
from exchange.store.subscriptions import SubscriptionStatus
from exchange.validation.report import Decision, LayerStatus, Severity
from exchange.web.words import TABLES, word
from signing.report import Reason

ENUMS: list[tuple[str, type[StrEnum] | list[str]]] = [
    ("leg", ["pending", *LEG_STATUS.values()]), ("delivery", DeliveryStatus),
    ("payment", PaymentState), ("decision", DecisionKind), ("role", LegRole),
    ("party", PartyKind), ("mode", TransportMode), ("validation", Decision),
    ("layer", LayerStatus), ("layer", ["well-formedness", "schema", "code-lists"]),
    ("severity", Severity), ("entry", EntryKind), ("unmatched", UnmatchedReason),
    ("signature", Reason), ("subscription", SubscriptionStatus),
    ("notification", NotificationKind),
]


@pytest.mark.parametrize(("table", "values"), ENUMS, ids=[f"{t}-{i}" for i, (t, _) in
                                                          enumerate(ENUMS)])
@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_value_has_words_in_every_language(table, values, locale) -> None:
    for value in values:
        text = word(str(value), table)
        assert isinstance(text, i18n.Text), f"{table}: {value!r} has no words"
        shown = text.render(locale)
        assert shown and "_" not in shown and shown != str(value), (table, value, shown)
        if locale != i18n.DEFAULT_LOCALE:
            assert shown != text.msgid, f"{table}: {value!r} untranslated in {locale}"


def test_an_unknown_value_is_shown_in_plain_words_not_as_an_identifier() -> None:
    assert word("partially_refunded", "payment") == "partially refunded"
    assert word("delivered-late", "delivery") == "delivered late"
    assert set(TABLES["payment"]) == {str(s) for s in PaymentState}


def test_a_shipment_status_renders_in_each_language() -> None:
    from dataclasses import dataclass

    from exchange.documents.status import shipment_state, shipment_status

    @dataclass
    class Leg:
        country: str
        status: str

    legs = [Leg("KG", "released"), Leg("UZ", "assessed"), Leg("AF", "pending")]
    assert shipment_status(legs) == "in transit through UZ"  # the API's words, unchanged
    state = shipment_state(legs)
    assert state.render("ru") == "в таможенном транзите через UZ"
    assert state.render("zh_Hans") == "经UZ转关运输中"
