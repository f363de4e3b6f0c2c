"""A run never dies on a bad record: each is counted by reason in the manifest and kept aside in excluded/."""

from __future__ import annotations

import gzip
import json

from support.paths import SAMPLES

from medcorpus.run.config import validate
from medcorpus.run.runner import run


def test_bad_files_are_counted_and_the_run_finishes(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = (SAMPLES / "pubmed" / "sample_pubmed.xml").read_bytes()
    (raw / "truncated.xml.gz").write_bytes(gzip.compress(good)[:-200])
    (raw / "garbage.xml").write_bytes(b"\x00\xff\xfe not xml at all \x13\x37" * 50)
    (raw / "empty.xml").write_bytes(b"")
    (raw / "notes.csv").write_text('"ROW_ID","TEXT"\n1,"a"\n')
    config = {
        "output": str(tmp_path / "run"),
        "sources": {
            "pubmed": {"type": "pubmed", "inputs": [str(raw / "*.xml*")], "options": {"languages": []}},
            "mimic": {"type": "mimic", "inputs": [str(raw / "notes.csv")]},
            "pmc": {"type": "pmc", "inputs": [str(SAMPLES / "pmc")]},
        },
        "curation": {"deid": None},
        "mix": {"ratios": {"biomedical": 1}},
    }
    run(validate(config))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    removed = manifest["stages"][0]["removed"]
    reasons = {reason for by_reason in removed.values() for reason in by_reason}
    assert "unreadable_file:EOFError" in reasons
    assert "not_pubmed_xml" in reasons  # the garbage file and the empty one
    assert "unknown_header" in reasons
    kept = manifest["stages"][0]["out"]["pubmed"]["documents"]
    assert kept >= 1  # the citations before the truncation point
    excluded = list((tmp_path / "run" / "stages" / "01_sources" / "excluded").rglob("*.parquet"))
    assert excluded
    assert manifest["mix"]["total_tokens"] > 0
