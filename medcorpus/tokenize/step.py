"""datatrove step that tokenizes documents into one Megatron shard per task, with provenance."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched
from datatrove.utils.logging import logger

from medcorpus.paths import is_remote, local_path
from medcorpus.tokenize.shards import ShardWriter
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, Tokenizer, load_tokenizer


class ShardTokenizer(PipelineStep):
    """Tokenizes documents in batches and writes `<output_folder>/<rank:05d>.{bin,idx,docs.parquet}`.

    Every written document also passes on to the next step with `metadata["token_count"]` set, so a
    later step can count or record it; as the last step of a pipeline it simply ends there. The shard is
    published atomically when the task's input is exhausted; a task that wrote no document publishes
    no shard. Documents with empty text, without `source`/`category` metadata, or that the tokenizer
    cannot encode are counted, logged by id and skipped. `output_folder` must be a local path.

    `tokenizer` is a name or path (with the `add_bos`/`add_eos`/`eod_id`/`eod_token` policy) or a ready
    `Tokenizer`, whose own policy is then used. `threads` is the encoder threads per worker (SentencePiece;
    default 1: one worker uses one core, scale with workers; -1 uses all cores). Each batch is encoded in
    one call (in a background thread, overlapping with reading and writing) and written as one flat array.
    """

    name = "Megatron shard writer"
    type = "🔢 - TOKENIZER"

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
    ):
        super().__init__()
        if is_remote(str(output_folder)):
            raise ValueError(f"ShardTokenizer writes local shards only, got {output_folder}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.output_folder = local_path(str(output_folder))
        if isinstance(tokenizer, Tokenizer):
            self.tokenizer = tokenizer
        else:
            self.tokenizer = load_tokenizer(tokenizer, add_bos, add_eos, eod_id=eod_id, eod_token=eod_token)
        self.batch_size = batch_size
        self.threads = threads

    def _skip(self, document: Document, reason: str) -> None:
        self.stat_update("skipped", f"skipped_{reason}")
        logger.warning(f"ShardTokenizer: skipped document {document.id}: {reason}")

    def _encode(self, batch: list[Document]) -> list[list[int] | str]:
        """Token ids per document, or the error name for one the tokenizer refuses (the rest survives).

        Runs in the encoder thread: it touches no stats or logs (the caller reports refusals).
        """
        try:
            return self.tokenizer.encode_documents([document.text for document in batch], num_threads=self.threads)
        except (TypeError, ValueError, RuntimeError, UnicodeError):
            results: list[list[int] | str] = []
            for document in batch:
                try:
                    results.append(self.tokenizer.encode_document(document.text))
                except (TypeError, ValueError, RuntimeError, UnicodeError) as error:
                    results.append(type(error).__name__)
            return results

    def _usable(self, document: Document) -> bool:
        if not document.text or not document.text.strip():
            self._skip(document, "empty_text")
            return False
        if not document.metadata.get("source") or not document.metadata.get("category"):
            self._skip(document, "missing_provenance")
            return False
        return True

    def _write(self, writer: ShardWriter, batch: list[Document], encoded: list[list[int] | str]) -> list[Document]:
        """Add the encoded documents of a batch to the shard in one call; returns them, token_count set."""
        for document, ids in zip(batch, encoded):
            if isinstance(ids, str):
                self._skip(document, f"tokenizer_error:{ids}")
        kept = [(document, ids) for document, ids in zip(batch, encoded) if not isinstance(ids, str)]
        if not kept:
            return []
        lengths = [len(ids) for _, ids in kept]
        total = sum(lengths)
        flat = np.fromiter(chain.from_iterable(ids for _, ids in kept), dtype=writer.dtype, count=total)
        metas = [document.metadata for document, _ in kept]
        writer.add_batch(
            flat,
            lengths,
            [document.id for document, _ in kept],
            [meta["source"] for meta in metas],
            [meta["category"] for meta in metas],
            [bool(meta.get("restricted", False)) for meta in metas],
        )
        for meta, length in zip(metas, lengths):
            meta["token_count"] = length
            self.stat_update("documents")
            self.stat_update("tokens", value=length)  # per document, so the stats show tokens per document
        return [document for document, _ in kept]

    def _finish(self, writer: ShardWriter, batch: list[Document], encoded: Future) -> list[Document]:
        with self.track_time(unit="batch"):
            return self._write(writer, batch, encoded.result())

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        prefix = os.path.join(self.output_folder, f"{rank:05d}")
        # One encoder thread: the tokenizer releases the GIL while it encodes batch k, so reading batch k+1 and
        # writing batch k-1 overlap with it (as Megatron's encoder pool overlaps with its writer process).
        with ShardWriter(prefix, self.tokenizer.vocab_size) as writer, ThreadPoolExecutor(1) as encoder:
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
        logger.info(f"ShardTokenizer: wrote {prefix} ({writer.documents} documents, {writer.tokens} tokens)")
