"""ISO 20022 camt.054 (bank-to-customer debit/credit notification): the reader.

:func:`read_camt054` parses the bytes once through :func:`signing.safexml.parse_xml` and
turns every transaction of every entry into a :class:`CamtTransaction`. Versions
``camt.054.001.02`` and ``camt.054.001.08`` are read; their differences handled here: entry
status as a code (``<Sts>BOOK</Sts>``, .02) or a choice (``<Sts><Cd>BOOK</Cd></Sts>``, .08),
the transaction amount in ``TxDtls/Amt`` (.08) or ``TxDtls/AmtDtls/TxAmt/Amt``, the debtor
name in ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``. A file with a problem is refused whole (nothing of
it is imported) with a :class:`~exchange.payments.errors.CamtError` (the ``camt054.*``
codes are drawn in :mod:`exchange.payments.errors`).

Each transaction has an :attr:`~CamtTransaction.idempotency_key`
(``camt054/<account>/<reference>``) used as the payment's provider reference, so that
importing the same file twice records nothing new (the ledger sees a repeat).

Matching transactions to assessments is :mod:`exchange.payments.reconciliation`'s; the
import into the store, :mod:`exchange.payments.bank_files`'.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from exchange.payments.errors import (
    CamtAmountError,
    CamtDuplicateEntryError,
    CamtError,
    CamtMalformedError,
    CamtMissingReferenceError,
    CamtStructureError,
    CamtUnsafeError,
    CamtVersionError,
    MoneyError,
)
from exchange.payments.money import Money

if TYPE_CHECKING:
    from lxml import etree

    from signing.safexml import XmlLimits

__all__ = [
    "SUPPORTED_VERSIONS", "CamtNotification", "CamtTransaction", "read_camt054",
    "read_camt054_tree",
    # the errors raised here (their home: exchange.payments.errors)
    "CamtAmountError", "CamtDuplicateEntryError", "CamtError", "CamtMalformedError",
    "CamtMissingReferenceError", "CamtStructureError", "CamtUnsafeError", "CamtVersionError",
]

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
SUPPORTED_VERSIONS = ("001.02", "001.08")

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
def read_camt054(data: bytes, *, limits: XmlLimits | None = None) -> CamtNotification:
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


def read_camt054_tree(tree: etree._ElementTree | etree._Element) -> CamtNotification:
    """Read a tree already parsed by :func:`signing.safexml.parse_xml`."""
    from lxml import etree

    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    version = namespace[len(NAMESPACE_PREFIX):] \
        if namespace.startswith(NAMESPACE_PREFIX) else None
    if qname.localname != "Document" or version not in SUPPORTED_VERSIONS:
        raise CamtVersionError(
            f"root {root.tag!s} is not a camt.054 Document of version "
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

_Plan = dict[str, tuple[str, "_Plan"]]
"""Clark name -> (its path from the start, the plan of its children)."""
_Found = dict[str, list["etree._Element"]]
"""Path -> the elements on it, in document order."""


class _Reader:
    """Header-level lookups (a few per file) by Clark-notation paths."""

    def __init__(self, namespace: str):
        self.prefix = f"{{{namespace}}}"

    def _path(self, path: str) -> str:
        return "/".join(self.prefix + step for step in path.split("/"))

    def all(self, el: etree._Element, path: str) -> list[etree._Element]:
        return el.findall(self._path(path))

    def one(self, el: etree._Element, path: str) -> etree._Element:
        found = el.find(self._path(path))
        if found is None:
            raise CamtStructureError(f"{_local(el)} has no {path}", line=el.sourceline)
        return found

    def opt(self, el: etree._Element, path: str) -> str | None:
        return _strip(el.find(self._path(path)))

    def text(self, el: etree._Element, path: str) -> str:
        value = self.opt(el, path)
        if value is None:
            raise CamtStructureError(f"{_local(el)} has no {path}", line=el.sourceline)
        return value

    def account(self, ntfctn: etree._Element) -> str:
        acct = self.one(ntfctn, "Acct")
        account = self.opt(acct, "Id/IBAN") or self.opt(acct, "Id/Othr/Id")
        if account is None:
            raise CamtStructureError("Acct has no Id/IBAN or Id/Othr/Id", line=acct.sourceline)
        return account


def _strip(el: etree._Element | None) -> str | None:
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


def _plan(paths: tuple[str, ...], prefix: str) -> _Plan:
    """Clark name -> (path so far, plan of its children) for every step of *paths*."""
    plan: _Plan = {}
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


def _collect(el: etree._Element, plan: _Plan, found: _Found) -> None:
    """Index the elements below *el* that lie on *plan*'s paths, by path, in document
    order (comments, processing instructions, other namespaces: not on any path)."""
    for child in el:
        step = plan.get(child.tag)  # type: ignore[arg-type]  # a comment's tag: not in it
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

    def __init__(self, entry: etree._Element, plans: _Plans):
        self.el = entry
        self.plans = plans
        self.found: _Found = {}
        _collect(entry, plans.entry, self.found)
        self.ntry_ref = _strip(self.first("NtryRef"))
        self.svcr_ref = _strip(self.first("AcctSvcrRef"))

    @property
    def line(self) -> int | None:
        return self.el.sourceline

    def first(self, path: str) -> etree._Element | None:
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
        credit = _credit(self.text("CdtDbtInd"), _line(self.first("CdtDbtInd")))
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
            found: _Found = {}
            _collect(detail, plan, found)

            def first(path: str, found: _Found = found) -> etree._Element | None:
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
                tx_credit = _credit(value, indicator.sourceline)
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


def _money(amt: etree._Element | None) -> Money | None:
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


def _credit(value: str, line: int | None) -> bool:
    if value not in ("CRDT", "DBIT"):
        raise CamtStructureError(f"CdtDbtInd {value!r} is neither CRDT nor DBIT",
                                 line=line)
    return value == "CRDT"


def _line(el: etree._Element | None) -> int | None:
    return el.sourceline if el is not None else None


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)

