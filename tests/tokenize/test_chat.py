"""Chat templates and loss masks: layouts, masks on exactly the answers, tokens as the rendered text's."""

from __future__ import annotations

import hashlib
import pickle

import pytest
import tokenizers
from support.chat_tokenizers import (
    CHATML,
    CHATML_JINJA,
    LLAMA2_JINJA,
    LLAMA3,
    MULTI,
    SINGLE,
    build_chat_tokenizer,
    mistral_copy,
    trained_runs,
    write_config,
)

from medcorpus.tokenize import ChatEncoder, ChatError, TemplateError, load_tokenizer
from medcorpus.tokenize.chat import marked_text

END = {"llama-2": " </s>", "llama-3": "<|eot_id|>", "chatml": "<|im_end|>", "tokenizer": "<|im_end|>"}


@pytest.fixture(scope="module")
def mistral():
    return load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=False)


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bpe")
    return load_tokenizer(build_chat_tokenizer(folder, chat_template=CHATML_JINJA), add_bos=False, add_eos=False)


def encoder_for(template, mistral, bpe, loss="answers", system=None) -> ChatEncoder:
    return ChatEncoder(mistral if template == "llama-2" else bpe, template, loss, system)


def answers(turns, loss):
    found = [turn["content"] for turn in turns if turn["role"] == "assistant"]
    return found if loss == "assistant" else found[-1:]


@pytest.mark.parametrize("template", ["llama-2", "llama-3", "chatml", "tokenizer"])
@pytest.mark.parametrize("loss", ["answers", "assistant"])
@pytest.mark.parametrize("turns", [SINGLE, MULTI], ids=["single", "multi"])
def test_masks_land_exactly_on_the_trained_answers(template, loss, turns, mistral, bpe):
    encoder = encoder_for(template, mistral, bpe, loss)
    tokenizer = encoder.tokenizer
    ids, mask = encoder.encode(turns)
    assert len(ids) == len(mask) and set(mask) <= {0, 1}
    trained = answers(turns, loss)
    runs = trained_runs(ids, mask)
    assert [tokenizer.decode(run, skip_special=False) for run in runs] == [a + END[template] for a in trained]
    untrained = tokenizer.decode([t for t, m in zip(ids, mask) if not m], skip_special=False)
    for turn in turns:
        if turn["content"] in trained:
            assert turn["content"] not in untrained
        else:
            assert turn["content"] in untrained  # prompts, system and earlier answers stay in the prompt part
    for marker in {"llama-2": "[INST]", "llama-3": "<|start_header_id|>"}.get(template, "<|im_start|>").split():
        assert marker in untrained and all(marker not in tokenizer.decode(run, skip_special=False) for run in runs)


def test_llama2_tokens_equal_meta_reference_encoding(mistral):
    """Meta's chat_completion: per exchange [BOS] + encode("[INST] {user} [/INST] {answer} ") + [EOS]."""
    sp = mistral._load()
    ids, mask = ChatEncoder(mistral, "llama-2", "assistant").encode(MULTI)
    first = f"<<SYS>>\n{MULTI[0]['content']}\n<</SYS>>\n\n{MULTI[1]['content']}"
    reference = [1] + sp.encode(f"[INST] {first} [/INST] {MULTI[2]['content']} ") + [2]
    reference += [1] + sp.encode(f"[INST] {MULTI[3]['content']} [/INST] {MULTI[4]['content']} ") + [2]
    assert ids == reference
    assert ids.count(1) == 2 and ids.count(2) == 2  # the markers are their single special ids
    assert [ids[i] for i in range(len(ids)) if mask[i] and ids[i] == 2] == [2, 2]


@pytest.mark.parametrize("template", ["llama-3", "chatml"])
def test_hf_tokens_are_the_rendered_texts_encoding(template, bpe):
    expected = {
        "llama-3": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHow often should the HbA1c be checked?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nEvery three to six months.<|eot_id|>",
        "chatml": "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
        "<|im_start|>user\nHow often should the HbA1c be checked?<|im_end|>\n"
        "<|im_start|>assistant\nEvery three to six months.<|im_end|>\n",
    }[template]
    encoder = ChatEncoder(bpe, template)
    text, _ = encoder.render(MULTI[:3])
    assert text == expected
    backend = tokenizers.Tokenizer.from_file(bpe.path)
    ids, _ = encoder.encode(MULTI[:3])
    assert ids == backend.encode(expected, add_special_tokens=False).ids
    for marker in ("<|im_start|>", "<|im_end|>") if template == "chatml" else ("<|eot_id|>", "<|begin_of_text|>"):
        assert backend.token_to_id(marker) in ids


def test_llama2_layout_text(mistral):
    text, trained = ChatEncoder(mistral, "llama-2", "assistant").render(MULTI)
    assert text == (
        "<s>[INST] <<SYS>>\nAnswer briefly.\n<</SYS>>\n\nHow often should the HbA1c be checked? [/INST]"
        " Every three to six months. </s><s>[INST] And once it is stable? [/INST] Twice a year, 発熱 aside. </s>"
    )
    assert [text[a:b] for a, b in trained] == [" Every three to six months. </s>", " Twice a year, 発熱 aside. </s>"]


def test_jinja_template_equals_the_built_in_layout(tmp_path, mistral, bpe):
    for turns in (SINGLE, MULTI):
        for loss in ("answers", "assistant"):
            assert ChatEncoder(bpe, "tokenizer", loss).encode(turns) == ChatEncoder(bpe, "chatml", loss).encode(turns)
    copied = load_tokenizer(mistral_copy(tmp_path / "sp", {"chat_template": LLAMA2_JINJA}), False, False)
    for turns in (SINGLE, MULTI):
        for loss in ("answers", "assistant"):
            built_in = ChatEncoder(mistral, "llama-2", loss).encode(turns)
            assert ChatEncoder(copied, "tokenizer", loss).encode(turns) == built_in
    with pytest.raises(ChatError) as refused:
        ChatEncoder(copied, "tokenizer").encode([SINGLE[0], SINGLE[0]])  # the template's raise_exception
    assert refused.value.reason == "template_refused"


def test_system_default_only_where_an_example_has_none(mistral, bpe):
    encoder = ChatEncoder(bpe, "chatml", system="Be kind.")
    assert encoder.render(SINGLE)[0].startswith("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\n")
    assert "Be kind." not in encoder.render(MULTI)[0] and "Answer briefly." in encoder.render(MULTI)[0]
    ids, mask = encoder.encode(SINGLE)
    assert "Be kind." in bpe.decode([t for t, m in zip(ids, mask) if not m])
    llama = ChatEncoder(mistral, "llama-2", system="Be kind.")
    assert llama.render(SINGLE)[0].startswith("<s>[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nWhat is")
    assert ChatEncoder(mistral, "llama-2").render(SINGLE)[0].startswith("<s>[INST] What is")


def test_markers_that_are_not_single_tokens_are_refused(mistral, tmp_path):
    with pytest.raises(ValueError, match=r"'chatml'.*<\|im_start\|>, <\|im_end\|>.*'mistral-7b-v0.1'"):
        ChatEncoder(mistral, "chatml")
    chatml_only = load_tokenizer(build_chat_tokenizer(tmp_path / "chatml", CHATML), add_bos=False, add_eos=False)
    with pytest.raises(ValueError, match=r"'llama-3' needs <\|begin_of_text\|>, .*<\|eot_id\|> .*chatml/tokenizer"):
        ChatEncoder(chatml_only, "llama-3")
    with pytest.raises(ValueError, match="'llama-2' needs <s>, </s>"):
        ChatEncoder(chatml_only, "llama-2")
    assert ChatEncoder(chatml_only, "chatml").encode(SINGLE)[0]
    with pytest.raises(ValueError, match="unknown chat template"):
        ChatEncoder(mistral, "vicuna")
    with pytest.raises(ValueError, match="unknown loss policy"):
        ChatEncoder(mistral, "llama-2", loss="everything")


def test_tokenizer_template_needs_a_config_with_a_chat_template(mistral, tmp_path):
    with pytest.raises(ValueError, match="tokenizer_config.json beside the tokenizer"):
        ChatEncoder(mistral, "tokenizer")
    path = build_chat_tokenizer(tmp_path / "no-template")
    write_config(tmp_path / "no-template", {"bos_token": "<|begin_of_text|>"})
    with pytest.raises(ValueError, match="has no chat_template"):
        ChatEncoder(load_tokenizer(path, False, False), "tokenizer")
    write_config(tmp_path / "no-template", {"chat_template": "{% for m in messages %}{{ m['content'] }"})
    with pytest.raises(TemplateError, match="does not compile"):
        ChatEncoder(load_tokenizer(path, False, False), "tokenizer")


def test_tokenizer_template_markers_must_be_special_tokens(tmp_path, mistral):
    path = build_chat_tokenizer(tmp_path / "llama3-only", LLAMA3, chat_template=CHATML_JINJA)
    with pytest.raises(ValueError, match=r"'tokenizer' needs <\|im_end\|>, <\|im_start\|> as single special"):
        ChatEncoder(load_tokenizer(path, False, False), "tokenizer")
    copied = load_tokenizer(mistral_copy(tmp_path / "sp", {"chat_template": CHATML_JINJA}), False, False)
    with pytest.raises(ValueError, match=r"needs <\|im_end\|>, <\|im_start\|> .* 'tokenizer.model'"):
        ChatEncoder(copied, "tokenizer")


def test_template_that_renders_prefixes_inconsistently_is_refused(tmp_path):
    # The system prompt goes into the last user turn: rendering more turns changes the earlier text.
    moving = (
        "{% for m in messages %}{% if m['role'] == 'user' and loop.last %}[LAST] {% endif %}"
        "{% if m['role'] != 'system' %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endif %}"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    path = build_chat_tokenizer(tmp_path / "moving", chat_template=moving)
    with pytest.raises(TemplateError, match="does not render the turns up to an answer as a prefix"):
        ChatEncoder(load_tokenizer(path, False, False), "tokenizer")


def test_bad_examples_raise_a_reason_and_no_text(mistral, bpe):
    secret = "Jane Roe"
    cases = [
        (ChatEncoder(bpe, "chatml"), [{"role": "user", "content": f"{secret} <|im_end|> hi"}], "marker_in_text"),
        (ChatEncoder(bpe, "chatml"), [{"role": "user", "content": f"{secret} <|eot_id|>"}], "marker_in_text"),
        (ChatEncoder(mistral, "llama-2"), [{"role": "user", "content": f"{secret} </s>"}], "marker_in_text"),
        (ChatEncoder(mistral, "llama-2"), [SINGLE[0], SINGLE[0], SINGLE[1]], "bad_turns"),
        (ChatEncoder(bpe, "chatml"), [{"role": "doctor", "content": secret}], "bad_turns"),
        (ChatEncoder(bpe, "chatml"), [], "bad_turns"),
    ]
    for encoder, turns, reason in cases:
        with pytest.raises(ChatError) as caught:
            encoder.encode(turns)
        assert caught.value.reason == reason and secret not in str(caught.value)


def test_no_assistant_turn_trains_nothing(bpe):
    ids, mask = ChatEncoder(bpe, "chatml").encode(SINGLE[:1])
    assert ids and not any(mask)


def test_identity_and_pickling(bpe, mistral):
    source = CHATML_JINJA
    encoder = ChatEncoder(bpe, "tokenizer", "assistant", system="Be brief.")
    assert encoder.identity() == {
        "template": "tokenizer",
        "loss": "assistant",
        "system": "Be brief.",
        "template_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "template_file": "tokenizer_config.json",
    }
    assert encoder.files == [str(bpe.path).replace("tokenizer.json", "tokenizer_config.json")]
    assert ChatEncoder(mistral, "llama-2").identity() == {"template": "llama-2", "loss": "answers", "system": None}
    clone = pickle.loads(pickle.dumps(encoder))
    assert clone.encode(MULTI) == encoder.encode(MULTI)


def test_marked_text_shows_the_trained_spans(mistral, bpe):
    ids, mask = ChatEncoder(mistral, "llama-2").encode(SINGLE)
    assert marked_text(mistral, ids, mask) == (
        "<s>[INST] What is the first-line drug for type 2 diabetes? [/INST][[ Metformin, unless the kidney function "
        "is poor. </s>]]"
    )
    ids, mask = ChatEncoder(bpe, "chatml", "assistant").encode(MULTI)
    shown = marked_text(bpe, ids, mask)
    assert "<|im_start|>assistant\n[[Every three to six months.<|im_end|>]]\n" in shown
    assert shown.endswith("[[Twice a year, 発熱 aside.<|im_end|>]]\n")


def test_mask_of_overlap_and_byte_fallback_spans():
    from medcorpus.tokenize.chat import mask_of

    spans = [(0, 3), (3, 4), (4, 9), (9, 9), (9, 9), (9, 10), (10, 12)]  # two zero-width byte pieces before (9, 10)
    assert mask_of(spans, [(5, 10)]) == [0, 0, 1, 1, 1, 1, 0]  # a straddling token (4, 9) counts as trained
    assert mask_of(spans, [(10, 12)]) == [0, 0, 0, 0, 0, 0, 1]
    assert mask_of(spans, []) == [0] * 7 and mask_of([], [(0, 1)]) == []
