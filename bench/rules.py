"""Benchmark: the rules layer against the same compiled XSLT run by saxonche in a plain loop.

    .venv/bin/python bench/rules.py [--count 2000] [--rounds 2]
                                    [--source ../shared/standards/en16931]

The EN 16931 examples (UBL and CII, 34 files) repeated to --count documents, side by side
in one process, the sides taking turns (the best round of each counts):
  (a) the rules layer: ``RuleEngine.layer`` with the en16931 pack on each document parsed
      safely (what the validation engine does after the schema: serialise the tree for
      Saxon, run the stylesheet, parse the SVRL, locate each finding's line and path);
  (b) the same two compiled stylesheets run by saxonche directly: parse the file's text,
      transform to a string, nothing else.
Prints documents per second, the ratio a/b (target >= 0.8), and the one-time cost of
compiling each pack's rule sets (the published EN 16931 XSLT for UBL and CII, and the
corridor's Schematron through the ISO skeleton then Saxon), first use in this process.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHUNK = 50


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--source", default=str(REPO.parent / "shared/standards/en16931"))
    args = ap.parse_args()
    source = Path(args.source)

    from signing.safexml import parse_xml

    from exchange.validation import rules
    from exchange.validation.rulepacks import RuleStore
    from exchange.validation.rules import RuleEngine, RuleSelection

    store = RuleStore(Path(tempfile.mkdtemp(prefix="bench-rules-")) / "rules")
    store.install("en16931", str(source))
    spec = store.spec("en16931")

    start = time.perf_counter()
    rules._processor()
    t_processor = time.perf_counter() - start
    compile_times = {}
    for rule_set in spec.rule_sets:
        start = time.perf_counter()
        rules.compiled(store.pack_dir("en16931") / rule_set.source)
        compile_times[f"en16931 {spec.version} {rule_set.name} (published XSLT)"] = \
            time.perf_counter() - start
    corridor = store.spec("carec-corridor")
    start = time.perf_counter()
    rules.compiled(store.pack_dir("carec-corridor") / corridor.rule_sets[0].source,
                   schematron=True)
    compile_times[f"carec-corridor {corridor.version} (Schematron -> XSLT 1.0 -> Saxon)"] = \
        time.perf_counter() - start

    examples = sorted((source / "ubl" / "examples").iterdir()) + \
        sorted((source / "cii" / "examples").iterdir())
    datas = [p.read_bytes() for p in examples]
    docs = [datas[i % len(datas)] for i in range(args.count)]
    is_cii = [b"CrossIndustryInvoice" in d[:2000] for d in docs]
    texts = [d.decode("utf-8") for d in docs]

    engine = RuleEngine(store)
    selection = RuleSelection(auto=False, packs=("en16931",))
    by_set = {r.name: rules.compiled(store.pack_dir("en16931") / r.source)
              for r in spec.rule_sets}
    proc = rules._processor()

    def layer_side(part: range) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in part:
            layer = engine.layer(parse_xml(docs[i]), selection)
            assert layer.packs, "the pack did not run"
        return time.perf_counter() - wall, time.process_time() - cpu

    def plain_side(part: range) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in part:
            exe = by_set["CII" if is_cii[i] else "UBL"].executable
            exe.transform_to_string(xdm_node=proc.parse_xml(xml_text=texts[i]))
        return time.perf_counter() - wall, time.process_time() - cpu

    warm = range(len(datas))
    layer_side(warm), plain_side(warm)  # warm both (the stylesheets' first runs)
    # The machine is shared and its load comes and goes: the sides take turns every
    # CHUNK documents, so that both meet the same load; the best round of each counts.
    chunks = [range(i, min(i + CHUNK, len(docs))) for i in range(0, len(docs), CHUNK)]
    t_a = t_b = c_a = c_b = float("inf")
    for _ in range(args.rounds):
        sums = {"a": [0.0, 0.0], "b": [0.0, 0.0]}
        for part in chunks:
            for side, run in (("b", plain_side), ("a", layer_side)):
                wall, cpu = run(part)
                sums[side][0] += wall
                sums[side][1] += cpu
        t_a, c_a = min(t_a, sums["a"][0]), min(c_a, sums["a"][1])
        t_b, c_b = min(t_b, sums["b"][0]), min(c_b, sums["b"][1])
    n = len(docs)
    print(f"documents: {n} (the {len(examples)} EN 16931 examples, UBL and CII, repeated); "
          f"best of {args.rounds} rounds")
    print(f"(a) rules layer (RuleEngine.layer, en16931):  {n / t_a:7.1f} docs/s ({t_a:.2f} s)")
    print(f"(b) saxonche plain loop, same compiled XSLT:  {n / t_b:7.1f} docs/s ({t_b:.2f} s)")
    print(f"ratio (a) / (b): {t_b / t_a:.2f}   (target >= 0.8)")
    print(f"CPU seconds (this process, all its threads; what other load moves least): "
          f"(a) {c_a:.2f}, (b) {c_b:.2f}; ratio (b) / (a) {c_b / c_a:.2f}")
    print(f"one-time costs: Saxon processor {t_processor * 1000:.0f} ms; compile per rule set:")
    for what, seconds in compile_times.items():
        print(f"  {what}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
