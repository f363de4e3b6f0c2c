"""Build `id.text` and `id-phi.phrase` (the PhysioNet deid gold format) from the marked-up `notes.txt`.

`notes.txt` holds notes written for medcorpus (discharge summaries, radiology reports, clinic letters)
with planted PHI marked `{{Type|text}}`; records start with `=== <patient> <note> <kind>`, and `#`
lines before the first record are comments. Run it after editing the notes:
`python benchmarks/deid_notes/build.py`; `medcorpus eval deid --corpus benchmarks/deid_notes` scores them.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"\{\{(\w+)\|([^{}|]+)\}\}")
HEADER = re.compile(r"^=== (\d+) (\d+) (.+)$", re.M)


def parse(source: str) -> list[tuple[int, int, str, str, list[tuple[int, int, str, str]]]]:
    """(patient, note, kind, plain text, [(start, end, type, phrase)]) for each marked-up record."""
    records = []
    heads = list(HEADER.finditer(source))
    for head, after in zip(heads, heads[1:] + [None]):
        body = source[head.end() + 1 : after.start() if after else len(source)]
        text, spans, cursor = [], [], 0
        length = 0
        for mark in MARK.finditer(body):
            text.append(body[cursor : mark.start()])
            length += mark.start() - cursor
            spans.append((length, length + len(mark[2]), mark[1], mark[2]))
            text.append(mark[2])
            length += len(mark[2])
            cursor = mark.end()
        text.append(body[cursor:])
        records.append((int(head[1]), int(head[2]), head[3], "".join(text).rstrip("\n") + "\n", spans))
    return records


def render(records) -> tuple[str, str]:
    """The `id.text` and `id-phi.phrase` contents of parsed records."""
    texts = "".join(f"START_OF_RECORD={p}||||{n}||||\n{text}||||END_OF_RECORD\n\n" for p, n, _k, text, _s in records)
    phrases = "".join(
        f"{p} {n} {s} {e} {kind} {phrase}\n" for p, n, _k, _t, spans in records for s, e, kind, phrase in spans
    )
    return texts, phrases


def main() -> None:
    texts, phrases = render(parse((HERE / "notes.txt").read_text(encoding="utf-8")))
    (HERE / "id.text").write_text(texts, encoding="latin-1")
    (HERE / "id-phi.phrase").write_text(phrases, encoding="latin-1")


if __name__ == "__main__":
    main()
