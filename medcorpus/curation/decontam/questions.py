"""Exact question matching: benchmark questions found, normalised, in an instruction example's prompt.

A question's normal form is its words (words.py: letters and digits, lower-cased), so case, punctuation
and spacing never matter. A prompt holds a question when the question's words occur as a run of the
prompt's words (word-aligned: "Q:A 23-year-old man ...? {'A': ...}" holds "A 23-year-old man ...?"), or
when they are exactly the words of one user turn. Questions of fewer than `min_words` words count only
in the second way, since a short question inside a longer prompt is as likely common wording as the item;
so do questions that are common wording themselves: those found inside `COMMON` or more other distinct
questions of the benchmarks (in all of `../shared/data/benchmarks`: "which of the following is true",
inside 189 others, and "which of the following statements is false", inside 12; no other question is
inside more than one).

Lookup: each question of at least `min_words` words is filed under the hash of its first `min_words`
words, in one sorted array; a prompt's word `min_words`-grams are hashed the same way and searched in
it, and each candidate is checked word by word. Whole turns are looked up by their normal form.
"""

from __future__ import annotations

import numpy as np

from medcorpus.curation.decontam.benchmarks import BenchmarkItem
from medcorpus.curation.decontam.words import hash_ngrams, normal_words

COMMON = 2


class QuestionIndex:
    """The `question` texts of benchmark items (item numbers as in the list given), for exact matching."""

    def __init__(self, items: list[BenchmarkItem], min_words: int = 6):
        if min_words < 1:
            raise ValueError(f"min_question_words must be at least 1, got {min_words}")
        self.min_words = min_words
        self.questions: list[tuple[tuple[str, ...], int]] = []  # (words, item number)
        self.whole: dict[str, list[int]] = {}  # normal form -> question numbers
        anchors: list[int] = []
        for number, item in enumerate(items):
            for field, text in item.texts:
                words = tuple(normal_words(text)) if field == "question" else ()
                if not words:
                    continue
                self.whole.setdefault(" ".join(words), []).append(len(self.questions))
                if len(words) >= min_words:
                    anchors.append(len(self.questions))
                self.questions.append((words, number))
        heads = [hash_ngrams(list(self.questions[q][0][:min_words]), min_words) for q in anchors]
        hashes = np.concatenate(heads) if heads else np.zeros(0, dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        self.anchors, self.refs = hashes[order], np.asarray(anchors, dtype=np.int64)[order]
        self.common = self._common_wording()

    def _common_wording(self) -> set[int]:
        """Questions found inside `COMMON` or more other distinct questions."""
        holders: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for words in {words for words, _ in self.questions if len(words) > self.min_words}:
            for question in self._held(list(words)):
                if self.questions[question][0] != words:
                    holders.setdefault(self.questions[question][0], set()).add(words)
        common = {words for words, holding in holders.items() if len(holding) >= COMMON}
        return {q for q, (words, _) in enumerate(self.questions) if words in common}

    def __len__(self) -> int:
        return len(self.questions)

    def find(self, prompt: str, turns: list[str] = ()) -> list[int]:
        """Numbers of the questions `prompt` holds or one of the user `turns` equals (sorted, distinct)."""
        found = {q for turn in turns for q in self.whole.get(" ".join(normal_words(turn)), ())}
        found.update(self._held(normal_words(prompt)) - self.common)
        return sorted(found)

    def _held(self, words: list[str]) -> set[int]:
        """Anchored questions whose words occur as a run of `words`."""
        found: set[int] = set()
        hashes = hash_ngrams(words, self.min_words)
        if not len(self.anchors) or not len(hashes):
            return found
        left = np.searchsorted(self.anchors, hashes)
        hit = self.anchors[np.minimum(left, len(self.anchors) - 1)] == hashes
        for position, start in zip(np.flatnonzero(hit).tolist(), left[hit].tolist()):
            end = start
            while end < len(self.anchors) and self.anchors[end] == hashes[position]:
                question = int(self.refs[end])
                expected = self.questions[question][0]
                if tuple(words[position : position + len(expected)]) == expected:
                    found.add(question)
                end += 1
        return found

    def item(self, question: int) -> int:
        """The item number of a question."""
        return self.questions[question][1]

    def words(self, question: int) -> int:
        """The number of words of a question."""
        return len(self.questions[question][0])
