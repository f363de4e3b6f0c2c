"""Mixing SFT shards: loss masks travel with their documents; masked and unmasked inputs are not mixed."""

from __future__ import annotations

import numpy as np
import pytest
from datatrove.data import Document
from support.chat_tokenizers import trained_runs

from medcorpus.mixers import TokenMixer
from medcorpus.mixers.token_mixer import check_feasible
from medcorpus.run.config import ConfigError
from medcorpus.tokenize import SftShardTokenizer, ShardReader, ShardWriter, list_shards, load_tokenizer


def answer_of(number: int) -> str:
    return f"Give {number} mg of drug {number % 7} with food."


def sft_shards(folder, source: str, category: str, count: int) -> dict[str, str]:
    """Masked shards of `count` one-turn examples (llama-2 template); returns each id's answer."""
    docs, answers = [], {}
    for number in range(count):
        doc_id = f"{source}:{number:04d}"
        answers[doc_id] = answer_of(number)
        turns = [
            {"role": "user", "content": f"Question {number}: how is drug {number % 7} given?"},
            {"role": "assistant", "content": answers[doc_id]},
        ]
        metadata = {"source": source, "category": category, "turns": turns}
        docs.append(Document(text=f"{turns[0]['content']}\n\n{answers[doc_id]}", id=doc_id, metadata=metadata))
    list(SftShardTokenizer(str(folder), template="llama-2").run(iter(docs), rank=0))
    return answers


def test_mixed_shards_keep_masks_aligned_with_their_tokens(tmp_path):
    answers = sft_shards(tmp_path / "tokens" / "meadow", "meadow", "biomedical", 60)
    answers |= sft_shards(tmp_path / "tokens" / "chat", "chat", "general", 40)
    mix = {"ratios": {"biomedical": 3, "general": 1}, "shard_tokens": 1500, "validation_fraction": 0.1}
    list(TokenMixer([str(tmp_path / "tokens")], str(tmp_path / "mixed"), mix, seed=3, vocab_size=32000).run())
    tokenizer = load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=False)
    prefixes = list_shards(str(tmp_path / "mixed"))
    assert len(prefixes) > 2 and any("valid_" in prefix for prefix in prefixes)
    checked = 0
    for prefix in prefixes:
        reader = ShardReader(prefix)
        assert reader.has_masks
        for i, doc_id in enumerate(reader.doc_ids):
            ids, mask = reader.tokens(i).tolist(), reader.mask(i).tolist()
            runs = trained_runs(ids, mask)
            assert [tokenizer.decode(run, skip_special=False) for run in runs] == [answers[doc_id] + " </s>"]
            checked += 1
        stream = reader.mask_stream(0, reader.total_tokens)
        assert np.array_equal(stream, np.concatenate([reader.mask(i) for i in range(len(reader))]))
    assert checked >= 40


def test_masked_and_unmasked_inputs_are_refused_before_writing(tmp_path):
    sft_shards(tmp_path / "tokens" / "meadow", "meadow", "biomedical", 10)
    with ShardWriter(str(tmp_path / "tokens" / "plain" / "00000"), 32000) as writer:
        writer.add([1, 5, 6, 2], "pubmed:1", "pubmed", "biomedical")
    mix = {"ratios": {"biomedical": 1}}
    with pytest.raises(ConfigError, match=r"1 shards have loss masks .* 1 have none"):
        check_feasible([str(tmp_path / "tokens")], mix)
    with pytest.raises(ConfigError, match="mix SFT shards only with SFT shards"):
        list(TokenMixer([str(tmp_path / "tokens")], str(tmp_path / "mixed"), mix, seed=3, vocab_size=32000).run())
    assert not (tmp_path / "mixed").exists()
