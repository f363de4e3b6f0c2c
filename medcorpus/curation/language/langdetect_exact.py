"""langdetect's seeded detection, vectorised: the same answer as `langdetect.detect_langs`, several times faster.

langdetect (a port of Nakatani Shuyo's language-detection) walks the text one character at a time in Python to
collect its 1-3 character n-grams, then runs 7 random trials that multiply a probability per language by each
sampled n-gram's profile, one Python float at a time. Here:

- the n-grams of a word depend only on the word (and whether a space follows it), so they are computed once
  per distinct word and kept in a bounded table, as rows of a profile matrix;
- the trials draw the same random numbers from the same `random.Random` in the same order, and the per-language
  products run as numpy float64 operations in the same order, so every rounding step is the one langdetect takes;
  the normalising sum stays a Python `sum` over the same list, as in langdetect.

The profiles and their language order come from langdetect's own factory; the text preparation (URL and e-mail
removal, Vietnamese normalisation, character normalisation) calls langdetect's own functions.
`tests/curation/language/test_language_backends.py` checks equality with langdetect on real documents and on edge cases.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache

import numpy as np

_CACHE_LIMIT = 200_000  # distinct words whose n-gram rows are kept
_SPACES = re.compile(" {2,}")
_LATIN = re.compile("[A-z]")
_ABOVE_0300 = re.compile("[\u0300-\U0010ffff]")


class _Normalised(dict):
    """A `str.translate` table that asks langdetect's NGram.normalize once per character."""

    def __missing__(self, code: int) -> str:
        from langdetect.utils.ngram import NGram

        self[code] = value = NGram.normalize(chr(code))
        return value


class _Words:
    """The n-gram rows of distinct words, flat: word i's rows when a space follows it are
    `flat[start[i] : start[i] + full[i]]`, the first `body[i]` of them without the space."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.flat = np.zeros(1 << 16, dtype=np.int64)
        self.start = np.zeros(1 << 12, dtype=np.int64)
        self.full = np.zeros(1 << 12, dtype=np.int64)
        self.body = np.zeros(1 << 12, dtype=np.int64)
        self.used = self.count = 0

    def add(self, word: str, body: list[int], tail: list[int]) -> int:
        """Store a word's rows; its id."""
        index, rows = self.count, body + tail
        if index == len(self.start):
            self.start, self.full, self.body = (np.resize(a, 2 * index) for a in (self.start, self.full, self.body))
        if self.used + len(rows) > len(self.flat):
            self.flat = np.resize(self.flat, 2 * (self.used + len(rows)))
        self.flat[self.used : self.used + len(rows)] = rows
        self.start[index], self.full[index], self.body[index] = self.used, len(rows), len(body)
        self.used += len(rows)
        self.count += 1
        self.ids[word] = index
        return index

    def reset_if_full(self) -> None:
        """Forget every word once `_CACHE_LIMIT` are kept (never in the middle of a text or batch)."""
        if self.count >= _CACHE_LIMIT:
            self.ids.clear()
            self.used = self.count = 0


class ExactLangDetect:
    """`detect(text, seed)` gives langdetect's top (language, probability), or None where langdetect finds none."""

    def __init__(self) -> None:
        from langdetect import detector_factory
        from langdetect.detector import Detector

        detector_factory.init_factory()
        factory = detector_factory._factory
        self.languages = list(factory.langlist)
        self.rows = {word: row for row, word in enumerate(factory.word_lang_prob_map)}
        self.profiles = np.array(list(factory.word_lang_prob_map.values()), dtype=np.float64)
        self.detector = Detector  # its constants and regular expressions
        self.normalised = _Normalised()
        self.words = _Words()
        self.rng = random.Random()

    def _add_word(self, word: str) -> int:
        """Store the profile rows of the n-grams langdetect takes from `word` (and from a space after it).

        Before the k-th character c_k: the 1-gram c_k, the 2-gram ending at c_k, and from k = 2 the 3-gram ending
        at it, with a space standing before the word; none where c_k and c_(k-1) are both upper case. The
        space after the word adds the 2- and 3-gram ending in it."""
        padded = " " + word
        ones = list(word)
        twos = [padded[k - 1 : k + 1] for k in range(1, len(padded))]
        threes = [""] + [padded[k - 2 : k + 1] for k in range(2, len(padded))]  # "" is no n-gram
        grams = list(itertools.chain.from_iterable(zip(ones, twos, threes)))
        if sum(map(str.isupper, word)) > 1:  # drop the n-grams ending at an upper-case letter after another
            skip = {k for k in range(1, len(word)) if word[k].isupper() and word[k - 1].isupper()}
            grams = [g for i, g in enumerate(grams) if i // 3 not in skip]
        found = [row for row in map(self.rows.get, grams) if row is not None]
        tail = [row for row in map(self.rows.get, (padded[-1] + " ", padded[-2:] + " ")) if row is not None]
        return self.words.add(word, found, tail if word else [])

    def prepare(self, text: str) -> str:
        """langdetect's `Detector.append` and `cleaning_text`, then its character normalisation."""
        detector = self.detector
        from langdetect.utils.ngram import NGram

        if "http" in text:
            text = detector.URL_RE.sub(" ", text)
        if "@" in text:
            text = detector.MAIL_RE.sub(" ", text)
        if not text.isascii():  # (its patterns and the non-Latin count need characters past ASCII)
            text = NGram.normalize_vi(text)
        text = _SPACES.sub(" ", text[:10000])  # Detector's max_text_length; a run of spaces keeps its first
        non_latin = 0 if text.isascii() else _non_latin(text)
        if non_latin and len(_LATIN.findall(text)) * 2 < non_latin:
            text = _LATIN.sub("", text)
        return text.translate(self.normalised)

    def ngram_words(self, text: str) -> tuple[list[int], np.ndarray]:
        """The ids of the text's words (see `_Words`) and how many n-gram rows each gives, in the order of
        langdetect's `_extract_ngrams`: all of them for a word a space follows, its body for the last."""
        words = self.prepare(text).split(" ")  # "" between two spaces: no n-grams
        ids = list(map(self.words.ids.get, words))
        if None in ids:
            ids = [i if i is not None else self._add_word(w) for i, w in zip(ids, words)]
        lengths = self.words.full[ids]
        lengths[-1] = self.words.body[ids[-1]]
        return ids, lengths

    def ngram_rows(self, text: str) -> list[int]:
        """Profile rows of the n-grams langdetect's `_extract_ngrams` finds, in its order."""
        self.words.reset_if_full()
        ids, lengths = self.ngram_words(text)
        starts = self.words.start[ids]
        return [row for s, n in zip(starts.tolist(), lengths.tolist()) for row in self.words.flat[s : s + n].tolist()]

    def detect(self, text: str, seed: int) -> tuple[str, float] | None:
        """The most probable language above langdetect's reporting threshold, with its probability."""
        rows = self.ngram_rows(text)
        if not rows:
            return None
        detector, rng, profiles = self.detector, self.rng, self.profiles
        languages = len(self.languages)
        total = np.zeros(languages)
        rng.seed(seed)
        block = np.empty((6, languages))  # the running product, then the next five factors
        choice = rng.choice
        for _ in range(7):  # langdetect's n_trial
            prob = np.full(languages, 1.0 / languages)
            weight = (detector.ALPHA_DEFAULT + rng.gauss(0.0, 1.0) * detector.ALPHA_WIDTH) / detector.BASE_FREQ
            prob *= weight + profiles[choice(rows)]
            step = 0
            while _normalise(prob) <= detector.CONV_THRESHOLD and step < detector.ITERATION_LIMIT:
                block[0] = prob
                np.take(profiles, [choice(rows), choice(rows), choice(rows), choice(rows), choice(rows)], 0, block[1:])
                block[1:] += weight
                prob = np.multiply.reduce(block, axis=0)  # row after row, as langdetect multiplies
                step += 5
            total += prob / 7
        best = int(np.argmax(total))
        if total[best] <= detector.PROB_THRESHOLD:
            return None
        return self.languages[best], float(total[best])


def _normalise(prob: np.ndarray) -> float:
    """langdetect's `_normalize_prob`: divide by the Python sum of the list, return the largest share."""
    prob /= sum(prob.tolist())
    return float(prob.max())


def _non_latin(text: str) -> int:
    """Characters langdetect's `cleaning_text` counts as non-Latin (it compares a block number with a name)."""
    from langdetect.utils.unicode_block import unicode_block

    return sum(1 for ch in _ABOVE_0300.findall(text) if unicode_block(ch) != "Latin Extended Additional")


@lru_cache(maxsize=1)
def exact_langdetect() -> ExactLangDetect:
    """The one shared detector (its profile matrix of 87,598 n-grams x 55 languages takes 39 MB)."""
    return ExactLangDetect()
