"""A national customs system on the file channel: reads CUSDEC, answers CUSRES.

    sim = EdifactCustomsSimulator(outbox, inbox, country="AF", currency="AFN")
    sim.run_once()          # answers every CUSDEC waiting in *outbox*; returns how many
    sim.serve(stop_event)   # polls until stopped (``exchange simulate-customs --edifact-...``)

*outbox* is the folder the hub's edifact-file adapter writes to, *inbox* the one it reads
answers from. Each new interchange gets a CUSRES with an acknowledgement and the configured
follow-ups (assessment on the declared customs value, query, rejection, acceptance, release);
processed files move to ``outbox/processed/``, malformed ones to ``outbox/failed/``. An
interchange whose control reference was already answered is dropped (idempotent receiver).
Supporting documents (``*.xml``) are filed without an answer. The answer is written in the
character set and syntax version of the CUSDEC it answers.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason
from adapters.edifact import element, reference_id, render_cusres
from adapters.edifact_file import write_atomically
from adapters.edifact_syntax import read_interchange, structure_problem
from adapters.errors import MalformedCusdecError

__all__ = ["CusdecSummary", "EdifactCustomsSimulator", "read_cusdec"]


@dataclass(frozen=True)
class CusdecSummary:
    control_ref: str
    sender: str
    recipient: str
    document_code: str
    declaration_id: str
    delivery_id: str | None
    shipment_id: str | None
    document_id: str | None
    customs_value: Decimal | None
    syntax: str = "UNOW"
    syntax_version: int = 4


def read_cusdec(data: bytes | str, *, source: str = "CUSDEC") -> CusdecSummary:
    """The fields a customs system needs from one CUSDEC interchange (or a typed error):
    decoded as its UNB says, checked against the D.96B CUSDEC structure like a strict
    national translator does."""
    ix = read_interchange(data, source=source, error=MalformedCusdecError)
    start, segments = ix.messages[0]
    if element(segments[0], 1, 0) != "CUSDEC":
        raise MalformedCusdecError("the first message is not a CUSDEC", source=source,
                                   segment=start)
    problem = structure_problem([s.tag for s in segments], "CUSDEC")
    if problem is not None:
        raise MalformedCusdecError(problem[1], source=source, segment=start + problem[0])
    bgm = segments[1]
    refs = {element(s, 0, 0): reference_id(element(s, 0, 1))
            for s in segments if s.tag == "RFF"}
    value = Decimal(0)
    for s in segments:
        if s.tag == "MOA" and element(s, 0, 0) == "40":
            try:
                value += Decimal(element(s, 0, 1))
            except ArithmeticError:
                raise MalformedCusdecError(f"bad MOA amount {element(s, 0, 1)!r}",
                                           source=source) from None
    return CusdecSummary(
        control_ref=ix.control_ref, sender=ix.sender, recipient=ix.recipient,
        document_code=element(bgm, 0), declaration_id=element(bgm, 1),
        delivery_id=refs.get("ACW"), shipment_id=refs.get("SRN"), document_id=refs.get("ABT"),
        customs_value=value if value > 0 else None, syntax=ix.syntax.identifier,
        syntax_version=ix.version)


class EdifactCustomsSimulator:
    def __init__(self, outbox: Path, inbox: Path, *, country: str, currency: str,
                 follow_up: Iterable[str] = ("assessment",), customs_id: str | None = None,
                 hub_id: str = "CARECHUB"):
        self.outbox, self.inbox = Path(outbox), Path(inbox)
        self.country, self.currency = country, currency
        self.follow_up = tuple(follow_up)
        self.customs_id = customs_id or f"{country}CUSTOMS"
        self.hub_id = hub_id
        self.answered = 0
        self.duplicates = 0
        self.failed = 0

    def _seen(self, control_ref: str) -> bool:
        return (self.inbox / f"R{control_ref}.edi").exists() or any(
            (self.inbox / sub / f"R{control_ref}.edi").exists()
            for sub in ("processed", "failed"))

    def run_once(self) -> int:
        if not self.outbox.is_dir():
            return 0
        done = 0
        for path in sorted(self.outbox.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            if path.suffix == ".xml":
                self._file(path, "processed")
                continue
            try:
                summary = read_cusdec(path.read_bytes(), source=path.name)
            except MalformedCusdecError:
                self.failed += 1
                self._file(path, "failed")
                continue
            if self._seen(summary.control_ref):
                self.duplicates += 1
            else:
                self._answer(summary)
                self.answered += 1
                done += 1
            self._file(path, "processed")
        return done

    def serve(self, stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
        while not stop.is_set():
            self.run_once()
            stop.wait(poll_seconds)

    def _file(self, path: Path, folder: str) -> None:
        (self.outbox / folder).mkdir(exist_ok=True)
        os.replace(path, self.outbox / folder / path.name)

    def _answer(self, cusdec: CusdecSummary) -> None:
        reference = f"{self.country}{datetime.now(UTC):%Y}{cusdec.control_ref[-7:]}"
        now = datetime.now(UTC).replace(second=0, microsecond=0)

        def decision(kind: DecisionKind, *, reasons: tuple[Reason, ...] = (),
                     duty_lines: tuple[DutyLine, ...] = (),
                     text: str | None = None) -> CustomsDecision:
            return CustomsDecision(kind=kind, country=self.country, decision_id="-",
                                   customs_reference=reference, delivery_id=cusdec.delivery_id,
                                   shipment_id=cusdec.shipment_id,
                                   document_id=cusdec.document_id, issued_at=now,
                                   reasons=reasons, duty_lines=duty_lines, text=text)

        decisions = [decision(DecisionKind.ACKNOWLEDGED)]
        base = (cusdec.customs_value or Decimal("1000.00")).quantize(Decimal("0.01"))
        for follow in self.follow_up:
            if follow == "assessment":
                decisions.append(decision(DecisionKind.ASSESSMENT, duty_lines=tuple(
                    DutyLine(tax, str(base), rate,
                             str((base * Decimal(rate) / 100).quantize(Decimal("0.01"))),
                             self.currency)
                    for tax, rate in (("customs-duty", "5"), ("vat", "10")))))
            elif follow == "query":
                decisions.append(decision(DecisionKind.QUERY,
                                          text="Please provide the certificate of origin"))
            elif follow == "rejection":
                decisions.append(decision(DecisionKind.REJECTED, reasons=(
                    Reason("SIM-E01", "declaration incomplete"),)))
            elif follow == "acceptance":
                decisions.append(decision(DecisionKind.ACCEPTED))
            elif follow == "release":
                decisions.append(decision(DecisionKind.RELEASED))
            else:
                raise ValueError(f"unknown follow-up {follow!r}")
        data = render_cusres(decisions, sender_id=self.customs_id, recipient_id=cusdec.sender,
                             control_ref=f"R{cusdec.control_ref}"[:14], syntax=cusdec.syntax,
                             syntax_version=cusdec.syntax_version)
        write_atomically(self.inbox, f"R{cusdec.control_ref}.edi", data)
