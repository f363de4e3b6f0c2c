"""`medcorpus fetch` against local servers: an NLM-like folder tree, a fake Hub, a recorded guideline site.

The recipe-like config reads ../data/<source>; after a fetch the files are where its inputs point, a
second fetch downloads nothing, MIMIC is never requested, and the layout is what `run` reads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner
from support.helpers import read_all
from support.http_fixture import Fault, serve
from support.hub_fixture import serve_hub
from support.paths import SAMPLES
from support.snapshot_server import serve_snapshot

from medcorpus.cli.main import main
from medcorpus.run.config import load_config
from medcorpus.sources import reader_class
from medcorpus.sources.download.remote_files import LEDGER_NAME

REPO = "acme/replay"
SECRET = "hf_not_to_be_printed_0123456789"
PUBMED = {"baseline": "pubmed25n0001.xml.gz", "updatefiles": "pubmed25n0002.xml.gz"}
PMC = "oa_comm_xml.PMC000xxxxxx.baseline.2025-06-26.tar.gz"
SOURCES = {
    "pubmed": {"type": "pubmed", "inputs": ["../data/pubmed"], "fetch": {"kind": "all"}},
    "pubmed_guidelines": {"type": "pubmed", "inputs": ["../data/pubmed"]},
    "pmc": {"type": "pmc", "inputs": ["../data/pmc"], "fetch": {"subsets": ["oa_comm"], "kind": "baseline"}},
    "guidelines": {
        "type": "guidelines",
        "inputs": ["../data/guidelines"],
        "fetch": {"sites": ["rch"], "delay": 0, "retries": 0},
    },
    "replay": {
        "type": "general",
        "inputs": ["../data/replay"],
        "options": {"name": "redpajama"},
        "fetch": {"repo": REPO, "include": ["data/*.jsonl"]},
    },
    "mimic": {"type": "mimic", "inputs": ["../data/mimic"], "options": {"drop_iserror": True}},
}


def publish(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / f"{name}.md5").write_text(f"MD5({name})= {hashlib.md5(data).hexdigest()}\n")


def nlm_tree(root: Path) -> None:
    """pubmed/{baseline,updatefiles}/ and pmc/oa_comm/xml/ as NLM lays them out, from the bundled samples."""
    xml = (SAMPLES / "pubmed" / "sample_pubmed.xml").read_bytes()
    for folder, name in PUBMED.items():
        publish(root / "pubmed" / folder, name, gzip.compress(xml, mtime=0))
    (root / "pubmed" / "baseline" / "README.txt").write_text("not selected")
    package = io.BytesIO()
    with tarfile.open(fileobj=package, mode="w:gz") as archive:
        for path in sorted((SAMPLES / "pmc").glob("*.nxml")):
            archive.add(path, f"{path.stem}/{path.name}")
    xml_folder = root / "pmc" / "oa_comm" / "xml"
    publish(xml_folder, PMC, package.getvalue())
    (xml_folder / PMC.replace(".tar.gz", ".filelist.csv")).write_text("Article File,AccessionID\n")
    (xml_folder / "oa_comm_xml.incr.2025-07-01.tar.gz").write_bytes(b"not selected: kind baseline")


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The config, the three servers, and every URL any `requests` call asked for."""
    nlm, hub = tmp_path / "nlm", tmp_path / "hub"
    nlm_tree(nlm)
    (hub / "data").mkdir(parents=True)
    shutil.copy(SAMPLES / "general" / "sample_redpajama.jsonl", hub / "data" / "sample.jsonl")
    (hub / "README.md").write_text("# not selected\n")
    (tmp_path / "recipe").mkdir()
    config = tmp_path / "recipe" / "corpus.yaml"
    config.write_text(yaml.safe_dump(recipe(SOURCES), sort_keys=False))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    asked: list[str] = []
    send = requests.adapters.HTTPAdapter.send
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter,
        "send",
        lambda self, request, **kw: asked.append(request.url) or send(self, request, **kw),
    )
    with serve(nlm) as ncbi, serve_hub(hub, REPO) as fake_hub, serve_snapshot("rch") as site:
        overrides = {"pubmed": f"{ncbi.url}pubmed/", "pmc": f"{ncbi.url}pmc", "general": fake_hub.url}
        overrides["guidelines.rch"] = site.url
        args = [arg for key, url in overrides.items() for arg in ("--base-url-override", f"{key}={url}")]
        yield Servers(config, args, ncbi, fake_hub, site, asked, tmp_path)


class Servers:
    def __init__(self, config, args, ncbi, hub, site, asked, root):
        self.config, self.args, self.ncbi, self.hub, self.site, self.asked = config, args, ncbi, hub, site, asked
        self.data = root / "data"

    def fetch(self, *extra: str):
        return CliRunner().invoke(main, ["fetch", str(self.config), *self.args, *extra])

    def file_gets(self) -> list[str]:
        """GETs of data files (not listings, .md5 files, the Hub's API or robots.txt)."""
        nlm = [path for path in self.ncbi.gets() if path.endswith((".gz", ".csv"))]
        hub = [r.path for r in self.hub.log if r.method == "GET" and r.path.startswith("/data/")]
        return nlm + hub + [t for t in self.site.targets() if t != "/robots.txt"]


def recipe(sources: dict) -> dict:
    return {
        "output": "../out",
        "workers": 2,
        "sources": sources,
        "curation": {"near_dedup": None, "dedup": {"priority": list(sources)}},
        "mix": {"ratios": {"biomedical": 15, "clinical": 1, "general": 4}},
        "tokenizer": {"name": "mistral-7b-v0.1"},
    }


def rows(output: str) -> dict[str, list[str]]:
    """The summary table: source -> [type, status, detail]."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("SOURCE "))
    return {line.split()[0]: line.split(None, 3)[1:] for line in lines[start + 1 : -1]}


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_fetch_fills_the_inputs_then_fetches_nothing_new(world, capfd):
    before = tree(world.data.parent)
    result = world.fetch()
    assert result.exit_code == 0, result.output
    data = world.data
    for folder, name in PUBMED.items():
        assert (data / "pubmed" / folder / name).read_bytes() == (
            world.ncbi.root / "pubmed" / folder / name
        ).read_bytes()
    assert not (data / "pubmed" / "baseline" / "README.txt").exists()
    assert sorted(p.name for p in (data / "pmc" / "oa_comm").iterdir()) == sorted(
        [PMC, f"{PMC}.md5", PMC.replace(".tar.gz", ".filelist.csv"), LEDGER_NAME]
    )
    assert (data / "replay" / "data" / "sample.jsonl").is_file() and not (data / "replay" / "README.md").exists()
    assert (data / "guidelines" / "rch" / "crawl.json").is_file()
    assert not (data / "mimic").exists()
    # written only below the inputs' folders
    new = tree(world.data.parent) - before
    assert new and all(path.split("/")[1] in ("pubmed", "pmc", "guidelines", "replay") for path in new), new
    summary = rows(result.output)
    assert list(summary) == list(SOURCES)
    assert summary["pubmed"][1:] == ["fetched", "downloaded 2 files (0.0 MB), 0 already held"]
    assert summary["pubmed_guidelines"][1:] == ["present", "2 files, fetched with pubmed"]
    assert summary["pmc"][1] == "fetched" and summary["pmc"][2].startswith("downloaded 2 files")
    assert summary["guidelines"][1:] == ["fetched", "crawled 1 site: 2 documents (4 fetched, 0 from the store)"]
    assert summary["replay"][1:2] == ["fetched"]
    assert summary["mimic"][1] == "credentialed" and "place files yourself" in summary["mimic"][2]
    assert "https://physionet.org/content/mimic-iv-note/2.2/" in result.output
    assert result.output.splitlines()[-1] == "fetch: 6 sources, 4 fetched, 1 present, 1 credentialed"
    # each pubmed file once, though two sources read the folder; MIMIC never asked for; the token never shown
    assert sorted(world.ncbi.gets()).count("/pubmed/baseline/pubmed25n0001.xml.gz") == 1
    assert world.asked and all(url.startswith("http://127.0.0.1:") for url in world.asked)
    assert not [url for url in world.asked if "mimic" in url.lower() or "physionet" in url]
    assert {r.authorization for r in world.hub.log if r.path.startswith("/api/")} == {f"Bearer {SECRET}"}
    captured = capfd.readouterr()
    assert SECRET not in result.output + captured.out + captured.err

    gets = len(world.file_gets())
    again = world.fetch()
    assert again.exit_code == 0, again.output
    assert len(world.file_gets()) == gets, "a second fetch downloaded again"
    summary = rows(again.output)
    assert summary["pubmed"][1:] == ["up-to-date", "downloaded 0 files (0.0 MB), 2 already held"]
    assert summary["guidelines"][1:] == ["up-to-date", "crawled 1 site: 2 documents (0 fetched, 4 from the store)"]
    assert summary["replay"][1] == summary["pmc"][1] == "up-to-date"

    # the credentialed files, placed by hand: fetch says so, and the layout is exactly what the recipe reads
    shutil.copytree(SAMPLES / "mimic", data / "mimic")
    placed = world.fetch("--only", "mimic")
    assert placed.exit_code == 0 and rows(placed.output) == {
        "mimic": ["mimic", "credentialed", "files already in place (2)"]
    }
    assert "physionet" not in placed.output
    config = load_config(world.config)  # inputs checked
    for name, source in config.sources.items():
        docs, _ = read_all(reader_class(source.type)(source.inputs, **source.options))
        assert docs, f"{name} reads nothing from the fetched layout"


def test_dry_run_writes_nothing(world):
    before = tree(world.data.parent.parent)
    result = world.fetch("--dry-run")
    assert result.exit_code == 0, result.output
    assert tree(world.data.parent.parent) == before and not world.data.exists()
    assert world.file_gets() == [] and world.site.targets() == []
    summary = rows(result.output)
    assert summary["pubmed"][1:] == ["planned", "2 files to fetch, 0 already held"]
    assert summary["guidelines"][1:] == ["planned", "would crawl rch"]
    assert summary["pubmed_guidelines"][1:] == ["shared", "fetched with pubmed"]
    assert summary["mimic"][1] == "credentialed"
    assert result.output.splitlines()[-1].startswith("dry run, nothing written: 6 sources")


def test_only_fetches_the_named_sources(world):
    result = world.fetch("--only", "replay", "--only", "mimic")
    assert result.exit_code == 0, result.output
    assert list(rows(result.output)) == ["replay", "mimic"]
    assert world.ncbi.log == [] and world.site.targets() == []
    assert sorted(p.name for p in world.data.iterdir()) == ["replay"]


def test_bad_spec_exits_2_naming_the_key(world):
    result = world.fetch("--set", "sources.replay.fetch.preset=x")
    assert result.exit_code == 2
    assert "error: sources.replay.fetch.preset: unknown preset 'x'" in result.output
    result = world.fetch("--set", "sources.pmc.fetch.kind=weekly", "--only", "mimic")  # checked though not chosen
    assert result.exit_code == 2 and "error: sources.pmc.fetch.kind: unknown kind 'weekly'" in result.output
    result = world.fetch("--base-url-override", "ftp=http://x")
    assert result.exit_code == 2 and "'ftp': expected one of" in result.output
    assert world.asked == [] and not world.data.exists()


def test_a_failed_download_exits_1_naming_the_source(world):
    world.ncbi.faults[f"/pmc/oa_comm/xml/{PMC}"] = Fault(fail_first=99, status=404)
    result = world.fetch()
    assert result.exit_code == 1, result.output
    assert f"failed: pmc: {PMC}: HTTP 404" in result.output
    summary = rows(result.output)
    assert summary["pmc"][1] == "failed" and summary["pubmed"][1] == summary["replay"][1] == "fetched"
    assert result.output.splitlines()[-1].endswith("; failed: pmc")
    world.ncbi.faults.clear()
    assert world.fetch("--only", "pmc").exit_code == 0  # and resumes


def test_an_unreachable_listing_fails_that_source_only(world):
    result = world.fetch("--base-url-override", f"pubmed={world.ncbi.url}nowhere/")
    assert result.exit_code == 1 and "failed: pubmed: cannot list" in result.output
    summary = rows(result.output)
    assert summary["pubmed"][1] == "failed" and summary["pubmed_guidelines"][1] == "missing"
    assert "fetched with pubmed, but input not found" in summary["pubmed_guidelines"][2]
    assert summary["pmc"][1] == "fetched"


def test_sources_without_a_spec_are_present_or_missing(tmp_path):
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "a.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    sources = {
        "here": {"type": "general", "inputs": ["../here"]},
        "gone": {"type": "general", "inputs": ["../gone"]},
    }
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "c.yaml").write_text(yaml.safe_dump(recipe(sources), sort_keys=False))
    result = CliRunner().invoke(main, ["fetch", str(tmp_path / "recipe" / "c.yaml")])
    assert result.exit_code == 0, result.output
    assert rows(result.output) == {
        "here": ["general", "present", "1 files"],
        "gone": ["general", "missing", f"no fetch: spec; input not found: {tmp_path / 'gone'}"],
    }


@pytest.mark.slow
def test_run_reads_the_fetched_layout(world):
    assert world.fetch().exit_code == 0
    shutil.copytree(SAMPLES / "mimic", world.data / "mimic")
    result = CliRunner().invoke(main, ["run", str(world.config)])
    assert result.exit_code == 0, result.output
    report = json.loads((world.data.parent / "out" / "shards" / "mix_report.json").read_text())
    assert {"pubmed", "pmc", "guidelines", "redpajama"} <= set(report["sources"])
    assert any(name.startswith("mimic") for name in report["sources"])
