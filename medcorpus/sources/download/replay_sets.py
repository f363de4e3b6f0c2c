"""General-domain replay sets on the Hugging Face Hub: where each lives, which files, which text field.

Layouts as the Hub publishes them (the first two checked against the repositories' file pages; the
FineWeb folders are those the dataset cards name, not checked against a listing here):

- togethercomputer/RedPajama-Data-1T-Sample: eleven JSON-lines files at the root, one per RedPajama
  source (`arxiv_sample.jsonl`, `book_sample.jsonl`, `c4_sample.jsonl`, five `cc_YYYY-NN_sample.jsonl`,
  `github_sample.jsonl`, `stackexchange_sample.jsonl`, `wikipedia_sample.jsonl`), about 1B tokens;
  one source alone with `--include 'arxiv_*'`.
- cerebras/SlimPajama-627B: `train/chunk1` ... `train/chunk10`, each of `example_train_N.jsonl.zst`
  (`validation/` and `test/` beside them, not selected).
- HuggingFaceFW/fineweb and HuggingFaceFW/fineweb-edu: `sample/10BT/`, `sample/100BT/` (and
  `sample/350BT/`) of `NNN_NNNNN.parquet` files with a `text` column.

Not here, for want of data files on the Hub: the full RedPajama-Data-1T (its repository holds a
loading script and URL lists; the data lives on data.together.xyz) and Dolma (allenai/dolma holds
`urls/v1_*.txt`, lists of files on olmo-data.org). Any other dataset: `--repo OWNER/NAME --include GLOB`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplaySet:
    """One preset: the dataset repository, its revision, the files (globs), their format and text field."""

    repo: str
    include: tuple[str, ...]
    format: str
    text_key: str = "text"
    revision: str = "main"


def _fineweb(repo: str, sample: str) -> ReplaySet:
    return ReplaySet(repo, (f"sample/{sample}/*.parquet",), "parquet")


PRESETS: dict[str, ReplaySet] = {
    "redpajama-sample": ReplaySet("togethercomputer/RedPajama-Data-1T-Sample", ("*.jsonl",), "jsonl"),
    "slimpajama": ReplaySet("cerebras/SlimPajama-627B", ("train/chunk*/*.jsonl.zst",), "jsonl.zst"),
    "fineweb-sample-10bt": _fineweb("HuggingFaceFW/fineweb", "10BT"),
    "fineweb-sample-100bt": _fineweb("HuggingFaceFW/fineweb", "100BT"),
    "fineweb-edu-sample-10bt": _fineweb("HuggingFaceFW/fineweb-edu", "10BT"),
    "fineweb-edu-sample-100bt": _fineweb("HuggingFaceFW/fineweb-edu", "100BT"),
}


def selection(
    preset: str | None = None,
    repo: str | None = None,
    include: tuple[str, ...] | list[str] = (),
    revision: str | None = None,
    text_key: str | None = None,
) -> ReplaySet:
    """The files to fetch: `preset`'s (a key of `PRESETS`), else `repo`'s; values given replace the preset's."""
    chosen = PRESETS[preset] if preset else ReplaySet(repo or "", (), "")
    return ReplaySet(
        chosen.repo,
        tuple(include) or chosen.include,
        chosen.format,
        text_key or chosen.text_key,
        revision or chosen.revision,
    )
