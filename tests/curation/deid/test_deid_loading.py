"""The PHI detectors (scrubadub, nltk, scipy: ~1.5 CPU-s to import) load before a run forks only when a source
may need them; a step built without them still de-identifies the same, loading them on the first clinical note."""

from __future__ import annotations

import json
import subprocess
import sys

from datatrove.data import Document
from support.paths import SAMPLES

from medcorpus.curation.deid.deidentifier import Deidentifier

PROBE = """
import json, sys
from medcorpus.run.config import validate
from medcorpus.run.runner import plan_run
config = validate(json.loads(sys.argv[1]))
stages = plan_run(config)
steps = [step for stage in stages for pipeline, _ in stage.pipelines for step in pipeline]
deid = [step for step in steps if type(step).__name__ == "Deidentifier"]
print(json.dumps({"steps": len(deid), "loaded": "scrubadub" in sys.modules}))
"""


def _plan(tmp_path, sources: dict, ratios: dict) -> dict:
    config = {"output": str(tmp_path / "run"), "sources": sources, "mix": {"ratios": ratios}}
    command = [sys.executable, "-c", PROBE, json.dumps(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_detectors_load_at_planning_only_when_a_source_is_clinical(tmp_path, shared_data):
    pubmed = {"pubmed": {"type": "pubmed", "inputs": [str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")]}}
    assert _plan(tmp_path, pubmed, {"biomedical": 1}) == {"steps": 1, "loaded": False}
    notes = {"notes": {"type": "mimic", "inputs": [str(SAMPLES / "mimic")]}}
    assert _plan(tmp_path, pubmed | notes, {"biomedical": 1, "clinical": 1}) == {"steps": 1, "loaded": True}


def test_a_step_without_preloaded_detectors_deidentifies_the_same():
    note = "Pt seen by Dr. Quillfeather on 3/14/2142 at [**Hospital1 18**], call 617-555-0134. MRN 4412."
    results = []
    for preload in (True, False):
        step = Deidentifier(preload=preload)
        [document] = step.run(iter([Document(note, "n1", metadata={"category": "clinical", "source": "mimic"})]))
        results.append((document.text, document.metadata["phi_spans"]))
    assert results[0] == results[1] and "[DATE]" in results[0][0] and "[HOSPITAL]" in results[0][0]
