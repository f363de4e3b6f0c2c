"""Benchmark: SFT examples (chat template + loss mask) and question decontamination, side by side with what a
user would otherwise write, on the real MedQA test questions.

Usage: python benchmarks/bench_sft.py [--data ../shared/data] [--examples 10000] [--rounds 3] [--naive-prompts 300]

Examples: every benchmark file under `<data>/benchmarks` that `InstructionReader` reads (the MedQA US 4-option
test set, medqa layout; the files it cannot read are listed with its reject reasons), repeated to about
`--examples` examples.

Encoding, per example (one core; best wall and CPU time of `--rounds` rounds, the runs interleaved):
  medcorpus    `ChatEncoder(load_tokenizer("mistral-7b-v0.1", add_bos=False, add_eos=False), "llama-2", "answers")`
               `.encode(turns)`: token ids and the loss mask on the answer;
  transformers `LlamaTokenizer.from_pretrained(dir)` over the same SentencePiece file (a temporary folder holding a
               `tokenizer.model` link to it; offline), with the Llama-2-chat `chat_template` below:
               `apply_chat_template(turns, tokenize=True, return_dict=False)` for the ids, and the answer-only mask
               the usual way without `{% generation %}`: `apply_chat_template(turns[:-1], add_generation_prompt=True,
               tokenize=True, return_dict=False)` is the prompt, its length the masked prefix, the rest trained.
Repeats favour the baseline a little: transformers' BPE caches chunks it has seen (the short answers),
SentencePiece caches nothing. The two are compared on the distinct examples: same rendered text, same ids, same
masks, masks that decode to the answer, and whether the prompt's ids are a prefix of the whole example's (the
prefix mask assumes so).

Question decontamination: `QuestionIndex` over every question the benchmark loaders read from
`<data>/benchmarks` (build time), then the examples' prompts looked up as `Decontaminator` does (prompts/s);
baseline: each prompt normalised the same way (`normal_words`), then a Python `in` test of every normalised
question (space-padded, so matches are word-aligned) against it, timed on the first `--naive-prompts` examples
and extrapolated. Ends with the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import DEFAULT_DATA, peak_rss_mb  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing downloads (read when huggingface_hub is first imported)

TOKENIZER = "mistral-7b-v0.1"
# The Llama-2-chat layout as a Hugging Face chat_template (written for this benchmark): `<s>[INST] user [/INST]`,
# ` answer </s>` per exchange, an optional system turn wrapped in <<SYS>> inside the first user turn.
LLAMA2_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set system = messages[0]['content'] | trim -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set system = none -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for message in turns -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{- raise_exception('roles must alternate user/assistant') -}}{%- endif -%}"
    "{%- if message['role'] == 'user' -%}"
    "{%- set text = message['content'] | trim -%}"
    "{%- if loop.first and system is not none -%}"
    "{%- set text = '<<SYS>>\\n' ~ system ~ '\\n<</SYS>>\\n\\n' ~ text -%}{%- endif -%}"
    "{{- bos_token ~ '[INST] ' ~ text ~ ' [/INST]' -}}"
    "{%- else -%}{{- ' ' ~ (message['content'] | trim) ~ ' ' ~ eos_token -}}{%- endif -%}"
    "{%- endfor -%}"
)


class Row(NamedTuple):
    """One timed run: best wall and CPU seconds of the rounds, over `count` examples holding `megabytes` of text."""

    name: str
    wall: float
    cpu: float
    count: int | None = None  # None: a one-off (an index build), shown in seconds
    megabytes: float = 0.0


def interleaved(rounds: int, runs: dict[str, tuple]) -> tuple[dict[str, tuple[float, float]], dict[str, object]]:
    """Each of `runs` (name -> (function, *args)) once per round, in turn, so that load from other processes falls
    on all of them alike; the best wall and CPU seconds of each, and its last result."""
    best = {name: (math.inf, math.inf) for name in runs}
    results: dict[str, object] = {}
    for _ in range(rounds):
        for name, (function, *args) in runs.items():
            results[name] = None  # the previous round's result is not held while the next is built
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = function(*args)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best, results


def read_examples(benchmarks: Path) -> tuple[list, dict[str, dict]]:
    """Instruction documents of every benchmark file `InstructionReader` reads; per file, what it read or rejected."""
    from medcorpus.sources.instructions import InstructionReader

    documents, per_file = [], {}
    for path in sorted(p for p in benchmarks.rglob("*") if p.suffix in (".json", ".jsonl")):
        reader = InstructionReader([str(path)], name=path.parent.name)
        read = list(reader.run())
        stats = reader.stats.stats
        rejected = {k.removeprefix("rejected_"): int(v.total) for k, v in stats.items() if k.startswith("rejected_")}
        per_file[str(path.relative_to(benchmarks))] = {"read": len(read), "rejected": rejected}
        documents += read
    return documents, per_file


def hf_llama_tokenizer(model_file: str, folder: str, legacy: bool | None = None):
    """transformers' Llama tokenizer from a SentencePiece file, offline, with the Llama-2 chat template."""
    from transformers import LlamaTokenizer

    link = os.path.join(folder, "tokenizer.model")
    if not os.path.exists(link):
        os.symlink(model_file, link)
    options = {} if legacy is None else {"legacy": legacy}
    tokenizer = LlamaTokenizer.from_pretrained(folder, local_files_only=True, **options)
    tokenizer.chat_template = LLAMA2_TEMPLATE
    return tokenizer


def encode_ours(encoder, examples: list[list[dict]]) -> list[tuple[list[int], list[int]]]:
    return [encoder.encode(turns) for turns in examples]


def prompt_ids(tokenizer, turns: list[dict]) -> list[int]:
    """The ids of the turns before the answer, with the generation prompt: the prefix the baseline masks."""
    return tokenizer.apply_chat_template(turns[:-1], add_generation_prompt=True, tokenize=True, return_dict=False)


def encode_hf(tokenizer, examples: list[list[dict]]) -> list[tuple[list[int], list[int]]]:
    """(ids, mask) per example: the prompt's length masked, the rest trained."""
    encoded = []
    for turns in examples:
        ids = tokenizer.apply_chat_template(turns, tokenize=True, return_dict=False)
        prompt = len(prompt_ids(tokenizer, turns))
        encoded.append((ids, [0] * prompt + [1] * (len(ids) - prompt)))
    return encoded


def encode_hf_ids(tokenizer, examples: list[list[dict]]) -> list[list[int]]:
    """The ids alone (one `apply_chat_template` call per example, no mask)."""
    return [tokenizer.apply_chat_template(turns, tokenize=True, return_dict=False) for turns in examples]


def first_difference(ours: list[int], theirs: list[int]) -> int:
    return next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))


def describe_difference(pieces, ours: list[int], theirs: list[int]) -> str:
    """Where two id sequences part, by token position, with the pieces there (MedQA is public, not clinical)."""
    at = first_difference(ours, theirs)
    window = lambda ids: " ".join(f"{p!r}" for p in pieces(ids[max(at - 2, 0) : at + 3]))  # noqa: E731
    where = f"first at token {at} (of {len(ours)} / {len(theirs)})"
    return f"{where}: medcorpus {window(ours)} | transformers {window(theirs)}"


def difference_kinds(pieces, pairs) -> dict[str, str]:
    """The commonest ways the ids part (the pieces at the first differing position, ours -> theirs): how many
    examples part that way, and at which token positions."""
    kinds: dict[str, list[int]] = {}
    for ours, theirs in pairs:
        if ours != theirs:
            at = first_difference(ours, theirs)
            kinds.setdefault(f"{pieces(ours[at : at + 1])} -> {pieces(theirs[at : at + 1])}", []).append(at)
    common = sorted(kinds.items(), key=lambda item: -len(item[1]))[:5]
    return {
        key: f"{len(at):,} examples, at token {min(at)}" + (f" to {max(at)}" if len(set(at)) > 1 else "")
        for key, at in common
    }


def trained_ids(ids: list[int], mask: list[int]) -> list[int]:
    return [token for token, bit in zip(ids, mask) if bit]


def answer_trained(decode, ids: list[int], mask: list[int], answer: str) -> bool:
    """Whether the trained tokens decode (special tokens dropped) to the answer."""
    return decode(trained_ids(ids, mask)).strip() == answer.strip()


def compare(encoder, hf, examples: list[list[dict]], ours: list, theirs: list) -> None:
    """Print how the two encodings of the distinct `examples` agree (see the module docstring)."""
    count = len(examples)
    pieces = hf.convert_ids_to_tokens
    rendered = sum(encoder.render(turns)[0] == hf.apply_chat_template(turns, tokenize=False) for turns in examples)
    same_ids = [i for i in range(count) if ours[i][0] == theirs[i][0]]
    same_masks = sum(ours[i][1] == theirs[i][1] for i in same_ids)
    same_trained = sum(trained_ids(*ours[i]) == trained_ids(*theirs[i]) for i in range(count))
    prefix = sum(theirs[i][0][: len(p := prompt_ids(hf, turns))] == p for i, turns in enumerate(examples))
    decode = lambda ids: hf.decode(ids, skip_special_tokens=True)  # noqa: E731
    answered = sum(answer_trained(decode, *theirs[i], examples[i][-1]["content"]) for i in range(count))
    print(
        f"of {count:,} distinct examples: rendered text identical {rendered:,}; token ids identical "
        f"{len(same_ids):,} (masks identical where ids are: {same_masks:,}); trained token ids identical "
        f"{same_trained:,}; transformers' prompt ids a prefix of the example's {prefix:,}, its mask decodes to "
        f"the answer in {answered:,}"
    )
    pairs = [(ours[i][0], theirs[i][0]) for i in range(count)]
    differing = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
    if differing is not None:
        print(f"difference, example {differing}: {describe_difference(pieces, *pairs[differing])}")
        print(f"ways the ids part (top 5): {difference_kinds(pieces, pairs)}")


def bench_encoding(examples: list[list[dict]], distinct: int, megabytes: float, rounds: int) -> list[Row]:
    from medcorpus.tokenize import load_tokenizer
    from medcorpus.tokenize.chat import ChatEncoder
    from medcorpus.tokenize.tokenizer import resolve_named

    tokenizer = load_tokenizer(TOKENIZER, add_bos=False, add_eos=False)
    encoder = ChatEncoder(tokenizer, "llama-2", "answers")
    runs = {"encode + mask, medcorpus ChatEncoder llama-2/answers": (encode_ours, encoder, examples)}
    with tempfile.TemporaryDirectory() as folder:
        hf = None
        try:
            import transformers

            hf = hf_llama_tokenizer(resolve_named(TOKENIZER), folder)
            print(f"transformers {transformers.__version__}: {type(hf).__name__}, legacy={hf.legacy}")
            runs["encode + mask, transformers apply_chat_template x2"] = (encode_hf, hf, examples)
            runs["encode only, transformers apply_chat_template x1"] = (encode_hf_ids, hf, examples)
        except ImportError:
            print("transformers baseline skipped: transformers not installed (pip install -e '.[train]')")
        except Exception as error:  # report a failure to build it offline, and go on without the baseline
            print(f"transformers baseline skipped: LlamaTokenizer from the .model failed ({type(error).__name__})")
        best, results = interleaved(rounds, runs)
        ours = results[next(iter(runs))]
        trained = sum(answer_trained(tokenizer.decode, *ours[i], examples[i][-1]["content"]) for i in range(distinct))
        print(
            f"medcorpus: {sum(len(ids) for ids, _ in ours[:distinct]):,} tokens over the distinct examples; "
            f"mask decodes to the answer in {trained:,}/{distinct:,}"
        )
        if hf is not None:
            compare(
                encoder, hf, examples[:distinct], ours, results["encode + mask, transformers apply_chat_template x2"]
            )
            legacy = hf_llama_tokenizer(resolve_named(TOKENIZER), folder, legacy=True)
            print("with LlamaTokenizer(legacy=True) instead (compared, not timed):")
            compare(encoder, legacy, examples[:distinct], ours, encode_hf(legacy, examples[:distinct]))
    return [Row(name, *best[name], len(examples), megabytes) for name in runs]


def find_all(index, documents) -> list[list[int]]:
    """What `Decontaminator` asks of the question index for each instruction example."""
    from medcorpus.documents import prompt_of, turns_of

    return [
        index.find(prompt_of(doc), [turn["content"] for turn in turns_of(doc) if turn["role"] == "user"])
        for doc in documents
    ]


def find_naive(questions: list[str], prompts: list[str]) -> list[list[int]]:
    """The baseline: each normalised, space-padded question tested with `in` against each normalised prompt."""
    from medcorpus.curation.decontam.words import normal_words

    found = []
    for prompt in prompts:
        text = f" {' '.join(normal_words(prompt))} "
        found.append([number for number, question in enumerate(questions) if question in text])
    return found


def bench_questions(benchmarks: Path, documents: list, rounds: int, naive_prompts: int) -> list[Row]:
    from medcorpus.curation.decontam.benchmarks import load_items, resolve_benchmarks
    from medcorpus.curation.decontam.questions import QuestionIndex
    from medcorpus.documents import prompt_of

    started = time.perf_counter()
    files = resolve_benchmarks([str(benchmarks)])
    items = [item for bench in files for item in load_items(bench)]
    loaded = time.perf_counter() - started
    build, results = interleaved(rounds, {"index": (QuestionIndex, items)})
    index = results["index"]
    print(
        f"benchmark files: {len(files)}, items {len(items):,}, questions {len(index):,} "
        f"({len(index.anchors):,} of >= {index.min_words} words, {len(index.common)} common wording); "
        f"read in {loaded:.2f} s"
    )
    subset = documents[:naive_prompts]
    questions = [f" {' '.join(words)} " for words, _ in index.questions]
    ours_name = "question lookup, medcorpus QuestionIndex.find"
    naive_name = f"question lookup, naive `in` (first {len(subset)}, extrapolated)"
    runs = {ours_name: (find_all, index, documents), naive_name: (find_naive, questions, list(map(prompt_of, subset)))}
    best, results = interleaved(rounds, runs)
    found, naive_found = results[ours_name], results[naive_name]
    head = found[: len(subset)]
    print(
        f"examples with a question found (in-sample self-match, a sanity check and not recall: the prompts are "
        f"questions the index holds): medcorpus {sum(map(bool, found)):,}/{len(documents):,}; on the first "
        f"{len(subset)}: medcorpus {sum(map(bool, head))} ({sum(map(len, head)):,} questions), naive "
        f"{sum(map(bool, naive_found))} ({sum(map(len, naive_found)):,} questions; it has no word minimum and no "
        f"common-wording exclusion); naive over all {len(documents):,} prompts would take about "
        f"{best[naive_name][0] / len(subset) * len(documents):,.0f} s"
    )
    prompt_mb = lambda docs: sum(len(prompt_of(doc).encode("utf-8")) for doc in docs) / 1e6  # noqa: E731
    return [
        Row("QuestionIndex build (all benchmark questions)", *build["index"]),
        Row(ours_name, *best[ours_name], len(documents), prompt_mb(documents)),
        Row(naive_name, *best[naive_name], len(subset), prompt_mb(subset)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--examples", type=int, default=10_000, help="repeat the distinct examples to about this many")
    parser.add_argument("--rounds", type=int, default=3, help="timed repetitions; the best is shown")
    parser.add_argument("--naive-prompts", type=int, default=300, help="prompts the naive lookup is timed on")
    args = parser.parse_args()
    benchmarks = args.data / "benchmarks"
    if not benchmarks.is_dir():
        print(f"SKIP: no benchmark sets under {args.data} (give --data)")
        return
    from loguru import logger

    logger.disable("datatrove")
    logger.disable("medcorpus")  # the readers' per-file reject summaries: printed below instead
    from medcorpus.documents import turns_of

    distinct_docs, per_file = read_examples(benchmarks)
    for name, counts in per_file.items():
        print(f"{name}: read {counts['read']:,}, rejected {counts['rejected'] or 'none'}")
    if not distinct_docs:
        print("SKIP: InstructionReader read no example from the benchmark files")
        return
    copies = math.ceil(args.examples / len(distinct_docs))
    documents = distinct_docs * copies
    examples = [turns_of(doc) for doc in documents]
    megabytes = sum(len(doc.text.encode("utf-8")) for doc in documents) / 1e6
    print(
        f"{len(documents):,} examples ({len(distinct_docs):,} distinct x {copies}), {megabytes:.2f} MB of example "
        f"text; {os.cpu_count()} CPUs"
    )
    rows = bench_encoding(examples, len(distinct_docs), megabytes, args.rounds)
    rows += bench_questions(benchmarks, documents, args.rounds, args.naive_prompts)
    print(f"\nbest of {args.rounds} interleaved rounds; lookup MB are of prompt text")
    print(f"{'what':<60} {'examples/s':>10} {'MB/s':>6} {'per CPU-s':>10}")
    for row in rows:
        if row.count is None:
            print(f"{row.name:<60} {f'{row.wall:.2f} s':>10} {'':>6} {f'{row.cpu:.2f} s':>10}")
        else:
            rates = f"{row.count / row.wall:>10,.0f} {row.megabytes / row.wall:>6.2f} {row.count / row.cpu:>10,.0f}"
            print(f"{row.name:<60} {rates}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
