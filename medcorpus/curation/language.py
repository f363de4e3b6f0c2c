"""Language identification with langdetect, seeded so that labels are deterministic."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

UNDETERMINED = "und"


class LanguageFilter(BaseFilter):
    """Labels each document's language and keeps those in `languages`.

    langdetect is probabilistic; a fixed seed makes its answer a function of the text alone.
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
        max_chars: int = 4000,
        seed: int = 0,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.languages = tuple(languages)
        self.min_score = min_score
        self.min_letters = min_letters
        self.keep_undetermined = keep_undetermined
        self.max_chars = max_chars
        self.seed = seed

    def detect(self, text: str) -> tuple[str, float]:
        """(language code, probability) of a text; ("und", 0.0) when it is too short or has no letters."""
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        sample = text[: self.max_chars]
        if sum(ch.isalpha() for ch in sample) < self.min_letters:
            return UNDETERMINED, 0.0
        DetectorFactory.seed = self.seed
        try:
            best = detect_langs(sample)[0]
        except LangDetectException:
            return UNDETERMINED, 0.0
        return best.lang, round(best.prob, 4)

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
