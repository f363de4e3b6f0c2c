"""Source readers, one per source, looked up by the name used on the CLI and in configs."""

from __future__ import annotations

import importlib

from medcorpus.sources.base import SourceReader

# name -> "module:Class"; imported lazily so one source's heavy dependency never slows another.
READERS = {
    "pubmed": "medcorpus.sources.pubmed.reader:PubMedReader",
    "pmc": "medcorpus.sources.pmc.reader:PMCReader",
    "guidelines": "medcorpus.sources.guidelines:GuidelineReader",
    "mimic": "medcorpus.sources.mimic.reader:MimicReader",
    "general": "medcorpus.sources.general:GeneralReader",
    "instructions": "medcorpus.sources.instructions:InstructionReader",  # for fine-tuning, not the pretraining mix
}


def reader_class(name: str) -> type[SourceReader]:
    """The reader class registered under `name`."""
    if name not in READERS:
        raise KeyError(f"unknown source type {name!r}; known: {', '.join(READERS)}")
    module, _, cls = READERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["READERS", "SourceReader", "reader_class"]
