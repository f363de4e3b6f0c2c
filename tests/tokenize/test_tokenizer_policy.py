"""BOS/EOS/EOD policies: parity with the reference libraries for every policy, manifest identity, config,
the tokenize step and the CLI."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
import sentencepiece
import tokenizers
from click.testing import CliRunner
from datatrove.data import Document
from tokenizers import decoders, models, pre_tokenizers, processors, trainers

from medcorpus.run.config import TokenizerConfig
from medcorpus.tokenize import ShardReader, ShardTokenizer, list_shards, load_tokenizer
from medcorpus.tokenize.tokenizer import resolve_named

TEXTS = [
    "Metformin 500 mg twice daily; HbA1c fell from 8.4% to 6.9% over 12 weeks.",
    "β-blockers reduce mortality after myocardial infarction (HR 0.77; 95% CI 0.70–0.85).",
    "Dosage:\t0.25 µg/kg/min  titrated every 5 minutes\n\nuntil MAP > 65 mmHg.",
    "",
    " leading space, trailing newline\n",
]
# (add_bos, add_eos, separate end-of-document token?) -> the manifest's policy name
POLICIES = {
    (True, True, False): "bos+doc+eos",
    (False, True, False): "doc+eos",
    (True, False, False): "bos+doc",
    (False, False, False): "doc",
    (True, True, True): "bos+doc+eod",
    (False, True, True): "doc+eod",
}
EOD = "<|eod|>"


@pytest.fixture(scope="module")
def sp_reference() -> sentencepiece.SentencePieceProcessor:
    return sentencepiece.SentencePieceProcessor(model_file=resolve_named("mistral-7b-v0.1"))


@pytest.fixture(scope="module")
def bpe_file(tmp_path_factory) -> str:
    """A small byte-level BPE tokenizer.json with <s>, </s> and a separate end-of-document token."""
    backend = tokenizers.Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=350,
        special_tokens=["<unk>", "<s>", "</s>", EOD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(TEXTS * 3, trainer=trainer)
    path = tmp_path_factory.mktemp("bpe") / "tokenizer.json"
    backend.save(str(path))
    return str(path)


def hf_reference(path: str, add_bos: bool, add_eos: bool, eod: bool) -> tokenizers.Tokenizer:
    """The reference library applying the same layout itself, through a TemplateProcessing post-processor."""
    reference = tokenizers.Tokenizer.from_file(path)
    end = EOD if eod else "</s>"
    parts = (["<s>"] if add_bos else []) + ["$A"] + ([end] if add_eos else [])
    specials = [(token, reference.token_to_id(token)) for token in ("<s>", "</s>", EOD)]
    reference.post_processor = processors.TemplateProcessing(single=" ".join(parts), special_tokens=specials)
    return reference


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_sentencepiece_parity_per_policy(sp_reference, policy):
    add_bos, add_eos, eod = policy
    eod_id = 0 if eod else None  # the Mistral model has no spare special; any in-vocabulary id can serve
    ours = load_tokenizer("mistral-7b-v0.1", add_bos, add_eos, eod_id=eod_id)
    assert ours.policy == POLICIES[policy]
    for text in TEXTS:
        expected = sp_reference.encode(text, add_bos=add_bos, add_eos=add_eos and not eod)
        if eod:
            expected = expected + [0]
        assert ours.encode_document(text) == expected
    expected_batch = [ours.encode_document(text) for text in TEXTS]
    assert ours.encode_documents(TEXTS) == expected_batch
    assert ours.encode_documents(TEXTS, num_threads=1) == expected_batch


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_tokenizer_json_parity_per_policy(bpe_file, policy):
    add_bos, add_eos, eod = policy
    ours = load_tokenizer(bpe_file, add_bos, add_eos, eod_token=EOD if eod else None)
    reference = hf_reference(bpe_file, add_bos, add_eos, eod)
    assert ours.policy == POLICIES[policy]
    for text in TEXTS:
        assert ours.encode_document(text) == reference.encode(text).ids
    assert ours.encode_documents(TEXTS) == [encoding.ids for encoding in reference.encode_batch(TEXTS)]


def test_identity_records_eod_ids_and_sha(bpe_file):
    with open(bpe_file, "rb") as handle:
        sha = hashlib.sha256(handle.read()).hexdigest()
    eod_id = tokenizers.Tokenizer.from_file(bpe_file).token_to_id(EOD)
    identity = load_tokenizer(bpe_file, add_bos=False, eod_token=EOD).identity()
    assert identity["sha256"] == sha
    assert (identity["add_bos"], identity["add_eos"]) == (False, True)
    assert (identity["eod_id"], identity["eod_token"], identity["policy"]) == (eod_id, EOD, "doc+eod")
    assert identity["bos_id"] != identity["eos_id"] != eod_id
    # by id, the spelling is looked up; both forms name the same policy
    assert load_tokenizer(bpe_file, add_bos=False, eod_id=eod_id).identity() == identity
    # without EOD the manifest keeps the plain BOS/EOS record
    assert "eod_id" not in load_tokenizer(bpe_file).identity()


def test_impossible_policies_are_refused(bpe_file):
    with pytest.raises(ValueError, match="no token '<eod>'"):
        load_tokenizer("mistral-7b-v0.1", eod_token="<eod>")
    with pytest.raises(ValueError, match="needs add_eos=True"):
        load_tokenizer("mistral-7b-v0.1", add_eos=False, eod_id=2)
    with pytest.raises(ValueError, match=r"eod_id must be an integer in \[0, 32000\)"):
        load_tokenizer("mistral-7b-v0.1", eod_id=32000)
    with pytest.raises(ValueError, match="disagree"):
        load_tokenizer(bpe_file, eod_id=1, eod_token=EOD)


def test_config_loads_the_policy():
    config = TokenizerConfig.model_validate({"add_bos": False, "eod_id": 0})
    tokenizer = config.load()
    assert tokenizer.policy == "doc+eod" and tokenizer.identity()["eod_token"] == "<unk>"
    assert TokenizerConfig().load().policy == "bos+doc+eos"
    with pytest.raises(ValueError):
        TokenizerConfig.model_validate({"eod_id": -1})


def test_step_writes_the_policy(tmp_path, sp_reference):
    texts = ["First abstract about asthma in children.", "Second abstract on heart failure therapy."]
    docs = [
        Document(text, f"d{i}", metadata={"source": "pubmed", "category": "biomedical"}) for i, text in enumerate(texts)
    ]
    step = ShardTokenizer(str(tmp_path), add_bos=False, eod_id=0, threads=1)
    assert [doc.metadata["token_count"] for doc in step.run(iter(docs))] == [
        len(sp_reference.encode(text)) + 1 for text in texts
    ]
    reader = ShardReader(str(tmp_path / "00000"))
    assert [reader.tokens(i).tolist() for i in range(2)] == [sp_reference.encode(text) + [0] for text in texts]


def test_step_accepts_a_ready_tokenizer(tmp_path, bpe_file):
    tokenizer = load_tokenizer(bpe_file, eod_token=EOD)
    step = ShardTokenizer(str(tmp_path), tokenizer=tokenizer, add_bos=False)  # the tokenizer's own policy wins
    list(step.run(iter([Document(TEXTS[0], "x", metadata={"source": "s", "category": "general"})])))
    assert ShardReader(str(tmp_path / "00000")).tokens(0).tolist() == tokenizer.encode_document(TEXTS[0])


def test_cli_eod_options_reach_shards_and_manifest(tmp_path, sp_reference):
    from medcorpus.cli.main import main

    folder = tmp_path / "docs"
    folder.mkdir()
    text = "A trial of vitamin D in older adults found no effect on fractures."
    row = {"id": "a", "text": text, "metadata": {"source": "s", "category": "general", "license": "test"}}
    (folder / "s").mkdir()
    with gzip.open(folder / "s" / "part.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(row) + "\n")
    out = tmp_path / "t"
    result = CliRunner().invoke(main, ["tokenize", str(folder), "--eod-id", "0", "--no-bos", "-o", str(out)])
    assert result.exit_code == 0, result.output
    tokenizer = json.loads((out / "manifest.json").read_text())["tokenizer"]
    assert (tokenizer["eod_id"], tokenizer["policy"], tokenizer["add_bos"]) == (0, "doc+eod", False)
    (prefix,) = list_shards(str(out))
    assert ShardReader(prefix).tokens(0).tolist() == sp_reference.encode(text) + [0], "shards must follow the policy"
    refused = CliRunner().invoke(main, ["tokenize", str(folder), "--eod-token", "<nope>", "-o", str(tmp_path / "u")])
    assert refused.exit_code != 0 and "<nope>" in refused.output
