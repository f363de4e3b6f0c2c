"""The mix report: target vs achieved tokens per category and source, epochs, and what each split holds."""

from __future__ import annotations

import numpy as np

from medcorpus.mixers.plan import MixPlan, SourceStock
from medcorpus.mixers.selection import SPLITS


def source_rows(groups: list[SourceStock], group_of: np.ndarray, index_of: np.ndarray, valid: np.ndarray) -> dict:
    """Per source: tokens and picks per split, and the fewest and most copies of any of its documents."""
    rows: dict[str, dict] = {}
    for g, group in enumerate(groups):
        mine = group_of == g
        copies = np.bincount(index_of[mine], minlength=len(group))
        for m, name in enumerate(group.members):
            own = group.member == m
            row = rows.setdefault(name, {"min_copies": int(copies[own].min()) if own.any() else 0})
            row["max_copies"] = int(copies[own].max()) if own.any() else 0
            for split, in_split in zip(SPLITS, (mine & ~valid, mine & valid)):
                picked = index_of[in_split]
                picked = picked[group.member[picked] == m]
                row[split] = {"documents": len(picked), "tokens": int(group.lengths[picked].sum())}
    return rows


def share(part: float, whole: float) -> float:
    return round(part / whole, 6) if whole else 0.0


def build_report(
    mix: dict,
    seed: int,
    plan: MixPlan,
    stocks: dict[str, SourceStock],
    groups: list[SourceStock],
    group_of: np.ndarray,
    index_of: np.ndarray,
    valid: np.ndarray,
    restricted: dict[str, dict[str, int]],
) -> dict:
    """Everything the manifest needs to say what the mix asked for and what it got (shards added by the caller)."""
    rows = source_rows(groups, group_of, index_of, valid)
    achieved = {name: row["train"]["tokens"] + row["valid"]["tokens"] for name, row in rows.items()}
    total = sum(achieved.values())
    sources = {}
    for name, target in plan.source_targets.items():
        stock, row = stocks[name], rows.get(name, {})
        got = achieved.get(name, 0)
        sources[name] = {
            "category": stock.category,
            "available_tokens": stock.tokens,
            "available_documents": len(stock),
            "target_tokens": round(target),
            "achieved_tokens": got,
            "relative_error": round((got - target) / target, 8) if target else 0.0,
            "selected_documents": sum(row.get(split, {}).get("documents", 0) for split in SPLITS),
            "epochs": round(got / stock.tokens, 6) if stock.tokens else 0.0,
            "whole_epochs": row.get("min_copies", 0),
            "max_copies": row.get("max_copies", 0),
            "splits": {split: row.get(split, {"documents": 0, "tokens": 0}) for split in SPLITS},
        }
    categories = {}
    for category, target in plan.category_targets.items():
        got = sum(v for k, v in achieved.items() if stocks[k].category == category)
        categories[category] = {
            "target_tokens": round(target),
            "achieved_tokens": got,
            "relative_error": round((got - target) / target, 8) if target else 0.0,
            "target_share": share(target, plan.budget),
            "achieved_share": share(got, total),
        }
    for name, row in sources.items():
        found = {"documents": 0, "tokens": 0} | restricted.get(name, {})
        row["restricted_documents"], row["restricted_tokens"] = found["documents"], found["tokens"]
    splits = {}
    for split in SPLITS:
        tokens = {k: v["splits"][split]["tokens"] for k, v in sources.items()}
        splits[split] = {
            "documents": sum(v["splits"][split]["documents"] for v in sources.values()),
            "tokens": sum(tokens.values()),
            "category_tokens": {c: sum(t for k, t in tokens.items() if stocks[k].category == c) for c in categories},
        }
    return {
        "seed": seed,
        "ratios": mix["ratios"],
        "validation_fraction": float(mix.get("validation_fraction", 0.0)),
        "validation_fraction_per_source": dict(sorted((mix.get("validation_fraction_per_source") or {}).items())),
        "shard_tokens": int(mix.get("shard_tokens", 1 << 30)),
        "budget_tokens": round(plan.budget),
        "total_tokens": total,
        "categories": categories,
        "sources": sources,
        "splits": splits,
        "unused_sources": sorted(set(stocks) - set(plan.source_targets)),
        "public": bool(mix.get("public", False)),
        "allow_restricted": bool(mix.get("allow_restricted", False)),
        "restricted": restricted,
    }
