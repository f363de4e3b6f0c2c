"""The mixing step: tokenized sources in, shards at exact token ratios out, with a report.

Publication guard: with `mix.public` the mix refuses, before writing anything, to include a document
flagged `restricted` (credentialed-licence data such as MIMIC notes; the flag travels from the
document metadata into the shards' `.docs.parquet` sidecar) or one from a shard that carries no flags,
unless `mix.allow_restricted` says so; the report records both settings and the restricted documents
and tokens selected per source.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.config import ConfigError
from medcorpus.mixers.plan import SourceStock, plan_mix, pool, select_documents, source_rng
from medcorpus.tokenize.shards import ShardReader, ShardWriter, list_shards

REPORT = "mix_report.json"


class RestrictedInPublicMix(ConfigError):
    """A mix marked public would publish restricted (credentialed-licence) documents."""


def load_stocks(folders: list[str]) -> tuple[list[ShardReader], dict[str, SourceStock], set[str]]:
    """Every tokenized document under `folders`, grouped by source and sorted by id.

    Sorting by id makes the stock independent of how many tasks wrote the input shards. Also returns
    the sources with documents from shards that record no restricted flags (written by older versions).
    """
    readers = [ShardReader(prefix) for folder in folders for prefix in list_shards(folder)]
    rows: dict[str, list[tuple[str, int, int, int, bool]]] = {}
    categories: dict[str, str] = {}
    unflagged: set[str] = set()
    for r, reader in enumerate(readers):
        flags = reader.restricted
        if flags is None:
            unflagged.update(reader.sources)
            flags = [False] * len(reader)
        columns = zip(reader.doc_ids, reader.sources, reader.categories, flags)
        for i, (doc_id, source, category, restricted) in enumerate(columns):
            rows.setdefault(source, []).append((doc_id, r, i, int(reader.lengths[i]), bool(restricted)))
            categories[source] = category
    stocks = {}
    for source, items in sorted(rows.items()):
        items.sort(key=lambda item: item[0])
        stocks[source] = SourceStock(
            source=source,
            category=categories[source],
            ids=[item[0] for item in items],
            lengths=np.array([item[3] for item in items], dtype=np.int64),
            locations=[(item[1], item[2]) for item in items],
            restricted=np.array([item[4] for item in items], dtype=bool),
        )
    return readers, stocks, unflagged


def restricted_counts(picks: list[tuple[SourceStock, int]]) -> dict[str, dict[str, int]]:
    """Selected restricted documents and their tokens, per source."""
    counts: dict[str, dict[str, int]] = {}
    for group, index in picks:
        if group.restricted[index]:
            row = counts.setdefault(group.doc_sources[index], {"documents": 0, "tokens": 0})
            row["documents"] += 1
            row["tokens"] += int(group.lengths[index])
    return dict(sorted(counts.items()))


def check_public(mix: dict, restricted: dict[str, dict[str, int]], unflagged: list[str]) -> None:
    """Refuse a public mix with restricted (or unflagged) documents unless `allow_restricted` is set."""
    if not mix.get("public") or mix.get("allow_restricted") or not (restricted or unflagged):
        return
    found = [f"{name} ({row['documents']} documents, {row['tokens']} tokens)" for name, row in restricted.items()]
    if unflagged:
        found.append(f"{', '.join(unflagged)} (shards without restricted flags; tokenize them again)")
    raise RestrictedInPublicMix(
        f"mix.public is true but the mix would publish restricted, credentialed-licence documents from: "
        f"{'; '.join(found)}. Leave these sources out, set mix.public: false, or set mix.allow_restricted: true "
        f"if their licence allows publishing them"
    )


class TokenMixer(PipelineStep):
    """Selects whole documents per source to meet token ratios and writes Megatron shards.

    Runs as a single task. Selection and order depend only on the inputs, the mix settings
    and `seed`: never on the number of workers that produced the inputs.
    """

    type = "🥣 - MIXER"
    name = "token-ratio mixer"

    def __init__(self, inputs: list[str], output_folder: str, mix: dict, seed: int, vocab_size: int):
        super().__init__()
        self.inputs = inputs
        self.output_folder = output_folder
        self.mix = mix
        self.seed = seed
        self.vocab_size = vocab_size

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if rank != 0:
            return
        readers, stocks, unflagged = load_stocks(self.inputs)
        plan = plan_mix(
            stocks,
            self.mix["ratios"],
            self.mix.get("total_tokens"),
            self.mix.get("source_weights"),
            self.mix.get("max_epochs", 4.0),
            self.mix.get("max_epochs_per_source"),
        )
        picks = []
        for group, target in self._groups(plan, stocks):
            chosen = select_documents(group, target, self.seed)
            picks.extend((group, int(index)) for index in chosen)
        restricted = restricted_counts(picks)
        check_public(self.mix, restricted, sorted(unflagged & {group.doc_sources[i] for group, i in picks}))
        order = source_rng(self.seed, "__mix_order__").permutation(len(picks))
        shards = self._write([picks[i] for i in order], readers)
        self._report(plan, stocks, picks, shards, restricted, sorted(unflagged))
        yield from ()

    def _groups(self, plan, stocks: dict[str, SourceStock]) -> list[tuple[SourceStock, float]]:
        """What is selected together: each source when weights are given, else a category's sources pooled."""
        weighted = set(self.mix.get("source_weights") or {})
        groups = []
        for category, target in plan.category_targets.items():
            members = [stocks[name] for name in plan.source_targets if stocks[name].category == category]
            if weighted & {m.source for m in members}:
                groups.extend((m, plan.source_targets[m.source]) for m in members)
            else:
                groups.append((pool(f"category:{category}", members), target))
        return groups

    def _write(self, picks: list[tuple[SourceStock, int]], readers: list[ShardReader]) -> list[dict]:
        out = Path(self.output_folder)
        out.mkdir(parents=True, exist_ok=True)
        limit, shards, writer, writer_tokens = int(self.mix.get("shard_tokens", 1 << 30)), [], None, 0
        for stock, index in picks:
            reader_index, doc_index = stock.locations[index]
            tokens = readers[reader_index].tokens(doc_index)
            if writer is None or (writer_tokens and writer_tokens + len(tokens) > limit):
                if writer is not None:
                    shards.append(writer.close())
                writer, writer_tokens = ShardWriter(str(out / f"mix_{len(shards):05d}"), self.vocab_size), 0
            writer.add(tokens, stock.ids[index], stock.doc_sources[index], stock.category, stock.restricted[index])
            writer_tokens += len(tokens)
            self.stat_update("tokens", value=len(tokens))
        if writer is not None:
            shards.append(writer.close())
        return shards

    def _report(
        self,
        plan,
        stocks: dict,
        picks: list[tuple[SourceStock, int]],
        shards: list[dict],
        restricted: dict[str, dict[str, int]],
        unflagged: list[str],
    ) -> None:
        achieved: dict[str, int] = {}
        documents: dict[str, int] = {}
        for group, index in picks:
            name = group.doc_sources[index]
            achieved[name] = achieved.get(name, 0) + int(group.lengths[index])
            documents[name] = documents.get(name, 0) + 1
        total = sum(achieved.values()) or 1
        categories = {}
        for category, target in plan.category_targets.items():
            got = sum(v for k, v in achieved.items() if stocks[k].category == category)
            categories[category] = {
                "target_tokens": round(target),
                "achieved_tokens": got,
                "target_share": round(target / plan.budget, 6),
                "achieved_share": round(got / total, 6),
            }
        sources = {
            name: {
                "category": stocks[name].category,
                "available_tokens": stocks[name].tokens,
                "available_documents": len(stocks[name].ids),
                "target_tokens": round(target),
                "achieved_tokens": achieved.get(name, 0),
                "selected_documents": documents.get(name, 0),
                "epochs": round(achieved.get(name, 0) / stocks[name].tokens, 6) if stocks[name].tokens else 0.0,
                "restricted_documents": restricted.get(name, {}).get("documents", 0),
                "restricted_tokens": restricted.get(name, {}).get("tokens", 0),
            }
            for name, target in plan.source_targets.items()
        }
        unused = sorted(set(stocks) - set(plan.source_targets))
        report = {
            "seed": self.seed,
            "ratios": self.mix["ratios"],
            "budget_tokens": round(plan.budget),
            "total_tokens": sum(achieved.values()),
            "categories": categories,
            "sources": sources,
            "unused_sources": unused,
            "public": bool(self.mix.get("public", False)),
            "allow_restricted": bool(self.mix.get("allow_restricted", False)),
            "restricted": restricted,
            "unflagged_sources": unflagged,
            "shards": [shard | {"prefix": Path(shard["prefix"]).name} for shard in shards],
        }
        (Path(self.output_folder) / REPORT).write_text(json.dumps(report, indent=1, sort_keys=True))
