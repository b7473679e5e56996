"""ISO 20022 bank-to-customer files: the reader of camt.054 notifications and camt.053
statements.

:func:`read_camt054` parses the bytes once through :func:`signing.safexml.parse_xml`;
:func:`read_camt054_tree` turns every transaction of every entry of every notification
(``BkToCstmrDbtCdtNtfctn/Ntfctn``) or statement (``BkToCstmrStmt/Stmt``) into a
:class:`CamtTransaction`. Versions ``.001.02`` and later of both messages are read (the
entry has the same structure in all of them); their differences are handled here: entry
status as a code (``<Sts>BOOK</Sts>``, up to .04) or a choice (``<Sts><Cd>BOOK</Cd></Sts>``,
.08), the transaction amount in ``TxDtls/Amt`` (.04 on) or ``TxDtls/AmtDtls/TxAmt/Amt``, the
debtor name in ``Dbtr/Nm`` or ``Dbtr/Pty/Nm``, the ``UETR`` (.08). Validating the file
against its version's XSD is the import's (:mod:`exchange.payments.bank_files`), before it
reads. Only a file that cannot be read at all is refused, with a
:class:`~exchange.payments.errors.CamtError` (codes ``camt054.*``, drawn in
:mod:`exchange.payments.errors`); a transaction the exchange cannot use (no amount, an
amount in an unknown currency, no reference, the same reference twice) is read all the
same and left to :mod:`exchange.payments.reconciliation` to list with a reason.

Each transaction has an :attr:`~CamtTransaction.idempotency_key`
(``camt054/<account>/<reference>``, for statements too, so that an entry notified during
the day and listed again in the evening's statement is one payment) used as the payment's
provider reference: importing the same entry twice records nothing new. The reference is
the best the transaction has: its account servicer reference, the entry's (with the
transaction's number in a batch), ``uetr:<UETR>``, ``e2e:<EndToEndId>``, ``txid:<TxId>``,
the entry's ``NtryRef``; one with none of them gets ``unidentified:<digest of the entry>``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from exchange.i18n import t
from exchange.payments.errors import (
    CamtError,
    CamtMalformedError,
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
    "MESSAGES", "CamtNotification", "CamtTransaction", "identify", "parse_camt", "read_camt054",
    "read_camt054_tree",  # and the errors raised here (their home: exchange.payments.errors)
    "CamtError", "CamtMalformedError", "CamtStructureError", "CamtUnsafeError", "CamtVersionError",
]

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[34])\.001\.([0-9]{2})")
MESSAGES = {"camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
            "camt.053": ("BkToCstmrStmt", "Stmt")}
"""The messages read: name -> (body element, the element of each account's report)."""
UNIDENTIFIED = "unidentified"
"""The reference kind of a transaction that has no reference of the bank's or the payer's."""


@dataclass(frozen=True, slots=True)
class CamtTransaction:
    """One credit or debit transaction of a notification or statement (an entry, or one
    ``TxDtls`` of it). ``money`` is None when the bank gave no amount for it (a
    transaction of a batch entry) or one that is not valid (``amount_problem`` says why);
    ``duplicate_of`` is the line of an earlier transaction of the file with the same
    reference (its key then ends ``#2``, ``#3``...)."""

    idempotency_key: str
    account: str
    entry_reference: str | None
    account_servicer_reference: str | None
    money: Money | None
    credit: bool
    reversal: bool
    status: str
    booking_date: date | None
    creditor_references: tuple[str, ...] = ()
    unstructured: tuple[str, ...] = ()
    debtor: str | None = None
    end_to_end_id: str | None = None
    line: int | None = None
    reference_kind: str = "AcctSvcrRef"
    amount_problem: str | None = None
    duplicate_of: int | None = None
    duplicate: bool = False

    @property
    def booked(self) -> bool:
        return self.status == "BOOK"

    @property
    def identified(self) -> bool:
        return self.reference_kind != UNIDENTIFIED

    def to_dict(self) -> dict[str, object]:
        return {"key": self.idempotency_key, "account": self.account,
                "reference_kind": self.reference_kind,
                "entry_reference": self.entry_reference,
                "account_servicer_reference": self.account_servicer_reference,
                "end_to_end_id": self.end_to_end_id,
                "amount": self.money.to_dict() if self.money is not None else None,
                "credit": self.credit, "reversal": self.reversal, "status": self.status,
                "booking_date": self.booking_date.isoformat() if self.booking_date else None,
                "creditor_references": list(self.creditor_references),
                "unstructured": list(self.unstructured), "debtor": self.debtor,
                "line": self.line}


@dataclass(frozen=True, slots=True)
class CamtNotification:
    """A read file: ``message`` ``camt.054`` or ``camt.053``, ``version`` e.g. ``001.08``."""

    version: str
    message_id: str
    created_at: str
    transactions: tuple[CamtTransaction, ...]
    message: str = "camt.054"


# -- reading -------------------------------------------------------------------------------
def parse_camt(data: bytes, *, limits: XmlLimits | None = None) -> etree._ElementTree:
    """Parse (safely) a bank file; raise ``camt054.malformed`` or ``camt054.unsafe``."""
    from signing.safexml import DEFAULT_LIMITS, MalformedXmlError, XmlError, parse_xml

    try:
        return parse_xml(data, limits=limits or DEFAULT_LIMITS)
    except MalformedXmlError as exc:
        raise CamtMalformedError(t("not a well-formed XML file: {error}", error=exc.message),
                                 line=exc.line, column=exc.column) from exc
    except XmlError as exc:
        raise CamtUnsafeError(t("refused by the XML safety policy: {error}", error=exc.message),
                              line=exc.line, column=exc.column) from exc


def read_camt054(data: bytes, *, limits: XmlLimits | None = None) -> CamtNotification:
    """Parse (safely, once) and read a camt.054 or camt.053 file; raise a :class:`CamtError`.
    ``limits`` (:class:`signing.safexml.XmlLimits`) raises the size limit for large files."""
    return read_camt054_tree(parse_camt(data, limits=limits))


def identify(tree: etree._ElementTree | etree._Element) -> tuple[str, str]:
    """(message, version) of a bank file's root, e.g. ("camt.053", "001.02"); raise
    ``camt054.unsupported`` for anything else."""
    from lxml import etree

    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    qname = etree.QName(root)
    found = _NAMESPACE.fullmatch(qname.namespace or "")
    if qname.localname != "Document" or found is None or int(found.group(2)) < 2:
        raise CamtVersionError(t(
            "root {tag} is not a camt.054 notification or camt.053 statement Document of "
            "version 001.02 or later", tag=str(root.tag)), line=root.sourceline)
    return f"camt.{found.group(1)}", f"001.{found.group(2)}"


def read_camt054_tree(tree: etree._ElementTree | etree._Element) -> CamtNotification:
    """Read a tree already parsed by :func:`signing.safexml.parse_xml`."""
    from lxml import etree

    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    message, version = identify(root)
    namespace = etree.QName(root).namespace or ""
    body_tag, report_tag = MESSAGES[message]
    r = _Reader(namespace)
    body = r.one(root, body_tag)
    header = r.one(body, "GrpHdr")
    message_id, created_at = r.text(header, "MsgId"), r.text(header, "CreDtTm")
    transactions: list[CamtTransaction] = []
    seen: dict[str, list[int | None]] = {}  # key -> lines of the transactions carrying it
    reports = r.all(body, report_tag)
    if not reports:
        raise _missing(body_tag, report_tag, body.sourceline)
    plans = _Plans(namespace)
    for report in reports:
        account = r.account(report)
        for element in report.iterchildren(plans.ntry):
            for tx in _Entry(element, plans).read(account):
                lines = seen.setdefault(tx.idempotency_key, [])
                lines.append(tx.line)
                if len(lines) > 1:  # the same reference again: listed, never recorded
                    tx = _repeat(tx, len(lines), lines[0])
                transactions.append(tx)
    return CamtNotification(version, message_id, created_at, tuple(transactions), message)


def _repeat(tx: CamtTransaction, count: int, first: int | None) -> CamtTransaction:
    from dataclasses import replace

    return replace(tx, idempotency_key=f"{tx.idempotency_key}#{count}", duplicate=True,
                   duplicate_of=first)


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
            raise _missing(_local(el), path, el.sourceline)
        return found

    def opt(self, el: etree._Element, path: str) -> str | None:
        return _strip(el.find(self._path(path)))

    def text(self, el: etree._Element, path: str) -> str:
        value = self.opt(el, path)
        if value is None:
            raise _missing(_local(el), path, el.sourceline)
        return value

    def account(self, report: etree._Element) -> str:
        acct = self.one(report, "Acct")
        account = self.opt(acct, "Id/IBAN") or self.opt(acct, "Id/Othr/Id")
        if account is None:
            raise _missing("Acct", "Id/IBAN or Id/Othr/Id", acct.sourceline)
        return account


def _strip(el: etree._Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


# The paths read below an entry and below each of its TxDtls: nothing else is visited
# (every step of a path is indexed too: "Sts" as well as "Sts/Cd").
_ENTRY_PATHS = ("Amt", "CdtDbtInd", "RvslInd", "Sts/Cd", "Sts/Prtry", "BookgDt/Dt",
                "BookgDt/DtTm", "NtryRef", "AcctSvcrRef", "AddtlNtryInf", "NtryDtls/TxDtls")
_TX_PATHS = ("Refs/AcctSvcrRef", "Refs/UETR", "Refs/EndToEndId", "Refs/TxId", "Amt",
             "AmtDtls/TxAmt/Amt", "CdtDbtInd", "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm",
             "RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Ustrd", "AddtlTxInf")
_NOT_PROVIDED = "NOTPROVIDED"  # the EndToEndId of a payer who gave none


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


def _first(found: _Found, path: str) -> etree._Element | None:
    hits = found.get(path)
    return hits[0] if hits else None


class _Entry:
    """One ``Ntry`` indexed in one walk of the elements on the paths that are read
    (by path: its own, and per ``TxDtls`` those relative to it); bank transaction
    codes, charges and the like are never visited."""

    __slots__ = ("el", "found", "plans")

    def __init__(self, entry: etree._Element, plans: _Plans):
        self.el = entry
        self.plans = plans
        self.found: _Found = {}
        _collect(entry, plans.entry, self.found)

    @property
    def line(self) -> int | None:
        return self.el.sourceline

    def opt(self, path: str) -> str | None:
        return _strip(_first(self.found, path))

    def status(self) -> str:
        sts = _first(self.found, "Sts")
        if sts is None:
            raise _missing("Ntry", "Sts", self.line)
        code = self.opt("Sts/Cd") or self.opt("Sts/Prtry") or _strip(sts)
        if code is None:
            raise CamtStructureError(t("Ntry/Sts has no status code"), line=sts.sourceline)
        return code.upper()

    def booking_date(self) -> date | None:
        day, stamp = self.opt("BookgDt/Dt"), self.opt("BookgDt/DtTm")
        try:
            if day is not None:
                return date.fromisoformat(day)
            if stamp is not None:
                return datetime.fromisoformat(stamp).date()
        except ValueError:
            raise CamtStructureError(t("booking date {date!r} is not an ISO date",
                                       date=day or stamp), line=self.line) from None
        return None

    def read(self, account: str) -> list[CamtTransaction]:
        amt = _first(self.found, "Amt")
        if amt is None:
            raise _missing("Ntry", "Amt", self.line)
        indicator = self.opt("CdtDbtInd")
        if indicator is None:
            raise _missing("Ntry", "CdtDbtInd", self.line)
        credit = _credit(indicator, _line(_first(self.found, "CdtDbtInd")))
        reversal = (self.opt("RvslInd") or "false").lower() == "true"
        status, booked = self.status(), self.booking_date()
        ntry_ref, ntry_svcr = self.opt("NtryRef"), self.opt("AcctSvcrRef")
        extra = tuple(note for note in [self.opt("AddtlNtryInf")] if note)
        details: list[etree._Element | None] = [*self.found.get("NtryDtls/TxDtls", ())]
        details = details or [None]
        batch = len(details) > 1
        result = []
        for n, detail in enumerate(details, 1):
            found: _Found = {}
            if detail is not None:
                _collect(detail, self.plans.transaction, found)
            line = detail.sourceline if detail is not None else self.line
            tx_amt = _first(found, "Amt")
            money, problem = _money(tx_amt if tx_amt is not None
                                    else _first(found, "AmtDtls/TxAmt/Amt"))
            if money is None and problem is None and not batch:
                money, problem = _money(amt)  # one transaction: the entry's amount is its
            tx_credit = credit
            tx_indicator = _first(found, "CdtDbtInd")
            if tx_indicator is not None:  # money out of a credit entry is not a payment in
                tx_credit = credit and _credit(_strip(tx_indicator) or "",
                                               tx_indicator.sourceline)
            tx_svcr = _strip(_first(found, "Refs/AcctSvcrRef"))
            e2e = _strip(_first(found, "Refs/EndToEndId"))
            kind, ref = self.reference(found, tx_svcr, e2e, ntry_svcr, ntry_ref, n, batch)
            refs = tuple(r for r in map(_strip, found.get("RmtInf/Strd/CdtrRefInf/Ref", ()))
                         if r)
            texts = tuple(note for note in map(_strip, found.get("RmtInf/Ustrd", ())) if note)
            texts += tuple(note for note in [_strip(_first(found, "AddtlTxInf"))] if note) + extra
            debtor = _strip(_first(found, "RltdPties/Dbtr/Nm")) or _strip(
                _first(found, "RltdPties/Dbtr/Pty/Nm"))
            result.append(CamtTransaction(
                f"camt054/{account}/{ref}", account, ntry_ref, tx_svcr or ntry_svcr, money,
                tx_credit, reversal, status, booked, refs, texts, debtor, e2e, line, kind,
                problem))
        return result

    def reference(self, found: _Found, tx_svcr: str | None, e2e: str | None,
                  ntry_svcr: str | None, ntry_ref: str | None, n: int, batch: bool
                  ) -> tuple[str, str]:
        """(kind, reference) of one transaction: the best it has (module docstring)."""
        suffix = f"/{n}" if batch else ""
        if tx_svcr is not None:
            return "AcctSvcrRef", tx_svcr
        if ntry_svcr is not None:
            return "AcctSvcrRef", ntry_svcr + suffix
        uetr = _strip(_first(found, "Refs/UETR"))
        if uetr is not None:
            return "UETR", f"uetr:{uetr.lower()}"
        if e2e is not None and e2e.upper() != _NOT_PROVIDED:
            return "EndToEndId", f"e2e:{e2e}"
        tx_id = _strip(_first(found, "Refs/TxId"))
        if tx_id is not None:
            return "TxId", f"txid:{tx_id}"
        if ntry_ref is not None:
            return "NtryRef", ntry_ref + suffix
        from lxml import etree

        digest = hashlib.sha256(etree.tostring(self.el)).hexdigest()[:24]
        return UNIDENTIFIED, f"{UNIDENTIFIED}:{digest}{suffix}"


def _money(amt: etree._Element | None) -> tuple[Money | None, str | None]:
    """(the amount, None), (None, why it is not one) or (None, None): no amount."""
    if amt is None:
        return None, None
    text = (amt.text or "").strip()
    code = amt.get("Ccy")
    where = f"line {amt.sourceline}: " if amt.sourceline else ""
    if not _AMOUNT.fullmatch(text):
        return None, (f"{where}amount {text!r} is not an ISO 20022 amount "
                      "(digits, '.', at most 5 decimals, not negative)")
    if not code:
        return None, f"{where}amount without a Ccy attribute"
    try:
        return Money(text, code), None
    except MoneyError as exc:
        return None, f"{where}{exc.message} ({exc.code})"


def _missing(parent: str, path: str, line: int | None) -> CamtStructureError:
    return CamtStructureError(t("{parent} has no {path}", parent=parent, path=path), line=line)


def _credit(value: str, line: int | None) -> bool:
    if value not in ("CRDT", "DBIT"):
        raise CamtStructureError(t("CdtDbtInd {value!r} is neither CRDT nor DBIT", value=value),
                                 line=line)
    return value == "CRDT"


def _line(el: etree._Element | None) -> int | None:
    return el.sourceline if el is not None else None


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else str(tag)
