"""Benchmark: de-identification speed and token-level scores, side by side with deid.pl and scrubadub.

On the PhysioNet deid dev corpus with the lock-box patients left out, notes are split into patient-
grouped folds (`--folds`, seeded) and each system is scored fold by fold, pooled and with its per-fold
spread: medcorpus's `Deidentifier`, deid.pl (its predictions ship with the corpus as `id.phi`) and
scrubadub's default detectors. None of them is trained on the folds, so the folds give the spread of
the figures over patients; the medcorpus rules were written from these notes and are in-sample here.
Then the same on `benchmarks/deid_notes`, note kinds other than nursing notes, written by us with
planted PHI and never used to write a rule. Speed: MB of note text per second on one core, best of
`--repeats`, after a warm-up.

Usage: python benchmarks/bench_deid.py [--data ../shared/data] [--folds 5] [--seed 0] [--repeats 2]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = args.data / "deid" / "physionet_deid_dev"
    if not (folder / "id.text").is_file():
        raise SystemExit(f"deid: {folder} not found (give --data)")
    from medcorpus.curation.deid.evaluate import cross_validate, evaluate, load_deidpl, load_gold, rule_detector
    from medcorpus.curation.deid.folds import lockbox_for

    boxed = lockbox_for(folder)
    rules = rule_detector()
    notes, _gold = load_gold(folder)
    texts = [text for key, text in notes.items() if key[0] not in boxed]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = float("inf")
    for _ in range(args.repeats):
        started = time.perf_counter()
        for text in texts:
            rules(text)
        best = min(best, time.perf_counter() - started)
    print(f"medcorpus rules: {len(texts)} notes, {megabytes:.2f} MB in {best:.2f} s (best of {args.repeats}): ", end="")
    print(f"{megabytes / best:.3f} MB/s per core, {len(texts) / best:.0f} notes/s")
    deidpl = load_deidpl(folder)
    systems = {
        "medcorpus rules (in-sample)": lambda _key, text: rules(text),
        "deid.pl (shipped predictions)": lambda key, _text: deidpl.get(key, []),
        "scrubadub defaults": (lambda find: lambda _key, text: find(text))(scrubadub_defaults()),
    }
    print(f"\n{args.folds} patient-grouped folds (seed {args.seed}), lock-box patients ({len(boxed)}) left out")
    print(f"{'system':<32} {'recall':>7} {'prec.':>7} {'F2':>7}  {'recall per fold':>17}  {'prec. per fold':>17}  MB/s")
    for name, predict in systems.items():
        result = cross_validate(folder, args.folds, args.seed, build=lambda _n, _g, p=predict: p, exclude=boxed)
        pooled = result.pooled
        recall, precision = result.spread("recall"), result.spread("precision")
        speed = "" if name.startswith("deid.pl") else f"{pooled.mb_per_second:.3f}"
        print(
            f"{name:<32} {pooled.recall:7.4f} {pooled.precision:7.4f} {pooled.f2:7.4f}  "
            f"{recall[0]:.4f} to {recall[1]:.4f}  {precision[0]:.4f} to {precision[1]:.4f}  {speed}"
        )
        by_type = "  ".join(f"{t} {v:.3f}" for t, v in pooled.recall_by_type.items())
        print(f"{'':<32} recall by type: {by_type}")
    other = Path(__file__).resolve().parent / "deid_notes"
    print("\nother note kinds written by us (benchmarks/deid_notes: discharge summaries, radiology, clinic letters)")
    for name, find in (("medcorpus rules (held out)", rules), ("scrubadub defaults", scrubadub_defaults())):
        result = evaluate(other, find)
        by_type = "  ".join(f"{t} {v:.3f}" for t, v in result.recall_by_type.items())
        print(f"{name:<32} {result.recall:7.4f} {result.precision:7.4f} {result.f2:7.4f}  recall by type: {by_type}")


if __name__ == "__main__":
    main()
