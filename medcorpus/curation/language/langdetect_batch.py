"""langdetect's answers for many texts at once: the random trials of all texts advance together in numpy.

Every text is detected after `random.seed(seed)`, so all texts read the same stream of Mersenne Twister
words; only which words a text's draws accept (`choice` rejects indices past its n-gram count) and where
its trials end differ. The stream is drawn once per seed, each text's accepted draws are found with numpy,
and the trials of a batch of texts take their five-draw steps together: per text the same products, in the
same order, and the same Python `sum` for normalising as in `langdetect_exact` (and langdetect). That the
stream reading matches `random.Random` on this Python is checked once (`_stream_reading_holds`); where it
does not, or a text needs more draws than were drawn ahead, `ExactLangDetect.detect` answers instead.
"""

from __future__ import annotations

import itertools
import math
import random
from functools import lru_cache

import numpy as np

from medcorpus.curation.language.langdetect_exact import ExactLangDetect

_AHEAD = 4096  # stream words drawn ahead: enough for 99.9% of texts (they take about 350 draws)
_TRIALS = 7
_PLAIN_SUM = sum([1e16, 1.0, -1e16]) == 0.0  # Python before 3.12 adds floats one by one, as a cumulative sum


@lru_cache(maxsize=4)
def _stream(seed: int) -> np.ndarray:
    """The first `_AHEAD` 32-bit words of `random.Random(seed)`."""
    rng = random.Random(seed)
    return np.array([rng.getrandbits(32) for _ in range(_AHEAD)], dtype=np.int64)


def _accepted(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the words `choice` of a length-`n` sequence accepts (top bits below n)."""
    values = words >> (32 - n.bit_length())
    positions = np.flatnonzero(values < n)
    return positions, values[positions]


def _gauss_pair(words: np.ndarray, at: int) -> tuple[float, float]:
    """`random.gauss`'s two normal values from the four words at `at` (two `random()` calls)."""
    first, second = ((int(words[at + i]) >> 5) * 67108864.0 + (int(words[at + i + 1]) >> 6) for i in (0, 2))
    x2pi = first * (1.0 / 9007199254740992.0) * (2 * math.pi)
    g2rad = math.sqrt(-2.0 * math.log(1.0 - second * (1.0 / 9007199254740992.0)))
    return math.cos(x2pi) * g2rad, math.sin(x2pi) * g2rad


@lru_cache(maxsize=1)
def _stream_reading_holds() -> bool:
    """Whether reading the stream as above gives `random.Random`'s own gauss and choice draws."""
    words, rng = _stream(0), random.Random(0)
    at, cached = 0, None
    for n in (1, 2, 3, 8, 55, 64, 1000, 1024):
        if cached is None:
            z, cached = _gauss_pair(words, at)
            at += 4
        else:
            z, cached = cached, None
        if rng.gauss(0.0, 1.0) != z:
            return False
        positions, values = _accepted(words, n)
        first = int(np.searchsorted(positions, at))
        if [rng.choice(range(n)) for _ in range(6)] != values[first : first + 6].tolist():
            return False
        at = int(positions[first + 5]) + 1
    return True


@lru_cache(maxsize=4)
def _gauss_table(seed: int) -> np.ndarray:
    """For each stream position, the two normal values `random.gauss` makes from the four words there."""
    words = _stream(seed)
    return np.array([_gauss_pair(words, at) for at in range(len(words) - 3)])


class _Trials:
    """The state of a batch's trials: per text its product vector, weight, next draw and step count."""

    def __init__(self, exact: ExactLangDetect, texts: list[str], seed: int) -> None:
        self.exact, self.gauss = exact, _gauss_table(seed)
        words = _stream(seed)
        exact.words.reset_if_full()
        plans = [exact.ngram_words(text) for text in texts]
        self.ngrams = [int(lengths.sum()) for _, lengths in plans]
        accepted = [_accepted(words, n) for n in self.ngrams]
        count, languages = len(texts), len(exact.languages)
        self.available = np.array([len(positions) for positions, _ in accepted], dtype=np.int64)
        self.first = np.cumsum(self.available) - self.available  # each text's first accepted draw, flat
        self.positions = np.concatenate([positions for positions, _ in accepted] + [np.zeros(1, np.int64)])
        self.values = np.concatenate([values for _, values in accepted] + [np.zeros(1, np.int64)])
        # stream positions, made increasing across texts, to find each text's next draw with one search
        self.keys = np.repeat(np.arange(count) * len(words), self.available) + self.positions[:-1]
        self.span = len(words)
        # every text's words in turn, and where each text's n-grams begin in their running count
        self.ids = np.fromiter(itertools.chain.from_iterable(ids for ids, _ in plans), np.int64)
        self.lengths = np.concatenate([lengths for _, lengths in plans]) if plans else np.zeros(0, np.int64)
        self.ends = np.cumsum(self.lengths)
        self.base = np.cumsum([0] + self.ngrams[:-1])
        self.prob = np.zeros((count, languages))
        self.total = np.zeros((count, languages))
        self.weight = np.zeros(count)
        self.next = np.zeros(count, dtype=np.int64)  # index of the text's next draw among its accepted ones
        self.step = np.zeros(count, dtype=np.int64)
        self.at = np.zeros(count, dtype=np.int64)  # stream position where the text's next trial begins
        self.cached = np.zeros(count, dtype=bool)  # whether `random.gauss` holds a second value
        self.cached_value = np.zeros(count)
        self.trial = np.zeros(count, dtype=np.int64)

    def start(self, index: np.ndarray) -> np.ndarray:
        """Begin a trial in each text of `index` with its gauss draw and first update; those with draws left."""
        fresh = ~self.cached[index]
        pair = self.gauss[np.minimum(self.at[index], len(self.gauss) - 1)]
        z = np.where(fresh, pair[:, 0], self.cached_value[index])
        self.cached[index], self.cached_value[index] = fresh, pair[:, 1]
        self.at[index] += 4 * fresh
        detector = self.exact.detector
        self.weight[index] = (detector.ALPHA_DEFAULT + z * detector.ALPHA_WIDTH) / detector.BASE_FREQ
        self.next[index] = np.searchsorted(self.keys, index * self.span + self.at[index]) - self.first[index]
        ready = index[self.next[index] + 1 + detector.ITERATION_LIMIT <= self.available[index]]
        if len(ready):
            self.prob[ready] = 1.0 / self.prob.shape[1]
            self.update(ready, 1)
            self.step[ready] = 0
        return ready

    def update(self, index: np.ndarray, draws: int) -> None:
        """Multiply in the next `draws` draws of each text of `index`, one after another."""
        drawn = self.values[(self.first[index] + self.next[index])[:, None] + np.arange(draws)]
        picks = self.base[index][:, None] + drawn
        word = np.searchsorted(self.ends, picks, side="right")
        table = self.exact.words
        rows = table.flat[table.start[self.ids[word]] + picks - (self.ends[word] - self.lengths[word])]
        factors = self.exact.profiles[rows] + self.weight[index][:, None, None]
        prob = self.prob[index]
        for k in range(draws):
            prob *= factors[:, k]
        self.prob[index] = prob
        self.next[index] += draws

    def converged(self, index: np.ndarray) -> np.ndarray:
        """langdetect's normalisation of each text of `index`, and whether its trial ends there."""
        prob = self.prob[index]
        sums = np.cumsum(prob, axis=1)[:, -1] if _PLAIN_SUM else np.array([sum(row) for row in prob.tolist()])
        prob /= sums[:, None]
        self.prob[index] = prob
        detector = self.exact.detector
        return (prob.max(axis=1) > detector.CONV_THRESHOLD) | (self.step[index] >= detector.ITERATION_LIMIT)

    def finish(self, index: np.ndarray) -> np.ndarray:
        """End the trial of each text of `index`; those with trials left."""
        self.total[index] += self.prob[index] / _TRIALS
        self.at[index] = self.positions[self.first[index] + self.next[index] - 1] + 1
        self.trial[index] += 1
        return index[self.trial[index] < _TRIALS]


def detect_many(exact: ExactLangDetect, texts: list[str], seed: int) -> list[tuple[str, float] | None]:
    """`exact.detect(text, seed)` of each text."""
    if not texts or not _stream_reading_holds():
        return [exact.detect(text, seed) for text in texts]
    trials = _Trials(exact, texts, seed)
    pending = np.flatnonzero(trials.ngrams)
    slow = []
    running = np.zeros(0, dtype=np.int64)
    while len(pending) or len(running):
        ready = trials.start(pending)
        slow += np.setdiff1d(pending, ready).tolist()
        running = np.concatenate([running, ready])
        ended = trials.converged(running)
        pending = trials.finish(running[ended])
        running = running[~ended]
        if len(running):
            trials.update(running, 5)
            trials.step[running] += 5
    best = trials.total.argmax(axis=1).tolist()
    shares = trials.total.max(axis=1).tolist()
    answers = [
        (exact.languages[b], share) if share > exact.detector.PROB_THRESHOLD else None for b, share in zip(best, shares)
    ]  # texts without n-grams have no share
    for t in slow:
        answers[t] = exact.detect(texts[t], seed)
    return answers
