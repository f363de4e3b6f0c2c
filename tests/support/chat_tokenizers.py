"""Tiny tokenizers with chat special tokens, built in the test (nothing downloaded), and SFT examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from medcorpus.tokenize.tokenizer import resolve_named

LLAMA3 = ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
CHATML = ("<|im_start|>", "<|im_end|>")
SENTENCES = [
    "What is the first-line drug for type 2 diabetes in adults?",
    "Metformin, unless the kidney function is poor.",
    "How often should the HbA1c be checked?",
    "Every three to six months until it is stable.",
    "You are a careful clinical assistant. Answer briefly.",
    "user assistant system: fever, cough, 38.5 °C, β-blockers, 発熱",
]

# Invented examples: (turns, the prompts, the answers in order).
SINGLE = [
    {"role": "user", "content": "What is the first-line drug for type 2 diabetes?"},
    {"role": "assistant", "content": "Metformin, unless the kidney function is poor."},
]
MULTI = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "How often should the HbA1c be checked?"},
    {"role": "assistant", "content": "Every three to six months."},
    {"role": "user", "content": "And once it is stable?"},
    {"role": "assistant", "content": "Twice a year, 発熱 aside."},
]

# Our own Jinja renderings of two layouts, as a tokenizer_config.json's chat_template (with trim_blocks).
CHATML_JINJA = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA2_JINJA = (
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set head = '<<SYS>>\\n' + messages[0]['content'].strip() + '\\n<</SYS>>\\n\\n' %}"
    "{% set rest = messages[1:] %}"
    "{% else %}{% set head = '' %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('roles must alternate') }}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + (head if loop.first else '') + message['content'].strip() + ' [/INST]' }}"
    "{% else %}{{ ' ' + message['content'].strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)


def build_chat_tokenizer(folder: Path, specials=LLAMA3 + CHATML, chat_template: str | None = None) -> str:
    """Train a tiny byte-level BPE with `specials` as special tokens; save tokenizer.json (and, with a
    chat_template, a tokenizer_config.json) in `folder`; returns the tokenizer.json path."""
    backend = tokenizers.Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<unk>", *specials], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(SENTENCES * 3, trainer=trainer)
    folder.mkdir(parents=True, exist_ok=True)
    backend.save(str(folder / "tokenizer.json"))
    if chat_template is not None:
        write_config(folder, {"chat_template": chat_template})
    return str(folder / "tokenizer.json")


def write_config(folder: Path, config: dict) -> None:
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def mistral_copy(folder: Path, config: dict | None = None) -> str:
    """The offline Mistral SentencePiece model copied into `folder` (beside an optional tokenizer_config.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tokenizer.model"
    shutil.copyfile(resolve_named("mistral-7b-v0.1"), path)
    if config is not None:
        write_config(folder, config)
    return str(path)


def trained_runs(ids, mask) -> list[list[int]]:
    """The contiguous runs of trained token ids."""
    runs: list[list[int]] = []
    for position, (token, flag) in enumerate(zip(ids, mask)):
        if flag:
            if position == 0 or not mask[position - 1]:
                runs.append([])
            runs[-1].append(int(token))
    return runs
