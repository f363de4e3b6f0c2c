"""datatrove step that tokenizes documents into one Megatron shard per task, with provenance."""

from __future__ import annotations

import os

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched
from datatrove.utils.logging import logger

from medcorpus.tokenize.shards import ShardWriter
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, load_tokenizer


class ShardTokenizer(PipelineStep):
    """Tokenizes documents in batches and writes `<output_folder>/<rank:05d>.{bin,idx,docs.parquet}`.

    Every written document also passes on to the next step with `metadata["token_count"]` set, so a
    later step can count or record it; as the last step of a pipeline it simply ends there. The shard is
    published atomically when the task's input is exhausted; a task that wrote no document publishes
    no shard. Documents with empty text, without `source`/`category` metadata, or that the tokenizer
    cannot encode are counted, logged by id and skipped. `output_folder` must be a local path.
    """

    name = "🔢 Megatron shards"
    type = "🔢 - TOKENIZER"

    def __init__(
        self,
        output_folder: str,
        tokenizer: str = DEFAULT_TOKENIZER,
        add_bos: bool = True,
        add_eos: bool = True,
        batch_size: int = 256,
    ):
        super().__init__()
        if "://" in str(output_folder) and not str(output_folder).startswith("file://"):
            raise ValueError(f"ShardTokenizer writes local shards only, got {output_folder}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.output_folder = str(output_folder).removeprefix("file://")
        self.tokenizer = load_tokenizer(tokenizer, add_bos=add_bos, add_eos=add_eos)
        self.batch_size = batch_size

    def _skip(self, document: Document, reason: str) -> None:
        self.stat_update("skipped", f"skipped_{reason}")
        logger.warning(f"ShardTokenizer: skipped document {document.id}: {reason}")

    def _encode(self, batch: list[Document]) -> list[list[int] | None]:
        """Token ids per document; None for one the tokenizer refuses (the rest of the batch survives)."""
        try:
            return self.tokenizer.encode_documents([document.text for document in batch])
        except (TypeError, ValueError, RuntimeError, UnicodeError):
            results: list[list[int] | None] = []
            for document in batch:
                try:
                    results.append(self.tokenizer.encode_document(document.text))
                except (TypeError, ValueError, RuntimeError, UnicodeError) as error:
                    self._skip(document, f"tokenizer_error:{type(error).__name__}")
                    results.append(None)
            return results

    def _usable(self, document: Document) -> bool:
        if not document.text or not document.text.strip():
            self._skip(document, "empty_text")
            return False
        if not document.metadata.get("source") or not document.metadata.get("category"):
            self._skip(document, "missing_provenance")
            return False
        return True

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        prefix = os.path.join(self.output_folder, f"{rank:05d}")
        with ShardWriter(prefix, self.tokenizer.vocab_size) as writer:
            for batch in batched((doc for doc in data if self._usable(doc)), self.batch_size):
                with self.track_time(unit="batch"):
                    encoded = self._encode(batch)
                for document, tokens in zip(batch, encoded):
                    if tokens is None:
                        continue
                    metadata = document.metadata
                    restricted = bool(metadata.get("restricted", False))
                    writer.add(tokens, document.id, metadata["source"], metadata["category"], restricted)
                    document.metadata["token_count"] = len(tokens)
                    self.stat_update("documents")
                    self.stat_update("tokens", value=len(tokens))
                    yield document
            if writer.documents == 0:
                writer.abort()
                return
        logger.info(f"ShardTokenizer: wrote {prefix} ({writer.documents} documents, {writer.tokens} tokens)")
