"""Deferred stage token counts: a config run tokenizes each text once, at the tokenize stage, and settles every
earlier stage's token figures from there.

Counting at every stage would tokenize the corpus once more on top of the tokenize stage (the sources stage alone
meets every text). Instead a document's count is pending: the sources stage leaves its documents as they are (no
entry means "pending since the sources stage", so its output can be published without rewriting it), and a later
stage counter marks each document `metadata["stage_tokens"] = [hash of the text, -1, i]` (-1: not counted yet; not
null, which would send the metadata JSON down the writer's slow path), `i` being the first counting stage (in run
order) that saw this text. The count is settled by whichever step meets the text last:

- the tokenize stage (`TokenSettler`, after the shard writer): the document's token count in the shard, credited
  to stages `i` up to the last counting stage;
- the exclusion writer of stage `j` (`SettlingWriter`): the removed document's text, encoded there, credited to
  stages `i` up to `j - 1`;
- the next stage counter after a step changed the text (`documents.replace_text` keeps the replaced text): that
  text, encoded there, credited to stages `i` up to `j - 1`; the new text is pending from stage `j`.

Credits go to `<stage>/stats/settled/<who>-<rank>.json` (`{source: {"tokens": n}}`) and `read_counts` adds them to
the stage's own counts, so the manifest's figures equal those of counting at every stage (tested); only the
documents a step changed or removed are tokenized outside the tokenize stage. The shard counts equal the counter's
because the tokenize stage uses the run's tokenizer and BOS/EOS policy (an EOD token replaces EOS one for one).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched

from medcorpus.documents import PREVIOUS_TEXT, STAGE_TOKENS
from medcorpus.io.atomic import atomic_write_text
from medcorpus.paths import flat_name

PENDING = -1  # the count of a pending `stage_tokens` entry
SETTLED = "settled"  # the folder of credits inside a stage's stats folder


def digest(text: str) -> int:
    """The hash that tells a stage counter whether a text changed since the last counter saw it."""
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))


def pending(entry: object) -> bool:
    """Whether a `stage_tokens` entry is a deferred count: `[hash, PENDING, first stage]`."""
    return isinstance(entry, list) and len(entry) == 3 and entry[1] == PENDING


def pending_since(metadata: dict) -> int | None:
    """The first counting stage a document's pending count covers (0 without an entry), None for a count made
    by a counter that did not defer it."""
    entry = metadata.get(STAGE_TOKENS)
    if entry is None:
        return 0
    return entry[2] if pending(entry) else None


@dataclass(frozen=True)
class Settlement:
    """The counting stages of a run (their stats folders, in run order) and the tokenizer that counts."""

    stages: tuple[str, ...]
    tokenizer: str
    add_bos: bool = True
    add_eos: bool = True

    def position(self, stats_dir: str) -> int:
        """Index of the counting stage whose stats folder is (or holds) `stats_dir`; the number of counting
        stages for a later stage (tokenize)."""
        path = Path(stats_dir)
        for index, folder in enumerate(self.stages):
            if path == Path(folder) or Path(folder) in path.parents:
                return index
        return len(self.stages)

    def name(self, path: str) -> str:
        """A file name for what a step at `path` (its stats or exclusion folder) credits: the path from the run's
        stages folder, so the same run gives the same names wherever its output is."""
        stages = Path(self.stages[0]).parent.parent
        relative = Path(path).relative_to(stages) if Path(path).is_relative_to(stages) else Path(path)
        return flat_name(relative.as_posix())


class Credits:
    """The token counts one task settles, per credited stage and source, written out by `write`."""

    def __init__(self, settlement: Settlement, who: str):
        self.settlement = settlement
        self.who = settlement.name(who)
        self.tokens: dict[int, Counter] = defaultdict(Counter)
        self._tokenizer = None

    def count(self, texts: list[str]) -> list[int]:
        """Token counts of texts with the run's tokenizer and policy (what a stage counter would have counted)."""
        if self._tokenizer is None:
            from medcorpus.tokenize import load_tokenizer

            s = self.settlement
            self._tokenizer = load_tokenizer(s.tokenizer, add_bos=s.add_bos, add_eos=s.add_eos)
        return self._tokenizer.encode_flat(texts)[1].tolist()

    def credit(self, document: Document, count: int, since: int, until: int) -> None:
        """Credit `count` tokens of the document's source to the stages from `since` up to `until`."""
        source = document.metadata.get("source", "unknown")
        for index in range(since, until):
            self.tokens[index][source] += count

    def write(self, rank: int) -> None:
        """One JSON file per credited stage (written even when empty, so a re-run task replaces its old one)."""
        for index, folder in enumerate(self.settlement.stages):
            path = Path(folder, SETTLED, f"{self.who}-{rank:05d}.json")
            if index in self.tokens or path.exists():
                payload = {source: {"tokens": n} for source, n in sorted(self.tokens[index].items())}
                atomic_write_text(path, json.dumps(payload))


def settle_changed(documents: list[Document], credits: Credits, own: int) -> None:
    """At the counter of stage `own` (after the sources stage): settle the pending counts of documents whose text a
    step changed, from the text `replace_text` kept, and mark every text pending (a changed one from `own`)."""
    changed = []
    for document in documents:
        metadata = document.metadata
        previous = metadata.pop(PREVIOUS_TEXT, None)
        entry = metadata.get(STAGE_TOKENS)
        current = digest(document.text)
        since = pending_since(metadata)
        if since is None:  # counted by a counter that did not defer (another run's output): count anew
            metadata[STAGE_TOKENS] = [current, PENDING, own]
        elif previous is not None:
            changed.append((document, since, previous, current))
        elif entry is None:
            metadata[STAGE_TOKENS] = [current, PENDING, 0]  # unchanged since the sources stage
        elif entry[0] != current:
            raise RuntimeError(
                f"stage counter: document {document.id} changed its text without documents.replace_text, "
                "so the earlier stages' token counts cannot be settled"
            )
    if changed:
        counts = credits.count([previous for _, _, previous, _ in changed])
        for (document, since, _, current), count in zip(changed, counts):
            credits.credit(document, count, since, own)
            document.metadata[STAGE_TOKENS] = [current, PENDING, own]


class SettlingWriter:
    """An exclusion writer that settles the pending token count of each document it is given (encoding the text
    that count is for) before the wrapped writer writes it; its credits are written when it closes cleanly."""

    def __init__(self, writer: DiskWriter, settlement: Settlement, until: int):
        self.writer = writer
        self.until = until
        named = re.sub(r"\$\{[^}]*\}|\.parquet$|\.jsonl$", "", writer.output_filename.template).strip("/_")
        self.credits = Credits(settlement, f"{writer.output_folder.path}/{named}")
        self._rank: int | None = None

    def __enter__(self) -> SettlingWriter:
        self.writer.__enter__()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.writer.__exit__(exc_type, exc_value, traceback)
        if exc_type is None and self._rank is not None:
            self.credits.write(self._rank)

    def write(self, document: Document, rank: int = 0, **kwargs) -> None:
        self._rank = rank
        previous = document.metadata.pop(PREVIOUS_TEXT, None)
        since = pending_since(document.metadata)
        if since is not None and since < self.until:  # (a document the sources stage rejects was never counted)
            [count] = self.credits.count([document.text if previous is None else previous])
            self.credits.credit(document, count, since, self.until)
        self.writer.write(document, rank, **kwargs)

    def __getattr__(self, name: str):
        writer = self.__dict__.get("writer")
        if writer is None:  # while unpickling
            raise AttributeError(name)
        return getattr(writer, name)


class _SettlingStep(PipelineStep):
    """A step that settles pending counts: the run's `Settlement` and where the step is (its credits' name)."""

    type = "📊 - STATS"

    def __init__(self, settlement: Settlement, where: str):
        super().__init__()
        self.settlement = settlement
        self.where = where


class TokenSettler(_SettlingStep):
    """After the shard writer: credits each document's shard token count to the stages its count is pending for
    (`where`: the tokenize stage's folder)."""

    name = "stage token settler"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        credits = Credits(self.settlement, self.where)
        until = len(self.settlement.stages)
        for document in data:
            entry, since = document.metadata.get(STAGE_TOKENS), pending_since(document.metadata)
            if pending(entry) and entry[0] != digest(document.text):
                raise RuntimeError(f"stage token settler: document {document.id} changed after its last count")
            if since is not None:
                credits.credit(document, document.metadata["token_count"], since, until)
            yield document
        credits.write(rank)


class ChangeSettler(_SettlingStep):
    """Settles the pending counts of texts changed so far in a stage whose documents are written to a work folder
    before its counter (which would lose the replaced texts: they are never written); `where` is the stage's
    stats folder."""

    name = "stage token settler (changed texts)"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        credits = Credits(self.settlement, f"{self.where}/changed")
        own = self.settlement.position(self.where)
        for batch in batched(data, 256):
            settle_changed(batch, credits, own)
            yield from batch
        credits.write(rank)
