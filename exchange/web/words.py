"""The words a page shows for a stored value: a status, a kind, a role, never the enum value.

Each table maps the values of one enum (a leg's status, a delivery's, a payment state...) to a
message (:func:`exchange.i18n.t`), rendered in the reader's language by the template filter
``word`` (``{{ leg.status|word("leg") }}``). ``tests/unit/test_dashboard_words.py`` checks
that every value of every enum has its word, so a new status cannot reach a page raw.
"""
from __future__ import annotations

from exchange.i18n import Text, t
from exchange.verdicts import SIGNATURE_WORDS

__all__ = ["TABLES", "word"]

TABLES: dict[str, dict[str, Text]] = {
    "leg": {
        "pending": t("Awaiting customs"), "acknowledged": t("Received by customs"),
        "accepted": t("Declaration accepted"), "rejected": t("Refused by customs"),
        "held": t("Held for inspection"), "query": t("Question from customs"),
        "assessed": t("Duties assessed"), "guaranteed": t("Guarantee accepted"),
        "released": t("Released"),
    },
    "delivery": {
        "pending": t("Queued"), "sending": t("Sending"), "sent": t("Sent"),
        "delivered": t("Delivered"), "delivered-with-warnings": t("Delivered with warnings"),
        "acknowledged": t("Acknowledged"), "rejected": t("Refused by the customs system"),
        "retrying": t("Will be retried"), "dead": t("Not delivered"),
    },
    "payment": {
        "not_assessed": t("Nothing assessed yet"), "assessed": t("To be paid"),
        "partially_paid": t("Partly paid"), "paid": t("Paid"), "overpaid": t("Overpaid"),
        "refunded": t("Refunded"),
    },
    "decision": {
        "acknowledged": t("Acknowledge receipt"), "accepted": t("Accept the declaration"),
        "rejected": t("Refuse"), "hold": t("Hold for inspection"),
        "query": t("Ask the declarant a question"), "assessment": t("Assess duties"),
        "guarantee-accepted": t("Accept a guarantee"), "released": t("Release the goods"),
    },
    "role": {"origin": t("Country of departure"), "transit": t("Transit"),
             "destination": t("Country of destination")},
    "party": {"forwarder": t("Forwarder"), "customs": t("Customs authority"),
              "operator": t("Operator"), "payment-provider": t("Payment provider")},
    "mode": {"road": t("Road"), "rail": t("Rail"), "air": t("Air"), "sea": t("Sea"),
             "multimodal": t("Multimodal")},
    "validation": {"accept": t("Valid"), "reject": t("Not valid")},
    "layer": {"well-formedness": t("Well-formed XML"), "schema": t("Schema"),
              "code-lists": t("Code lists"), "rules": t("Business rules"), "valid": t("Passed"), "invalid": t("Failed"),
              "skipped": t("Not checked")},
    "severity": {"error": t("Error"), "warning": t("Warning"), "information": t("Note")},
    "subscription": {"active": t("Active"), "paused": t("Paused")},
    "notification": {
        "document.accepted": t("A document accepted"),
        "delivery.delivered": t("A document delivered to customs"),
        "decision.recorded": t("A customs decision recorded"),
        "payment.recorded": t("A payment recorded"), "leg.released": t("A leg released"),
        "shipment.cleared": t("A shipment released by every country"),
    },
    "outcome": {"accepted": t("Accepted"), "duplicate": t("Already received"),
                "refused": t("Refused")},
    "entry": {"assessment": t("Assessment"), "payment": t("Payment"), "refund": t("Refund"),
              "adjustment": t("Adjustment")},
    "unmatched": {
        "other-account": t("Paid into another account than the duties account"),
        "no-entry-reference": t("The bank gave no reference to record it by"),
        "duplicate-reference": t("The same bank reference twice in one file"),
        "no-amount": t("The bank gave no amount for it"),
        "invalid-amount": t("The amount or currency is not valid"),
        "debit": t("Money out, not a payment of duties"),
        "not-booked": t("Not booked by the bank yet"), "reversal": t("Reversed by the bank"),
        "no-reference": t("No payment reference"),
        "invalid-reference": t("The payment reference is wrong (check digits)"),
        "unknown-reference": t("No open assessment has this payment reference"),
        "ambiguous": t("References of more than one assessment"),
        "wrong-currency": t("Paid in another currency than assessed"),
    },
    "signature": SIGNATURE_WORDS,
}


def word(value: object, table: str) -> Text | str:
    """The word for *value* in *table*; an unknown value in plain words (never an
    identifier with underscores)."""
    text = "" if value is None else str(value)
    found = TABLES[table].get(text)
    if found is not None:
        return found
    return text.replace("_", " ").replace("-", " ")
