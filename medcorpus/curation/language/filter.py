"""Language identification with langdetect (seeded, so labels are deterministic) or, much faster, fastText."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.curation.language import langdetect_batch
from medcorpus.curation.language.fasttext_lid import lid176
from medcorpus.curation.language.langdetect_exact import exact_langdetect
from medcorpus.curation.tallied_filter import TalliedFilter

UNDETERMINED = "und"
BACKENDS = ("langdetect", "fasttext")


class LanguageFilter(TalliedFilter):
    """Labels each document's language and keeps those in `languages`.

    The default backend, fastText's lid.176 model (as datatrove uses it; deterministic by construction), runs
    as `fasttext_lid`. `backend="langdetect"` (the design card's) is probabilistic; a fixed seed makes its
    answer a function of the text alone; it runs as `langdetect_exact` and `langdetect_batch` (langdetect's
    own answers, several times faster than the package, about 4 times slower than fastText). Both take 256
    documents at a time; on real PubMed, PMC and guideline text they give the same labels
    (`benchmarks/bench_lang_medical.py`).
    Texts with fewer than `min_letters` letters are too short to label reliably: they get
    language "und" and are kept or dropped by `keep_undetermined`. Only the first
    `max_chars` characters are examined, which is plenty and bounds the cost of long papers.
    """

    type = "🌍 - LANGUAGE"
    name = "language filter"  # with the backend added per instance

    def __init__(
        self,
        languages: tuple[str, ...] | list[str] = ("en",),
        min_score: float = 0.65,
        min_letters: int = 40,
        keep_undetermined: bool = True,
        max_chars: int = 2000,
        seed: int = 0,
        backend: str = "fasttext",
        exclusion_writer: DiskWriter | None = None,
    ):
        self.name = f"language filter ({backend})"  # before datatrove names the step's stats after it
        super().__init__(exclusion_writer, batch_size=256)
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

    def detect_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """(language code, probability) of each text; ("und", 0.0) for one too short or without letters."""
        samples = [text[: self.max_chars] for text in texts]
        found = [(UNDETERMINED, 0.0)] * len(samples)
        labelled = [i for i, sample in enumerate(samples) if self.has_letters(sample)]
        if self.backend == "fasttext":
            predictions = lid176().predict_many([samples[i] for i in labelled])  # line breaks split words
            for i, (label, probability) in zip(labelled, predictions):
                found[i] = label, round(min(probability, 1.0), 4)
            return found
        answers = langdetect_batch.detect_many(exact_langdetect(), [samples[i] for i in labelled], self.seed)
        for i, best in zip(labelled, answers):
            found[i] = (UNDETERMINED, 0.0) if best is None else (best[0], round(best[1], 4))
        return found

    def detect(self, text: str) -> tuple[str, float]:
        """`detect_many` of one text."""
        return self.detect_many([text])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return [self._verdict(doc, *found) for doc, found in zip(batch, self.detect_many([d.text for d in batch]))]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def _verdict(self, doc: Document, language: str, score: float) -> bool | tuple[bool, str]:
        doc.metadata["language"] = language
        doc.metadata["language_score"] = score
        if language == UNDETERMINED:
            return self.keep_undetermined or (False, "language_undetermined")
        if language not in self.languages:
            return False, f"language_{language}"
        if score < self.min_score:
            return False, "language_low_score"
        return True
