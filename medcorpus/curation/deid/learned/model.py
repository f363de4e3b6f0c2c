"""The learned name/place classifier: a multinomial logistic regression over `Featurizer` features.

A feature's value is the number of times it is named (a word twice in the window counts twice).
Classes are ``O`` (not PHI), ``NAME`` and ``LOCATION``. Training uses scikit-learn (`fit`); prediction
reads the weights from a small JSON file and sums them in plain Python, which is what lets it run inside
the detector at a few microseconds a word. `WordClassifier.probabilities` equals scikit-learn's
`predict_proba` on the same features (tested). A candidate word is PHI when ``1 - P(O)`` reaches the
threshold; its tag is the likelier of ``NAME`` and ``LOCATION``.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

from medcorpus.curation.deid.learned.features import Featurizer
from medcorpus.curation.deid.spans import Span

CLASSES = ("O", "NAME", "LOCATION")
MODEL_FILE = Path(__file__).with_name("model.json")
DEFAULT_THRESHOLD = 0.5
PRUNE = 1e-3


def fit(features: list[list[str]], labels: list[str], c: float = 1.0, seed: int = 0, min_count: int = 2):
    """Train on candidate feature lists and their labels; return the fitted vectorizer and model."""
    from collections import Counter

    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    counts = Counter(name for row in features for name in set(row))
    rows = [{name: float(n) for name, n in Counter(row).items() if counts[name] >= min_count} for row in features]
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform(rows)
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed, class_weight="balanced")
    model.fit(matrix, [CLASSES.index(label) for label in labels])
    return vectorizer, model


def to_json(vectorizer, model, meta: dict, prune: float = PRUNE) -> dict:
    """The weights as plain JSON: the intercepts, `meta`, and one row per feature (to four places), leaving
    out features whose weights are all below `prune` (they move a score by less than `prune` each)."""
    if list(model.classes_) != list(range(len(CLASSES))):
        raise ValueError("training data must hold every class (O, NAME, LOCATION)")
    weights = {}
    for name, i in sorted(vectorizer.vocabulary_.items()):
        row = [round(float(model.coef_[k][i]), 4) for k in range(len(CLASSES))]
        if max(map(abs, row)) >= prune:
            weights[name] = row
    intercept = [round(float(v), 5) for v in model.intercept_]
    return {"classes": list(CLASSES), "intercept": intercept, "weights": weights, "meta": meta}


class WordClassifier:
    """Loaded weights, and the candidate-word spans they find in a note."""

    def __init__(self, data: dict, threshold: float = DEFAULT_THRESHOLD, identity: str = ""):
        if data.get("classes") != list(CLASSES):
            raise ValueError(f"model classes must be {list(CLASSES)}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"deid threshold must be in (0, 1], got {threshold}")
        self.intercept = data["intercept"]
        self.weights = {name: tuple(row) for name, row in data["weights"].items()}
        self.meta = data.get("meta", {})
        self.threshold = threshold
        self.identity = identity
        self.featurizer = Featurizer()

    @classmethod
    def load(cls, path: str | Path | None = None, threshold: float = DEFAULT_THRESHOLD) -> WordClassifier:
        """The model in `path` (default: the one shipped with the package)."""
        raw = Path(path or MODEL_FILE).read_bytes()
        return cls(json.loads(raw), threshold, identity=hashlib.sha256(raw).hexdigest())

    def probabilities(self, features: list[str]) -> list[float]:
        """P(O), P(NAME), P(LOCATION) of one candidate."""
        get = self.weights.get
        o, name, place = self.intercept
        for feature in features:
            row = get(feature)
            if row is not None:
                o += row[0]
                name += row[1]
                place += row[2]
        top = max(o, name, place)
        o, name, place = math.exp(o - top), math.exp(name - top), math.exp(place - top)
        total = o + name + place
        return [o / total, name / total, place / total]

    def scored(self, text: str) -> list[tuple[int, int, float, str]]:
        """Every candidate word as `(start, end, P(PHI), tag)`, the tag the likelier of NAME and LOCATION."""
        out = []
        for (start, end), features in zip(*self.featurizer.note(text)):
            p = self.probabilities(features)
            out.append((start, end, 1.0 - p[0], "NAME" if p[1] >= p[2] else "LOCATION"))
        return out

    def spans(self, text: str) -> list[Span]:
        """Candidate words whose P(PHI) reaches the threshold, as `(start, end, tag)`. Where one lies inside
        a rule's span, `merge_spans` keeps the rule's tag (a word of ``Harrowgate Hospital`` stays HOSPITAL)."""
        return [(s, e, tag) for s, e, p, tag in self.scored(text) if p >= self.threshold]


@lru_cache(maxsize=4)
def shipped(threshold: float = DEFAULT_THRESHOLD) -> WordClassifier:
    """The packaged model, loaded once per process (per worker) and threshold."""
    return WordClassifier.load(MODEL_FILE, threshold)
