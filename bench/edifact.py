"""What checking every EDIFACT interchange against D.96B costs, side by side in one run.

    PYTHONPATH=. EXCHANGE_SHARED_DIR=../shared python bench/edifact.py [--seconds 3]

a) CUSDEC from the three official UBL customs declarations: checked (structure, element
   formats, character set: what the adapter does) against the same writer with the three
   checks turned off (pydifact serialising the same segments).
b) A CUSRES of 20 decisions read by ``read_cusres`` (decode by UNB, envelope, structure,
   formats, characters, mapping) against pydifact's parse alone (the floor).
Prints median rates of five alternating rounds and the ratios checked / unchecked.
"""
from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime

from pydifact.parser import Parser

import adapters.edifact_syntax as syntax
from adapters.contract import CustomsDecision, DecisionKind, DutyLine, Reason
from adapters.edifact import CusdecProfile, read_cusres, render_cusdec, render_cusres
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.simulator import make_envelope


def rate(work: Callable[[], object], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        work()
        done += 1
    return done / (time.perf_counter() - start)


def alternate(a: Callable[[], object], b: Callable[[], object], seconds: float
              ) -> tuple[float, float]:
    """Median rates of a and b over five alternating rounds (the machine's load drifts)."""
    rounds = [(rate(a, seconds / 5), rate(b, seconds / 5)) for _ in range(5)]
    return (sorted(r[0] for r in rounds)[2], sorted(r[1] for r in rounds)[2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    envelopes = [make_envelope("AF", document=p.read_bytes(), document_type=p.name.split("-")[1])
                 for p in sorted(UBL_EXAMPLES.glob("UBL-*CustomsDeclaration-*-Example.xml"))]
    profile = CusdecProfile("CARECHUB", "AFCUSTOMS")

    def cusdec() -> None:
        for envelope in envelopes:
            render_cusdec(envelope, profile)

    checks = ("structure_problem", "element_problem", "_foreign", "_unb_problem")
    saved = {name: getattr(syntax, name) for name in checks}

    def unchecked() -> None:
        for name in checks:
            setattr(syntax, name, lambda *args: None)
        try:
            cusdec()
        finally:
            for name, check in saved.items():
                setattr(syntax, name, check)

    a, b = alternate(cusdec, unchecked, seconds)
    print(f"a) CUSDEC x3: checked {a:.0f}/s, unchecked {b:.0f}/s, ratio {a / b:.2f}")

    decisions = [CustomsDecision(
        kind=DecisionKind.ASSESSMENT, country="AF", decision_id="x", customs_reference=f"AF-{n}",
        delivery_id=f"dlv-{n}", issued_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
        reasons=(Reason("E1", "Қазақстан: толық емес"),),
        duty_lines=(DutyLine("customs-duty", "12500.00", "2.5", "312.50", "AFN"),
                    DutyLine("vat", "12500.00", "10", "1250.00", "AFN"))) for n in range(20)]
    data = render_cusres(decisions, sender_id="AFCUSTOMS", recipient_id="CARECHUB",
                         control_ref="R1")
    text = data.decode("utf-8")

    def floor() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            list(Parser().parse(text))

    full, parse_only = alternate(lambda: read_cusres(data, country="AF"), floor, seconds)
    print(f"b) CUSRES of 20 decisions ({len(data)} bytes): read_cusres {full:.0f}/s, "
          f"pydifact parse only {parse_only:.0f}/s, ratio {full / parse_only:.2f}")


if __name__ == "__main__":
    main()
