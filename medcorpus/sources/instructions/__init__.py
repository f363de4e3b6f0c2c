"""Instruction examples (for supervised fine-tuning), one document per example, the turns kept structured.

Records are read from JSON lines, a JSON array (`.json`), compressed JSON lines or Parquet, as
`GeneralReader` reads files, in any layout of `layouts` (Alpaca and MedAlpaca's Medical Meadow, ShareGPT,
OpenAI chat, MedMCQA, MedQA, question/answer, prompt/completion), detected per record in the order listed
there.

`metadata["turns"]` holds `[{"role": "system"|"user"|"assistant", "content": ...}]`; the document text
is the turns' contents joined by blank lines (what cleaning, language ID, deduplication and
decontamination look at, with no role words added). `metadata["kind"]` is "instruction",
`metadata["layout"]` the layout read, and `metadata["task"]` the record's `task`, else the reader's
`task` option, else the layout's ("multiple_choice" for MedMCQA and MedQA); `license` is the record's,
else the reader's. Rejected, with the file and reason and nothing silently lost: records in none of the
layouts (`unknown_format`), with turns that are not role/content objects (`bad_turn`), whose answer names
no option (`bad_answer`), without a user turn (`no_prompt`), whose last turn is not a non-empty assistant
answer (`no_answer`), and, unless `check_truncation` is false, with an assistant turn that visibly stops
mid-sentence (`truncated_answer`, see `truncation`).
"""

from medcorpus.sources.instructions.layouts import LAYOUTS, BadRecord, record_turns
from medcorpus.sources.instructions.reader import InstructionReader
from medcorpus.sources.instructions.truncation import truncated

__all__ = ["LAYOUTS", "BadRecord", "InstructionReader", "record_turns", "truncated"]
