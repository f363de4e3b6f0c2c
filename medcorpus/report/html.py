"""`medcorpus report RUN_DIR`: one self-contained HTML page (inline SVG, no scripts, no network) about a run.

Built from the run's manifest.json, the mix report, each stage's stats, excluded/ and logs, and the
tokenized shards' `.docs.parquet` sidecars. Only counts, names and ids appear: never document text.
A piece the run does not have is shown as "not in this run".
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from html import escape
from pathlib import Path

from medcorpus.report.plots import bar_chart, grouped_bars, histogram, log2_bins, section, table

MISSING = '<p class="missing">not in this run</p>'
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \|")
_DEID_SKIPPED = {"deid_documents", "deid_skipped"}
CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:2px 8px}
td.num{text-align:right;font-variant-numeric:tabular-nums}.missing{color:#888;font-style:italic}
svg.plot{display:block;margin:.5em 0}svg text{fill:#222}.hists{display:flex;flex-wrap:wrap;gap:8px}"""


def _load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _folder(run_dir: Path, recorded: str) -> Path:
    """A stage folder the manifest recorded, found again under `run_dir` when the run was moved."""
    path = Path(recorded)
    if path.is_dir():
        return path
    for candidate in (run_dir / "stages" / path.name, run_dir / path.name):
        if candidate.is_dir():
            return candidate
    return path


def _stages(run_dir: Path, manifest: dict | None) -> list[dict]:
    """Stage summaries from the manifest, or rebuilt from `stages/NN_name` folders when there is none."""
    if manifest is not None:
        return [dict(stage, folder=_folder(run_dir, stage.get("output", ""))) for stage in manifest.get("stages", [])]
    from medcorpus.run.manifest import stage_summary

    stages, previous = [], None
    for folder in sorted((run_dir / "stages").glob("[0-9][0-9]_*")):
        name = folder.name.split("_", 1)[1]
        if (folder / "stats").is_dir():
            summary = stage_summary(name, folder, previous)
            previous = summary["out"]
        else:
            summary = {"name": name}
        stages.append(dict(summary, folder=folder))
    if (run_dir / "shards").is_dir():
        stages.append({"name": "mix", "folder": run_dir / "shards"})
    return stages


def _lengths(stages: list[dict], run_dir: Path) -> tuple[dict[str, list[int]], dict[str, str], str]:
    """Tokens per document per source (and each source's category) from the shards' sidecars."""
    import pyarrow.parquet as pq

    folders = [stage["folder"] for stage in stages if stage["name"] == "tokenize"]
    label = "tokenized documents (tokenize stage)"
    files = sorted(p for folder in folders for p in Path(folder).glob("*.docs.parquet"))
    if not files:
        files, label = sorted((run_dir / "shards").glob("*.docs.parquet")), "documents in the mixed shards"
    lengths: dict[str, list[int]] = defaultdict(list)
    categories: dict[str, str] = {}
    for path in files:
        try:
            columns = pq.read_table(path, columns=["source", "category", "tokens"]).to_pydict()
        except (OSError, ValueError, KeyError):
            continue
        for source, category, tokens in zip(columns["source"], columns["category"], columns["tokens"]):
            lengths[source].append(int(tokens))
            categories[source] = category
    return dict(sorted(lengths.items())), categories, label


def _deid_counts(stage: dict) -> dict[str, int]:
    """Replacements per PHI type: the de-identifier's step stats, else its documents' `metadata["deid"]`."""
    counts: Counter = Counter()
    for stats in (stage.get("steps") or {}).values():
        for key, value in stats.items():
            if key.startswith("deid_") and key not in _DEID_SKIPPED:
                counts[key[len("deid_") :]] += int(value)
    if counts:
        return dict(sorted(counts.items()))
    import pyarrow.parquet as pq

    for path in sorted(Path(stage["folder"]).glob("*/*.parquet")):
        if path.parent.name in ("excluded", "work", "logs", "stats"):
            continue
        for raw in pq.read_table(path, columns=["metadata"]).column("metadata").to_pylist():
            counts.update(json.loads(raw).get("deid") or {})
    return dict(sorted(counts.items()))


def _timings(folder: Path, name: str) -> tuple[float, float] | None:
    """(wall seconds, summed task seconds) of a stage, from the first and last stamp of its task logs."""
    starts, ends, busy = [], [], 0.0
    for log in sorted(folder.glob(f"logs/{name}_*/logs/task_*.log")):
        stamps = []
        try:
            with open(log, encoding="utf-8", errors="replace") as handle:
                stamps = [m.group(1) for line in handle if (m := _STAMP.match(line))]
        except OSError:
            continue
        if stamps:
            first, last = (datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f") for s in (stamps[0], stamps[-1]))
            starts.append(first)
            ends.append(last)
            busy += (last - first).total_seconds()
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds(), busy


def _total(counts: dict | None, key: str = "documents") -> int:
    return sum(int(values.get(key, 0)) for values in (counts or {}).values())


def _sources_section(stages: list[dict], mix: dict | None, categories: dict[str, str]) -> str:
    documents = [s for s in stages if "out" in s]
    if not documents:
        return MISSING
    read, curated = documents[0]["out"], documents[-1]["out"]
    mixed = (mix or {}).get("sources", {})
    names = sorted(set(read) | set(curated) | set(mixed))
    category = {n: mixed.get(n, {}).get("category") or categories.get(n, "unknown") for n in names}
    rows = []
    for n in names:
        rows.append(
            [
                n,
                category[n],
                read.get(n, {}).get("documents", 0),
                curated.get(n, {}).get("documents", 0),
                curated.get(n, {}).get("tokens", 0),
                mixed.get(n, {}).get("selected_documents", 0),
                mixed.get(n, {}).get("achieved_tokens", 0),
            ]
        )
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for row in rows:
        per_category[row[1]] = [a + b for a, b in zip(per_category[row[1]], row[2:])]
    header = ["documents after sources", "documents curated", "tokens curated", "documents mixed", "tokens mixed"]
    chart = bar_chart(
        [(n, curated.get(n, {}).get("tokens", 0), category[n]) for n in names],
        "tokens per source after curation",
        "tokens",
    )
    return (
        table("per-source", ["source", "category", *header], rows)
        + chart
        + table("per-category", ["category", *header], [[c, *v] for c, v in sorted(per_category.items())])
    )


def _funnel_section(stages: list[dict]) -> str:
    documents = [s for s in stages if "out" in s]
    if not documents:
        return MISSING
    first = documents[0]
    removed_first = sum(sum(reasons.values()) for reasons in (first.get("removed") or {}).values())
    steps = [("read", _total(first["out"]) + removed_first)]
    steps += [(f"after {s['name']}", _total(s["out"])) for s in documents]
    rows = [
        [s["name"], source, reason, count]
        for s in documents
        for source, reasons in sorted((s.get("removed") or {}).items())
        for reason, count in sorted(reasons.items())
    ]
    chart = bar_chart([(name, value, None) for name, value in steps], "documents remaining after each stage", "docs")
    removals = table("removals", ["stage", "source", "reason", "documents"], rows) if rows else "<p>nothing removed</p>"
    return chart + table("funnel", ["step", "documents"], [list(s) for s in steps]) + removals


def _mix_section(mix: dict | None) -> str:
    if not mix or not mix.get("categories"):
        return MISSING
    cats = sorted(mix["categories"])
    rows = [
        [
            c,
            mix["categories"][c]["target_share"],
            mix["categories"][c]["achieved_share"],
            mix["categories"][c]["target_tokens"],
            mix["categories"][c]["achieved_tokens"],
        ]
        for c in cats
    ]
    series = {"target": [r[1] for r in rows], "achieved": [r[2] for r in rows]}
    sources = sorted(mix.get("sources", {}))
    source_rows = [
        [
            s,
            mix["sources"][s].get("category", ""),
            mix["sources"][s].get("target_tokens", 0),
            mix["sources"][s].get("achieved_tokens", 0),
            mix["sources"][s].get("epochs", 0.0),
        ]
        for s in sources
    ]
    return (
        grouped_bars(cats, series, "target vs achieved share per category")
        + table(
            "mix-categories", ["category", "target share", "achieved share", "target tokens", "achieved tokens"], rows
        )
        + table("mix-sources", ["source", "category", "target tokens", "achieved tokens", "epochs"], source_rows)
    )


def _lengths_section(lengths: dict[str, list[int]], categories: dict[str, str], label: str) -> str:
    if not lengths:
        return MISSING
    edges = log2_bins([v for values in lengths.values() for v in values])
    plots = "".join(histogram(v, edges, f"{s} ({len(v)} documents)", categories.get(s)) for s, v in lengths.items())
    rows = []
    for source, values in lengths.items():
        ordered = sorted(values)
        rows.append([source, len(ordered), ordered[0], ordered[len(ordered) // 2], ordered[-1], sum(ordered)])
    return (
        f"<p>{escape(label)}</p>"
        + f'<div class="hists">{plots}</div>'
        + table("lengths", ["source", "documents", "min tokens", "median tokens", "max tokens", "tokens"], rows)
    )


def _counts_section(counts: dict[str, int], table_id: str, key: str, label: str, unit: str) -> str:
    if not counts:
        return MISSING
    chart = bar_chart([(name, value, None) for name, value in counts.items()], label, unit)
    return chart + table(table_id, [key, unit], [[name, value] for name, value in counts.items()])


def _throughput_section(stages: list[dict], documents: dict[str, int]) -> str:
    """Wall and task seconds per stage; documents are those in (or, for shard stages, `documents[name]`)."""
    rows, shared = [], []
    for stage in stages:
        if stage.get("ran_in"):  # its step ran in a later stage's pipeline: one row for them all, named for each
            shared.append(stage)
            continue
        timing = _timings(Path(stage["folder"]), stage["name"])
        if timing is None:
            continue
        wall, busy = timing
        first = shared[0] if shared else stage
        docs = _total(first.get("in")) or _total(stage.get("out")) or documents.get(stage["name"], 0)
        tokens = _total(stage.get("out"), "tokens")
        rate = docs / wall if wall > 0 else 0.0
        name = " + ".join(s["name"] for s in [*shared, stage])
        rows.append([name, round(wall, 3), round(busy, 3), docs, tokens, round(rate, 3)])
        shared = []
    if not rows:
        return MISSING
    chart = bar_chart([(r[0], r[1], None) for r in rows], "wall-clock seconds per stage", "s")
    header = ["stage", "wall seconds", "task seconds", "documents", "tokens out", "documents per second"]
    return chart + table("throughput", header, rows)


def build_report(run_dir: str | Path) -> str:
    """The report of the run in `run_dir` as one HTML string."""
    run_dir = Path(run_dir)
    manifest = _load_json(run_dir / "manifest.json")
    stages = _stages(run_dir, manifest)
    mix = (manifest or {}).get("mix") or _load_json(run_dir / "shards" / "mix_report.json")
    lengths, categories, length_label = _lengths(stages, run_dir)
    by_name = {stage["name"]: stage for stage in stages}
    mixed = sum(int(shard.get("documents", 0)) for shard in (mix or {}).get("shards", []))
    shard_documents = {"tokenize": sum(len(v) for v in lengths.values()), "mix": mixed}
    deid = _deid_counts(by_name["deid"]) if "deid" in by_name else {}
    benchmarks = {
        k: int(v.get("documents", 0)) for k, v in (by_name.get("decontam", {}).get("benchmarks") or {}).items()
    }
    about = [["run", str(run_dir)]]
    if manifest:
        about += [[k, str(manifest.get(k))] for k in ("medcorpus_version", "git_commit", "started", "finished")]
        about.append(["seed", str((manifest.get("seeds") or {}).get("seed"))])
    else:
        about.append(["manifest", "not in this run (figures rebuilt from the stage folders)"])
    sections = [
        section("Documents and tokens per source and category", "sources", _sources_section(stages, mix, categories)),
        section("Removal funnel per stage and reason", "funnel", _funnel_section(stages)),
        section("Target vs achieved mix", "mix", _mix_section(mix)),
        section(
            "Document length distributions per source", "lengths", _lengths_section(lengths, categories, length_label)
        ),
        section(
            "De-identification: replacements per PHI type",
            "deid",
            _counts_section(deid, "deid-counts", "PHI type", "replacements per PHI type", "replacements"),
        ),
        section(
            "Decontamination: documents removed per benchmark",
            "decontam",
            _counts_section(benchmarks, "decontam-hits", "benchmark", "documents hit per benchmark", "documents"),
        ),
        section("Throughput per stage", "throughput", _throughput_section(stages, shard_documents)),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>medcorpus run report: {escape(run_dir.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>medcorpus run report</h1>{table('about', ['', ''], about)}{''.join(sections)}</body></html>\n"
    )


def write_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write the report (default `RUN_DIR/report.html`) atomically; returns its path."""
    target = Path(output) if output else Path(run_dir) / "report.html"
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(build_report(run_dir), encoding="utf-8")
    temporary.replace(target)
    return target
