"""Clinical practice guidelines: local HTML pages (trafilatura) and PDF files (pymupdf).

`GuidelineReader` is imported on first use, so commands that only need the site adapters (the crawl CLI) do not
load pymupdf and its layout models (about 1 CPU-second) in every `medcorpus` process."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medcorpus.sources.guidelines.reader import GuidelineReader

__all__ = ["GuidelineReader"]


def __getattr__(name: str):
    if name == "GuidelineReader":
        from medcorpus.sources.guidelines.reader import GuidelineReader

        return GuidelineReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
