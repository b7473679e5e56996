"""ISO 20022 camt.054 (bank-to-customer debit/credit notification): read and match.

Reading (:func:`read_camt054`) parses the bytes once through
:func:`signing.safexml.parse_xml` and turns every transaction of every entry into a
:class:`CamtTransaction`. Versions ``camt.054.001.02`` and ``camt.054.001.08`` are read;
their differences handled here: entry status as a code (``<Sts>BOOK</Sts>``, .02) or a
choice (``<Sts><Cd>BOOK</Cd></Sts>``, .08), the transaction amount in ``TxDtls/Amt``
(.08) or ``TxDtls/AmtDtls/TxAmt/Amt``, the debtor name in ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``.
A file with a problem is refused whole (nothing of it is imported):

    CamtError                       camt054        (a LedgerError)
    ├── CamtMalformedError          camt054.malformed       not well-formed / truncated
    ├── CamtUnsafeError             camt054.unsafe          DOCTYPE, entities, XInclude...
    ├── CamtVersionError            camt054.unsupported     not a camt.054 we read
    ├── CamtStructureError          camt054.invalid         a required element missing/bad
    ├── CamtAmountError             camt054.invalid-amount  bad amount or currency
    ├── CamtMissingReferenceError   camt054.missing-entry-reference
    └── CamtDuplicateEntryError     camt054.duplicate-entry-reference

Each transaction has an :attr:`~CamtTransaction.idempotency_key`
(``camt054/<account>/<reference>``) used as the payment's provider reference, so that
importing the same file twice records nothing new (the ledger sees a repeat).

Matching (:func:`match_transaction`, :func:`reconcile`) looks for ISO 11649 RF creditor
references (``exchange.ledger.assessment_reference``) in the structured creditor
reference (``RmtInf/Strd/CdtrRefInf/Ref``), then in the unstructured text
(``RmtInf/Ustrd``, ``AddtlTxInf``, ``AddtlNtryInf``), and maps them to a
(shipment, country) through an :class:`AssessmentIndex`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from stdnum.iso7064 import mod_97_10

from exchange.ledger import Assessment, Payment, PaymentSource, entry_id_for
from exchange.money import LedgerError, Money, MoneyError

__all__ = [
    "SUPPORTED_VERSIONS",
    "AssessmentIndex",
    "AssessmentTarget",
    "CamtAmountError",
    "CamtDuplicateEntryError",
    "CamtError",
    "CamtMalformedError",
    "CamtMissingReferenceError",
    "CamtNotification",
    "CamtStructureError",
    "CamtTransaction",
    "CamtUnsafeError",
    "CamtVersionError",
    "ImportReport",
    "Match",
    "Reconciliation",
    "Unmatched",
    "UnmatchedReason",
    "find_rf_references",
    "match_transaction",
    "post_payments",
    "read_camt054",
    "read_camt054_tree",
    "reconcile",
]

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
SUPPORTED_VERSIONS = ("001.02", "001.08")


class CamtError(LedgerError):
    code = "camt054"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line
        self.column = column


class CamtMalformedError(CamtError):
    code = "camt054.malformed"


class CamtUnsafeError(CamtError):
    code = "camt054.unsafe"


class CamtVersionError(CamtError):
    code = "camt054.unsupported"


class CamtStructureError(CamtError):
    code = "camt054.invalid"


class CamtAmountError(CamtError):
    code = "camt054.invalid-amount"


class CamtMissingReferenceError(CamtError):
    code = "camt054.missing-entry-reference"


class CamtDuplicateEntryError(CamtError):
    code = "camt054.duplicate-entry-reference"


@dataclass(frozen=True, slots=True)
class CamtTransaction:
    """One credit or debit transaction of a notification (an entry, or one ``TxDtls``)."""

    idempotency_key: str
    account: str
    entry_reference: str | None
    account_servicer_reference: str | None
    money: Money
    credit: bool
    reversal: bool
    status: str
    booking_date: date | None
    creditor_references: tuple[str, ...] = ()
    unstructured: tuple[str, ...] = ()
    debtor: str | None = None
    end_to_end_id: str | None = None
    line: int | None = None

    @property
    def booked(self) -> bool:
        return self.status == "BOOK"

    def to_dict(self) -> dict[str, object]:
        return {"key": self.idempotency_key, "account": self.account,
                "entry_reference": self.entry_reference,
                "account_servicer_reference": self.account_servicer_reference,
                "amount": self.money.to_dict(), "credit": self.credit,
                "reversal": self.reversal, "status": self.status,
                "booking_date": self.booking_date.isoformat() if self.booking_date else None,
                "creditor_references": list(self.creditor_references),
                "unstructured": list(self.unstructured), "debtor": self.debtor,
                "line": self.line}


@dataclass(frozen=True, slots=True)
class CamtNotification:
    version: str
    message_id: str
    created_at: str
    transactions: tuple[CamtTransaction, ...]


# -- reading -------------------------------------------------------------------------------
def read_camt054(data: bytes, *, limits=None) -> CamtNotification:
    """Parse (safely, once) and read a camt.054 file; raise a :class:`CamtError`.

    ``limits`` (a :class:`signing.safexml.XmlLimits`) raises the size limit for large
    bank files; the default is safexml's."""
    from signing.safexml import DEFAULT_LIMITS, MalformedXmlError, XmlError, parse_xml

    try:
        tree = parse_xml(data, limits=limits or DEFAULT_LIMITS)
    except MalformedXmlError as exc:
        raise CamtMalformedError(f"not a well-formed XML file: {exc.message}",
                                 line=exc.line, column=exc.column) from exc
    except XmlError as exc:
        raise CamtUnsafeError(f"refused by the XML safety policy: {exc.message}",
                              line=exc.line, column=exc.column) from exc
    return read_camt054_tree(tree)


def read_camt054_tree(tree) -> CamtNotification:
    """Read a tree already parsed by :func:`signing.safexml.parse_xml`."""
    from lxml import etree

    root = tree.getroot() if hasattr(tree, "getroot") else tree
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    version = namespace[len(NAMESPACE_PREFIX):] \
        if namespace.startswith(NAMESPACE_PREFIX) else None
    if qname.localname != "Document" or version not in SUPPORTED_VERSIONS:
        raise CamtVersionError(
            f"root {root.tag} is not a camt.054 Document of version "
            f"{' or '.join(SUPPORTED_VERSIONS)}", line=root.sourceline)
    r = _Reader(namespace)
    body = r.one(root, "BkToCstmrDbtCdtNtfctn")
    header = r.one(body, "GrpHdr")
    message_id, created_at = r.text(header, "MsgId"), r.text(header, "CreDtTm")
    transactions: list[CamtTransaction] = []
    seen: dict[tuple[str, ...], tuple[int, int | None]] = {}  # key -> (ordinal, line)
    notifications = r.all(body, "Ntfctn")
    if not notifications:
        raise CamtStructureError("no Ntfctn in BkToCstmrDbtCdtNtfctn", line=body.sourceline)
    plans = _Plans(namespace)
    for ntfctn in notifications:
        account = r.account(ntfctn)
        for element in ntfctn.iterchildren(plans.ntry):
            entry = _Entry(element, plans)
            mark = (len(seen), entry.line)
            for kind, ref in (("NtryRef", entry.ntry_ref), ("AcctSvcrRef", entry.svcr_ref)):
                if ref is None:
                    continue
                first = seen.setdefault((account, kind, ref), mark)
                if first is not mark:
                    raise CamtDuplicateEntryError(
                        f"entry reference {kind} {ref!r} of account {account} appears twice "
                        f"(first at line {first[1]})", line=entry.line)
            for tx in entry.read(account):
                mark = (len(seen), tx.line)
                first = seen.setdefault(("key", tx.idempotency_key), mark)
                if first is not mark:
                    raise CamtDuplicateEntryError(
                        f"transaction reference {tx.idempotency_key!r} appears twice "
                        f"(first at line {first[1]})", line=tx.line)
                transactions.append(tx)
    return CamtNotification(version, message_id, created_at, tuple(transactions))


_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,5})?")


class _Reader:
    """Header-level lookups (a few per file) by Clark-notation paths."""

    def __init__(self, namespace: str):
        self.prefix = f"{{{namespace}}}"

    def _path(self, path: str) -> str:
        return "/".join(self.prefix + step for step in path.split("/"))

    def all(self, el, path: str) -> list:
        return el.findall(self._path(path))

    def one(self, el, path: str):
        found = el.find(self._path(path))
        if found is None:
            raise CamtStructureError(f"{_local(el)} has no {path}", line=el.sourceline)
        return found

    def opt(self, el, path: str) -> str | None:
        return _strip(el.find(self._path(path)))

    def text(self, el, path: str) -> str:
        value = self.opt(el, path)
        if value is None:
            raise CamtStructureError(f"{_local(el)} has no {path}", line=el.sourceline)
        return value

    def account(self, ntfctn) -> str:
        acct = self.one(ntfctn, "Acct")
        account = self.opt(acct, "Id/IBAN") or self.opt(acct, "Id/Othr/Id")
        if account is None:
            raise CamtStructureError("Acct has no Id/IBAN or Id/Othr/Id", line=acct.sourceline)
        return account


def _strip(el) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


# The paths read below an entry and below each of its TxDtls: nothing else is visited
# (every step of a path is indexed too: "Sts" as well as "Sts/Cd").
_ENTRY_PATHS = ("Amt", "CdtDbtInd", "RvslInd", "Sts/Cd", "Sts/Prtry", "BookgDt/Dt",
                "BookgDt/DtTm", "NtryRef", "AcctSvcrRef", "AddtlNtryInf", "NtryDtls/TxDtls")
_TX_PATHS = ("Refs/AcctSvcrRef", "Refs/EndToEndId", "Amt", "AmtDtls/TxAmt/Amt", "CdtDbtInd",
             "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm", "RmtInf/Strd/CdtrRefInf/Ref",
             "RmtInf/Ustrd", "AddtlTxInf")


def _plan(paths: tuple[str, ...], prefix: str) -> dict:
    """Clark name -> (path so far, plan of its children) for every step of *paths*."""
    plan: dict = {}
    for path in paths:
        level, steps = plan, path.split("/")
        for n, step in enumerate(steps):
            tag = prefix + step
            if tag not in level:
                level[tag] = ("/".join(steps[:n + 1]), {})
            level = level[tag][1]
    return plan


class _Plans:
    """The walk plans of one namespace (built once per file)."""

    def __init__(self, namespace: str):
        prefix = f"{{{namespace}}}"
        self.ntry = prefix + "Ntry"
        self.entry = _plan(_ENTRY_PATHS, prefix)
        self.transaction = _plan(_TX_PATHS, prefix)


def _collect(el, plan: dict, found: dict[str, list]) -> None:
    """Index the elements below *el* that lie on *plan*'s paths, by path, in document
    order (comments, processing instructions, other namespaces: not on any path)."""
    for child in el:
        step = plan.get(child.tag)
        if step is None:
            continue
        path, below = step
        same = found.get(path)
        if same is None:
            found[path] = [child]
        else:
            same.append(child)
        if below:
            _collect(child, below, found)


class _Entry:
    """One ``Ntry`` indexed in one walk of the elements on the paths that are read
    (by path: its own, and per ``TxDtls`` those relative to it); bank transaction
    codes, charges and the like are never visited."""

    __slots__ = ("el", "found", "ntry_ref", "plans", "svcr_ref")

    def __init__(self, entry, plans: _Plans):
        self.el = entry
        self.plans = plans
        self.found: dict[str, list] = {}
        _collect(entry, plans.entry, self.found)
        self.ntry_ref = _strip(self.first("NtryRef"))
        self.svcr_ref = _strip(self.first("AcctSvcrRef"))

    @property
    def line(self) -> int | None:
        return self.el.sourceline

    def first(self, path: str):
        found = self.found.get(path)
        return found[0] if found else None

    def opt(self, path: str) -> str | None:
        return _strip(self.first(path))

    def text(self, path: str) -> str:
        value = self.opt(path)
        if value is None:
            raise CamtStructureError(f"Ntry has no {path}", line=self.line)
        return value

    def status(self) -> str:
        sts = self.first("Sts")
        if sts is None:
            raise CamtStructureError("Ntry has no Sts", line=self.line)
        code = self.opt("Sts/Cd") or self.opt("Sts/Prtry") or _strip(sts)
        if code is None:
            raise CamtStructureError("Ntry/Sts has no status code", line=sts.sourceline)
        return code.upper()

    def booking_date(self) -> date | None:
        day, stamp = self.opt("BookgDt/Dt"), self.opt("BookgDt/DtTm")
        try:
            if day is not None:
                return date.fromisoformat(day)
            if stamp is not None:
                return datetime.fromisoformat(stamp).date()
        except ValueError:
            raise CamtStructureError(f"booking date {day or stamp!r} is not an ISO date",
                                     line=self.line) from None
        return None

    def read(self, account: str) -> list[CamtTransaction]:
        entry_money = _money(self.first("Amt"))
        if entry_money is None:
            raise CamtStructureError("Ntry has no Amt", line=self.line)
        credit = _credit(self.text("CdtDbtInd"), self.first("CdtDbtInd"))
        reversal = (self.opt("RvslInd") or "false").lower() == "true"
        status = self.status()
        booked = self.booking_date()
        ntry_ref, ntry_svcr = self.ntry_ref, self.svcr_ref
        base_ref = ntry_svcr or ntry_ref
        if base_ref is None:
            raise CamtMissingReferenceError(
                "entry has neither NtryRef nor AcctSvcrRef: it cannot be imported "
                "idempotently", line=self.line)
        extra = tuple(t for t in [self.opt("AddtlNtryInf")] if t)
        details = self.found.get("NtryDtls/TxDtls")
        if not details:
            return [CamtTransaction(f"camt054/{account}/{base_ref}", account, ntry_ref,
                                    ntry_svcr, entry_money, credit, reversal, status, booked,
                                    unstructured=extra, line=self.line)]
        result = []
        batch = len(details) > 1
        plan = self.plans.transaction
        for n, detail in enumerate(details, 1):
            found: dict[str, list] = {}
            _collect(detail, plan, found)

            def first(path: str, found=found):
                hits = found.get(path)
                return hits[0] if hits else None

            line = detail.sourceline
            money = _money(first("Amt")) or _money(first("AmtDtls/TxAmt/Amt"))
            if money is None:
                if batch:
                    raise CamtStructureError("a TxDtls of a batch entry has no amount",
                                             line=line)
                money = entry_money
            indicator = first("CdtDbtInd")
            if indicator is None:
                tx_credit = credit
            else:
                value = _strip(indicator)
                if value is None:
                    raise CamtStructureError("TxDtls has no CdtDbtInd", line=line)
                tx_credit = _credit(value, indicator)
            tx_svcr = _strip(first("Refs/AcctSvcrRef"))
            if tx_svcr is not None:
                key = tx_svcr
            else:
                key = f"{base_ref}/{n}" if batch else base_ref
            refs = tuple(r for r in map(_strip, found.get("RmtInf/Strd/CdtrRefInf/Ref", ()))
                         if r)
            texts = tuple(t for t in map(_strip, found.get("RmtInf/Ustrd", ())) if t)
            texts += tuple(t for t in [_strip(first("AddtlTxInf"))] if t) + extra
            debtor = _strip(first("RltdPties/Dbtr/Nm")) or _strip(
                first("RltdPties/Dbtr/Pty/Nm"))
            result.append(CamtTransaction(
                f"camt054/{account}/{key}", account, ntry_ref, tx_svcr or ntry_svcr, money,
                tx_credit, reversal, status, booked, refs, texts, debtor,
                _strip(first("Refs/EndToEndId")), line))
        return result


def _money(amt) -> Money | None:
    if amt is None:
        return None
    text = (amt.text or "").strip()
    code = amt.get("Ccy")
    if not _AMOUNT.fullmatch(text):
        raise CamtAmountError(f"amount {text!r} is not an ISO 20022 amount "
                              "(digits, '.', at most 5 decimals, not negative)",
                              line=amt.sourceline)
    if not code:
        raise CamtAmountError("amount without a Ccy attribute", line=amt.sourceline)
    try:
        return Money(text, code)
    except MoneyError as exc:
        raise CamtAmountError(f"{exc.message} ({exc.code})", line=amt.sourceline) from exc


def _credit(value: str, element) -> bool:
    if value not in ("CRDT", "DBIT"):
        raise CamtStructureError(f"CdtDbtInd {value!r} is neither CRDT nor DBIT",
                                 line=element.sourceline)
    return value == "CRDT"


def _local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)


# -- matching ------------------------------------------------------------------------------
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

    DEBIT = "debit"                          # money out: not a payment of duties
    NOT_BOOKED = "not-booked"                # pending / information only (Sts not BOOK)
    REVERSAL = "reversal"                    # a bank reversal: for an operator to handle
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
    transaction: CamtTransaction
    reason: UnmatchedReason
    message: str
    candidates: tuple[AssessmentTarget, ...] = ()

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


def match_transaction(tx: CamtTransaction, index: AssessmentIndex) -> Match | Unmatched:
    """Map one transaction to the (shipment, country) of the assessment it quotes."""
    if not tx.credit:
        return Unmatched(tx, UnmatchedReason.DEBIT, "a debit entry is not a payment in")
    if not tx.booked:
        return Unmatched(tx, UnmatchedReason.NOT_BOOKED, f"entry status is {tx.status}, not BOOK")
    if tx.reversal:
        return Unmatched(tx, UnmatchedReason.REVERSAL, "the bank reversed this entry")
    found, bad = _candidates(tx, index)
    targets = [t for t in (index.get(ref) for ref in found) if t is not None]
    legs = {(t.shipment_id, t.country) for t in targets}
    if len(legs) > 1:
        return Unmatched(tx, UnmatchedReason.AMBIGUOUS,
                         "the remittance quotes assessments of "
                         + ", ".join(f"{s}/{c}" for s, c in sorted(legs)), tuple(targets))
    if not targets:
        if found:
            return Unmatched(tx, UnmatchedReason.UNKNOWN_REFERENCE,
                             f"no open assessment has reference {', '.join(found)}")
        if bad:
            return Unmatched(tx, UnmatchedReason.INVALID_REFERENCE,
                             f"{', '.join(bad)}: ISO 11649 check digits do not match")
        return Unmatched(tx, UnmatchedReason.NO_REFERENCE,
                         "no RF creditor reference in the remittance information")
    target = targets[0]
    if tx.money.currency != target.currency:
        return Unmatched(tx, UnmatchedReason.WRONG_CURRENCY,
                         f"{target.country} accepts {target.currency}, the bank booked "
                         f"{tx.money}", tuple(targets))
    return Match(tx, target)


def reconcile(notification: CamtNotification, index: AssessmentIndex, *,
              recorded_at: datetime) -> Reconciliation:
    """Match every transaction; build a :class:`~exchange.ledger.Payment` for each match.

    The payments carry ``provider_reference = transaction.idempotency_key``, an entry id
    derived from it (:func:`~exchange.ledger.entry_id_for`) and ``source = camt054``:
    posting them a second time (the same file imported twice) is recognised as a repeat
    and records nothing.
    """
    matches: list[Match] = []
    payments: list[Payment] = []
    unmatched: list[Unmatched] = []
    for tx in notification.transactions:
        outcome = match_transaction(tx, index)
        if isinstance(outcome, Unmatched):
            unmatched.append(outcome)
            continue
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
