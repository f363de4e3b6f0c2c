"""Benchmark: de-identification speed and token-level scores, side by side with deid.pl and scrubadub.

On the PhysioNet deid dev corpus with the lock-box patients left out, notes are split into patient-
grouped folds (`--folds`, seeded) and each system is scored fold by fold, pooled and with its per-fold
spread. medcorpus's classifier is retrained for each fold on the other folds only, so its figures are
out of fold; the rule detectors were written from these notes before the split and are in-sample here
(labelled). deid.pl's predictions ship with the corpus (`id.phi`); scrubadub's default detectors are
trained on none of it. Then the trade-off over thresholds, out of fold. Then `benchmarks/deid_notes`,
note kinds other than nursing notes, written by us with planted PHI and never used to write a rule or
train; their held-out figures are those of their first scoring (benchmarks/README.md): the address rule and
the classifier changed after it, so what this prints for them is measured on a set already seen. Speed: MB
of note text per second on one core, best of `--repeats`.

Usage: python benchmarks/bench_deid.py [--data ../shared/data] [--folds 5] [--seed 0] [--repeats 2]
       python benchmarks/bench_deid.py --lockbox   (the lock-box alone: once, at the end of a piece of work)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchutil import DEFAULT_DATA


def scrubadub_defaults():
    """scrubadub's default Scrubber as a span finder (what a user gets with `scrubadub.clean`)."""
    import scrubadub

    scrubber = scrubadub.Scrubber()
    return lambda text: [(f.beg, f.end, f.type) for f in scrubber.iter_filth(text)]


def speed(texts: list[str], find, repeats: int) -> float:
    """Best wall time of `repeats` passes of `find` over `texts`."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts:
            find(text)
        best = min(best, time.perf_counter() - started)
    return best


def row(name: str, result, speed_text: str = "") -> None:
    pooled = result.pooled if hasattr(result, "pooled") else result
    spread = ""
    if hasattr(result, "spread"):
        (r0, r1), (p0, p1) = result.spread("recall"), result.spread("precision")
        spread = f"  {r0:.4f} to {r1:.4f}  {p0:.4f} to {p1:.4f}"
    print(f"{name:<44} {pooled.recall:7.4f} {pooled.precision:7.4f} {pooled.f2:7.4f}{spread}  {speed_text}")
    print(f"{'':<44} recall by type: " + "  ".join(f"{t} {v:.3f}" for t, v in pooled.recall_by_type.items()))


def score_lockbox(folder: Path, boxed: frozenset[int]) -> None:
    """The shipped classifier alone, the rules alone and the two together on the lock-box patients."""
    from medcorpus.curation.deid.evaluate import evaluate, finder
    from medcorpus.curation.deid.learned.model import shipped

    print(f"lock-box: {len(boxed)} patients; the classifier never saw them, the rules were written from them too")
    keep = lambda key: key[0] in boxed  # noqa: E731
    systems = {
        "medcorpus rules + classifier (rules in-sample)": finder(),
        "medcorpus classifier alone": shipped().spans,
        "medcorpus rules alone (not unseen)": finder(learned=False),
    }
    for name, find in systems.items():
        row(name, evaluate(folder, find, keep=keep))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--lockbox", action="store_true", help="score the lock-box patients only (once, at the end)")
    args = parser.parse_args()
    folder = args.data / "deid" / "physionet_deid_dev"
    if not (folder / "id.text").is_file():
        raise SystemExit(f"deid: {folder} not found (give --data)")
    from medcorpus.curation.deid.evaluate import cross_validate, evaluate, finder, fixed, load_deidpl, load_gold
    from medcorpus.curation.deid.folds import lockbox_for
    from medcorpus.curation.deid.learned.train import builder, trade_off

    boxed = lockbox_for(folder)
    if args.lockbox:
        score_lockbox(folder, boxed)
        return
    notes, _gold = load_gold(folder)
    texts = [text for key, text in notes.items() if key[0] not in boxed]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    finders = {
        "medcorpus rules + classifier": finder(),
        "medcorpus rules alone": finder(learned=False),
        "scrubadub defaults": scrubadub_defaults(),
    }
    print(f"speed on {len(texts)} notes, {megabytes:.2f} MB, one core, best of {args.repeats}:")
    for name, find in finders.items():
        seconds = speed(texts, find, args.repeats)
        print(f"  {name:<32} {megabytes / seconds:.3f} MB/s  {len(texts) / seconds:.0f} notes/s")

    deidpl = load_deidpl(folder)
    rules = finders["medcorpus rules alone"]
    scrub = finders["scrubadub defaults"]
    systems = {
        "medcorpus rules + classifier (rules in-sample, classifier OOF)": builder(0.5),
        "medcorpus classifier alone (OOF)": builder(0.5, rules=False),
        "medcorpus rules alone (in-sample)": fixed(lambda _key, text: rules(text)),
        "deid.pl (shipped predictions)": fixed(lambda key, _text: deidpl.get(key, [])),
        "scrubadub defaults": fixed(lambda _key, text: scrub(text)),
    }
    print(f"\n{args.folds} patient-grouped folds (seed {args.seed}), lock-box patients ({len(boxed)}) left out")
    print(f"{'system':<44} {'recall':>7} {'prec.':>7} {'F2':>7}  {'recall per fold':>16}  {'prec. per fold':>16}")
    for name, build in systems.items():
        row(name, cross_validate(folder, args.folds, args.seed, build=build, exclude=boxed))

    print("\nthreshold trade-off, out of fold (classifier retrained per fold, with the in-sample rules):")
    for threshold, result in trade_off(folder, args.folds, args.seed, [0.1, 0.3, 0.5, 0.7, 0.9]):
        pooled = result.pooled
        print(f"  threshold {threshold:.1f}: recall {pooled.recall:.4f}  precision {pooled.precision:.4f}")
    print("\nthe classifier alone at each threshold (out of fold):")
    for threshold, result in trade_off(folder, args.folds, args.seed, [0.1, 0.3, 0.5, 0.7, 0.9], rules=False):
        names = {t: v for t, v in result.pooled.recall_by_type.items() if "Name" in t or t == "Location"}
        shown = "  ".join(f"{t} {v:.3f}" for t, v in names.items())
        print(f"  threshold {threshold:.1f}: precision {result.pooled.precision:.4f}  recall {shown}")

    other = Path(__file__).resolve().parent / "deid_notes"
    print("\nother note kinds written by us (benchmarks/deid_notes: discharge summaries, radiology, clinic letters)")
    print("never used to write a rule or to train, but seen since their first scoring (held out: that scoring)")
    for name, find in finders.items():
        row(name, evaluate(other, find))


if __name__ == "__main__":
    main()
