"""datatrove steps that tokenize documents into one Megatron shard per task, with provenance.

`ShardStep` is what the pretraining `ShardTokenizer` and the SFT `SftShardTokenizer` (sft_step.py) share: the
batched encode loop in a background thread, the shard writer, and skipped documents counted, logged by id and
written to the exclusion writer (when given) with their `filter_reason`.
"""

from __future__ import annotations

import contextlib
import os
from abc import abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.logging import logger

from medcorpus.io.noted_stats import add_ones, add_values
from medcorpus.paths import is_remote, local_path
from medcorpus.tokenize.shards import ShardWriter
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, Tokenizer, load_tokenizer

Encoded = tuple[list[int], list[int] | None]  # a document's token ids and loss mask (None without masks)


class ShardStep(PipelineStep):
    """Encodes documents in batches and writes `<output_folder>/<rank:05d>.{bin,idx,docs.parquet}` (and the
    loss mask shard when `masks`); subclasses say which documents are usable and how a batch is encoded.

    Every written document also passes on to the next step with `metadata["token_count"]` set, so a later step
    can count or record it; as the last step of a pipeline it simply ends there. The shard is published
    atomically when the task's input is exhausted; a task that wrote no document publishes no shard. Documents
    with empty text or without `source`/`category` metadata, and those the encoder refuses, are counted by
    reason (`skipped_<reason>`), logged by id and, with an `exclusion_writer`, written there with their
    `filter_reason`. `output_folder` must be a local path.
    """

    name = "Megatron shard writer"
    type = "🔢 - TOKENIZER"
    masks = False

    def __init__(
        self,
        output_folder: str,
        tokenizer: Tokenizer,
        batch_size: int = 256,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__()
        if is_remote(str(output_folder)):
            raise ValueError(f"{type(self).__name__} writes local shards only, got {output_folder}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.output_folder = local_path(str(output_folder))
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.exclusion_writer = exclusion_writer
        self._excluded: DiskWriter | None = None
        self._rank = 0

    def _skip(self, document: Document, reason: str) -> None:
        self.stat_update("skipped", f"skipped_{reason}")
        logger.warning(f"{type(self).__name__}: skipped document {document.id}: {reason}")
        if self._excluded is not None:
            document.metadata["filter_reason"] = reason
            self._excluded.write(document, self._rank)

    def _usable(self, document: Document) -> bool:
        if not document.text or not document.text.strip():
            self._skip(document, "empty_text")
            return False
        if not document.metadata.get("source") or not document.metadata.get("category"):
            self._skip(document, "missing_provenance")
            return False
        return True

    @abstractmethod
    def _encode(self, batch: list[Document]) -> list[Encoded | str]:
        """Ids (and mask) per document, or the reason it is skipped. Runs in the encoder thread: it touches no
        stats, logs or writers (the caller reports the skipped)."""

    def _write(self, writer: ShardWriter, batch: list[Document], encoded: list[Encoded | str]) -> list[Document]:
        """Add the encoded documents of a batch to the shard in one call; returns them, token_count set."""
        kept: list[tuple[Document, list[int], list[int] | None]] = []
        for document, result in zip(batch, encoded):
            if isinstance(result, str):
                self._skip(document, result)
            else:
                kept.append((document, *result))
        if not kept:
            return []
        lengths = [len(ids) for _, ids, _ in kept]
        total = sum(lengths)
        if all(isinstance(ids, np.ndarray) for _, ids, _ in kept):
            flat = np.concatenate([ids for _, ids, _ in kept]).astype(writer.dtype, copy=False)
        else:
            flat = np.fromiter(chain.from_iterable(ids for _, ids, _ in kept), dtype=writer.dtype, count=total)
        masks = None
        if self.masks:
            masks = np.fromiter(chain.from_iterable(mask for _, _, mask in kept), dtype=np.uint8, count=total)
        metas = [document.metadata for document, _, _ in kept]
        writer.add_batch(
            flat,
            lengths,
            [document.id for document, _, _ in kept],
            [meta["source"] for meta in metas],
            [meta["category"] for meta in metas],
            [bool(meta.get("restricted", False)) for meta in metas],
            masks=masks,
        )
        for meta, length in zip(metas, lengths):
            meta["token_count"] = length
        # per document, so the stats show tokens per document (`stat_update` for each, in one go)
        add_ones(self.stats.stats, "documents", len(kept))
        add_values(self.stats.stats, "tokens", lengths, None)
        if masks is not None:
            add_values(self.stats.stats, "trained_tokens", [sum(mask) for _, _, mask in kept], None)
        return [document for document, _, _ in kept]

    def _finish(self, writer: ShardWriter, batch: list[Document], encoded: Future) -> list[Document]:
        with self.track_time(unit="batch"):
            return self._write(writer, batch, encoded.result())

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        self._rank = rank
        prefix = os.path.join(self.output_folder, f"{rank:05d}")
        excluded = self.exclusion_writer or contextlib.nullcontext()
        # One encoder thread: the tokenizer releases the GIL while it encodes batch k, so reading batch k+1 and
        # writing batch k-1 overlap with it (as Megatron's encoder pool overlaps with its writer process).
        with (
            excluded as self._excluded,
            ShardWriter(prefix, self.tokenizer.vocab_size, masks=self.masks) as writer,
            ThreadPoolExecutor(1) as encoder,
        ):
            pending: tuple[list[Document], Future] | None = None
            for batch in batched((doc for doc in data if self._usable(doc)), self.batch_size):
                submitted = (batch, encoder.submit(self._encode, batch))
                if pending is not None:
                    yield from self._finish(writer, *pending)
                pending = submitted
            if pending is not None:
                yield from self._finish(writer, *pending)
            if writer.documents == 0:
                writer.abort()
                return
        name = type(self).__name__
        logger.info(f"{name}: wrote {prefix} ({writer.documents} documents, {writer.tokens} tokens)")


class ShardTokenizer(ShardStep):
    """Tokenizes documents (pretraining: each one `[BOS] + text + [EOS or EOD]`) into one shard per task.

    See `ShardStep` for what is written, passed on and skipped; a document the tokenizer cannot encode is
    skipped as `tokenizer_error:<error name>`.

    `tokenizer` is a name or path (with the `add_bos`/`add_eos`/`eod_id`/`eod_token` policy) or a ready
    `Tokenizer`, whose own policy is then used. Each batch is encoded in one call (in a background thread,
    overlapping with reading and writing) and written as one flat array: word by word with each distinct word
    encoded once for a segmentable SentencePiece model (`segments.py`; the shipped Mistral model is), else by the
    backend, with `threads` encoder threads per worker (default 1: one worker uses one core, scale with
    workers; -1 uses all cores).
    """

    def __init__(
        self,
        output_folder: str,
        tokenizer: str | Tokenizer = DEFAULT_TOKENIZER,
        add_bos: bool = True,
        add_eos: bool = True,
        batch_size: int = 256,
        eod_id: int | None = None,
        eod_token: str | None = None,
        threads: int = 1,
        exclusion_writer: DiskWriter | None = None,
    ):
        if not isinstance(tokenizer, Tokenizer):
            tokenizer = load_tokenizer(tokenizer, add_bos, add_eos, eod_id=eod_id, eod_token=eod_token)
        super().__init__(output_folder, tokenizer, batch_size, exclusion_writer)
        self.threads = threads

    def _encode(self, batch: list[Document]) -> list[Encoded | str]:
        """Token ids per document, or the error name for one the tokenizer refuses (the rest survives)."""
        try:
            if self.tokenizer.segment_encoder() is not None:  # one array for the batch, a view per document
                flat, lengths = self.tokenizer.encode_flat([document.text for document in batch])
                ends = np.cumsum(lengths).tolist()
                return [(flat[end - length : end], None) for end, length in zip(ends, lengths.tolist())]
            encoded = self.tokenizer.encode_documents([document.text for document in batch], num_threads=self.threads)
            return [(ids, None) for ids in encoded]
        except (TypeError, ValueError, RuntimeError, UnicodeError):
            results: list[Encoded | str] = []
            for document in batch:
                try:
                    results.append((self.tokenizer.encode_document(document.text), None))
                except (TypeError, ValueError, RuntimeError, UnicodeError) as error:
                    results.append(f"tokenizer_error:{type(error).__name__}")
            return results
