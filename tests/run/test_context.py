"""`StageContext` hands out the folder layout `stages.py` documents."""

from __future__ import annotations

from medcorpus.run.config import TokenizerConfig
from medcorpus.run.context import StageContext


def test_writers_and_counters_follow_the_stage_layout(tmp_path):
    ctx = StageContext(str(tmp_path / "stage"), "jsonl", tasks=3)
    assert ctx.path("work", "x") == str(tmp_path / "stage" / "work" / "x")
    writer = ctx.writer("${source}/pubmed_${rank}")
    assert (
        writer.output_folder.path == str(tmp_path / "stage")
        and writer.output_filename.template == "${source}/pubmed_${rank}.jsonl.gz"
    )
    excluded = ctx.excluded(reason="lang")
    assert excluded.output_folder.path == str(tmp_path / "stage" / "excluded")
    counter, last = ctx.tail(sub="pubmed")
    assert counter.stats_dir == str(tmp_path / "stage" / "stats" / "pubmed") and counter.tokenizer is None
    assert last.output_folder.path == str(tmp_path / "stage")


def test_counter_counts_tokens_with_the_stage_tokenizer(tmp_path):
    layout = TokenizerConfig(add_bos=False, add_eos=True)
    counter = StageContext(str(tmp_path), tokenizer=layout).counter()
    assert (counter.tokenizer, counter.add_bos, counter.add_eos) == (layout.name, False, True)
