"""Clinical practice guidelines: local HTML pages (trafilatura) and PDF files (pymupdf)."""

from medcorpus.sources.guidelines.reader import GuidelineReader

__all__ = ["GuidelineReader"]
