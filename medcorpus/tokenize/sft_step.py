"""datatrove step that turns instruction examples into SFT shards: tokens plus a loss mask per example.

Each example's `metadata["turns"]` is rendered by a chat template and encoded (`ChatEncoder`, chat.py); the shard
`<output>/<rank:05d>` is written with `masks=True` (`<prefix>.mask.bin/.idx`, 1 = trained token). Excluded, each
counted as `skipped_<reason>`, logged by id and written to the exclusion writer with its `filter_reason`:
documents without turns (`not_instruction`), longer than `max_tokens` once templated (`too_long`), with no
trained token (`no_trained_token`), and those the encoder refuses (`bad_turns`, `marker_in_text`,
`template_refused`, `tokenizer_error:<error>`). A template that cannot locate answers at all stops the task.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from medcorpus.documents import turns_of
from medcorpus.tokenize.chat import ChatEncoder, ChatError, TemplateError
from medcorpus.tokenize.step import Encoded, ShardStep
from medcorpus.tokenize.tokenizer import DEFAULT_TOKENIZER, Tokenizer, load_tokenizer


class SftShardTokenizer(ShardStep):
    """Encodes instruction examples with a chat template into one masked shard per task (see `ShardStep`).

    `tokenizer` is a name or path or a ready `Tokenizer` (its BOS/EOS policy is not used: the template decides),
    or give a ready `encoder` instead of `tokenizer`/`template`/`loss`/`system`.
    """

    name = "SFT shard writer"
    masks = True

    def __init__(
        self,
        output_folder: str,
        tokenizer: str | Tokenizer = DEFAULT_TOKENIZER,
        template: str = "llama-2",
        loss: str = "answers",
        system: str | None = None,
        max_tokens: int = 4096,
        batch_size: int = 256,
        exclusion_writer: DiskWriter | None = None,
        encoder: ChatEncoder | None = None,
    ):
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        if encoder is None:
            if not isinstance(tokenizer, Tokenizer):
                tokenizer = load_tokenizer(tokenizer, add_bos=False, add_eos=False)
            encoder = ChatEncoder(tokenizer, template, loss, system)
        super().__init__(output_folder, encoder.tokenizer, batch_size, exclusion_writer=exclusion_writer)
        self.encoder = encoder
        self.max_tokens = max_tokens

    def _usable(self, document: Document) -> bool:
        if turns_of(document) is None:
            self._skip(document, "not_instruction")
            return False
        return super()._usable(document)

    def _encode(self, batch: list[Document]) -> list[Encoded | str]:
        return [self._encode_one(document) for document in batch]

    def _encode_one(self, document: Document) -> Encoded | str:
        try:
            ids, mask = self.encoder.encode(turns_of(document))
        except TemplateError:
            raise
        except ChatError as error:
            return error.reason
        except (TypeError, ValueError, RuntimeError, UnicodeError) as error:
            return f"tokenizer_error:{type(error).__name__}"
        if len(ids) > self.max_tokens:
            return "too_long"
        if not any(mask):
            return "no_trained_token"
        return ids, mask
