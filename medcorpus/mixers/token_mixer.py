"""The mixing step: tokenized sources in, shards at exact token ratios out, with a report.

Selected documents are shuffled globally across sources (seeded) and written to `train_NNNNN` shards of at
most `mix.shard_tokens` tokens; with `mix.validation_fraction` a seeded share of the distinct selected
documents of every source (with all their repeats) goes to `valid_NNNNN` shards beside them instead;
`mix.validation_fraction_per_source` gives a source its own share (0 keeps all of it for training).
`selection.parquet` records every selected document with its split and copies (see `selection`).

Publication guard: with `mix.public` the mix refuses, before writing anything, to include a document
flagged `restricted` (credentialed-licence data such as MIMIC notes; the flag travels from the
document metadata into the shards' `.docs.parquet` sidecar) or one from a shard that carries no flags,
unless `mix.allow_restricted` says so; the report records both settings and the restricted documents
and tokens selected per source.

Loss masks (SFT shards): when the input shards have loss masks, the mixed shards carry each document's mask
with its tokens (`masks=True`); inputs with and without masks cannot be mixed (refused before writing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from medcorpus.mixers.mix_report import build_report
from medcorpus.mixers.plan import MixPlan, SourceStock, plan_for, plan_totals, select_documents, source_rng
from medcorpus.mixers.selection import SPLITS, split_by_document, write_json, write_selection
from medcorpus.mixers.stocks import load_stocks, open_shards, source_totals
from medcorpus.run.config import ConfigError
from medcorpus.tokenize.shard_reader import ShardReader
from medcorpus.tokenize.shards import ShardWriter

REPORT = "mix_report.json"
ID_CHUNK = 1 << 16  # picks whose ids are fetched from Arrow in one go while writing


class RestrictedInPublicMix(ConfigError):
    """A mix marked public would publish restricted (credentialed-licence) documents."""


def restricted_counts(groups: list[SourceStock], group_of: np.ndarray, index_of: np.ndarray) -> dict[str, dict]:
    """Selected restricted documents and their tokens, per source."""
    counts: dict[str, dict[str, int]] = {}
    for g, group in enumerate(groups):
        picked = index_of[group_of == g]
        picked = picked[group.restricted[picked]]
        for m in np.unique(group.member[picked]).tolist():
            mine = picked[group.member[picked] == m]
            counts[group.members[m]] = {"documents": len(mine), "tokens": int(group.lengths[mine].sum())}
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


def check_masks(readers: list[ShardReader]) -> bool:
    """Whether the input shards have loss masks: all of them or none, else a ConfigError naming one of each."""
    masked = [reader.prefix for reader in readers if reader.has_masks]
    plain = [reader.prefix for reader in readers if not reader.has_masks]
    if masked and plain:
        raise ConfigError(
            f"mix inputs: {len(masked)} shards have loss masks (SFT, e.g. {masked[0]}) and {len(plain)} have none "
            f"(e.g. {plain[0]}); mix SFT shards only with SFT shards"
        )
    return bool(masked)


def check_feasible(inputs: list[str], mix: dict) -> MixPlan:
    """The mix plan over the tokenized folders `inputs`, from per-source totals only (no ids loaded);
    raises InfeasibleMix (or ConfigError for inputs with and without loss masks) before anything is written."""
    readers = open_shards(inputs)
    check_masks(readers)
    return plan_totals(source_totals(inputs, readers), mix)


class TokenMixer(PipelineStep):
    """Selects whole documents per source to meet token ratios and writes Megatron shards.

    Runs as a single task. Selection, split and order depend only on the inputs, the mix settings
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
        masks = check_masks(readers)
        plan = plan_for(stocks, self.mix)
        groups, chosen = [], []
        for group, target in self._groups(plan, stocks):
            groups.append(group)
            chosen.append(select_documents(group, target, self.seed))
        group_of = np.concatenate([np.full(len(c), g, dtype=np.int32) for g, c in enumerate(chosen)])
        index_of = np.concatenate(chosen)
        default = float(self.mix.get("validation_fraction", 0.0))
        own = self.mix.get("validation_fraction_per_source") or {}
        valid = np.concatenate(
            [
                split_by_document(c, float(own.get(group.source, default)), self.seed, group.source)
                for group, c in zip(groups, chosen)
            ]
        )
        del chosen
        restricted = restricted_counts(groups, group_of, index_of)
        picked_sources = {
            group.members[m] for g, group in enumerate(groups) for m in np.unique(group.member[index_of[group_of == g]])
        }
        check_public(self.mix, restricted, sorted(unflagged & picked_sources))
        out = Path(self.output_folder)
        out.mkdir(parents=True, exist_ok=True)
        shards = []
        for split, mask, label in ((SPLITS[0], ~valid, "__mix_order__"), (SPLITS[1], valid, "__valid_order__")):
            where = np.flatnonzero(mask)
            where = where[source_rng(self.seed, label).permutation(len(where))]
            shards += self._write(split, groups, group_of[where], index_of[where], readers, masks)
        selection = write_selection(out, groups, group_of, index_of, valid)
        report = build_report(self.mix, self.seed, plan, stocks, groups, group_of, index_of, valid, restricted)
        report |= {"unflagged_sources": sorted(unflagged), "selection": selection}
        report["shards"] = [shard | {"prefix": Path(shard["prefix"]).name} for shard in shards]
        write_json(out / REPORT, report)
        yield from ()

    def _groups(self, plan: MixPlan, stocks: dict[str, SourceStock]) -> list[tuple[SourceStock, float]]:
        """What is selected together: each source on its own target, so every source lands on its share."""
        return [(stocks[name], target) for name, target in plan.source_targets.items()]

    def _write(
        self, split: str, groups: list[SourceStock], group_of: np.ndarray, index_of: np.ndarray, readers, masks: bool
    ) -> list[dict]:
        """Write the picks, in order, into `<split>_NNNNN` shards of at most `shard_tokens` tokens each (with
        their loss masks when `masks`)."""
        out, limit = Path(self.output_folder), int(self.mix.get("shard_tokens", 1 << 30))
        shards: list[dict] = []
        writer: ShardWriter | None = None
        writer_tokens = 0
        try:
            for start in range(0, len(group_of), ID_CHUNK):
                gs, js = group_of[start : start + ID_CHUNK], index_of[start : start + ID_CHUNK]
                ids = np.empty(len(gs), dtype=object)
                for g in np.unique(gs).tolist():
                    ids[gs == g] = groups[g].id_list(js[gs == g])
                for g, j, doc_id in zip(gs.tolist(), js.tolist(), ids.tolist()):
                    stock = groups[g]
                    reader_index, doc_index = stock.locations[j].tolist()
                    tokens = readers[reader_index].tokens(doc_index)
                    if writer is None or (writer_tokens and writer_tokens + len(tokens) > limit):
                        if writer is not None:
                            shards.append(writer.close() | {"split": split})
                        writer = ShardWriter(str(out / f"{split}_{len(shards):05d}"), self.vocab_size, masks=masks)
                        writer_tokens = 0
                    source = stock.members[stock.member[j]]
                    mask = readers[reader_index].mask(doc_index) if masks else None
                    writer.add(tokens, doc_id, source, stock.category, bool(stock.restricted[j]), mask=mask)
                    writer_tokens += len(tokens)
                    self.stat_update("tokens", value=len(tokens))
            if writer is not None:
                shards.append(writer.close() | {"split": split})
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        return shards


__all__ = ["REPORT", "RestrictedInPublicMix", "TokenMixer", "check_masks", "check_public", "restricted_counts"]
