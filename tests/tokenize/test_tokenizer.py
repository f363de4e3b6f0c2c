"""Tokenizer layer: parity with the backends, BOS/EOS policy, identity, pickling and errors."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil

import pytest
import sentencepiece
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, processors, trainers

from medcorpus.tokenize import NAMED_TOKENIZERS, Tokenizer, load_tokenizer
from medcorpus.tokenize.tokenizer import resolve_named

TEXTS = [
    "Metformin 500 mg twice daily was started; HbA1c fell from 8.4% to 6.9% over 12 weeks.",
    "Serum K+ 5.8 mmol/L, Na+ 131 mmol/L; eGFR ≥ 60 mL/min/1.73 m².",
    "β-blockers reduce mortality after myocardial infarction (HR 0.77; 95% CI 0.70–0.85).",
    "Dosage:\t0.25 µg/kg/min   titrated   every    5 minutes\n\n\nuntil MAP > 65 mmHg.",
    "Patient   denies   chest pain.    Follow-up   in 2–3 weeks.  ",
    "Température 38,5 °C ; Übelkeit und Erbrechen; 発熱と咳嗽; лихорадка.",
    "IL-6/STAT3 signalling in CD4+CD25+FoxP3+ T cells — a 10^-3 M dose (p<0.001).",
    "1234567890 0.000001 1e-9 3.14159 2,500,000 IU",
    "",
    " leading space and trailing newline\n",
    "Emoji in a patient message 🙂 and a combining accent: é (e + \u0301).",
]


@pytest.fixture(scope="module")
def mistral() -> Tokenizer:
    return load_tokenizer("mistral-7b-v0.1")


@pytest.fixture(scope="module")
def sp_reference() -> sentencepiece.SentencePieceProcessor:
    return sentencepiece.SentencePieceProcessor(model_file=resolve_named("mistral-7b-v0.1"))


def build_bpe(folder, bos: str | None, eos: str | None, template: bool = True) -> str:
    """Train a tiny byte-level BPE on the sample texts and save it as tokenizer.json in `folder`."""
    specials = ["<unk>"] + [token for token in (bos, eos) if token]
    backend = tokenizers.Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(TEXTS * 3, trainer=trainer)
    if template and bos and eos:
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A {eos}",
            special_tokens=[(bos, backend.token_to_id(bos)), (eos, backend.token_to_id(eos))],
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.json"
    backend.save(str(path))
    return str(path)


def test_named_tokenizer_resolves_from_installed_package(mistral):
    assert "mistral-7b-v0.1" in NAMED_TOKENIZERS
    assert mistral.path.endswith("tokenizer.model.v1")
    assert (mistral.vocab_size, mistral.bos_id, mistral.eos_id) == (32000, 1, 2)
    with open(mistral.path, "rb") as handle:
        sha = hashlib.sha256(handle.read()).hexdigest()
    assert mistral.identity() == {
        "name": "mistral-7b-v0.1",
        "kind": "sentencepiece",
        "file": "tokenizer.model.v1",
        "sha256": sha,
        "vocab_size": 32000,
        "bos_id": 1,
        "eos_id": 2,
        "add_bos": True,
        "add_eos": True,
    }


@pytest.mark.parametrize("text", TEXTS)
def test_sentencepiece_parity(mistral, sp_reference, text):
    assert mistral.encode_document(text) == sp_reference.encode(text, add_bos=True, add_eos=True)
    assert mistral.encode(text) == sp_reference.encode(text)


def test_sentencepiece_batch_equals_one_by_one(mistral):
    assert mistral.encode_documents(TEXTS) == [mistral.encode_document(text) for text in TEXTS]
    assert mistral.encode_documents([]) == []


def test_policy_flags(sp_reference):
    text = TEXTS[0]
    plain = sp_reference.encode(text)
    assert load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=False).encode_document(text) == plain
    assert load_tokenizer("mistral-7b-v0.1", add_bos=True, add_eos=False).encode_document(text) == [1] + plain
    only_eos = load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=True)
    assert only_eos.encode_document(text) == plain + [2]
    assert only_eos.encode_documents([text, "x"]) == [plain + [2], sp_reference.encode("x") + [2]]
    assert only_eos.identity()["add_bos"] is False


def test_decode_round_trip(mistral):
    for text in TEXTS[:4]:
        assert mistral.decode(mistral.encode_document(text)) == text


def test_pickles_without_model_and_reloads_lazily(mistral):
    mistral.encode("warm up")
    blob = pickle.dumps(mistral)
    assert len(blob) < 4096  # the model itself is not shipped
    clone = pickle.loads(blob)
    assert clone._model is None
    assert clone.encode_documents(TEXTS) == mistral.encode_documents(TEXTS)
    assert clone.identity() == mistral.identity()


def test_hf_tokenizer_json_parity(tmp_path):
    path = build_bpe(tmp_path / "tiny-bpe", "<s>", "</s>")
    reference = tokenizers.Tokenizer.from_file(path)
    ours = load_tokenizer(path)
    assert ours.kind == "hf-tokenizers"
    assert ours.name == "tiny-bpe/tokenizer.json"
    assert (ours.bos_id, ours.eos_id) == (reference.token_to_id("<s>"), reference.token_to_id("</s>"))
    assert ours.vocab_size == reference.get_vocab_size(with_added_tokens=True)
    for text in TEXTS:
        assert ours.encode_document(text) == reference.encode(text).ids
        assert ours.encode(text) == reference.encode(text, add_special_tokens=False).ids
    assert ours.encode_documents(TEXTS) == [reference.encode(text).ids for text in TEXTS]
    assert ours.decode(ours.encode_document(TEXTS[0])) == TEXTS[0]
    assert pickle.loads(pickle.dumps(ours)).encode_documents(TEXTS) == ours.encode_documents(TEXTS)
    assert load_tokenizer(str(tmp_path / "tiny-bpe")).identity() == ours.identity()  # folder form


def test_hf_llama3_style_specials(tmp_path):
    path = build_bpe(tmp_path, "<|begin_of_text|>", "<|end_of_text|>", template=False)
    reference = tokenizers.Tokenizer.from_file(path)
    ours = load_tokenizer(path)
    bos, eos = reference.token_to_id("<|begin_of_text|>"), reference.token_to_id("<|end_of_text|>")
    assert (ours.bos_id, ours.eos_id) == (bos, eos)
    assert ours.encode_document(TEXTS[1]) == [bos] + reference.encode(TEXTS[1]).ids + [eos]


def test_hf_missing_special_is_a_clear_error(tmp_path):
    path = build_bpe(tmp_path, None, "</s>", template=False)
    with pytest.raises(ValueError, match="no BOS token"):
        load_tokenizer(path)
    only_eos = load_tokenizer(path, add_bos=False)
    assert only_eos.bos_id is None
    assert only_eos.encode_document("abc")[-1] == only_eos.eos_id


def test_unknown_name_and_missing_path():
    with pytest.raises(ValueError, match="no-such-tokenizer"):
        load_tokenizer("no-such-tokenizer")
    with pytest.raises(ValueError, match="/nonexistent/tokenizer.model"):
        load_tokenizer("/nonexistent/tokenizer.model")


def test_not_a_tokenizer_file(tmp_path):
    bogus = tmp_path / "bogus.model"
    bogus.write_bytes(b"definitely not a protobuf")
    with pytest.raises(ValueError, match="bogus.model"):
        load_tokenizer(str(bogus))
    bad_json = tmp_path / "tokenizer.json"
    bad_json.write_text(json.dumps({"version": "1.0"}))
    with pytest.raises(ValueError, match="tokenizer.json"):
        load_tokenizer(str(bad_json))


def test_changed_file_is_refused_after_pickling(tmp_path):
    path = tmp_path / "copy.model"
    shutil.copy(resolve_named("mistral-7b-v0.1"), path)
    blob = pickle.dumps(load_tokenizer(str(path)))
    with open(path, "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ValueError, match="changed"):
        pickle.loads(blob).encode("text")
