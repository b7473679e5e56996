"""Matching bank transactions to assessments: ISO 11649 RF creditor references.

:func:`match_transaction` looks for RF references (those of
:func:`exchange.payments.entries.assessment_reference`) in the structured creditor reference
(``RmtInf/Strd/CdtrRefInf/Ref``), then in the unstructured text (``RmtInf/Ustrd``,
``AddtlTxInf``, ``AddtlNtryInf``), and maps them to a (shipment, country) through an
:class:`AssessmentIndex`. :func:`reconcile` turns the matches of a notification into
:class:`~exchange.payments.entries.Payment` entries and keeps the rest with an
:class:`UnmatchedReason`; :func:`post_payments` posts them through any ledger. Pure: no
database (the store's import is :func:`exchange.payments.bank_files.import_camt054`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stdnum.iso7064 import mod_97_10

from exchange.i18n import Text, t
from exchange.payments.camt054 import CamtNotification, CamtTransaction
from exchange.payments.entries import Assessment, Payment, PaymentSource, entry_id_for
from exchange.payments.errors import LedgerError

__all__ = [
    "AssessmentIndex", "AssessmentTarget", "ImportReport", "Match", "Reconciliation",
    "Unmatched", "UnmatchedReason", "compact_account", "find_rf_references", "match_transaction",
    "post_payments", "reconcile",
]


@dataclass(frozen=True, slots=True)
class AssessmentTarget:
    """Where a payment quoting an assessment's reference belongs."""

    reference: str
    shipment_id: str
    country: str
    currency: str
    assessment_id: str


class AssessmentIndex:
    """RF reference -> :class:`AssessmentTarget`, built by the caller from the
    assessments it wants matched (for instance every open one)."""

    def __init__(self, targets: Iterable[AssessmentTarget] = ()):
        self._targets: dict[str, AssessmentTarget] = {}
        for target in targets:
            self.add(target)

    @classmethod
    def from_assessments(cls, assessments: Iterable[Assessment]) -> AssessmentIndex:
        return cls(AssessmentTarget(a.reference, a.shipment_id, a.country, a.money.currency,
                                    a.entry_id) for a in assessments)

    def add(self, target: AssessmentTarget) -> None:
        self._targets[target.reference] = target

    def get(self, reference: str) -> AssessmentTarget | None:
        return self._targets.get(reference)

    def __len__(self) -> int:
        return len(self._targets)


class UnmatchedReason(StrEnum):
    """Why a transaction was not recorded as a payment (the operator's work list)."""

    OTHER_ACCOUNT = "other-account"          # not one of the accounts duties are paid to
    DEBIT = "debit"                          # money out: not a payment of duties
    NOT_BOOKED = "not-booked"                # pending / information only (Sts not BOOK)
    REVERSAL = "reversal"                    # a bank reversal: for an operator to handle
    UNIDENTIFIED = "no-entry-reference"      # no reference to record it once only by
    DUPLICATE = "duplicate-reference"        # the reference of an earlier one of the file
    NO_AMOUNT = "no-amount"                  # a batch's transaction the bank gave no amount
    INVALID_AMOUNT = "invalid-amount"        # an amount or currency that is not valid
    NO_REFERENCE = "no-reference"            # no RF reference anywhere in the remittance
    INVALID_REFERENCE = "invalid-reference"  # RF-like, wrong check digits
    UNKNOWN_REFERENCE = "unknown-reference"  # valid RF, no such (open) assessment
    AMBIGUOUS = "ambiguous"                  # references of more than one leg
    WRONG_CURRENCY = "wrong-currency"        # paid in another currency than the leg's


@dataclass(frozen=True, slots=True)
class Match:
    transaction: CamtTransaction
    target: AssessmentTarget


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A transaction left to an operator: ``why`` in the reader's language (a bank file's
    own amount problem as written), ``message`` in English (what is stored)."""

    transaction: CamtTransaction
    reason: UnmatchedReason
    why: Text | str
    candidates: tuple[AssessmentTarget, ...] = ()

    @property
    def message(self) -> str:
        return str(self.why)

    def to_dict(self) -> dict[str, object]:
        return {"reason": str(self.reason), "message": self.message,
                "candidates": [{"reference": c.reference, "shipment_id": c.shipment_id,
                                "country": c.country} for c in self.candidates],
                "transaction": self.transaction.to_dict()}


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The result of :func:`reconcile`: ``payments`` to post to the ledgers (each with the
    transaction's idempotency key as provider reference), and the rest with a reason."""

    notification: CamtNotification
    matches: tuple[Match, ...] = ()
    payments: tuple[Payment, ...] = ()
    unmatched: tuple[Unmatched, ...] = field(default=())


# zero-width, so that a reference swallowed by the run-on of the one before is still seen
_RF_TEXT = re.compile(r"(?<![0-9A-Z])(?=(RF[0-9]{2}(?: ?[0-9A-Z]){1,21}))", re.IGNORECASE)


def find_rf_references(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """RF references in free text (electronic or print format, any case):
    (valid ones, RF-looking strings whose check digits fail). When the text runs on
    after a reference, the longest prefix with valid check digits is taken."""
    valid: list[str] = []
    invalid: list[str] = []
    for found in _RF_TEXT.finditer(text):
        compact = found.group(1).replace(" ", "").upper()
        for end in range(len(compact), 4, -1):
            if _rf_valid(compact[:end]):
                valid.append(compact[:end])
                break
        else:
            invalid.append(compact)
    return tuple(dict.fromkeys(valid)), tuple(dict.fromkeys(invalid))


def _rf_valid(reference: str) -> bool:
    """ISO 11649 validity of a compact, upper-case candidate ("RF", 2 check digits, 1-21
    characters 0-9A-Z, as :data:`_RF_TEXT` finds them): the check digits moved to the end
    pass ISO 7064 MOD 97-10 (python-stdnum's). The same answer as
    ``stdnum.iso11649.is_valid`` on these strings, without its general clean-up."""
    if not 5 <= len(reference) <= 25 or not reference.startswith("RF"):
        return False
    if not reference.isascii() or not reference.isalnum() or not reference.isupper():
        return False  # a character outside 0-9A-Z (case folding can let one through)
    return mod_97_10.is_valid(reference[4:] + reference[:4])


def _candidates(tx: CamtTransaction, index: AssessmentIndex) -> tuple[list[str], list[str]]:
    found: list[str] = []
    bad: list[str] = []
    for ref in tx.creditor_references:
        compact = ref.replace(" ", "").upper()
        if index.get(compact) is not None:  # indexed references are valid by construction
            found.append(compact)
            continue
        valid, invalid = find_rf_references(ref)
        found += valid
        bad += invalid
    for text in tx.unstructured:
        valid, invalid = find_rf_references(text)
        # from free text keep the longest known prefix when the text runs on
        found += [_known_prefix(v, index) for v in valid]
        bad += invalid
    return list(dict.fromkeys(found)), bad


def _known_prefix(reference: str, index: AssessmentIndex) -> str:
    for end in range(len(reference), 4, -1):
        if index.get(reference[:end]) is not None and _rf_valid(reference[:end]):
            return reference[:end]
    return reference


def match_transaction(tx: CamtTransaction, index: AssessmentIndex,
                      accounts: Container[str] | None = None) -> Match | Unmatched:
    """Map one transaction to the (shipment, country) of the assessment it quotes.
    *accounts* (compact, upper case; None: any) are those duties are paid to."""
    if accounts is not None and compact_account(tx.account) not in accounts:
        return Unmatched(tx, UnmatchedReason.OTHER_ACCOUNT,
                         t("account {account} is not one duties are paid to",
                           account=tx.account))
    if not tx.credit:
        return Unmatched(tx, UnmatchedReason.DEBIT, t("a debit entry is not a payment in"))
    if not tx.booked:
        return Unmatched(tx, UnmatchedReason.NOT_BOOKED,
                         t("entry status is {status}, not BOOK", status=tx.status))
    if tx.reversal:
        return Unmatched(tx, UnmatchedReason.REVERSAL, t("the bank reversed this entry"))
    if not tx.identified:
        return Unmatched(tx, UnmatchedReason.UNIDENTIFIED,
                         t("no AcctSvcrRef, UETR, EndToEndId, TxId or NtryRef: it could not "
                           "be recognised when imported again, so it is left to an operator"))
    if tx.duplicate:
        if tx.duplicate_of:
            return Unmatched(tx, UnmatchedReason.DUPLICATE, t(
                "an earlier transaction of this file at line {line} has the same reference",
                line=tx.duplicate_of))
        return Unmatched(tx, UnmatchedReason.DUPLICATE,
                         t("an earlier transaction of this file has the same reference"))
    money = tx.money
    if money is None:
        if tx.amount_problem:
            return Unmatched(tx, UnmatchedReason.INVALID_AMOUNT, tx.amount_problem)
        return Unmatched(tx, UnmatchedReason.NO_AMOUNT,
                         t("the bank gave no amount for this transaction of a batch entry"))
    found, bad = _candidates(tx, index)
    targets = [target for target in (index.get(ref) for ref in found) if target is not None]
    legs = {(target.shipment_id, target.country) for target in targets}
    if len(legs) > 1:
        return Unmatched(tx, UnmatchedReason.AMBIGUOUS, t(
            "the remittance quotes assessments of {legs}",
            legs=", ".join(f"{s}/{c}" for s, c in sorted(legs))), tuple(targets))
    if not targets:
        if found:
            return Unmatched(tx, UnmatchedReason.UNKNOWN_REFERENCE,
                             t("no open assessment has reference {references}",
                               references=", ".join(found)))
        if bad:
            return Unmatched(tx, UnmatchedReason.INVALID_REFERENCE,
                             t("{references}: ISO 11649 check digits do not match",
                               references=", ".join(bad)))
        return Unmatched(tx, UnmatchedReason.NO_REFERENCE,
                         t("no RF creditor reference in the remittance information"))
    target = targets[0]
    if money.currency != target.currency:
        return Unmatched(tx, UnmatchedReason.WRONG_CURRENCY,
                         t("{country} accepts {currency}, the bank booked {money}",
                           country=target.country, currency=target.currency, money=money),
                         tuple(targets))
    return Match(tx, target)


def compact_account(account: str) -> str:
    """An account number as compared (no spaces, upper case)."""
    return account.replace(" ", "").upper()


def reconcile(notification: CamtNotification, index: AssessmentIndex, *,
              recorded_at: datetime, accounts: Container[str] | None = None
              ) -> Reconciliation:
    """Match every transaction; build a :class:`~exchange.payments.entries.Payment` for each match.

    The payments carry ``provider_reference = transaction.idempotency_key``, an entry id
    derived from it (:func:`~exchange.payments.entries.entry_id_for`) and ``source = camt054``:
    posting them a second time (the same file imported twice) is recognised as a repeat
    and records nothing. *accounts*: see :func:`match_transaction`.
    """
    matches: list[Match] = []
    payments: list[Payment] = []
    unmatched: list[Unmatched] = []
    for tx in notification.transactions:
        outcome = match_transaction(tx, index, accounts)
        if isinstance(outcome, Unmatched):
            unmatched.append(outcome)
            continue
        assert tx.money is not None  # a match has an amount
        matches.append(outcome)
        payments.append(Payment(
            entry_id=entry_id_for(tx.idempotency_key), shipment_id=outcome.target.shipment_id,
            country=outcome.target.country,
            recorded_at=recorded_at, money=tx.money, provider_reference=tx.idempotency_key,
            payer=tx.debtor, source=PaymentSource.CAMT054, booked_on=tx.booking_date))
    return Reconciliation(notification, tuple(matches), tuple(payments), tuple(unmatched))


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What posting a :class:`Reconciliation` did: payments recorded, repeats of payments
    recorded before (the same file again), payments a ledger rule refused (with the
    error, e.g. the same bank reference with another amount), and the unmatched."""

    recorded: tuple[Payment, ...]
    repeated: tuple[Payment, ...]
    refused: tuple[tuple[Payment, LedgerError], ...]
    unmatched: tuple[Unmatched, ...]

    def to_dict(self) -> dict[str, object]:
        def payment(p: Payment) -> dict[str, object]:
            return {"shipment_id": p.shipment_id, "country": p.country,
                    "reference": p.provider_reference, "amount": p.money.to_dict()}
        return {"recorded": [payment(p) for p in self.recorded],
                "repeated": [payment(p) for p in self.repeated],
                "refused": [{**payment(p), "code": e.code, "reason": e.message}
                            for p, e in self.refused],
                "unmatched": [u.to_dict() for u in self.unmatched]}


def post_payments(reconciliation: Reconciliation,
                  post: Callable[[Payment], bool]) -> ImportReport:
    """Post every matched payment through ``post`` (True: recorded, False: a repeat; a
    :class:`LedgerError` when refused) and report. ``post`` is, for instance,
    ``lambda p: ledgers[p.shipment_id].post(p).recorded`` or the store's insert; whether a
    refusal rolls the whole file back is the caller's transaction's choice."""
    recorded: list[Payment] = []
    repeated: list[Payment] = []
    refused: list[tuple[Payment, LedgerError]] = []
    for payment in reconciliation.payments:
        try:
            (recorded if post(payment) else repeated).append(payment)
        except LedgerError as exc:
            refused.append((payment, exc))
    return ImportReport(tuple(recorded), tuple(repeated), tuple(refused),
                        reconciliation.unmatched)
