"""Chat templates for supervised fine-tuning: an example's turns become token ids and a loss mask.

Templates (`ChatEncoder(tokenizer, template, loss, system)`):

- `llama-2`: `<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST] ...`
  (the published Llama-2-chat layout; turns stripped; roles must alternate user/assistant after the system);
- `llama-3`: `<|begin_of_text|>` then `<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>` per turn
  (contents stripped);
- `chatml`: `<|im_start|>{role}\\n{content}<|im_end|>\\n` per turn;
- `tokenizer`: the `chat_template` of the `tokenizer_config.json` beside the tokenizer file, rendered as
  Hugging Face renders it (jinja2 sandbox, `messages`, `add_generation_prompt`, `bos_token`, `eos_token`).

Loss policy: `answers` trains on the last assistant turn, `assistant` on every assistant turn. A trained turn's
characters run from the end of what the template writes before the answer (the generation prompt) to the end of
its end-of-turn marker: `{assistant} </s>` for llama-2 (with the space the layout puts before `</s>`),
`{content}<|eot_id|>`, `{content}<|im_end|>`. For `tokenizer` they are what rendering the turns up to and
including the answer adds to rendering the turns before it with `add_generation_prompt=True`, up to and
including the last special token in it (so chatml's newline after `<|im_end|>` stays untrained); a template
whose renderings of successive prefixes are not prefixes of each other is refused. A token is trained when
it covers a trained character (a SentencePiece byte-fallback token counts with the character it ends).

Tokens are what `Tokenizer.encode_spans` gives for the whole rendered text: the tokenizer's own encoding of it
(Hugging Face), or markers as their ids with the text between them encoded piece by piece (SentencePiece).
The template decides BOS/EOS: the tokenizer's `add_bos`/`add_eos`/EOD policy is not applied. Markers that are
not single special tokens of the tokenizer are refused before anything is encoded; an example whose turns
contain a special token's spelling, or is not a list of system/user/assistant turns, raises `ChatError` with a
short reason (`marker_in_text`, `bad_turns`, `template_refused`) and never the text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from medcorpus.tokenize.tokenizer import Tokenizer

Template = Literal["llama-2", "llama-3", "chatml", "tokenizer"]  # tokenizer: its tokenizer_config.json's own
Loss = Literal["answers", "assistant"]  # the last assistant turn only, or every assistant turn
TEMPLATES: tuple[str, ...] = get_args(Template)
LOSSES: tuple[str, ...] = get_args(Loss)
ROLES = ("system", "user", "assistant")
MARKERS = {
    "llama-2": ("<s>", "</s>"),
    "llama-3": ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    "chatml": ("<|im_start|>", "<|im_end|>"),
}
CONFIG_FILE = "tokenizer_config.json"
# What a `tokenizer` template's special markers look like (`<<SYS>>` is llama-2's plain text, not one).
MARKER_LIKE = re.compile(r"(?<!<)<\|?/?[A-Za-z0-9_]+\|?>(?!>)")


class ChatError(ValueError):
    """One example cannot be encoded; `reason` is what its exclusion records."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class TemplateError(ValueError):
    """A chat template that cannot produce reliable loss masks (a whole run's problem, not one example's)."""


def _token_text(value) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict with `content`."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


class JinjaTemplate:
    """A tokenizer_config.json's `chat_template`, rendered as transformers renders it."""

    def __init__(self, config_path: str):
        if not os.path.isfile(config_path):
            raise ValueError(f"template 'tokenizer' needs {CONFIG_FILE} beside the tokenizer file: {config_path}")
        try:
            config = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{config_path}: not readable JSON ({error})") from None
        template = config.get("chat_template") if isinstance(config, dict) else None
        if isinstance(template, list):  # several named templates: transformers uses "default"
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default")
        if not isinstance(template, str) or not template.strip():
            raise ValueError(f"{config_path} has no chat_template (template 'tokenizer' needs one)")
        self.path = config_path
        self.source = template
        self.bos_token = _token_text(config.get("bos_token"))
        self.eos_token = _token_text(config.get("eos_token"))
        self._compiled = None
        self._compile()  # a syntax error fails here, before any example

    def _compile(self):
        if self._compiled is None:
            from jinja2 import TemplateError as JinjaError
            from jinja2.ext import loopcontrols
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            def raise_exception(message):
                raise ChatError("template_refused", f"the chat template refused an example: {message}")

            def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
                options = {"indent": indent, "separators": separators, "sort_keys": sort_keys}
                return json.dumps(value, ensure_ascii=ensure_ascii, **options)

            environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
            environment.filters["tojson"] = tojson
            environment.globals["raise_exception"] = raise_exception
            try:
                self._compiled = environment.from_string(self.source)
            except JinjaError as error:
                raise TemplateError(f"chat_template of {self.path} does not compile: {error}") from None
        return self._compiled

    def render(self, messages: list[dict], add_generation_prompt: bool, bos_token: str, eos_token: str) -> str:
        from jinja2 import TemplateError as JinjaError

        try:
            return self._compile().render(
                messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos_token, eos_token=eos_token
            )
        except JinjaError as error:
            raise ChatError("template_refused", f"the chat template failed ({type(error).__name__})") from None

    def __getstate__(self) -> dict:
        return self.__dict__ | {"_compiled": None}  # compiled again where it is used


class ChatEncoder:
    """Turns `[{"role", "content"}]` into (token ids, loss mask) with one template and loss policy."""

    def __init__(self, tokenizer: Tokenizer, template: str, loss: str = "answers", system: str | None = None):
        if template not in TEMPLATES:
            raise ValueError(f"unknown chat template {template!r}; use one of {', '.join(TEMPLATES)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss policy {loss!r}; use one of {', '.join(LOSSES)}")
        self.tokenizer, self.template, self.loss, self.system = tokenizer, template, loss, system
        self.jinja: JinjaTemplate | None = None
        markers = list(MARKERS.get(template, ()))
        if template == "tokenizer":
            self.jinja = JinjaTemplate(os.path.join(os.path.dirname(tokenizer.path), CONFIG_FILE))
            self.bos_token = self.jinja.bos_token or self._piece(tokenizer.bos_id)
            self.eos_token = self.jinja.eos_token or self._piece(tokenizer.eos_id)
            used = [(self.bos_token, "bos_token"), (self.eos_token, "eos_token")]
            markers = [token for token, name in used if token and name in self.jinja.source]
        self._use_markers(markers)
        if self.jinja is not None:
            self._use_markers(markers + self._probe())
        if system is not None and self._forbidden.search(system):
            raise ValueError("the default system prompt contains a special token's spelling")

    def _use_markers(self, markers: list[str]) -> None:
        """Refuse markers that are not single special tokens; else split on them and refuse them in turns."""
        missing = [marker for marker in dict.fromkeys(markers) if self.tokenizer.special_id(marker) is None]
        if missing:
            raise ValueError(
                f"chat template {self.template!r} needs {', '.join(missing)} as single special tokens, "
                f"which tokenizer {self.tokenizer.name!r} does not have"
            )
        self.specials = sorted(set(self.tokenizer.special_tokens()) | set(markers), key=len, reverse=True)
        self.markers = markers if self.tokenizer.kind != "sentencepiece" else self.specials
        self._forbidden = re.compile("|".join(re.escape(token) for token in self.specials) or r"(?!)")

    def _piece(self, token_id: int | None) -> str | None:
        if token_id is None:
            return None
        return self.tokenizer.decode([token_id], skip_special=False) or None

    def identity(self) -> dict:
        """What the manifest records: template (with the chat_template's sha256 for `tokenizer`), loss, system."""
        identity = {"template": self.template, "loss": self.loss, "system": self.system}
        if self.jinja is not None:
            identity["template_sha256"] = hashlib.sha256(self.jinja.source.encode("utf-8")).hexdigest()
            identity["template_file"] = CONFIG_FILE
        return identity

    @property
    def files(self) -> list[str]:
        """Files the encoding depends on besides the tokenizer (the tokenizer_config.json of `tokenizer`)."""
        return [self.jinja.path] if self.jinja is not None else []

    def provenance(self) -> tuple[dict, list[str]]:
        """The manifest's `tokenizer` entry (the tokenizer's identity with this encoder's as `chat`) and the input
        files the shards depend on (the tokenizer file, the tokenizer_config.json of `tokenizer`)."""
        return self.tokenizer.identity() | {"chat": self.identity()}, [self.tokenizer.path, *self.files]

    def encode(self, turns: list[dict]) -> tuple[list[int], list[int]]:
        """Token ids and loss mask (1 = trained) of one example's turns."""
        text, trained = self.render(turns)
        ids, spans = self.tokenizer.encode_spans(text, self.markers)
        return ids, mask_of(spans, trained)

    def _checked(self, turns: list[dict]) -> list[dict]:
        if not isinstance(turns, list) or not turns:
            raise ChatError("bad_turns", "an example needs a list of turns")
        for turn in turns:
            if not isinstance(turn, dict) or turn.get("role") not in ROLES or not isinstance(turn.get("content"), str):
                raise ChatError("bad_turns", "each turn needs a role (system, user or assistant) and text content")
            if self._forbidden.search(turn["content"]):
                raise ChatError("marker_in_text", "a turn contains the spelling of a special token")
        turns = [{"role": turn["role"], "content": turn["content"]} for turn in turns]
        if self.system is not None and not any(turn["role"] == "system" for turn in turns):
            turns.insert(0, {"role": "system", "content": self.system})
        return turns

    def _trained_turns(self, turns: list[dict]) -> set[int]:
        answers = [i for i, turn in enumerate(turns) if turn["role"] == "assistant"]
        return set(answers if self.loss == "assistant" else answers[-1:])

    def render(self, turns: list[dict]) -> tuple[str, list[tuple[int, int]]]:
        """The template's text of an example's turns (the default system added) and the [start, end) character
        ranges trained on."""
        turns = self._checked(turns)
        if self.template == "tokenizer":
            return self._render_jinja(turns, self._trained_turns(turns))
        render = {"llama-2": llama2, "llama-3": llama3, "chatml": chatml}[self.template]
        return render(turns, self._trained_turns(turns))

    def _render_jinja(self, turns: list[dict], train: set[int]) -> tuple[str, list[tuple[int, int]]]:
        def render(messages: list[dict], prompt: bool) -> str:
            return self.jinja.render(messages, prompt, self.bos_token or "", self.eos_token or "")

        text = render(turns, False)
        trained = []
        for i in sorted(train):
            before, through = render(turns[:i], True), render(turns[: i + 1], False)
            if not (through.startswith(before) and text.startswith(through)):
                raise TemplateError(
                    f"the chat_template of {self.jinja.path} does not render the turns up to an answer as a prefix "
                    "of the whole conversation, so answers cannot be located (it must render prefixes consistently "
                    "and honour add_generation_prompt)"
                )
            added = through[len(before) :]
            last = max((found.end() for found in self._forbidden.finditer(added)), default=0)
            trained.append((len(before), len(before) + (last or len(added))))
        return text, trained

    def _probe(self) -> list[str]:
        """Refuse, before any example, a template that does not render prefixes consistently; return the
        special-token-like spellings (`<s>`, `<|im_start|>`, `<end_of_turn>`) its rendering writes."""
        probe = [
            {"role": "user", "content": "What is the usual adult dose?"},
            {"role": "assistant", "content": "Five milligrams daily."},
            {"role": "user", "content": "And for children?"},
            {"role": "assistant", "content": "Ask a paediatrician."},
        ]
        try:
            text, _ = self._render_jinja(probe, {1, 3})
        except ChatError as error:
            message = f"the chat_template of {self.jinja.path} fails on a plain conversation: {error}"
            raise TemplateError(message) from None
        return sorted(set(MARKER_LIKE.findall(text)))


def mask_of(spans: list[tuple[int, int]], trained: list[tuple[int, int]]) -> list[int]:
    """1 for each token whose character span meets a trained range; an empty span takes the next token's."""
    if not spans:
        return []
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    empty = bounds[:, 0] == bounds[:, 1]
    if empty.any():  # byte-fallback pieces before the one that ends their character: take that one's span
        filled = np.where(empty, len(bounds), np.arange(len(bounds)))
        following = np.minimum.accumulate(filled[::-1])[::-1]
        usable = following < len(bounds)
        bounds[usable] = bounds[following[usable]]
    mask = np.zeros(len(bounds), dtype=bool)
    for begin, stop in trained:
        mask |= (bounds[:, 0] < stop) & (bounds[:, 1] > begin)
    return mask.astype(np.uint8).tolist()


def _append(parts: list[str], trained: list[tuple[int, int]], text: str, train: bool = False) -> None:
    start = sum(len(part) for part in parts) if train else 0
    parts.append(text)
    if train:
        trained.append((start, start + len(text)))


def llama2(turns: list[dict], train: set[int]) -> tuple[str, list[tuple[int, int]]]:
    """The Llama-2-chat layout (see the module docstring); roles must alternate after an optional system."""
    system = turns[0]["content"].strip() if turns[0]["role"] == "system" else None
    body = turns[1:] if system is not None else turns
    offset = 1 if system is not None else 0
    if [turn["role"] for turn in body] != ["user", "assistant"] * (len(body) // 2) + ["user"] * (len(body) % 2):
        raise ChatError("bad_turns", "llama-2 needs user and assistant turns alternating, after an optional system")
    parts: list[str] = []
    trained: list[tuple[int, int]] = []
    for k in range(0, len(body), 2):
        user = body[k]["content"].strip()
        if k == 0 and system is not None:
            user = f"<<SYS>>\n{system}\n<</SYS>>\n\n{user}"
        _append(parts, trained, f"<s>[INST] {user} [/INST]")
        if k + 1 < len(body):
            _append(parts, trained, f" {body[k + 1]['content'].strip()} </s>", train=k + 1 + offset in train)
    return "".join(parts), trained


def llama3(turns: list[dict], train: set[int]) -> tuple[str, list[tuple[int, int]]]:
    """The Llama-3 instruct layout: `<|begin_of_text|>`, then a header and `content<|eot_id|>` per turn."""
    parts: list[str] = ["<|begin_of_text|>"]
    trained: list[tuple[int, int]] = []
    for i, turn in enumerate(turns):
        _append(parts, trained, f"<|start_header_id|>{turn['role']}<|end_header_id|>\n\n")
        _append(parts, trained, f"{turn['content'].strip()}<|eot_id|>", train=i in train)
    return "".join(parts), trained


def chatml(turns: list[dict], train: set[int]) -> tuple[str, list[tuple[int, int]]]:
    """ChatML: `<|im_start|>{role}\\n{content}<|im_end|>\\n` per turn."""
    parts: list[str] = []
    trained: list[tuple[int, int]] = []
    for i, turn in enumerate(turns):
        _append(parts, trained, f"<|im_start|>{turn['role']}\n")
        _append(parts, trained, f"{turn['content']}<|im_end|>", train=i in train)
        _append(parts, trained, "\n")
    return "".join(parts), trained


def marked_text(tokenizer: Tokenizer, ids, mask, open_mark: str = "[[", close_mark: str = "]]") -> str:
    """The decoded example (special tokens written out) with each trained run between `open_mark` and
    `close_mark`; run boundaries are found by decoding growing prefixes, so spacing stays as encoded."""
    ids, mask = [int(i) for i in ids], [int(m) for m in mask]
    bounds = [0] + [i for i in range(1, len(ids)) if mask[i] != mask[i - 1]] + [len(ids)]
    texts = [tokenizer.decode(ids[:bound], skip_special=False) for bound in bounds]
    pieces = []
    for k in range(len(bounds) - 1):
        if texts[k + 1].startswith(texts[k]):
            piece = texts[k + 1][len(texts[k]) :]
        else:  # a boundary inside a character or a decoder that rewrites earlier text: decode the run alone
            piece = tokenizer.decode(ids[bounds[k] : bounds[k + 1]], skip_special=False)
        trained = bounds[k] < len(ids) and mask[bounds[k]]
        pieces.append(f"{open_mark}{piece}{close_mark}" if trained else piece)
    return "".join(pieces)
