"""The record layouts instruction examples are published in, each read into turns.

A turn is `{"role": "system"|"user"|"assistant", "content": ...}`, its content stripped. A record is
read by the first layout, in this order, whose keys it has (the conversational layouts first, then the
multiple-choice sets before the plain question/answer layout, whose keys MedQA records also have):

==================  ======================================================  ==================================
layout              keys                                                    turns
==================  ======================================================  ==================================
alpaca              `instruction` (text), `output`, optional `input`         user: instruction, blank line, input
sharegpt            `conversations`: [{"from", "value"}]                     as listed (human, gpt, system)
chat                `messages`: [{"role", "content"}] (OpenAI chat)          as listed
medmcqa             `question`, `opa`..`opd` (`ope`), `cop`, optional `exp`  user: question and options;
                                                                            assistant: "B. option" [+ exp]
medqa               `question`, `options` {"A": ...}, `answer_idx`           user: question and options;
                    (else the `answer` text)                                assistant: "C. option"
pubmedqa            `QUESTION`, `CONTEXTS`, `final_decision`, optional       user: contexts, blank line, question;
                    `LONG_ANSWER` (PubMedQA's ori_pqal.json records)        assistant: long answer, "Answer: yes"
question_answer     `question`, `answer`, optional `context`                user: context, blank line, question
prompt_completion   `prompt`, `completion` (OpenAI legacy fine-tuning)       user: prompt; assistant: completion
==================  ======================================================  ==================================

MedAlpaca's Medical Meadow sets use the Alpaca layout with a constant instruction ("Answer this question
truthfully") and the content in `input`. Options are written one a line, "A. text", after a blank line.
MedMCQA's `cop` counts from 1 in its original release (the README example: `cop` 1 is `opa`) and from 0 in
the Hugging Face copy (`openlifescienceai/medmcqa`, Parquet): `cop_base` says which. A prompt/completion pair
loses the `###` separator OpenAI's guide put at the end of prompts and a `###` or ` END` stop at the end of
completions. A record in a layout whose answer names no option raises `BadRecord("bad_answer")`, one whose
turns are not role/content objects `BadRecord("bad_turn")`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
ROLES |= {"bot": "assistant", "model": "assistant"}
_PROMPT_END = re.compile(r"\s*(?:###|->)\s*$")
_COMPLETION_END = re.compile(r"\s*(?:###|(?<=\s)END)\s*$")


class BadRecord(ValueError):
    """A record in a known layout that cannot be read; `reason` is the reject reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _text(value: object) -> str:
    """A field's text, stripped: "" for anything but a string or a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return ""
    return str(value).strip()


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _pair(prompt: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def alpaca(record: dict) -> list[dict]:
    return _pair(_join(_text(record["instruction"]), _text(record.get("input"))), _text(record["output"]))


def _conversation(items: list, role_key: str, content_key: str) -> list[dict]:
    turns = []
    for item in items:
        role = ROLES.get(str(item.get(role_key)).lower()) if isinstance(item, dict) else None
        if role is None:
            raise BadRecord("bad_turn")
        turns.append({"role": role, "content": _text(item.get(content_key))})
    return turns


def sharegpt(record: dict) -> list[dict]:
    return _conversation(record["conversations"], "from", "value")


def chat(record: dict) -> list[dict]:
    return _conversation(record["messages"], "role", "content")


def _choice(question: str, options: list[tuple[str, str]], answer: int | None, explanation: str = "") -> list[dict]:
    """A multiple-choice example: the question, a blank line, "A. text" lines; the answer "C. text" [+ why]."""
    prompt = _join(question, "\n".join(f"{letter}. {text}" for letter, text in options))
    if answer is None:
        return _pair(prompt, "")
    if not 0 <= answer < len(options):
        raise BadRecord("bad_answer")
    return _pair(prompt, _join("{}. {}".format(*options[answer]), explanation))


def medmcqa(record: dict, cop_base: int = 1) -> list[dict]:
    keys = ("opa", "opb", "opc", "opd") + (("ope",) if record.get("ope") is not None else ())
    options = [(key[-1].upper(), _text(record.get(key))) for key in keys]
    cop = _text(record.get("cop"))  # absent or -1 in the test split, whose answers are not published
    answer = int(cop) - cop_base if cop.isdigit() else None
    return _choice(_text(record["question"]), options, answer, _text(record.get("exp")))


def medqa(record: dict) -> list[dict]:
    published = record["options"]
    items = sorted(published.items()) if isinstance(published, dict) else zip("ABCDEFGHIJ", published)
    options = [(str(letter), _text(text)) for letter, text in items]
    letter, text = _text(record.get("answer_idx")), _text(record.get("answer"))
    letters, texts = [key for key, _ in options], [value for _, value in options]
    if letter:
        answer = letters.index(letter) if letter in letters else -1
    else:
        answer = (texts.index(text) if text in texts else -1) if text else None
    return _choice(_text(record["question"]), options, answer)


def pubmedqa(record: dict) -> list[dict]:
    contexts = record.get("CONTEXTS")
    contexts = _join(*map(_text, contexts)) if isinstance(contexts, list) else _text(contexts)
    decision = _text(record["final_decision"])
    if decision.lower() not in ("yes", "no", "maybe"):
        raise BadRecord("bad_answer")
    return _pair(
        _join(contexts, _text(record["QUESTION"])), _join(_text(record.get("LONG_ANSWER")), f"Answer: {decision}")
    )


def question_answer(record: dict) -> list[dict]:
    context = record.get("context")
    context = _join(*map(_text, context)) if isinstance(context, list) else _text(context)
    return _pair(_join(context, _text(record["question"])), _text(record["answer"]))


def prompt_completion(record: dict) -> list[dict]:
    prompt = _PROMPT_END.sub("", _text(record["prompt"]))
    return _pair(prompt, _COMPLETION_END.sub("", _text(record["completion"])))


class Layout(NamedTuple):
    name: str
    applies: Callable[[dict], bool]
    read: Callable[..., list[dict]]
    task: str | None = None  # the task of its examples when a record names none
    counts_options: bool = False  # `read` takes `cop_base`: what the record's answer index counts from


def _has(record: dict, key: str, kind: type | tuple[type, ...]) -> bool:
    return isinstance(record.get(key), kind)


LAYOUTS = (
    Layout("alpaca", lambda r: _has(r, "instruction", str) and "output" in r, alpaca),
    Layout("sharegpt", lambda r: _has(r, "conversations", list) and bool(r["conversations"]), sharegpt),
    Layout("chat", lambda r: _has(r, "messages", list) and bool(r["messages"]), chat),
    Layout("medmcqa", lambda r: "question" in r and "opa" in r, medmcqa, "multiple_choice", counts_options=True),
    Layout("medqa", lambda r: "question" in r and _has(r, "options", (dict, list)), medqa, "multiple_choice"),
    Layout("pubmedqa", lambda r: "QUESTION" in r and "final_decision" in r, pubmedqa, "yes_no_maybe"),
    Layout("question_answer", lambda r: "question" in r and "answer" in r, question_answer),
    Layout("prompt_completion", lambda r: "prompt" in r and "completion" in r, prompt_completion),
)


def layout_of(record: dict) -> Layout | None:
    """The first layout whose keys `record` has, or None."""
    return next((layout for layout in LAYOUTS if layout.applies(record)), None)


def read_record(record: dict, cop_base: int = 1) -> tuple[Layout, list[dict]] | None:
    """(layout, turns) of the record, or None when it is in no known layout; raises `BadRecord` for a malformed
    one. `cop_base` is what MedMCQA's `cop` counts from."""
    layout = layout_of(record)
    if layout is None:
        return None
    return layout, (layout.read(record, cop_base) if layout.counts_options else layout.read(record))


def record_turns(record: dict, cop_base: int = 1) -> list[dict] | None:
    """The record's turns, or None when it is in no known layout; raises `BadRecord` for a malformed one."""
    found = read_record(record, cop_base)
    return None if found is None else found[1]
