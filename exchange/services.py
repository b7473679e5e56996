"""The typed container of what the use cases need, built by :mod:`exchange.bootstrap` from one
:class:`~exchange.config.Settings` and handed to every entry point (API, dashboard, CLI,
dispatcher). It sits below the entry points and above the feature packages: it imports their
types, never the other way round.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from adapters.members import Members

from exchange.config import Settings
from exchange.delivery.decisions import DecisionGate
from exchange.documents.pipeline import AcceptedHook, Inspector, Sealer, SignatureChecker
from exchange.documents.views import PaymentsView
from exchange.payments.views import payments_view
from exchange.payments.secretbox import SecretBox
from exchange.store import Engines, UnitOfWorkFactory
from exchange.validation import Validator

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    engines: Engines
    uow: UnitOfWorkFactory
    validator: Validator
    members: Members
    sealer: Sealer
    checker: SignatureChecker | None
    secrets: SecretBox
    """Seals payment providers' HMAC secrets at rest."""
    on_accepted: list[AcceptedHook] = field(default_factory=list)
    """Run in the transaction that stores an accepted document (routing writes deliveries)."""
    decision_gates: list[DecisionGate] = field(default_factory=list)
    """Checked before a customs decision is stored; the payments ledger's gate records
    assessments and guarantees and gates release."""
    payments_view: PaymentsView = payments_view
    """The payments block of a shipment's view (the documents feature does not import the
    payments feature; it is handed this)."""

    @cached_property
    def inspector(self) -> Inspector:
        """The first half of the pipeline: validate, verify against the origin's trust list,
        seal."""
        return Inspector(validator=self.validator, sealer=self.sealer, checker=self.checker,
                         members=self.members)

    @property
    def member_codes(self) -> frozenset[str]:
        return frozenset(self.members.countries)

    def close(self) -> None:
        self.engines.dispose()
