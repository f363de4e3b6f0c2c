"""The SFT tokenize step: masked shards whose masks decode to the answers, and exclusions with their reasons."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from support.chat_tokenizers import MULTI, SINGLE, build_chat_tokenizer, trained_runs

from medcorpus.io.formats import make_writer
from medcorpus.tokenize import SftShardTokenizer, ShardReader, list_shards, load_tokenizer
from medcorpus.tokenize.step import ShardStep, ShardTokenizer

META = {"source": "meadow", "category": "biomedical", "kind": "instruction"}


def example(number: int, turns: list[dict], **extra) -> dict:
    text = "\n\n".join(turn["content"] for turn in turns)
    return {"id": f"instruction:meadow:{number}", "text": text, "metadata": META | {"turns": turns} | extra}


def examples() -> list[dict]:
    rows = []
    for number in range(8):
        question = {"role": "user", "content": f"Case {number}: what dose of drug {number} is usual?"}
        rows.append(example(number, [question, {"role": "assistant", "content": f"Dose {number} mg daily."}]))
    rows.append(example(8, MULTI))
    rows.append({"id": "pubmed:1", "text": "An abstract, not an example.", "metadata": META | {"kind": "abstract"}})
    rows.append(example(9, [SINGLE[0], {"role": "assistant", "content": "A long answer. " * 120}]))
    rows.append(example(10, [{"role": "user", "content": "Who wrote <|im_end|> here?"}, SINGLE[1]]))
    rows.append(example(11, SINGLE[:1]))  # no answer to train on
    return rows


def write_inputs(folder, rows) -> None:
    folder.mkdir()
    for part in range(2):
        with open(folder / f"part{part}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows[part::2]:
                handle.write(json.dumps(row) + "\n")


@pytest.fixture(scope="module")
def chat_tokenizer(tmp_path_factory):
    return build_chat_tokenizer(tmp_path_factory.mktemp("tok"))


def test_step_with_local_executor_writes_masks_and_excludes_with_reasons(tmp_path, chat_tokenizer):
    rows = examples()
    write_inputs(tmp_path / "in", rows)
    out = tmp_path / "shards"
    step = SftShardTokenizer(
        str(out), chat_tokenizer, "chatml", "answers", max_tokens=200, batch_size=3,
        exclusion_writer=make_writer(str(tmp_path / "excluded")),
    )  # fmt: skip
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(tmp_path / "in"), glob_pattern="*.jsonl", compression=None), step],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    tokenizer = load_tokenizer(chat_tokenizer, add_bos=False, add_eos=False)
    by_id = {row["id"]: row for row in rows}
    seen = {}
    for prefix in list_shards(str(out)):
        reader = ShardReader(prefix)
        assert reader.has_masks
        for i, doc_id in enumerate(reader.doc_ids):
            ids, mask = reader.tokens(i).tolist(), reader.mask(i).tolist()
            answer = by_id[doc_id]["metadata"]["turns"][-1]["content"]
            runs = trained_runs(ids, mask)
            assert [tokenizer.decode(run, skip_special=False) for run in runs] == [answer + "<|im_end|>"]
            prompt = tokenizer.decode([t for t, m in zip(ids, mask) if not m], skip_special=False)
            assert by_id[doc_id]["metadata"]["turns"][-2]["content"] in prompt and answer not in prompt
            seen[doc_id] = len(ids)
    assert sorted(seen) == sorted(f"instruction:meadow:{n}" for n in range(9))
    assert max(seen.values()) <= 200
    reasons = {}
    for path in sorted((tmp_path / "excluded").rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            reasons[row["id"]] = json.loads(row["metadata"])["filter_reason"]
    assert reasons == {
        "pubmed:1": "not_instruction",
        "instruction:meadow:9": "too_long",
        "instruction:meadow:10": "marker_in_text",
        "instruction:meadow:11": "no_trained_token",
    }
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    counts = next(stage["stats"] for stage in stats if "TOKENIZER" in stage["name"])
    assert counts["documents"] == 9 and counts["tokens"]["total"] == sum(seen.values())
    assert counts["skipped_too_long"] == 1 and counts["skipped_not_instruction"] == 1
    assert counts["skipped_marker_in_text"] == 1 and counts["skipped_no_trained_token"] == 1
    assert 0 < counts["trained_tokens"]["total"] < counts["tokens"]["total"]


def test_step_passes_documents_on_and_is_deterministic(tmp_path):
    docs = [Document(text=row["text"], id=row["id"], metadata=row["metadata"]) for row in examples()[:9]]
    outputs = []
    for run in ("a", "b"):
        step = SftShardTokenizer(str(tmp_path / run), template="llama-2", loss="assistant", system="Be brief.")
        passed = list(step.run(iter([Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]), rank=2))
        outputs.append(tmp_path / run / "00002")
    reader = ShardReader(str(outputs[0]))
    assert [doc.id for doc in passed] == reader.doc_ids
    assert reader.lengths.tolist() == [doc.metadata["token_count"] for doc in passed]
    assert reader.tokens(0)[0] == 1 and reader.tokens(0)[-1] == 2  # the llama-2 template's own <s> ... </s>
    tokenizer = load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=False)
    runs = trained_runs(reader.tokens(8).tolist(), reader.mask(8).tolist())
    assert [tokenizer.decode(run, skip_special=False) for run in runs] == [
        "Every three to six months. </s>",
        "Twice a year, 発熱 aside. </s>",
    ]
    for suffix in (".bin", ".idx", ".mask.bin", ".mask.idx", ".docs.parquet"):
        first, second = (output.with_name("00002" + suffix) for output in outputs)
        assert first.read_bytes() == second.read_bytes()


def test_shared_base_and_refusals(tmp_path, chat_tokenizer):
    assert issubclass(SftShardTokenizer, ShardStep) and issubclass(ShardTokenizer, ShardStep)
    with pytest.raises(ValueError, match=r"'chatml' needs <\|im_start\|>, <\|im_end\|>"):
        SftShardTokenizer(str(tmp_path / "o"), template="chatml")  # Mistral's tokenizer has no ChatML tokens
    with pytest.raises(ValueError, match="local shards only"):
        SftShardTokenizer("s3://bucket/shards", chat_tokenizer, "chatml")
    with pytest.raises(ValueError, match="max_tokens"):
        SftShardTokenizer(str(tmp_path / "o"), chat_tokenizer, "chatml", max_tokens=0)
    nothing = SftShardTokenizer(str(tmp_path / "empty"), chat_tokenizer, "chatml")
    plain = Document(text="not an example", id="x", metadata={"source": "s", "category": "general"})
    assert list(nothing.run(iter([plain]), rank=0)) == []
    assert not (tmp_path / "empty").exists() or list_shards(str(tmp_path / "empty")) == []
