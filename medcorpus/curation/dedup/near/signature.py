"""Pass 1 of near-duplicate removal: MinHash signatures, computed for batches of documents at once.

The files are those datatrove's `MinhashDedupSignature` writes with our shingles, byte for byte: per band,
`bucket_<band>/<rank>.minhash.sig` holds one record (the band's hashes, the document's index) per document with
at least one shingle, sorted; per task, the `.info`, `.ids` and `.full` files that passes 3 and 4 read.
"""

from __future__ import annotations

import contextlib
import hashlib

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from datatrove.utils.typeshelper import StatHints

from medcorpus.curation.dedup.exact import SourcePriority, signed_ahead
from medcorpus.curation.dedup.near.records import INFO, docs_paths
from medcorpus.curation.dedup.near.shingles import SpaceWords, batch_shingles, min_hashes, simple_words, word_shingles
from medcorpus.documents import prompt_of
from medcorpus.io.atomic import atomic_open

_BATCH_DOCS = 2048
_BATCH_CHARS = 4_000_000


def sorted_order(records: np.ndarray) -> np.ndarray:
    """The order that sorts distinct structured `records` by all their fields, first field first."""
    names = records.dtype.names
    order = np.argsort(records[names[0]], kind="stable")
    first = records[names[0]][order]
    same = first[1:] == first[:-1]
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    if tied.any():  # the rows that share a first field: ordered among themselves by all fields
        rows = order[tied]
        order[tied] = rows[np.lexsort([records[name][rows] for name in reversed(names)])]
    return order


class BandFiles:
    """One task's per-band signature files: appended to batch by batch, then each sorted as datatrove does."""

    def __init__(self, step: MinhashDedupSignature, rank: int):
        config = step.config
        self.folder = step.output_folder
        self.rows = config.hashes_per_bucket
        fields = [(f"field{i + 1}", f"<{config.hash_config.struct_format}") for i in range(self.rows + 1)]
        fields[-1] = (fields[-1][0], "<I")  # the document's index in the task's stream
        self.dtype = np.dtype(fields)
        self.paths = [f"bucket_{band:03d}/{rank:05d}.minhash.sig" for band in range(config.num_buckets)]
        self.files = [self.folder.open(path, mode="wb") for path in self.paths]
        self.records = 0

    def append(self, signatures: np.ndarray, index: np.ndarray) -> None:
        """One record per row of `signatures` (document `index`) in every band file."""
        block = np.empty(len(index), dtype=self.dtype)
        names = self.dtype.names
        block[names[-1]] = index
        for band, file in enumerate(self.files):
            for i in range(self.rows):
                block[names[i]] = signatures[:, band * self.rows + i]
            file.write(block.tobytes())
        self.records += len(index)

    def finish(self) -> None:
        """Closes, sorts each file by all fields (as datatrove's bucket pass expects) and checks what was written."""
        for file in self.files:
            file.close()
        for path in self.paths:
            with self.folder.open(path, mode="rb") as handle:
                data = handle.read()
            if len(data) != self.records * self.dtype.itemsize:
                raise ValueError(f"corrupted MinHash signature file {path}: {len(data)} bytes")
            records = np.frombuffer(data, dtype=self.dtype)
            ordered = records[sorted_order(records)].tobytes()
            with self.folder.open(path, mode="wb") as handle:
                handle.write(ordered)
            with self.folder.open(path, mode="rb") as handle:
                if hashlib.blake2b(handle.read()).digest() != hashlib.blake2b(ordered).digest():
                    raise ValueError(f"corrupted MinHash signature file {path} after sorting")


class NearDedupSignature(MinhashDedupSignature):
    """datatrove's MinHash signature step that also records what the keep rule and verification need.

    `field` "prompt" signs `prompt_of(doc)` (an instruction example's user turns; the text of any other
    document) instead of the text; the recorded length (for the keep rule) is always the text's.
    (datatrove's `skip_existing_sigs` is not supported: every run writes its files anew.)
    """

    name = "near-dup signatures"

    def __init__(
        self, signatures_dir: str, docs_dir: str, config: MinhashConfig, priority: list[str], field: str = "text"
    ):
        super().__init__(signatures_dir, config=config, language=SpaceWords())
        if field not in ("text", "prompt"):
            raise ValueError(f"near_dedup field must be 'text' or 'prompt', got {field!r}")
        self.docs_dir = docs_dir
        self.priority = SourcePriority(priority)
        self.field = field
        self.ahead = None  # `run/ahead.py`: where the stage before may have signed a task's documents

    def get_shingles(self, text: str) -> np.ndarray:
        """datatrove's text simplification, whitespace words, hashed word n-grams (shape (count, 1))."""
        words = simple_words(text, self.config.norm_config)
        return word_shingles([word.decode("utf-8") for word in words], self.config.n_grams)

    def signatures(self, docs: list[Document]) -> tuple[np.ndarray, np.ndarray]:
        """Each document's full signature (a row; all ones without shingles) and its number of shingles."""
        texts = [prompt_of(doc) for doc in docs] if self.field == "prompt" else [doc.text for doc in docs]
        words = [simple_words(text, self.config.norm_config) for text in texts]
        shingles, counts = batch_shingles(words, self.config.n_grams)
        hash_config = self.config.hash_config
        rows = min_hashes(shingles, counts, *self.parameters, hash_config.max).astype(hash_config.np_dtype)
        rows[counts == 0] = hash_config.max
        return rows, counts

    def signer(self, rank: int) -> _Signer:
        """A task's signature files, documents added one at a time in a `with` block (signed a batch at a time)
        and saved at its end."""
        return _Signer(self, rank)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> None:
        if signed_ahead(self, rank, world_size):  # the readers before this step are never started
            return
        with self.track_time(), self.signer(rank) as signer:
            for doc in data:
                self.stat_update(StatHints.total)
                signer.add(doc)


class _Signer:
    """One task's `.info`, `.ids`, `.full` and band files, written a batch of documents at a time; published when
    the `with` block around the adding ends without an error, else removed (no partial file under its final name)."""

    def __init__(self, step: NearDedupSignature, rank: int):
        self.step = step
        info_path, ids_path, full_path = docs_paths(step.docs_dir, rank)
        info_path.parent.mkdir(parents=True, exist_ok=True)
        self.bands = BandFiles(step, rank)
        self.files = contextlib.ExitStack()
        self.info, self.ids, self.full = (
            self.files.enter_context(atomic_open(p)) for p in (info_path, ids_path, full_path)
        )
        self.done = self.offset = self.chars = 0
        self.batch: list[Document] = []

    def add(self, doc: Document) -> None:
        """Sign `doc` (the next position in the task's stream), `_BATCH_DOCS` documents or `_BATCH_CHARS`
        characters at a time."""
        self.batch.append(doc)
        self.chars += len(doc.text)
        if len(self.batch) >= _BATCH_DOCS or self.chars >= _BATCH_CHARS:
            self._sign()

    def _sign(self) -> None:
        docs, self.batch, self.chars = self.batch, [], 0
        if not docs:
            return
        keys = [str(doc.id).encode("utf-8") for doc in docs]
        records = []
        for doc, key in zip(docs, keys):
            records.append(INFO.pack(self.step.priority(doc), len(doc.text), self.offset, len(key)))
            self.offset += len(key)
        self.info.write(b"".join(records))
        self.ids.write(b"".join(keys))
        rows, counts = self.step.signatures(docs)
        self.full.write(rows.tobytes())
        present = np.flatnonzero(counts)
        self.bands.append(rows[present], present + self.done)
        self.done += len(docs)

    def __enter__(self) -> _Signer:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self.files.__exit__(exc_type, exc, traceback)
            return
        self._sign()  # what is left; then publish the per-task files and sort the band files
        self.files.close()
        self.bands.finish()
